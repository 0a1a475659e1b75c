//! Stream nodes: how a stream's entries sit in listpacks (RDB types 15, 19 and 21).
//!
//! A stream is saved as a series of nodes, each an RDB string holding the node's master id (16
//! bytes, milliseconds and sequence as big-endian u64s) and an RDB string holding a listpack.
//! The listpack starts with a master entry: the number of live entries, the number of deleted
//! ones, the count of master field names, the names, and a 0. Every entry follows as: flags,
//! the id as differences from the master id (milliseconds, sequence), then either only the
//! values (flag SAMEFIELDS: the entry has exactly the master fields) or a field count and
//! field/value pairs, and last the number of listpack elements the entry took, so that the node
//! can be walked backwards. Flag DELETED marks an entry removed by XDEL, kept until the node is
//! rewritten; the decoder leaves those out.

use super::blob::{err as blob_err, BlobError, Element, Problem};
use super::event::{StreamEntry, StreamId};

/// Decodes the live entries of one stream node from its listpack's elements.
pub fn decode_node(master: StreamId, e: &[Element<'_>]) -> Result<Vec<StreamEntry>, BlobError> {
    const NAME: &str = "stream listpack";
    const DELETED: i64 = 1;
    const SAMEFIELDS: i64 = 2;
    let int = |i: usize| -> Result<i64, BlobError> {
        e.get(i)
            .ok_or(blob_err(NAME, i, Problem::Truncated))?
            .as_int()
            .ok_or(blob_err(NAME, i, Problem::NotANumber))
    };
    // Counts are bounded by the elements present, so index arithmetic cannot overflow.
    let count = |i: usize| -> Result<usize, BlobError> {
        usize::try_from(int(i)?)
            .ok()
            .filter(|&n| n <= e.len())
            .ok_or(blob_err(NAME, i, Problem::NotANumber))
    };
    let get = |i: usize| {
        e.get(i)
            .copied()
            .ok_or(blob_err(NAME, i, Problem::Truncated))
    };
    if e.is_empty() {
        return Err(blob_err(NAME, 0, Problem::Empty));
    }
    let master_fields_n = count(2)?;
    let master_fields: Vec<Vec<u8>> = (0..master_fields_n)
        .map(|i| get(3 + i).map(Element::to_vec))
        .collect::<Result<_, _>>()?;
    let mut p = 3 + master_fields_n;
    if int(p)? != 0 {
        return Err(blob_err(NAME, p, Problem::NotANumber));
    }
    p += 1;
    let mut out = Vec::new();
    while p < e.len() {
        let flags = int(p)?;
        let ms = master.ms.wrapping_add(int(p + 1)? as u64);
        let seq = master.seq.wrapping_add(int(p + 2)? as u64);
        p += 3;
        let mut fields = Vec::new();
        if flags & SAMEFIELDS != 0 {
            for (i, f) in master_fields.iter().enumerate() {
                fields.push((f.clone(), get(p + i)?.to_vec()));
            }
            p += master_fields_n;
        } else {
            let n = count(p)?;
            p += 1;
            for i in 0..n {
                fields.push((get(p + 2 * i)?.to_vec(), get(p + 2 * i + 1)?.to_vec()));
            }
            p += 2 * n;
        }
        get(p)?; // the entry's element count, for walking backwards
        p += 1;
        if flags & DELETED == 0 {
            out.push(StreamEntry {
                id: StreamId { ms, seq },
                fields,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_fields_own_fields_and_deleted_entries() {
        let s = |b: &'static [u8]| Element::Bytes(b);
        let i = Element::Int;
        let master = StreamId { ms: 100, seq: 5 };
        let elements = [
            // master entry: 2 live, 1 deleted, fields (a, b)
            i(2),
            i(1),
            i(2),
            s(b"a"),
            s(b"b"),
            i(0),
            // same fields as the master, id 100-5
            i(2),
            i(0),
            i(0),
            s(b"1"),
            s(b"2"),
            i(5),
            // deleted, own fields
            i(1),
            i(0),
            i(1),
            i(1),
            s(b"x"),
            s(b"y"),
            i(6),
            // own fields, id 101-0
            i(0),
            i(1),
            i(-5),
            i(1),
            s(b"c"),
            i(7),
            i(6),
        ];
        let entries = decode_node(master, &elements).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, StreamId { ms: 100, seq: 5 });
        assert_eq!(
            entries[0].fields,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]
        );
        assert_eq!(entries[1].id, StreamId { ms: 101, seq: 0 });
        assert_eq!(entries[1].fields, vec![(b"c".to_vec(), b"7".to_vec())]);
        assert!(decode_node(master, &elements[..8]).is_err());
        assert!(decode_node(master, &[]).is_err());
    }
}

//! RocksDB's write batch representation, built and read record by record.
//!
//! RocksDB keeps a `WriteBatch` as one byte string (`WriteBatch::data`): a 12-byte header (the
//! sequence number, 8 bytes, and the record count, 4 bytes, both little-endian; RocksDB assigns
//! the sequence number at write time) followed by the records, each a tag byte and its fields
//! (`db/write_batch.cc`, `ReadRecordFromWriteBatch`; the tags are `ValueType` in
//! `db/dbformat.h`):
//! - a point write, tag 0x01: key, value;
//! - a point deletion, tag 0x00: key;
//! - a range deletion, tag 0x0F: first key, end key (exclusive);
//! - the same three in a column family other than the default one (id 0), tags 0x05, 0x04 and
//!   0x0E, with the family's id as a varint32 right after the tag.
//!
//! A key or value is a varint32 length (7 bits per byte, low bits first, the high bit set on
//! every byte but the last) and then its bytes. The engine writes only these records; any other
//! tag (merge, single deletion, log data, blob index, ...) reads as [`Record::Other`], after which
//! the reader stops, since it cannot know that record's length.
//!
//! A commit encodes its records with [`RecordBatch`] rather than RocksDB's `WriteBatch`: the
//! same bytes (a test compares them), without a call into RocksDB per record or a search of the
//! column families by name, and with the place of every point record noted as it is written,
//! which the group commit (`write_behind`) indexes. RocksDB takes the bytes as they are
//! (`WriteBatch::from_data`).

use std::ops::Range;

use rocksdb::{ColumnFamily, WriteBatch};

/// Bytes of the representation before its first record.
pub(crate) const HEADER: usize = 12;

/// The id of the default column family, which its records leave out.
pub(crate) const DEFAULT_FAMILY: u32 = 0;

const DELETION: u8 = 0x00;
const VALUE: u8 = 0x01;
const FAMILY_DELETION: u8 = 0x04;
const FAMILY_VALUE: u8 = 0x05;
const FAMILY_RANGE_DELETION: u8 = 0x0E;
const RANGE_DELETION: u8 = 0x0F;

/// A representation under construction: the header, then the records in the order written.
pub(crate) struct RecordBatch {
    rep: Vec<u8>,
    count: u32,
    points: Vec<Place>,
    ranges: bool,
}

/// Where a point record lies in a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) family: u32,
    pub(crate) key: u32,
    pub(crate) key_len: u32,
    /// Where the value starts (it ends with the record); `None`: a deletion.
    pub(crate) value: Option<u32>,
}

impl Place {
    pub(crate) fn key<'r>(&self, rep: &'r [u8]) -> &'r [u8] {
        &rep[self.key as usize..(self.key + self.key_len) as usize]
    }

    pub(crate) fn value<'r>(&self, rep: &'r [u8]) -> Option<&'r [u8]> {
        self.value
            .map(|start| &rep[start as usize..self.end as usize])
    }

    /// The same record `by` bytes further on (its batch appended after others).
    pub(crate) fn shifted(self, by: u32) -> Place {
        Place {
            start: self.start + by,
            end: self.end + by,
            key: self.key + by,
            value: self.value.map(|v| v + by),
            ..self
        }
    }
}

impl Default for RecordBatch {
    fn default() -> Self {
        RecordBatch {
            rep: vec![0; HEADER],
            count: 0,
            points: Vec::new(),
            ranges: false,
        }
    }
}

impl RecordBatch {
    pub(crate) fn clear(&mut self) {
        self.rep.truncate(HEADER);
        self.count = 0;
        self.points.clear();
        self.ranges = false;
    }

    /// Writes `value` at `key` of family `family`.
    pub(crate) fn put(&mut self, family: u32, key: &[u8], value: &[u8]) {
        self.point(family, key, Some(value));
    }

    /// Deletes `key` of family `family`.
    pub(crate) fn delete(&mut self, family: u32, key: &[u8]) {
        self.point(family, key, None);
    }

    /// Deletes the keys from `begin` (included) to `end` (excluded) of family `family`.
    pub(crate) fn delete_range(&mut self, family: u32, begin: &[u8], end: &[u8]) {
        self.tag(family, RANGE_DELETION, FAMILY_RANGE_DELETION);
        self.slice(begin);
        self.slice(end);
        self.count += 1;
        self.ranges = true;
    }

    fn point(&mut self, family: u32, key: &[u8], value: Option<&[u8]>) {
        let start = self.rep.len() as u32;
        match value {
            Some(_) => self.tag(family, VALUE, FAMILY_VALUE),
            None => self.tag(family, DELETION, FAMILY_DELETION),
        }
        let key_at = self.slice(key);
        let value_at = value.map(|value| self.slice(value));
        self.points.push(Place {
            start,
            end: self.rep.len() as u32,
            family,
            key: key_at,
            key_len: key.len() as u32,
            value: value_at,
        });
        self.count += 1;
    }

    fn tag(&mut self, family: u32, plain: u8, in_family: u8) {
        if family == DEFAULT_FAMILY {
            self.rep.push(plain);
        } else {
            self.rep.push(in_family);
            put_varint32(&mut self.rep, family);
        }
    }

    /// Appends a length-prefixed slice; returns where its bytes start.
    fn slice(&mut self, bytes: &[u8]) -> u32 {
        put_varint32(&mut self.rep, bytes.len() as u32);
        let at = self.rep.len() as u32;
        self.rep.extend_from_slice(bytes);
        at
    }

    /// Bytes of the representation, header included.
    pub(crate) fn size(&self) -> usize {
        self.rep.len()
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// The records, without the header.
    pub(crate) fn records(&self) -> &[u8] {
        &self.rep[HEADER..]
    }

    /// The point records, as places in the representation (header included).
    pub(crate) fn points(&self) -> &[Place] {
        &self.points
    }

    /// Whether a range deletion is among the records.
    pub(crate) fn has_ranges(&self) -> bool {
        self.ranges
    }

    /// The batch for RocksDB.
    pub(crate) fn for_rocksdb(&mut self) -> WriteBatch {
        let count = self.count.to_le_bytes();
        self.rep[8..HEADER].copy_from_slice(&count);
        WriteBatch::from_data(&self.rep)
    }
}

fn put_varint32(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One record, as positions in the representation it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// A point write (`value: Some`) or deletion (`None`) of `key` in family `family`.
    Point {
        family: u32,
        key: Range<usize>,
        value: Option<Range<usize>>,
        end: usize,
    },
    /// A range deletion.
    Range { end: usize },
    /// A record of a kind the engine does not write: reading stops here.
    Other,
}

/// Reads the record that starts at `at` of `rep` (`None`: `rep` ends there or is cut short).
pub(crate) fn read_record(rep: &[u8], at: usize) -> Option<Record> {
    let tag = *rep.get(at)?;
    let mut pos = at + 1;
    let family = match tag {
        FAMILY_DELETION | FAMILY_VALUE | FAMILY_RANGE_DELETION => varint32(rep, &mut pos)?,
        DELETION | VALUE | RANGE_DELETION => DEFAULT_FAMILY,
        _ => return Some(Record::Other),
    };
    let key = slice(rep, &mut pos)?;
    Some(match tag {
        VALUE | FAMILY_VALUE => {
            let value = slice(rep, &mut pos)?;
            Record::Point {
                family,
                key,
                value: Some(value),
                end: pos,
            }
        }
        DELETION | FAMILY_DELETION => Record::Point {
            family,
            key,
            value: None,
            end: pos,
        },
        _ => {
            slice(rep, &mut pos)?;
            Record::Range { end: pos }
        }
    })
}

/// The id RocksDB gives column family `cf` in a batch's records.
pub(crate) fn family_id(cf: &ColumnFamily) -> u32 {
    let mut batch = WriteBatch::default();
    batch.delete_cf(cf, []);
    match read_record(batch.data(), HEADER) {
        Some(Record::Point { family, .. }) => family,
        // A deletion is always a point record: the default family writes it without an id.
        _ => DEFAULT_FAMILY,
    }
}

fn varint32(rep: &[u8], pos: &mut usize) -> Option<u32> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = *rep.get(*pos)?;
        *pos += 1;
        value |= u32::from(byte & 0x7F).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn slice(rep: &[u8], pos: &mut usize) -> Option<Range<usize>> {
    let len = varint32(rep, pos)? as usize;
    let start = *pos;
    let end = start.checked_add(len).filter(|&end| end <= rep.len())?;
    *pos = end;
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(rep: &[u8]) -> Vec<Record> {
        let mut at = HEADER;
        let mut out = Vec::new();
        while let Some(record) = read_record(rep, at) {
            at = match &record {
                Record::Point { end, .. } | Record::Range { end } => *end,
                Record::Other => usize::MAX,
            };
            out.push(record);
        }
        out
    }

    /// A RocksDB with the column families `names` (and the default one).
    fn open_with_families(dir: &std::path::Path, names: &[String]) -> rocksdb::DB {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        rocksdb::DB::open_cf(&options, dir, names).unwrap()
    }

    #[test]
    fn reads_the_records_rocksdb_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_with_families(dir.path(), &["a".into(), "b".into()]);
        let (default, b) = (db.cf_handle("default").unwrap(), db.cf_handle("b").unwrap());
        assert_eq!(family_id(default), 0);
        let b_id = family_id(b);
        assert_ne!(b_id, 0);
        assert_ne!(b_id, family_id(db.cf_handle("a").unwrap()));

        let long_value = vec![7u8; 300]; // a two-byte length
        let mut batch = WriteBatch::default();
        batch.put_cf(b, b"k1", &long_value);
        batch.delete_cf(default, b"k2");
        batch.delete_range_cf(b, b"a", b"z");
        batch.put_cf(default, b"k3", b"");
        let rep = batch.data().to_vec();
        let found = records(&rep);
        assert_eq!(found.len(), 4);
        let Record::Point {
            family,
            key,
            value: Some(value),
            end,
        } = &found[0]
        else {
            panic!("{:?}", found[0]);
        };
        assert_eq!((*family, &rep[key.clone()]), (b_id, &b"k1"[..]));
        assert_eq!(&rep[value.clone()], &long_value[..]);
        assert!(matches!(
            found[1],
            Record::Point {
                family: 0,
                value: None,
                ..
            }
        ));
        assert!(matches!(found[2], Record::Range { .. }));
        let Record::Point {
            value, end: last, ..
        } = &found[3]
        else {
            panic!("{:?}", found[3]);
        };
        assert_eq!(value.clone().map(|v| v.len()), Some(0));
        assert_eq!(*last, rep.len());
        assert!(*end < *last);

        // Cut short anywhere, a record does not read; another kind of record stops the reader.
        for cut in HEADER + 1..rep.len() {
            let partial = records(&rep[..cut]);
            assert!(partial.len() < 4, "cut at {cut}");
        }
        let mut merge = rep[..HEADER].to_vec();
        merge.extend_from_slice(&[0x02, 1, b'k', 1, b'v']);
        assert_eq!(records(&merge), vec![Record::Other]);
    }

    #[test]
    fn a_record_batch_holds_the_bytes_rocksdb_would_write() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
        let db = open_with_families(dir.path(), &names);
        // Family 199 has an id past 127: a two-byte varint.
        let (small, big) = (db.cf_handle("f1").unwrap(), db.cf_handle("f199").unwrap());
        let default = db.cf_handle("default").unwrap();
        assert!(family_id(big) > 127);
        let long = vec![b'v'; 200];

        let mut theirs = WriteBatch::default();
        let mut ours = RecordBatch::default();
        theirs.put_cf(small, b"k", b"v");
        ours.put(family_id(small), b"k", b"v");
        theirs.put_cf(big, &long, b"");
        ours.put(family_id(big), &long, b"");
        theirs.delete_cf(default, b"gone");
        ours.delete(DEFAULT_FAMILY, b"gone");
        theirs.put_cf(default, b"d", &long);
        ours.put(DEFAULT_FAMILY, b"d", &long);
        theirs.delete_range_cf(big, b"a", b"b");
        ours.delete_range(family_id(big), b"a", b"b");
        theirs.delete_cf(small, b"x");
        ours.delete(family_id(small), b"x");
        assert_eq!(ours.for_rocksdb().data(), theirs.data());
        assert!(ours.has_ranges());

        // The places noted are the records the reader finds.
        let rep = ours.for_rocksdb().data().to_vec();
        let read: Vec<Place> = records(&rep)
            .into_iter()
            .filter_map(|record| match record {
                Record::Point {
                    family,
                    key,
                    value,
                    end,
                } => Some((family, key, value, end)),
                _ => None,
            })
            .zip(ours.points())
            .map(|((family, key, value, end), noted)| {
                assert_eq!(family, noted.family);
                assert_eq!(&rep[key], noted.key(&rep));
                assert_eq!(value.map(|v| &rep[v]), noted.value(&rep));
                assert_eq!(end, noted.end as usize);
                *noted
            })
            .collect();
        assert_eq!(read.len(), 5);
        assert_eq!(read[3].value(&rep), Some(&long[..]));
        assert_eq!(
            read[4].shifted(10).key(&[&[0; 10], &rep[..]].concat()),
            b"x"
        );

        ours.clear();
        assert_eq!(ours.count(), 0);
        assert_eq!(ours.size(), HEADER);
        assert!(!ours.has_ranges() && ours.points().is_empty());
    }

    #[test]
    fn a_varint_longer_than_five_bytes_does_not_read() {
        let rep = [0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(read_record(&rep, 0), None);
    }
}

//! RocksDB's write batch representation, built record by record.
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
//! every byte but the last) and then its bytes. The engine writes only these records.
//!
//! A commit encodes its records with [`RecordBatch`] rather than RocksDB's `WriteBatch`: the
//! same bytes (a test compares them), without a call into RocksDB per record or a search of the
//! column families by name, and with the place of every point record noted as it is written,
//! which the group commit (`write_behind`) indexes. RocksDB takes the bytes as they are
//! (`WriteBatch::from_data`).

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

    /// Appends `other`'s records after these, with their places.
    pub(crate) fn append(&mut self, other: &RecordBatch) {
        let shift = (self.rep.len() - HEADER) as u32;
        self.rep.extend_from_slice(&other.rep[HEADER..]);
        self.points
            .extend(other.points.iter().map(|place| place.shifted(shift)));
        self.count += other.count;
        self.ranges |= other.ranges;
    }

    /// Bytes of the representation, header included.
    pub(crate) fn size(&self) -> usize {
        self.rep.len()
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// The representation as written so far (the header's count is set by
    /// [`RecordBatch::for_rocksdb`]): what [`Place`]s point into.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.rep
    }

    /// The point records, as places in [`RecordBatch::bytes`].
    pub(crate) fn points(&self) -> &[Place] {
        &self.points
    }

    /// Whether a range deletion is among the records.
    pub(crate) fn has_ranges(&self) -> bool {
        self.ranges
    }

    /// The batch for RocksDB.
    pub(crate) fn for_rocksdb(&mut self) -> WriteBatch {
        set_count(&mut self.rep, self.count);
        WriteBatch::from_data(&self.rep)
    }
}

/// Writes the record count into a representation's header.
pub(crate) fn set_count(rep: &mut [u8], count: u32) {
    rep[8..HEADER].copy_from_slice(&count.to_le_bytes());
}

fn put_varint32(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The id RocksDB gives column family `cf` in a batch's records: RocksDB encodes a deletion in
/// it, and the id follows the tag (the default family's records have none).
pub(crate) fn family_id(cf: &ColumnFamily) -> u32 {
    let mut batch = WriteBatch::default();
    batch.delete_cf(cf, []);
    let rep = batch.data();
    if rep.get(HEADER) != Some(&FAMILY_DELETION) {
        return DEFAULT_FAMILY;
    }
    let mut id = 0u32;
    for (i, byte) in rep[HEADER + 1..].iter().take(5).enumerate() {
        id |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            break;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RocksDB with the column families `names` (and the default one).
    fn open_with_families(dir: &std::path::Path, names: &[String]) -> rocksdb::DB {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        rocksdb::DB::open_cf(&options, dir, names).unwrap()
    }

    /// A point record as noted: family, key, value (`None`: a deletion).
    type Noted<'a> = (u32, &'a [u8], Option<&'a [u8]>);

    #[test]
    fn a_record_batch_holds_the_bytes_rocksdb_would_write() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
        let db = open_with_families(dir.path(), &names);
        // Family 199 has an id past 127: a two-byte varint.
        let (small, big) = (db.cf_handle("f1").unwrap(), db.cf_handle("f199").unwrap());
        let default = db.cf_handle("default").unwrap();
        assert!(family_id(big) > 127);
        assert_eq!(family_id(default), DEFAULT_FAMILY);
        assert_ne!(family_id(small), DEFAULT_FAMILY);
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

        // The places noted: each point record's key and value, where the bytes hold them.
        let rep = ours.for_rocksdb().data().to_vec();
        let noted: Vec<Noted> = ours
            .points()
            .iter()
            .map(|p| (p.family, p.key(&rep), p.value(&rep)))
            .collect();
        let expected: Vec<Noted> = vec![
            (family_id(small), b"k", Some(b"v")),
            (family_id(big), &long, Some(b"")),
            (DEFAULT_FAMILY, b"gone", None),
            (DEFAULT_FAMILY, b"d", Some(&long)),
            (family_id(small), b"x", None),
        ];
        assert_eq!(noted, expected);
        let last = ours.points()[4];
        assert_eq!(last.end as usize, rep.len());
        let moved = [&[0u8; 10][..], &rep].concat();
        assert_eq!(last.shifted(10).key(&moved), b"x");
        assert_eq!(ours.points()[3].shifted(10).value(&moved), Some(&long[..]));
        assert_eq!(ours.count(), 6);

        // Appended after another batch's records, they keep their bytes and their places.
        let mut both = RecordBatch::default();
        both.put(DEFAULT_FAMILY, b"first", b"1");
        both.append(&ours);
        assert_eq!(both.count(), 7);
        assert!(both.has_ranges());
        let appended: Vec<Noted> = both.points()[1..]
            .iter()
            .map(|p| (p.family, p.key(both.bytes()), p.value(both.bytes())))
            .collect();
        assert_eq!(appended, expected);
        assert_eq!(both.bytes().len(), both.points()[5].end as usize);

        ours.clear();
        assert_eq!(ours.count(), 0);
        assert_eq!(ours.size(), HEADER);
        assert!(!ours.has_ranges() && ours.points().is_empty());
    }
}

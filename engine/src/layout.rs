//! The on-disk layout. These names and byte formats are fixed once a data directory exists:
//! change them only with a migration.
//!
//! COLUMN FAMILIES.
//! - `default`: node records: the layout record, the replication position, the logical→physical
//!   database map, the per-(database, slot) key counters, the collection version bound and the
//!   function libraries.
//! - `slots-NN` (`NN` = 00..families-1): family `i` holds hash slots
//!   `[i * 16384/families, (i+1) * 16384/families)`. The family count is chosen when the directory
//!   is created (default 16, at most 64 in total with the other families) and recorded in the
//!   layout record.
//! - `expires`: the expire index, ordered by expire time.
//! - `field-expires`: the field-expire index of collections whose elements expire on their own
//!   (hashes with field TTLs), keyed like `expires` by each key's earliest element expire time.
//!
//! KEYS INSIDE A SLOT FAMILY. Every record starts with its 2-byte big-endian slot, so per-slot
//! work (count, list, drop, export) is a range operation:
//! - metadata: `slot(2) | 'k' | db(1) | user key` → [`crate::Meta`] record;
//! - collection element: `slot(2) | 's' | db(1) | keylen(4) | user key | version(8) | sub key`.
//!   A collection's elements carry the version of the metadata record that owns them, so deleting
//!   or overwriting the collection is one metadata write; stale elements are garbage, removed
//!   by a compaction filter (see `compaction.rs`).
//!
//! EXPIRE INDEX. `expire_at_ms(8, big-endian) | db(1) | user key` → empty. An entry is a hint:
//! the metadata record is authoritative, so a stale entry (left behind by a dropped slot) is
//! harmless and is removed when the active expire cycle reaches it.
//!
//! `db` is the *physical* database number; SWAPDB swaps the logical→physical map, not the data.

use formats::slot::SLOT_COUNT;

pub const CF_DEFAULT: &str = "default";
pub const CF_EXPIRES: &str = "expires";
pub const CF_FIELD_EXPIRES: &str = "field-expires";
/// Default number of slot families for a new data directory.
pub const DEFAULT_SLOT_FAMILIES: u16 = 16;
/// Most slot families a data directory may have (64 families in total, minus the fixed ones).
pub const MAX_SLOT_FAMILIES: u16 = 32;

pub const TAG_META: u8 = b'k';
pub const TAG_SUB: u8 = b's';

/// Node record keys in the default family.
pub const REC_LAYOUT: &[u8] = b"layout";
pub const REC_REPL: &[u8] = b"repl";
pub const REC_DBMAP: &[u8] = b"dbmap";
/// A bound above every collection version handed out (8 bytes, big-endian).
pub const REC_VERSION: &[u8] = b"version";
/// Present while an RDB file is being loaded into the directory (see `Engine::set_loading`).
pub const REC_LOADING: &[u8] = b"loading";
/// The function libraries (FUNCTION LOAD): one record in the node's own encoding, opaque here.
/// It lives outside the keyspace, so FLUSHALL and FLUSHDB leave it alone, as Redis does.
pub const REC_FUNCTIONS: &[u8] = b"functions";
pub const REC_COUNTER_PREFIX: u8 = b'c';

pub fn slot_family_name(index: u16) -> String {
    format!("slots-{index:02}")
}

/// Index of the family holding `slot` when there are `families` slot families.
pub fn family_of_slot(slot: u16, families: u16) -> usize {
    (slot / (SLOT_COUNT / families)) as usize
}

/// The raw position a key scan of physical db `db` starts from: the cursor `from` an earlier
/// page returned, or (empty cursor) the first key of slot 0.
pub fn scan_start(from: &[u8], db: u8) -> Vec<u8> {
    if from.len() >= 4 {
        from.to_vec()
    } else {
        meta_key(0, db, b"")
    }
}

pub fn meta_key(slot: u16, db: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    meta_key_into(slot, db, key, &mut out);
    out
}

/// [`meta_key`], appended to `out` (a commit reuses one buffer for all its records).
pub fn meta_key_into(slot: u16, db: u8, key: &[u8], out: &mut Vec<u8>) {
    out.reserve(4 + key.len());
    out.extend_from_slice(&slot.to_be_bytes());
    out.push(TAG_META);
    out.push(db);
    out.extend_from_slice(key);
}

/// The first metadata key of (slot, db) and the bound just past the last.
pub fn meta_range(slot: u16, db: u8) -> (Vec<u8>, Vec<u8>) {
    let start = meta_key(slot, db, b"");
    let mut end = start.clone();
    end[3] = db.wrapping_add(1);
    if db == u8::MAX {
        end[2] = TAG_META + 1;
        end.truncate(3);
    }
    (start, end)
}

/// Prefix of every element of one collection instance.
pub fn sub_prefix(slot: u16, db: u8, key: &[u8], version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + key.len());
    out.extend_from_slice(&slot.to_be_bytes());
    out.push(TAG_SUB);
    out.push(db);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&version.to_be_bytes());
    out
}

/// Range of every element record (any key) of (slot, db).
pub fn sub_range(slot: u16, db: u8) -> (Vec<u8>, Vec<u8>) {
    let mut start = slot.to_be_bytes().to_vec();
    start.push(TAG_SUB);
    start.push(db);
    let mut end = start.clone();
    if db == u8::MAX {
        end.truncate(2);
        end.push(TAG_SUB + 1);
    } else {
        end[3] = db + 1;
    }
    (start, end)
}

pub fn expire_key(expire_at_ms: i64, db: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + key.len());
    out.extend_from_slice(&(expire_at_ms.max(0) as u64).to_be_bytes());
    out.push(db);
    out.extend_from_slice(key);
    out
}

/// Splits an expire index key into (expire_at_ms, db, user key).
pub fn parse_expire_key(raw: &[u8]) -> Option<(i64, u8, &[u8])> {
    if raw.len() < 9 {
        return None;
    }
    let ms = u64::from_be_bytes(raw[..8].try_into().ok()?);
    Some((ms as i64, raw[8], &raw[9..]))
}

pub fn counter_key(db: u8, slot: u16) -> Vec<u8> {
    let mut out = vec![REC_COUNTER_PREFIX, db];
    out.extend_from_slice(&slot.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_partition_the_slots() {
        assert_eq!(family_of_slot(0, 16), 0);
        assert_eq!(family_of_slot(1023, 16), 0);
        assert_eq!(family_of_slot(1024, 16), 1);
        assert_eq!(family_of_slot(16383, 16), 15);
    }

    #[test]
    fn meta_range_covers_exactly_one_db() {
        let (start, end) = meta_range(7, 3);
        let inside = meta_key(7, 3, b"\xff\xff\xff");
        let next_db = meta_key(7, 4, b"");
        assert!(start <= inside && inside < end);
        assert!(next_db >= end);
        let (s, e) = sub_range(7, 3);
        let sub = sub_prefix(7, 3, b"k", 9);
        assert!(s <= sub && sub < e);
    }

    #[test]
    fn expire_keys_sort_by_time() {
        assert!(expire_key(5, 9, b"z") < expire_key(6, 0, b"a"));
        assert_eq!(
            parse_expire_key(&expire_key(42, 3, b"key")),
            Some((42, 3, &b"key"[..]))
        );
    }
}

//! Hashes with field expire times (Redis 7.4, RDB 12): how their TTLs are written.
//!
//! BACKGROUND. Redis 7.4 lets each hash field carry its own expire time. RDB 12 stores such a
//! hash in one of two types, chosen by its in-memory encoding (`rdbSaveObjectType`):
//! - HASH_LISTPACK_EX (25), a small hash ("listpackex"): the smallest field expire time as a u64
//!   little-endian (0 when no field has one; a hint the loader ignores), then a listpack blob of
//!   triples `field, value, expire time` with the absolute time in Unix milliseconds, 0 for a
//!   field without one. 7.4 keeps the triples ordered: fields with a TTL first, by time, then the
//!   others.
//! - HASH_METADATA (24), a big hash ("hashtable"): the smallest field expire time (u64 LE), the
//!   field count, then per field a length-encoded TTL, the field and the value. The TTL is stored
//!   relative to the smallest one, plus one (`expire - min + 1`), so that 0 keeps meaning "no
//!   TTL" and the usual case stays short.
//!
//! The release candidates wrote types 22 (like 24 but absolute times, no minimum) and 23 (like
//! 25 without the minimum); 7.4 still reads them, and so does [`super::Reader`], which decodes
//! all four. Fields whose time has passed are still in the file: a loader acting as a primary
//! drops them, a replica keeps them.
//!
//! BEHAVIOR. [`ListpackEx`] builds a type-25 blob triple by triple; [`relative_ttl`] is type 24's
//! TTL form; [`fits_listpack`] says which form 7.4, with its default `hash-max-listpack-entries`
//! (512) and `hash-max-listpack-value` (64), would hold a whole hash in. Times above 7.4's
//! `EB_EXPIRE_TIME_MAX` (2^48 - 1, [`EXPIRE_TIME_MAX`]) are refused by 7.4's loader, and by
//! [`super::Reader`] in types 22 and 24; writers never produce them because the commands cap
//! times at 2^46 - 1.

use super::event::HashField;
use crate::listpack;

/// The latest field expire time 7.4 loads (`EB_EXPIRE_TIME_MAX`, 2^48 - 1 ms).
pub const EXPIRE_TIME_MAX: u64 = (1 << 48) - 1;

/// 7.4's default `hash-max-listpack-entries`.
const LISTPACK_ENTRIES: usize = 512;
/// 7.4's default `hash-max-listpack-value`.
const LISTPACK_VALUE: usize = 64;

/// Whether 7.4 with its default limits keeps `fields` as a listpackex (type 25) rather than a
/// hashtable (type 24).
pub fn fits_listpack(fields: &[HashField]) -> bool {
    fields.len() <= LISTPACK_ENTRIES
        && fields
            .iter()
            .all(|f| f.field.len() <= LISTPACK_VALUE && f.value.len() <= LISTPACK_VALUE)
}

/// The smallest expire time among `fields` (0 when none has one), as 7.4 writes it first.
pub fn min_expire(fields: &[HashField]) -> i64 {
    fields
        .iter()
        .filter_map(|f| f.expire_at_ms)
        .min()
        .unwrap_or(0)
}

/// A type-24 field TTL: 0 for none, else `expire - min + 1`; `None` when `expire` is below the
/// announced minimum (the minimum was wrong).
pub fn relative_ttl(expire_at_ms: Option<i64>, min_expire_ms: i64) -> Option<u64> {
    match expire_at_ms {
        None => Some(0),
        Some(at) => u64::try_from(at.checked_sub(min_expire_ms)?)
            .ok()?
            .checked_add(1),
    }
}

/// A type-25 listpack being filled with `field, value, expire` triples.
#[derive(Debug, Default)]
pub struct ListpackEx {
    lp: listpack::Builder,
}

impl ListpackEx {
    /// Appends one field (`None`: no expire time).
    pub fn push(&mut self, field: &[u8], value: &[u8], expire_at_ms: Option<i64>) {
        self.lp.push_bytes(field);
        self.lp.push_bytes(value);
        self.lp.push_int(expire_at_ms.unwrap_or(0));
    }

    /// The finished blob, or `None` when it would exceed a listpack's 4 GiB.
    pub fn finish(self) -> Option<Vec<u8>> {
        self.lp.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::Element;

    fn field(name: &str, value_len: usize, expire_at_ms: Option<i64>) -> HashField {
        HashField {
            field: name.as_bytes().to_vec(),
            value: vec![b'v'; value_len],
            expire_at_ms,
        }
    }

    #[test]
    fn relative_ttls_keep_zero_for_none() {
        assert_eq!(relative_ttl(None, 1000), Some(0));
        assert_eq!(relative_ttl(Some(1000), 1000), Some(1));
        assert_eq!(relative_ttl(Some(1500), 1000), Some(501));
        assert_eq!(relative_ttl(Some(999), 1000), None);
    }

    #[test]
    fn listpack_form_follows_74_defaults() {
        let small = vec![field("a", 64, Some(5)), field("b", 1, None)];
        assert!(fits_listpack(&small));
        assert_eq!(min_expire(&small), 5);
        assert!(!fits_listpack(&[field("a", 65, None)]));
        let many: Vec<HashField> = (0..513).map(|i| field(&i.to_string(), 1, None)).collect();
        assert!(!fits_listpack(&many));
        assert_eq!(min_expire(&many), 0);
    }

    #[test]
    fn listpack_holds_triples() {
        let mut lp = ListpackEx::default();
        lp.push(b"f", b"12", Some(1_700_000_000_000));
        lp.push(b"g", b"x", None);
        let blob = lp.finish().unwrap();
        let items = listpack::decode(&blob).unwrap();
        assert_eq!(items.len(), 6);
        assert_eq!(items[2].as_int(), Some(1_700_000_000_000));
        assert_eq!(items[5].as_int(), Some(0));
        assert_eq!(items[3], Element::Bytes(b"g"));
    }
}

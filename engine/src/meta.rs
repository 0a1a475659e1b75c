//! The metadata record kept for every key.
//!
//! Layout (fixed on disk): `kind(1) | expire_at_ms(8, big-endian, 0 = none) | body`. The kind
//! byte's two high bits record a string's [`StringForm`].
//! For strings the body is the value itself, so a GET is one point lookup. For collections the
//! body is `version(8) | count(8) | extra`, where `version` identifies this instance's element
//! records and `extra` is kind-specific (list head/tail sequence numbers, stream ids, ...).
//! A collection whose own elements carry expire times (a Redis 7.4 hash with field TTLs) sets
//! the kind byte's high bit, and 8 more bytes follow `count`: the earliest of those times
//! ([`Meta::field_expire_ms`]), which the field-expire index keys on.
//!
//! The kind codes are Redis's object type codes (OBJ_STRING = 0, ...), fixed forever.

use crate::EngineError;

/// A key's type. The numbers are on disk: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    String = 0,
    List = 1,
    Set = 2,
    ZSet = 3,
    Hash = 4,
    Stream = 6,
}

impl Kind {
    fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            0 => Kind::String,
            1 => Kind::List,
            2 => Kind::Set,
            3 => Kind::ZSet,
            4 => Kind::Hash,
            6 => Kind::Stream,
            _ => return None,
        })
    }

    /// The name `TYPE` replies with.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Hash => "hash",
            Kind::Stream => "stream",
        }
    }
}

/// One key's metadata record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    /// Absolute expire time in Unix milliseconds; 0 means no expire.
    pub expire_at_ms: i64,
    /// Collection instance version (0 for strings).
    pub version: u64,
    /// Collection element count (0 for strings).
    pub count: u64,
    /// For a collection whose elements expire on their own (hash fields with TTLs): the
    /// earliest element expire time in Unix milliseconds; 0 means none. Always 0 for strings.
    pub field_expire_ms: i64,
    /// String value, or kind-specific collection data.
    pub body: Vec<u8>,
    /// How Redis would hold this string (OBJECT ENCODING depends on how the value was made).
    pub string_form: StringForm,
}

/// How a string value was made, which decides the encoding Redis reports for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringForm {
    /// Stored from a client argument: Redis's `tryObjectEncoding` (int, embstr or raw).
    #[default]
    Encoded,
    /// Built as a fresh string without integer encoding (INCRBYFLOAT): embstr or raw by length.
    NotInt,
    /// Modified in place or built as a raw object (APPEND, SETRANGE, SETBIT, BITFIELD, BITOP).
    Raw,
}

const HEADER_BYTES: usize = 9;
/// Kind-byte bits for [`StringForm`]; on a collection, [`RAW_BIT`] flags a field expire time.
const RAW_BIT: u8 = 0x80;
const NOT_INT_BIT: u8 = 0x40;
const COLLECTION_BYTES: usize = 16;

impl Meta {
    pub fn string(value: Vec<u8>, expire_at_ms: i64) -> Meta {
        Meta {
            kind: Kind::String,
            expire_at_ms,
            version: 0,
            count: 0,
            field_expire_ms: 0,
            body: value,
            string_form: StringForm::Encoded,
        }
    }

    /// A collection's metadata record: `count` elements under `version`, no expire.
    pub fn collection(kind: Kind, version: u64, count: u64, body: Vec<u8>) -> Meta {
        Meta {
            kind,
            expire_at_ms: 0,
            version,
            count,
            field_expire_ms: 0,
            body,
            string_form: StringForm::Encoded,
        }
    }

    pub fn has_expire(&self) -> bool {
        self.expire_at_ms != 0
    }

    /// Whether the key is logically gone at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        // Redis's keyIsExpired: `now > when`, so a key is still there during its expire
        // millisecond (a replica and its primary must agree on that millisecond).
        self.expire_at_ms != 0 && self.expire_at_ms < now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// [`Meta::encode`], appended to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let collection = self.kind != Kind::String;
        let field_expire = collection && self.field_expire_ms != 0;
        out.reserve(
            HEADER_BYTES
                + if collection { COLLECTION_BYTES } else { 0 }
                + if field_expire { 8 } else { 0 }
                + self.body.len(),
        );
        let form_bits = match self.string_form {
            _ if field_expire => RAW_BIT,
            StringForm::Encoded => 0,
            StringForm::NotInt => NOT_INT_BIT,
            StringForm::Raw => RAW_BIT,
        };
        out.push(self.kind as u8 | form_bits);
        out.extend_from_slice(&self.expire_at_ms.to_be_bytes());
        if collection {
            out.extend_from_slice(&self.version.to_be_bytes());
            out.extend_from_slice(&self.count.to_be_bytes());
            if field_expire {
                out.extend_from_slice(&self.field_expire_ms.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.body);
    }

    /// The collection version of an encoded record without decoding the rest (the body of a
    /// string can be large): `None` for a string, `Err` for a record that is not a metadata record.
    pub(crate) fn peek_version(raw: &[u8]) -> Result<Option<u64>, EngineError> {
        let corrupt = |detail: &str| EngineError::Corrupt {
            what: "key metadata",
            detail: detail.into(),
        };
        let kind = raw
            .first()
            .and_then(|b| Kind::from_code(b & !(RAW_BIT | NOT_INT_BIT)))
            .ok_or_else(|| corrupt("unknown kind"))?;
        if kind == Kind::String {
            return Ok(None);
        }
        let version = raw
            .get(HEADER_BYTES..HEADER_BYTES + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("collection record shorter than its header"))?;
        Ok(Some(u64::from_be_bytes(version)))
    }

    pub fn decode(raw: &[u8]) -> Result<Meta, EngineError> {
        let corrupt = |detail: &str| EngineError::Corrupt {
            what: "key metadata",
            detail: detail.into(),
        };
        if raw.len() < HEADER_BYTES {
            return Err(corrupt("record shorter than its header"));
        }
        let kind = Kind::from_code(raw[0] & !(RAW_BIT | NOT_INT_BIT))
            .ok_or_else(|| corrupt("unknown kind"))?;
        let string_form = match raw[0] & (RAW_BIT | NOT_INT_BIT) {
            0 => StringForm::Encoded,
            NOT_INT_BIT => StringForm::NotInt,
            _ => StringForm::Raw,
        };
        let expire_at_ms = i64::from_be_bytes(raw[1..9].try_into().map_err(|_| corrupt("expire"))?);
        if kind == Kind::String {
            let mut meta = Meta::string(raw[HEADER_BYTES..].to_vec(), expire_at_ms);
            meta.string_form = string_form;
            return Ok(meta);
        }
        let rest = &raw[HEADER_BYTES..];
        if rest.len() < COLLECTION_BYTES {
            return Err(corrupt("collection record shorter than its header"));
        }
        let version = u64::from_be_bytes(rest[..8].try_into().map_err(|_| corrupt("version"))?);
        let count = u64::from_be_bytes(rest[8..16].try_into().map_err(|_| corrupt("count"))?);
        let (field_expire_ms, body) = if raw[0] & RAW_BIT != 0 {
            let at = rest
                .get(16..24)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt("field expire time"))?;
            (i64::from_be_bytes(at), &rest[24..])
        } else {
            (0, &rest[16..])
        };
        Ok(Meta {
            kind,
            expire_at_ms,
            version,
            count,
            field_expire_ms,
            body: body.to_vec(),
            string_form: StringForm::Encoded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_expires_after_its_millisecond_as_in_redis() {
        let s = Meta::string(b"v".to_vec(), 1000);
        assert!(!s.is_expired(999));
        assert!(!s.is_expired(1000));
        assert!(s.is_expired(1001));
        assert!(!Meta::string(b"v".to_vec(), 0).is_expired(i64::MAX));
    }

    #[test]
    fn round_trips() {
        let s = Meta::string(b"hello".to_vec(), 1234);
        assert_eq!(Meta::decode(&s.encode()).unwrap(), s);
        for form in [StringForm::Raw, StringForm::NotInt] {
            let built = Meta {
                string_form: form,
                ..s.clone()
            };
            assert_eq!(Meta::decode(&built.encode()).unwrap(), built);
        }
        let h = Meta::collection(Kind::Hash, 77, 3, vec![1, 2]);
        assert_eq!(Meta::decode(&h.encode()).unwrap(), h);
        let with_fields = Meta {
            field_expire_ms: 1_700_000_000_000,
            ..h.clone()
        };
        assert_eq!(Meta::decode(&with_fields.encode()).unwrap(), with_fields);
        assert_eq!(Meta::peek_version(&with_fields.encode()).unwrap(), Some(77));
        assert!(Meta::decode(&[9, 0]).is_err());
        assert!(Meta::decode(&[1; 12]).is_err());
        assert_eq!(Meta::peek_version(&h.encode()).unwrap(), Some(77));
        assert_eq!(Meta::peek_version(&s.encode()).unwrap(), None);
        assert!(Meta::peek_version(&[1; 12]).is_err());
        assert!(Meta::peek_version(&[]).is_err());
    }
}

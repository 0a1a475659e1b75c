//! The metadata record kept for every key.
//!
//! Layout (fixed on disk): `kind(1) | expire_at_ms(8, big-endian, 0 = none) | body`.
//! For strings the body is the value itself, so a GET is one point lookup. For collections the
//! body is `version(8) | count(8) | extra`, where `version` identifies this instance's element
//! records and `extra` is kind-specific (list head/tail sequence numbers, stream ids, ...).
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
    /// String value, or kind-specific collection data.
    pub body: Vec<u8>,
}

const HEADER_BYTES: usize = 9;
const COLLECTION_BYTES: usize = 16;

impl Meta {
    pub fn string(value: Vec<u8>, expire_at_ms: i64) -> Meta {
        Meta {
            kind: Kind::String,
            expire_at_ms,
            version: 0,
            count: 0,
            body: value,
        }
    }

    pub fn has_expire(&self) -> bool {
        self.expire_at_ms != 0
    }

    /// Whether the key is logically gone at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let collection = self.kind != Kind::String;
        let mut out = Vec::with_capacity(
            HEADER_BYTES + if collection { COLLECTION_BYTES } else { 0 } + self.body.len(),
        );
        out.push(self.kind as u8);
        out.extend_from_slice(&self.expire_at_ms.to_be_bytes());
        if collection {
            out.extend_from_slice(&self.version.to_be_bytes());
            out.extend_from_slice(&self.count.to_be_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }

    pub fn decode(raw: &[u8]) -> Result<Meta, EngineError> {
        let corrupt = |detail: &str| EngineError::Corrupt {
            what: "key metadata",
            detail: detail.into(),
        };
        if raw.len() < HEADER_BYTES {
            return Err(corrupt("record shorter than its header"));
        }
        let kind = Kind::from_code(raw[0]).ok_or_else(|| corrupt("unknown kind"))?;
        let expire_at_ms = i64::from_be_bytes(raw[1..9].try_into().map_err(|_| corrupt("expire"))?);
        if kind == Kind::String {
            return Ok(Meta::string(raw[HEADER_BYTES..].to_vec(), expire_at_ms));
        }
        let rest = &raw[HEADER_BYTES..];
        if rest.len() < COLLECTION_BYTES {
            return Err(corrupt("collection record shorter than its header"));
        }
        let version = u64::from_be_bytes(rest[..8].try_into().map_err(|_| corrupt("version"))?);
        let count = u64::from_be_bytes(rest[8..16].try_into().map_err(|_| corrupt("count"))?);
        Ok(Meta {
            kind,
            expire_at_ms,
            version,
            count,
            body: rest[16..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Meta::string(b"hello".to_vec(), 1234);
        assert_eq!(Meta::decode(&s.encode()).unwrap(), s);
        let h = Meta {
            kind: Kind::Hash,
            expire_at_ms: 0,
            version: 77,
            count: 3,
            body: vec![1, 2],
        };
        assert_eq!(Meta::decode(&h.encode()).unwrap(), h);
        assert!(Meta::decode(&[9, 0]).is_err());
        assert!(Meta::decode(&[1; 12]).is_err());
    }
}

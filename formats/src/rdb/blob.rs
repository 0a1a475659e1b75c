//! What the blob codecs (ziplist, zipmap, intset, listpack) share: the element they yield and
//! the error they report. A blob is one RDB string holding a whole small collection in Redis's
//! in-memory layout; the codecs check its structure as strictly as Redis's integrity checks do,
//! because the reader never trusts a length inside a blob without checking it against the blob.

use thiserror::Error;

/// One element of a ziplist or listpack: a byte string or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Element<'_> {
    /// The element as Redis would return it: integers in decimal.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Element::Bytes(b) => b.to_vec(),
            Element::Int(i) => i.to_string().into_bytes(),
        }
    }

    /// The element as an integer, if it is one or reads as one.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Element::Int(i) => Some(i),
            Element::Bytes(b) => crate::text::string2ll(b),
        }
    }

    /// The element as a double, as Redis reads a sorted-set score stored in a blob.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Element::Int(i) => Some(i as f64),
            Element::Bytes(b) => parse_f64(b),
        }
    }
}

/// Parses a score written as text ("1.5", "inf", "-inf"); NaN is not a valid score.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|f| !f.is_nan()),
    }
}

/// A blob whose structure is broken, with the byte (inside the blob) where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{container} corrupt at byte {at} of the blob: {problem}")]
pub struct BlobError {
    pub container: &'static str,
    pub at: usize,
    pub problem: Problem,
}

/// What was wrong inside a blob.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("it ends before the structure does")]
    Truncated,
    #[error("expected a number (score, TTL, count, flag or id), found another element")]
    NotANumber,
    #[error("unknown encoding byte {0:#04x}")]
    BadEncoding(u8),
    #[error("the header says {header} bytes, the blob has {actual}")]
    SizeMismatch { header: u64, actual: u64 },
    #[error("the header says {header} elements, found {found}")]
    CountMismatch { header: u64, found: u64 },
    #[error("expected the end marker 0xff, found {0:#04x}")]
    NoEnd(u8),
    #[error("bytes follow the end marker")]
    TrailingBytes,
    #[error("it holds no elements")]
    Empty,
    #[error("members are not sorted and unique")]
    NotSorted,
    #[error("element count does not divide into whole field/value (/TTL) groups")]
    OddCount,
}

pub(crate) fn err(container: &'static str, at: usize, problem: Problem) -> BlobError {
    BlobError {
        container,
        at,
        problem,
    }
}

/// Checks the element count a blob's header announces (at byte `at`) against the `found`
/// elements; `unknown` is the header value meaning "too many to say", when Redis counts by
/// walking instead.
pub(crate) fn check_count(
    container: &'static str,
    at: usize,
    header: u64,
    unknown: u64,
    found: usize,
) -> Result<(), BlobError> {
    if header == unknown || header == found as u64 {
        return Ok(());
    }
    Err(err(
        container,
        at,
        Problem::CountMismatch {
            header,
            found: found as u64,
        },
    ))
}

//! Stream entry IDs: `<ms>-<seq>`, two unsigned 64-bit numbers ordered as a pair, and the ways
//! Redis 7.0 reads them from arguments.
//!
//! Each part is read with Redis's `string2ull`: the strict `string2ll` syntax first, and failing
//! that C's `strtoull`, which also takes leading blanks, a sign and leading zeros (so `" 5"` and
//! `"+5"` are 5, and a negated number wraps around). The text splits at its first `-`; a missing
//! sequence part takes a default that depends on the command (0 for a start, the maximum for an
//! end). `-` and `+` mean the smallest and the largest ID where a range is expected, and are
//! refused where an exact ID is ("strict"). XADD also takes `<ms>-*`; ranges take `(` before an
//! ID for an exclusive bound.

use crate::error::CommandError;

/// A stream entry ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// Longest ID argument Redis copies into its parse buffer.
const MAX_ID_TEXT: usize = 127;

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The 16-byte big-endian form, which sorts like the IDs.
    pub fn encode(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    /// Reads the 16-byte form; `None` if `raw` is shorter.
    pub fn decode(raw: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(raw.get(8..16)?.try_into().ok()?);
        Some(StreamId { ms, seq })
    }

    /// The next ID (`None` after the maximum): Redis's streamIncrID.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID (`None` before zero): Redis's streamDecrID.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::ZERO
    }

    /// `<ms>-<seq>`, as replies carry it.
    pub fn text(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }
}

/// The RDB codec's ID type (the same two numbers).
impl From<StreamId> for formats::rdb::StreamId {
    fn from(id: StreamId) -> Self {
        formats::rdb::StreamId {
            ms: id.ms,
            seq: id.seq,
        }
    }
}

impl From<formats::rdb::StreamId> for StreamId {
    fn from(id: formats::rdb::StreamId) -> Self {
        StreamId::new(id.ms, id.seq)
    }
}

/// How an ID argument may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRules {
    /// The sequence number when the text has none.
    pub missing_seq: u64,
    /// `-` and `+` are refused.
    pub strict: bool,
    /// `<ms>-*` is accepted (XADD).
    pub seq_wildcard: bool,
}

/// A parsed ID; `seq_given` is false for `<ms>-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    pub id: StreamId,
    pub seq_given: bool,
}

fn invalid() -> CommandError {
    CommandError::other("ERR Invalid stream ID specified as stream command argument")
}

/// Redis's streamGenericParseIDOrReply.
pub fn parse_with(arg: &[u8], rules: IdRules) -> Result<ParsedId, CommandError> {
    if arg.len() > MAX_ID_TEXT {
        return Err(invalid());
    }
    // Redis parses a C string: it ends at the first NUL byte.
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    let given = |id| {
        Ok(ParsedId {
            id,
            seq_given: true,
        })
    };
    match text {
        b"-" | b"+" if rules.strict => return Err(invalid()),
        b"-" => return given(StreamId::ZERO),
        b"+" => return given(StreamId::MAX),
        _ => {}
    }
    let (ms_text, seq_text) = match text.iter().position(|&b| b == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = string2ull(ms_text).ok_or_else(invalid)?;
    match seq_text {
        Some(b"*") if rules.seq_wildcard => Ok(ParsedId {
            id: StreamId::new(ms, 0),
            seq_given: false,
        }),
        Some(seq) => given(StreamId::new(ms, string2ull(seq).ok_or_else(invalid)?)),
        None => given(StreamId::new(ms, rules.missing_seq)),
    }
}

/// An exact ID (`-`/`+` refused), a missing sequence read as 0: MINID, XSETID, XCLAIM, ...
pub fn parse_strict(arg: &[u8]) -> Result<StreamId, CommandError> {
    let rules = IdRules {
        missing_seq: 0,
        strict: true,
        seq_wildcard: false,
    };
    Ok(parse_with(arg, rules)?.id)
}

/// An ID where `-`/`+` are allowed, a missing sequence read as `missing_seq`.
pub fn parse_loose(arg: &[u8], missing_seq: u64) -> Result<StreamId, CommandError> {
    let rules = IdRules {
        missing_seq,
        strict: false,
        seq_wildcard: false,
    };
    Ok(parse_with(arg, rules)?.id)
}

/// One bound of a range (XRANGE, XPENDING): `(` makes it exclusive, and an exclusive bound is
/// strict. Returns the ID and whether it is exclusive.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CommandError> {
    match arg {
        [b'(', rest @ ..] if !rest.is_empty() => {
            let rules = IdRules {
                missing_seq,
                strict: true,
                seq_wildcard: false,
            };
            Ok((parse_with(rest, rules)?.id, true))
        }
        _ => Ok((parse_loose(arg, missing_seq)?, false)),
    }
}

/// A range's start as XRANGE, XPENDING and XAUTOCLAIM read it: a missing sequence is 0, and
/// an exclusive start moves to the next ID.
pub fn parse_start(arg: &[u8]) -> Result<StreamId, CommandError> {
    let (from, excluded) = parse_interval(arg, 0)?;
    if !excluded {
        return Ok(from);
    }
    from.next()
        .ok_or_else(|| CommandError::other("ERR invalid start ID for the interval"))
}

/// A range's end: a missing sequence is the greatest, an exclusive end moves to the previous
/// ID.
pub fn parse_end(arg: &[u8]) -> Result<StreamId, CommandError> {
    let (to, excluded) = parse_interval(arg, u64::MAX)?;
    if !excluded {
        return Ok(to);
    }
    to.prev()
        .ok_or_else(|| CommandError::other("ERR invalid end ID for the interval"))
}

/// Parses an inclusive range's start and end the way XRANGE does (start first), with Redis's
/// errors.
pub fn parse_range(start: &[u8], end: &[u8]) -> Result<(StreamId, StreamId), CommandError> {
    Ok((parse_start(start)?, parse_end(end)?))
}

/// Redis's `string2ull`: `string2ll` when it succeeds (negative numbers refused), otherwise
/// C's `strtoull` over the whole text.
fn string2ull(text: &[u8]) -> Option<u64> {
    if let Some(value) = formats::text::string2ll(text) {
        return u64::try_from(value).ok();
    }
    strtoull(text)
}

/// C's `strtoull(text, &end, 10)` accepted only when it reads the whole text: leading blanks,
/// an optional sign, at least one digit; overflow refused; a minus sign negates modulo 2^64.
fn strtoull(text: &[u8]) -> Option<u64> {
    let blanks = text
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let mut rest = &text[blanks..];
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for digit in rest {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        let loose = |t: &str| parse_loose(t.as_bytes(), 0).ok();
        assert_eq!(loose("5"), Some(StreamId::new(5, 0)));
        assert_eq!(loose("5-3"), Some(StreamId::new(5, 3)));
        assert_eq!(loose(" 5"), Some(StreamId::new(5, 0)));
        assert_eq!(loose("+7"), Some(StreamId::new(7, 0)));
        assert_eq!(loose("007-01"), Some(StreamId::new(7, 1)));
        assert_eq!(
            loose("8- -3"),
            Some(StreamId::new(8, 18_446_744_073_709_551_613))
        );
        assert_eq!(loose("-"), Some(StreamId::ZERO));
        assert_eq!(loose("+"), Some(StreamId::MAX));
        assert_eq!(
            loose("18446744073709551615-18446744073709551615"),
            Some(StreamId::MAX)
        );
        assert_eq!(loose("18446744073709551616"), None);
        assert_eq!(loose("-5"), None);
        assert_eq!(loose("1-2-3"), None);
        assert_eq!(loose(""), None);
        assert_eq!(loose("5-"), None);
        assert_eq!(loose("5\u{0}junk"), Some(StreamId::new(5, 0)));
        assert!(parse_strict(b"-").is_err());
        let wildcard = IdRules {
            missing_seq: 0,
            strict: true,
            seq_wildcard: true,
        };
        assert_eq!(
            parse_with(b"5-*", wildcard).ok(),
            Some(ParsedId {
                id: StreamId::new(5, 0),
                seq_given: false
            })
        );
        assert!(parse_strict(b"5-*").is_err());
    }

    #[test]
    fn ranges_move_exclusive_bounds() {
        // An end without a sequence means its greatest one, so `(5` stops just before 5-MAX.
        assert_eq!(
            parse_range(b"(1-1", b"(5").ok(),
            Some((StreamId::new(1, 2), StreamId::new(5, u64::MAX - 1)))
        );
        assert_eq!(
            parse_range(b"(1-18446744073709551615", b"(6-0").ok(),
            Some((StreamId::new(2, 0), StreamId::new(5, u64::MAX)))
        );
        assert_eq!(
            parse_range(b"-", b"+").ok(),
            Some((StreamId::ZERO, StreamId::MAX))
        );
        assert_eq!(
            parse_range(b"3", b"3").ok(),
            Some((StreamId::new(3, 0), StreamId::new(3, u64::MAX)))
        );
        assert!(parse_range(b"(18446744073709551615-18446744073709551615", b"+").is_err());
        assert!(parse_range(b"-", b"(0-0").is_err());
        assert!(parse_range(b"(-", b"+").is_err());
        assert_eq!(
            StreamId::decode(&StreamId::new(1, 2).encode()),
            Some(StreamId::new(1, 2))
        );
    }
}

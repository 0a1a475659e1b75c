//! RESP replies in: the decoder for what a Redis server sends back.
//!
//! BACKGROUND. [`crate::resp`] decodes what clients send (multibulk requests and inline lines)
//! and encodes what a server replies. The other direction, decoding replies, is needed wherever
//! rockslot is itself the client: a replica talking to its primary (`+FULLRESYNC`, `+CONTINUE`,
//! `-ERR`), tests that speak raw RESP, and the command table, which is generated from real
//! Redis's `COMMAND INFO` / `COMMAND DOCS` replies stored as RESP3 bytes.
//!
//! BEHAVIOR. [`parse_reply`] looks at the front of a buffer and returns the first complete reply
//! with the number of bytes it took, `Ok(None)` when the buffer ends inside the reply (read more
//! and call again with the whole buffer), or a [`ReplyError`] when the bytes are not RESP. Both
//! protocols are understood, so one decoder serves RESP2 and RESP3 peers:
//!
//! | type byte | meaning                    | [`Reply`] variant                          |
//! |-----------|----------------------------|--------------------------------------------|
//! | `+`       | simple string              | `Simple`                                   |
//! | `-` `!`   | simple / blob error        | `Error`                                    |
//! | `:`       | integer                    | `Integer`                                  |
//! | `$`       | bulk string, `$-1` null    | `Bulk`, `Null`                             |
//! | `*`       | array, `*-1` null array    | `Array`, `NullArray`                       |
//! | `_`       | RESP3 null                 | `Null`                                     |
//! | `,`       | double                     | `Double`                                   |
//! | `#`       | boolean                    | `Bool`                                     |
//! | `%` `~` `>` | map, set, push           | `Map`, `Set`, `Push`                       |
//! | `=`       | verbatim string            | `Verbatim` (the text, without its format)  |
//! | `(`       | big number                 | `Bulk` of its digits, as RESP2 would send it |
//! | `\|`      | attribute                  | skipped; the value it annotates is returned |
//!
//! Simple strings and errors become `String`s; the rare byte that is not UTF-8 is replaced, as
//! these lines are status words and messages, never data.
//!
//! LIMITS. Nothing is allocated in proportion to a claimed length before the bytes are there:
//! a header announcing a huge bulk or aggregate just yields `Ok(None)` until the data arrives,
//! and aggregate vectors grow as elements are actually decoded. Nesting is bounded by
//! [`MAX_DEPTH`] so a hostile peer cannot overflow the stack. Streamed RESP3 strings and
//! aggregates (`$?`, `*?`) are refused: Redis never sends them.

use bytes::Bytes;

use crate::resp::Reply;

/// Deepest nesting of aggregates accepted (Redis's own replies nest fewer than 10 levels).
pub const MAX_DEPTH: usize = 512;

/// Bytes that are not a valid RESP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("invalid RESP type byte {0:#04x} at offset {1}")]
    InvalidType(u8, usize),
    #[error("invalid length or integer at offset {0}")]
    InvalidNumber(usize),
    #[error("invalid double at offset {0}")]
    InvalidDouble(usize),
    #[error("invalid boolean at offset {0}")]
    InvalidBoolean(usize),
    #[error("string at offset {0} is not followed by CRLF")]
    MissingCrlf(usize),
    #[error("verbatim string at offset {0} has no format prefix")]
    InvalidVerbatim(usize),
    #[error("streamed RESP3 value at offset {0} is not supported")]
    Streamed(usize),
    #[error("reply nests deeper than {MAX_DEPTH} levels at offset {0}")]
    TooDeep(usize),
}

/// Parses the first reply in `buf`.
///
/// Returns the reply and the number of bytes it occupies, or `Ok(None)` if `buf` holds only
/// part of it.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let parser = Parser { buf };
    match parser.value(0, 0) {
        Ok((reply, end)) => Ok(Some((reply, end))),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Why decoding stopped: more bytes are needed, or the bytes are wrong.
enum Stop {
    Incomplete,
    Invalid(ReplyError),
}

impl From<ReplyError> for Stop {
    fn from(e: ReplyError) -> Stop {
        Stop::Invalid(e)
    }
}

struct Parser<'a> {
    buf: &'a [u8],
}

impl Parser<'_> {
    /// The line starting at `pos` (without CRLF) and the offset after its CRLF.
    fn line(&self, pos: usize) -> Result<(&[u8], usize), Stop> {
        let rest = self.buf.get(pos..).ok_or(Stop::Incomplete)?;
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(Stop::Incomplete)?;
        Ok((&rest[..end], pos + end + 2))
    }

    /// The decimal integer on the line at `pos`.
    fn number(&self, pos: usize) -> Result<(i64, usize), Stop> {
        let (line, next) = self.line(pos)?;
        let n = std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or(ReplyError::InvalidNumber(pos))?;
        Ok((n, next))
    }

    /// The `len` payload bytes starting at `pos`, which must be followed by CRLF.
    fn payload(&self, pos: usize, len: i64, header: usize) -> Result<(&[u8], usize), Stop> {
        let len = usize::try_from(len).map_err(|_| ReplyError::InvalidNumber(header))?;
        let end = pos
            .checked_add(len)
            .ok_or(ReplyError::InvalidNumber(header))?;
        if self.buf.len() < end.saturating_add(2) {
            return Err(Stop::Incomplete);
        }
        if &self.buf[end..end + 2] != b"\r\n" {
            return Err(ReplyError::MissingCrlf(pos).into());
        }
        Ok((&self.buf[pos..end], end + 2))
    }

    /// An element count, where `-1` means a RESP2 null.
    fn count(&self, pos: usize) -> Result<(Option<usize>, usize), Stop> {
        if self.buf.get(pos + 1) == Some(&b'?') {
            return Err(ReplyError::Streamed(pos).into());
        }
        let (n, next) = self.number(pos + 1)?;
        match n {
            -1 => Ok((None, next)),
            n => Ok((
                Some(usize::try_from(n).map_err(|_| ReplyError::InvalidNumber(pos))?),
                next,
            )),
        }
    }

    fn items(&self, n: usize, mut pos: usize, depth: usize) -> Result<(Vec<Reply>, usize), Stop> {
        // The claimed count is not trusted for the allocation; the vector grows with the data.
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let (item, next) = self.value(pos, depth + 1)?;
            items.push(item);
            pos = next;
        }
        Ok((items, pos))
    }

    fn value(&self, pos: usize, depth: usize) -> Result<(Reply, usize), Stop> {
        if depth > MAX_DEPTH {
            return Err(ReplyError::TooDeep(pos).into());
        }
        let Some(&tag) = self.buf.get(pos) else {
            return Err(Stop::Incomplete);
        };
        match tag {
            b'+' | b'-' => {
                let (line, next) = self.line(pos + 1)?;
                let text = String::from_utf8_lossy(line).into_owned();
                Ok((
                    if tag == b'+' {
                        Reply::Simple(text.into())
                    } else {
                        Reply::Error(text)
                    },
                    next,
                ))
            }
            b':' => {
                let (n, next) = self.number(pos + 1)?;
                Ok((Reply::Integer(n), next))
            }
            b'_' => {
                let (line, next) = self.line(pos + 1)?;
                if !line.is_empty() {
                    return Err(ReplyError::InvalidType(tag, pos).into());
                }
                Ok((Reply::Null, next))
            }
            b',' => {
                let (line, next) = self.line(pos + 1)?;
                let d = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or(ReplyError::InvalidDouble(pos))?;
                Ok((Reply::Double(d), next))
            }
            b'#' => match self.line(pos + 1)? {
                (b"t", next) => Ok((Reply::Bool(true), next)),
                (b"f", next) => Ok((Reply::Bool(false), next)),
                _ => Err(ReplyError::InvalidBoolean(pos).into()),
            },
            b'(' => {
                let (line, next) = self.line(pos + 1)?;
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(ReplyError::InvalidNumber(pos).into());
                }
                Ok((Reply::Bulk(Bytes::copy_from_slice(line)), next))
            }
            b'$' | b'!' | b'=' => {
                if self.buf.get(pos + 1) == Some(&b'?') {
                    return Err(ReplyError::Streamed(pos).into());
                }
                let (len, start) = self.number(pos + 1)?;
                if len == -1 && tag == b'$' {
                    return Ok((Reply::Null, start));
                }
                let (data, next) = self.payload(start, len, pos)?;
                let reply = match tag {
                    b'$' => Reply::Bulk(Bytes::copy_from_slice(data)),
                    b'!' => Reply::Error(String::from_utf8_lossy(data).into_owned()),
                    _ => match data.get(3) {
                        Some(b':') => Reply::Verbatim(Bytes::copy_from_slice(&data[4..])),
                        _ => return Err(ReplyError::InvalidVerbatim(pos).into()),
                    },
                };
                Ok((reply, next))
            }
            b'*' | b'~' | b'>' => {
                let (n, start) = self.count(pos)?;
                let Some(n) = n else {
                    return match tag {
                        b'*' => Ok((Reply::NullArray, start)),
                        _ => Err(ReplyError::InvalidNumber(pos).into()),
                    };
                };
                let (items, next) = self.items(n, start, depth)?;
                let reply = match tag {
                    b'*' => Reply::Array(items),
                    b'~' => Reply::Set(items),
                    _ => Reply::Push(items),
                };
                Ok((reply, next))
            }
            b'%' | b'|' => {
                let (n, start) = self.count(pos)?;
                let n = n.ok_or(ReplyError::InvalidNumber(pos))?;
                let (flat, next) = self.items(
                    n.checked_mul(2).ok_or(ReplyError::InvalidNumber(pos))?,
                    start,
                    depth,
                )?;
                if tag == b'|' {
                    // Attributes carry out-of-band hints; the value they annotate follows.
                    return self.value(next, depth);
                }
                let mut pairs = Vec::with_capacity(n.min(1024));
                let mut flat = flat.into_iter();
                while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                    pairs.push((k, v));
                }
                Ok((Reply::Map(pairs), next))
            }
            other => Err(ReplyError::InvalidType(other, pos).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Reply {
        let (reply, used) = parse_reply(input).unwrap().unwrap();
        assert_eq!(used, input.len(), "whole input consumed for {input:?}");
        reply
    }

    #[test]
    fn resp2_types() {
        assert_eq!(one(b"+OK\r\n"), Reply::Simple("OK".into()));
        assert_eq!(one(b"-ERR bad\r\n"), Reply::Error("ERR bad".into()));
        assert_eq!(one(b":-42\r\n"), Reply::Integer(-42));
        assert_eq!(one(b"$5\r\nhe\r\no\r\n"), Reply::bulk("he\r\no"));
        assert_eq!(one(b"$0\r\n\r\n"), Reply::bulk(""));
        assert_eq!(one(b"$-1\r\n"), Reply::Null);
        assert_eq!(one(b"*-1\r\n"), Reply::NullArray);
        assert_eq!(one(b"*0\r\n"), Reply::Array(vec![]));
        assert_eq!(
            one(b"*2\r\n:1\r\n*1\r\n$1\r\nx\r\n"),
            Reply::Array(vec![
                Reply::Integer(1),
                Reply::Array(vec![Reply::bulk("x")])
            ])
        );
    }

    #[test]
    fn resp3_types() {
        assert_eq!(one(b"_\r\n"), Reply::Null);
        assert_eq!(one(b",1.5\r\n"), Reply::Double(1.5));
        assert_eq!(one(b",-inf\r\n"), Reply::Double(f64::NEG_INFINITY));
        assert!(matches!(one(b",nan\r\n"), Reply::Double(d) if d.is_nan()));
        assert_eq!(one(b"#t\r\n"), Reply::Bool(true));
        assert_eq!(one(b"#f\r\n"), Reply::Bool(false));
        assert_eq!(
            one(b"(-12345678901234567890\r\n"),
            Reply::bulk("-12345678901234567890")
        );
        assert_eq!(
            one(b"!9\r\nERR oops!\r\n"),
            Reply::Error("ERR oops!".into())
        );
        assert_eq!(
            one(b"=8\r\ntxt:a\r\nb\r\n"),
            Reply::Verbatim(Bytes::from_static(b"a\r\nb"))
        );
        assert_eq!(
            one(b"%2\r\n+a\r\n:1\r\n$1\r\nb\r\n~1\r\n#t\r\n"),
            Reply::Map(vec![
                (Reply::Simple("a".into()), Reply::Integer(1)),
                (Reply::bulk("b"), Reply::Set(vec![Reply::Bool(true)])),
            ])
        );
        assert_eq!(
            one(b">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n"),
            Reply::Push(vec![Reply::bulk("message"), Reply::bulk("hi")])
        );
        assert_eq!(one(b"|1\r\n+ttl\r\n:3\r\n:7\r\n"), Reply::Integer(7));
    }

    #[test]
    fn round_trips_through_the_encoder() {
        let reply = Reply::Map(vec![
            (
                Reply::bulk("k"),
                Reply::Array(vec![Reply::Null, Reply::Double(0.25), Reply::Bool(false)]),
            ),
            (
                Reply::Simple("s".into()),
                Reply::Set(vec![Reply::Integer(3), Reply::Verbatim(Bytes::from("v"))]),
            ),
        ]);
        let bytes = reply.to_bytes(3);
        assert_eq!(one(&bytes), reply);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let full = b"%1\r\n$3\r\nkey\r\n*3\r\n:1\r\n,2.5\r\n$-1\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse_reply(&full[..cut]), Ok(None), "cut at {cut}");
        }
        let (_, used) = parse_reply(&[&full[..], b"+next\r\n"].concat())
            .unwrap()
            .unwrap();
        assert_eq!(used, full.len());
    }

    #[test]
    fn huge_claims_wait_for_data_without_allocating() {
        assert_eq!(parse_reply(b"$9223372036854775000\r\nabc"), Ok(None));
        assert_eq!(parse_reply(b"*4000000000\r\n:1\r\n"), Ok(None));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            parse_reply(b"?x\r\n"),
            Err(ReplyError::InvalidType(b'?', 0))
        );
        assert_eq!(parse_reply(b":12a\r\n"), Err(ReplyError::InvalidNumber(1)));
        assert_eq!(parse_reply(b"$-2\r\n"), Err(ReplyError::InvalidNumber(0)));
        assert_eq!(parse_reply(b"*-2\r\n"), Err(ReplyError::InvalidNumber(0)));
        assert_eq!(
            parse_reply(b"$2\r\nabc\r\n"),
            Err(ReplyError::MissingCrlf(4))
        );
        assert_eq!(parse_reply(b",x\r\n"), Err(ReplyError::InvalidDouble(0)));
        assert_eq!(parse_reply(b"#x\r\n"), Err(ReplyError::InvalidBoolean(0)));
        assert_eq!(
            parse_reply(b"=3\r\nabc\r\n"),
            Err(ReplyError::InvalidVerbatim(0))
        );
        assert_eq!(parse_reply(b"$?\r\n"), Err(ReplyError::Streamed(0)));
        assert_eq!(
            parse_reply(b"*1\r\n(1x\r\n"),
            Err(ReplyError::InvalidNumber(4))
        );
        let deep = b"*1\r\n".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            parse_reply(&[&deep[..], b":1\r\n"].concat()),
            Err(ReplyError::TooDeep(_))
        ));
    }
}

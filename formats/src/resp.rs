//! RESP: the Redis serialization protocol, requests in and replies out.
//!
//! BACKGROUND. A client sends commands either as a *multibulk* (`*<n>\r\n` followed by `n` bulk
//! strings `$<len>\r\n<bytes>\r\n`) or as an *inline* line (`SET k v\r\n`, split like a shell
//! would, with `"..."` and `'...'` quoting). Clients pipeline freely: a buffer may hold many
//! commands and the tail of a buffer may be an incomplete command. Replies are RESP2 by default;
//! after `HELLO 3` a connection speaks RESP3, which adds maps, sets, doubles, booleans, a real
//! null and push messages. A RESP2 connection receives the same data flattened the way Redis 7.0
//! flattens it (maps become arrays of alternating keys and values, doubles become bulk strings,
//! booleans become integers).
//!
//! BEHAVIOR. [`parse_command`] looks at the front of a buffer and returns either a complete
//! command (its arguments are zero-copy slices of the buffer), `Ok(None)` when more bytes are
//! needed, or a [`ProtocolError`] whose text is exactly what Redis 7.0 replies before it closes
//! the connection. The limits are Redis's: an inline line or a multibulk header may not exceed
//! 64 KiB without its newline, a bulk may not exceed `proto-max-bulk-len`, and an unauthenticated
//! client may send at most 10 arguments of at most 16 KiB each. Parsing never allocates in
//! proportion to a claimed length before the bytes are there, so a hostile header cannot make
//! the node reserve gigabytes.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use crate::text::string2ll;

/// Longest inline command or multibulk/bulk header line Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Most arguments Redis accepts in one multibulk (INT_MAX would be allowed; this bounds memory).
pub const MULTIBULK_MAX_ARGS: i64 = 1024 * 1024;
/// Argument count an unauthenticated client may send.
pub const UNAUTH_MAX_ARGS: i64 = 10;
/// Bulk length an unauthenticated client may send.
pub const UNAUTH_MAX_BULK_BYTES: i64 = 16384;

/// Limits applied while parsing one client's requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk_bytes: i64,
    /// Whether the client has authenticated (or needs no authentication).
    pub authenticated: bool,
}

/// A request the client got wrong; the text is Redis's, without the `ERR ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: too big inline request")]
    InlineTooBig,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: too big mbulk count string")]
    MultibulkHeaderTooBig,
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: too big bulk count string")]
    BulkHeaderTooBig,
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

/// One parsed request: its arguments, and whether it arrived inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub args: Vec<Bytes>,
    pub inline: bool,
}

/// Parses one request from the front of `buf`, removing its bytes.
///
/// Returns `Ok(None)` when `buf` holds no complete request yet (nothing is consumed). Empty
/// requests (an empty inline line, `*0`, `*-1`) are consumed and skipped like Redis does, so a
/// returned request always has at least one argument.
pub fn parse_command(buf: &mut BytesMut, limits: Limits) -> Result<Option<Request>, ProtocolError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        let parsed = if buf[0] == b'*' {
            scan_multibulk(buf, limits)?
        } else {
            scan_inline(buf)?
        };
        let Some(scan) = parsed else { return Ok(None) };
        let frame = buf.split_to(scan.consumed).freeze();
        let args: Vec<Bytes> = match scan.args {
            ScannedArgs::Ranges(ranges) => ranges.iter().map(|&(s, e)| frame.slice(s..e)).collect(),
            ScannedArgs::Owned(args) => args.into_iter().map(Bytes::from).collect(),
        };
        if !args.is_empty() {
            return Ok(Some(Request {
                args,
                inline: scan.inline,
            }));
        }
    }
}

enum ScannedArgs {
    Ranges(Ranges),
    Owned(Vec<Vec<u8>>),
}

/// Where the scan found each argument of a multibulk request. Nearly every command has a few
/// arguments: those positions stay on the stack, and only longer commands spill into a vector,
/// so the common request costs no allocation besides its argument list.
#[derive(Default)]
struct Ranges {
    inline: [(usize, usize); INLINE_RANGES],
    len: usize,
    spilled: Vec<(usize, usize)>,
}

const INLINE_RANGES: usize = 8;

impl Ranges {
    fn push(&mut self, range: (usize, usize)) {
        if self.len < INLINE_RANGES {
            self.inline[self.len] = range;
            self.len += 1;
        } else {
            self.spilled.push(range);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(usize, usize)> {
        self.inline[..self.len].iter().chain(self.spilled.iter())
    }
}

struct Scan {
    consumed: usize,
    args: ScannedArgs,
    inline: bool,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

fn scan_multibulk(buf: &[u8], limits: Limits) -> Result<Option<Scan>, ProtocolError> {
    let Some(eol) = find_crlf(buf, 0) else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(ProtocolError::MultibulkHeaderTooBig);
        }
        return Ok(None);
    };
    let count = string2ll(&buf[1..eol]).ok_or(ProtocolError::InvalidMultibulkLength)?;
    if count > MULTIBULK_MAX_ARGS || count > i32::MAX as i64 {
        return Err(ProtocolError::InvalidMultibulkLength);
    }
    if !limits.authenticated && count > UNAUTH_MAX_ARGS {
        return Err(ProtocolError::UnauthenticatedMultibulkLength);
    }
    let mut pos = eol + 2;
    if count <= 0 {
        return Ok(Some(Scan {
            consumed: pos,
            args: ScannedArgs::Ranges(Ranges::default()),
            inline: false,
        }));
    }
    // `count` is not trusted for any allocation: positions are kept as arguments actually arrive.
    let mut ranges = Ranges::default();
    for _ in 0..count {
        let Some(&first) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(eol) = find_crlf(buf, pos) else {
            if buf.len() - pos > INLINE_MAX_BYTES {
                return Err(ProtocolError::BulkHeaderTooBig);
            }
            return Ok(None);
        };
        if first != b'$' {
            return Err(ProtocolError::ExpectedDollar(first as char));
        }
        let len = string2ll(&buf[pos + 1..eol]).ok_or(ProtocolError::InvalidBulkLength)?;
        if len < 0 || len > limits.max_bulk_bytes {
            return Err(ProtocolError::InvalidBulkLength);
        }
        if !limits.authenticated && len > UNAUTH_MAX_BULK_BYTES {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let start = eol + 2;
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        ranges.push((start, end));
        pos = end + 2;
    }
    Ok(Some(Scan {
        consumed: pos,
        args: ScannedArgs::Ranges(ranges),
        inline: false,
    }))
}

fn scan_inline(buf: &[u8]) -> Result<Option<Scan>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(ProtocolError::InlineTooBig);
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
    Ok(Some(Scan {
        consumed: nl + 1,
        args: ScannedArgs::Owned(args),
        inline: true,
    }))
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments exactly like Redis's `sdssplitargs`: whitespace separates,
/// `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'` understands only `\'`, and a closing
/// quote must be followed by whitespace or the end. Returns `None` on unbalanced quotes.
/// The same rules apply to redis.conf lines, so the config parser uses this function too.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && line.get(i + 2).and_then(|&b| hex_value(b)).is_some()
                            && line.get(i + 3).and_then(|&b| hex_value(b)).is_some() =>
                    {
                        let hi = hex_value(line[i + 2]).unwrap_or(0);
                        let lo = hex_value(line[i + 3]).unwrap_or(0);
                        current.push(hi * 16 + lo);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        current.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if b.is_ascii_whitespace() => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => current.push(other),
                }
            }
            i += 1;
        }
        args.push(current);
    }
}

/// A reply, in RESP3 terms; [`Reply::encode`] flattens it for RESP2 clients.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`: most are constant texts, held without an allocation.
    Simple(Cow<'static, str>),
    /// `-ERR ...`: the full text including the error code.
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    /// RESP3 `_`; RESP2 `$-1`.
    Null,
    /// RESP3 `_`; RESP2 `*-1` (Redis's addReplyNullArray).
    NullArray,
    Array(Vec<Reply>),
    /// RESP3 `%`; RESP2 a flat array of keys and values.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~`; RESP2 an array.
    Set(Vec<Reply>),
    /// RESP3 `,`; RESP2 a bulk string of the `%.17g` text.
    Double(f64),
    /// RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
    Bool(bool),
    /// RESP3 `=<len>\r\ntxt:...`; RESP2 a bulk string of the text.
    Verbatim(Bytes),
    /// RESP3 `>`; RESP2 an array.
    Push(Vec<Reply>),
    /// Bytes that are already RESP-encoded (the same for both protocols).
    Raw(Bytes),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    pub fn bulk(bytes: impl Into<Bytes>) -> Reply {
        Reply::Bulk(bytes.into())
    }

    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(text.into())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends this reply to `out` in RESP2 (`protocol` 2) or RESP3 (`protocol` 3).
    pub fn encode(&self, protocol: u8, out: &mut BytesMut) {
        let resp3 = protocol >= 3;
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::Integer(n) => number_line(out, b':', *n),
            Reply::Bulk(b) => bulk(out, b),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                number_line(out, b'*', items.len() as i64);
                items.iter().for_each(|r| r.encode(protocol, out));
            }
            Reply::Map(pairs) => {
                if resp3 {
                    number_line(out, b'%', pairs.len() as i64);
                } else {
                    number_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(protocol, out);
                    v.encode(protocol, out);
                }
            }
            Reply::Set(items) | Reply::Push(items) => {
                let tag = match (resp3, self) {
                    (false, _) => b'*',
                    (true, Reply::Set(_)) => b'~',
                    (true, _) => b'>',
                };
                number_line(out, tag, items.len() as i64);
                items.iter().for_each(|r| r.encode(protocol, out));
            }
            Reply::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
            Reply::Verbatim(text) if resp3 => {
                number_line(out, b'=', text.len() as i64 + 4);
                out.put_slice(b"txt:");
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(text) => bulk(out, text),
            Reply::Raw(bytes) => out.put_slice(bytes),
        }
    }

    /// The reply encoded on its own.
    pub fn to_bytes(&self, protocol: u8) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(protocol, &mut out);
        out.freeze()
    }
}

/// Appends a command as a multibulk of bulk strings (`*<n>\r\n$<len>\r\n<arg>\r\n...`): the
/// form of every command in the replication stream and the AOF.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    number_line(out, b'*', args.len() as i64);
    for arg in args {
        bulk(out, arg.as_ref());
    }
}

fn line(out: &mut BytesMut, tag: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(tag);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

/// A line holding a number: an integer reply, or an aggregate's or a bulk string's length.
fn number_line(out: &mut BytesMut, tag: u8, n: i64) {
    line(out, tag, itoa(n, &mut [0; 20]));
}

fn bulk(out: &mut BytesMut, bytes: &[u8]) {
    number_line(out, b'$', bytes.len() as i64);
    out.reserve(bytes.len() + 2);
    out.put_slice(bytes);
    out.put_slice(b"\r\n");
}

/// `n` in decimal, written at the end of `buf` (20 bytes hold `i64::MIN`): replies carry a
/// number or a length in nearly every line, and this costs no allocation.
fn itoa(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut rest = n.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// Formats a double like C's `printf("%.17g")`, the way Redis 7.0 replies with doubles
/// (`inf`, `-inf`, `nan` for the special values).
pub fn format_double(d: f64) -> String {
    format_g(d, 17)
}

/// C's `%.<precision>g` for a double.
fn format_g(d: f64, precision: usize) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // `{:e}` with p-1 decimals rounds like printf; its exponent decides the style.
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Limits = Limits {
        max_bulk_bytes: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = parse_command(&mut buf, OPEN)? {
            out.push(req.args);
        }
        Ok(out)
    }

    #[test]
    fn integers_print_as_decimal_text() {
        for n in [
            0,
            7,
            -7,
            10,
            -10,
            1234567890,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(itoa(n, &mut [0; 20]), n.to_string().as_bytes());
            let mut out = BytesMut::new();
            Reply::Integer(n).encode(2, &mut out);
            assert_eq!(&out[..], format!(":{n}\r\n").as_bytes());
        }
    }

    #[test]
    fn multibulk_and_pipelining() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            cmds,
            vec![
                vec![Bytes::from("GET"), Bytes::from("k")],
                vec![Bytes::from("PING")]
            ]
        );
    }

    /// Commands of every length around the scan's on-stack positions (8) keep their arguments
    /// in order, whole and cut anywhere.
    #[test]
    fn long_commands_keep_every_argument() {
        for count in [1usize, 7, 8, 9, 20] {
            let args: Vec<Vec<u8>> = (0..count).map(|i| format!("arg{i}").into_bytes()).collect();
            let mut wire = format!("*{count}\r\n").into_bytes();
            for arg in &args {
                wire.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                wire.extend_from_slice(arg);
                wire.extend_from_slice(b"\r\n");
            }
            let parsed = parse_all(&wire).unwrap();
            let expected: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.clone())).collect();
            assert_eq!(parsed, vec![expected], "{count} arguments");
            for cut in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..cut]);
                assert_eq!(parse_command(&mut buf, OPEN).unwrap(), None, "cut at {cut}");
            }
        }
    }

    #[test]
    fn incomplete_input_consumes_nothing() {
        let full = b"*2\r\n$3\r\nSET\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_command(&mut buf, OPEN).unwrap(), None, "cut at {cut}");
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn inline_with_quotes() {
        let cmds = parse_all(b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n\r\nping\n").unwrap();
        assert_eq!(
            cmds[0],
            vec![
                Bytes::from("set"),
                Bytes::from("a b"),
                Bytes::from("c'd"),
                Bytes::from("A\n")
            ]
        );
        assert_eq!(cmds[1], vec![Bytes::from("ping")]);
        assert_eq!(
            parse_all(b"set \"a\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"set \"a\"b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n+PING\r\n"),
            Err(ProtocolError::ExpectedDollar('+'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        let unauth = Limits {
            authenticated: false,
            ..OPEN
        };
        assert_eq!(
            parse_command(&mut buf, unauth),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut big = BytesMut::from(&vec![b'a'; INLINE_MAX_BYTES + 1][..]);
        assert_eq!(
            parse_command(&mut big, OPEN),
            Err(ProtocolError::InlineTooBig)
        );
        assert_eq!(parse_all(b"*0\r\n*-1\r\n").unwrap().len(), 0);
    }

    #[test]
    fn replies_in_both_protocols() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]);
        assert_eq!(&map.to_bytes(2)[..], b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&map.to_bytes(3)[..], b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&Reply::Null.to_bytes(2)[..], b"$-1\r\n");
        assert_eq!(&Reply::NullArray.to_bytes(2)[..], b"*-1\r\n");
        assert_eq!(&Reply::Null.to_bytes(3)[..], b"_\r\n");
        assert_eq!(&Reply::Double(1.5).to_bytes(3)[..], b",1.5\r\n");
        assert_eq!(
            &Reply::Double(0.1).to_bytes(2)[..],
            b"$19\r\n0.10000000000000001\r\n"
        );
    }

    #[test]
    fn format_g_matches_printf() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(1.0 / 3.0), "0.33333333333333331");
        assert_eq!(format_double(123456.789), "123456.789");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_g(1e16, 17), "10000000000000000");
        assert_eq!(format_g(0.0001, 17), "0.0001");
    }
}

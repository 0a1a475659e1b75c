//! A raw RESP client for tests: it writes command bytes and reads back one complete reply as the
//! exact bytes the server sent, so differential tests can compare servers byte for byte.
//!
//! The reply framer is deliberately independent of the node's own `formats::resp` code: a test
//! that decoded replies with the code under test could not catch a bug in that code. It accepts
//! every RESP2 and RESP3 type Redis 7.0 emits (attributes are never sent by Redis 7.0 and are
//! rejected) and bounds nesting so a corrupt stream cannot recurse without limit.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a test waits for one reply before it fails instead of hanging forever.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Deepest nesting of aggregates accepted; Redis replies nest a few levels at most.
const MAX_DEPTH: usize = 64;

/// One decoded reply. Doubles and big numbers keep their text, so comparing two `Reply` values
/// is as strict as comparing the bytes they came from.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    /// `$-1` (RESP2 null bulk) is `Bulk(None)`.
    Bulk(Option<Vec<u8>>),
    /// `*-1` (RESP2 null array) is `Array(None)`.
    Array(Option<Vec<Reply>>),
    /// RESP3 `_`.
    Null,
    Double(Vec<u8>),
    Boolean(bool),
    BigNumber(Vec<u8>),
    Verbatim(Vec<u8>),
    BlobError(Vec<u8>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
}

impl Reply {
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_) | Reply::BlobError(_))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The bytes of a bulk, simple or verbatim string; `None` for nulls and other types.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(Some(b)) | Reply::Simple(b) | Reply::Verbatim(b) => Some(b),
            _ => None,
        }
    }

    /// Elements of an array, set or push reply.
    pub fn as_items(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(Some(items)) | Reply::Set(items) | Reply::Push(items) => Some(items),
            _ => None,
        }
    }
}

/// Shows replies in RESP's own notation with escaped payloads (`+OK`, `:3`, `"a\x00"`, `(nil)`),
/// which reads far better in a failure message than vectors of byte values.
impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(b) => write!(f, "+{}", escape(b)),
            Reply::Error(b) => write!(f, "-{}", escape(b)),
            Reply::Integer(n) => write!(f, ":{n}"),
            Reply::Bulk(Some(b)) => write!(f, "\"{}\"", escape(b)),
            Reply::Bulk(None) | Reply::Array(None) => f.write_str("(nil)"),
            Reply::Array(Some(items)) => f.debug_list().entries(items).finish(),
            Reply::Null => f.write_str("_"),
            Reply::Double(b) => write!(f, ",{}", escape(b)),
            Reply::Boolean(b) => f.write_str(if *b { "#t" } else { "#f" }),
            Reply::BigNumber(b) => write!(f, "({}", escape(b)),
            Reply::Verbatim(b) => write!(f, "={}", escape(b)),
            Reply::BlobError(b) => write!(f, "!{}", escape(b)),
            Reply::Map(pairs) => f
                .debug_map()
                .entries(pairs.iter().map(|(k, v)| (k, v)))
                .finish(),
            Reply::Set(items) => write!(f, "~{items:?}"),
            Reply::Push(items) => write!(f, ">{items:?}"),
        }
    }
}

/// Printable ASCII as is, CR, LF, tab, quote and backslash escaped C-style, other bytes as
/// `\xNN`: RESP framing stays visible and binary payloads stay readable.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Decodes one reply from the front of `buf`: `Ok(None)` means more bytes are needed, otherwise
/// the reply and how many bytes it took.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    parse_at(buf, 0, 0)
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err(format!("reply nested deeper than {MAX_DEPTH} levels"));
    }
    let Some(line_end) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..line_end];
    let after = line_end + 2;
    let reply = match kind {
        b'+' => Reply::Simple(line.to_vec()),
        b'-' => Reply::Error(line.to_vec()),
        b':' => Reply::Integer(parse_int(line)?),
        b',' => Reply::Double(line.to_vec()),
        b'(' => Reply::BigNumber(line.to_vec()),
        b'_' if line.is_empty() => Reply::Null,
        b'#' => match line {
            b"t" => Reply::Boolean(true),
            b"f" => Reply::Boolean(false),
            _ => return Err(format!("bad boolean \"{}\"", escape(line))),
        },
        b'$' | b'=' | b'!' => {
            let len = parse_int(line)?;
            if len < 0 {
                if kind != b'$' || len != -1 {
                    return Err(format!("bad length {len} for type {}", kind as char));
                }
                return Ok(Some((Reply::Bulk(None), after)));
            }
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| after.checked_add(len))
                .ok_or_else(|| format!("bulk length {len} out of range"))?;
            if buf.len() < end.saturating_add(2) {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err("bulk payload not followed by CRLF".into());
            }
            let payload = buf[after..end].to_vec();
            let reply = match kind {
                b'$' => Reply::Bulk(Some(payload)),
                b'=' => Reply::Verbatim(payload),
                _ => Reply::BlobError(payload),
            };
            return Ok(Some((reply, end + 2)));
        }
        b'*' | b'~' | b'>' | b'%' => {
            let count = parse_int(line)?;
            if count < 0 {
                if kind != b'*' || count != -1 {
                    return Err(format!("bad count {count} for type {}", kind as char));
                }
                return Ok(Some((Reply::Array(None), after)));
            }
            let per_entry = if kind == b'%' { 2 } else { 1 };
            let mut items = Vec::new();
            let mut next = after;
            for _ in 0..count * per_entry {
                match parse_at(buf, next, depth + 1)? {
                    Some((item, end)) => {
                        items.push(item);
                        next = end;
                    }
                    None => return Ok(None),
                }
            }
            let reply = match kind {
                b'*' => Reply::Array(Some(items)),
                b'~' => Reply::Set(items),
                b'>' => Reply::Push(items),
                _ => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Reply::Map(pairs)
                }
            };
            return Ok(Some((reply, next)));
        }
        other => {
            return Err(format!(
                "unexpected reply type byte {:?}",
                (other as char).escape_default().to_string()
            ))
        }
    };
    Ok(Some((reply, after)))
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn parse_int(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad integer \"{}\"", escape(line)))
}

/// Encodes a command as a RESP multibulk, the way every client library sends it.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A blocking connection that speaks raw RESP.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes bytes exactly as given (inline commands, malformed frames, pipelines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let mut out = Vec::new();
        encode_command(args, &mut out);
        self.send_raw(&out)
    }

    /// Reads one complete reply and returns it decoded together with its exact bytes.
    pub fn read_reply(&mut self) -> io::Result<(Reply, Vec<u8>)> {
        read_reply_from(&self.stream, &mut self.buf)
    }

    /// Waits up to `wait` for a reply: `None` when none has (fully) arrived by then, e.g.
    /// because the client is blocked.
    pub fn poll_reply(
        &mut self,
        wait: std::time::Duration,
    ) -> io::Result<Option<(Reply, Vec<u8>)>> {
        self.stream.set_read_timeout(Some(wait))?;
        let result = self.read_reply();
        self.stream.set_read_timeout(Some(READ_TIMEOUT))?;
        match result {
            Ok(reply) => Ok(Some(reply)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends one command and returns the exact bytes of its reply.
    pub fn call_raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Vec<u8>> {
        self.send(args)?;
        Ok(self.read_reply()?.1)
    }

    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        self.send(args)?;
        Ok(self.read_reply()?.0)
    }

    /// Sends every command without waiting, then reads one reply per command. A second thread
    /// writes while this one reads, so a server that stops reading until its replies are drained
    /// cannot deadlock a long pipeline.
    pub fn pipeline<A: AsRef<[u8]> + Sync>(
        &mut self,
        commands: &[Vec<A>],
    ) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        for command in commands {
            encode_command(command, &mut out);
        }
        let stream = &self.stream;
        let buf = &mut self.buf;
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || (&*stream).write_all(&out));
            let mut replies = Vec::with_capacity(commands.len());
            for _ in 0..commands.len() {
                match read_reply_from(stream, buf) {
                    Ok((reply, _)) => replies.push(reply),
                    Err(e) => {
                        // Unblock the writer if it is stuck on a full socket.
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                        let _ = writer.join();
                        return Err(e);
                    }
                }
            }
            writer.join().expect("pipeline writer panicked")?;
            Ok(replies)
        })
    }

    /// Waits until the server closes the connection, failing if it sends anything instead.
    pub fn expect_closed(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            return Err(unexpected_data(&self.buf));
        }
        let mut chunk = [0u8; 256];
        loop {
            return match (&self.stream).read(&mut chunk) {
                Ok(0) => Ok(()),
                Ok(n) => Err(unexpected_data(&chunk[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
                Err(e) => Err(e),
            };
        }
    }
}

fn unexpected_data(bytes: &[u8]) -> io::Error {
    io::Error::other(format!(
        "expected the server to close the connection, got \"{}\"",
        escape(bytes)
    ))
}

fn read_reply_from(mut stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<(Reply, Vec<u8>)> {
    loop {
        match parse_reply(buf) {
            Ok(Some((reply, used))) => {
                let raw: Vec<u8> = buf.drain(..used).collect();
                return Ok((reply, raw));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{e} in \"{}\"", escape(buf)),
                ))
            }
        }
        let mut chunk = [0u8; 64 * 1024];
        let n = match stream.read(&mut chunk) {
            // A read with a timeout fails with EINTR when the process was stopped and resumed
            // (signal(7)), as a loaded test machine may do: read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            read => read?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type_and_reports_incomplete() {
        let cases: &[(&[u8], Reply)] = &[
            (b"+OK\r\n", Reply::Simple(b"OK".to_vec())),
            (b"-ERR x\r\n", Reply::Error(b"ERR x".to_vec())),
            (b":-7\r\n", Reply::Integer(-7)),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"$0\r\n\r\n", Reply::Bulk(Some(vec![]))),
            (b"*-1\r\n", Reply::Array(None)),
            (b"_\r\n", Reply::Null),
            (b",1.5\r\n", Reply::Double(b"1.5".to_vec())),
            (b"#f\r\n", Reply::Boolean(false)),
            (b"=7\r\ntxt:abc\r\n", Reply::Verbatim(b"txt:abc".to_vec())),
            (
                b"%1\r\n$1\r\na\r\n*2\r\n:1\r\n~0\r\n",
                Reply::Map(vec![(
                    Reply::Bulk(Some(b"a".to_vec())),
                    Reply::Array(Some(vec![Reply::Integer(1), Reply::Set(vec![])])),
                )]),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                parse_reply(bytes).unwrap(),
                Some((expected.clone(), bytes.len()))
            );
            for cut in 0..bytes.len() {
                assert_eq!(
                    parse_reply(&bytes[..cut]).unwrap(),
                    None,
                    "{bytes:?} cut at {cut}"
                );
            }
        }
        assert!(parse_reply(b"$3\r\nabcX\r\n").is_err());
        assert!(parse_reply(b"?x\r\n").is_err());
    }
}

//! A stream consumer-group throughput probe for `make bench`: the read-and-acknowledge loop of a
//! worker pool, which redis-benchmark cannot express because each XACK names the ID the
//! XREADGROUP before it returned.
//!
//! It fills a fresh stream with ENTRIES entries (pipelined `XADD`, not timed) and creates one
//! group at 0. Then CLIENTS clients, each its own consumer of that group, loop on
//! `XREADGROUP GROUP g <consumer> COUNT 1 STREAMS key >` followed by `XACK key g <id>` until the
//! group has nothing left to deliver. Every entry must be delivered and acknowledged exactly
//! once (the acknowledgements must add up to ENTRIES), or the probe fails.
//!
//! Usage: `streambench PORT [CLIENTS] [ENTRIES]`; prints `XREADACK <entries per second>`, one
//! entry being one XREADGROUP and one XACK.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Instant;

const KEY: &str = "streambench:{stream}";
const GROUP: &str = "streambench";
/// `XADD`s per pipelined round trip while filling.
const FILL_BATCH: usize = 1_000;
/// Bytes of each entry's value, like the other rows of `make bench`.
const VALUE_BYTES: usize = 100;

type Result<T> = std::result::Result<T, String>;

fn encode(args: &[&str], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
}

/// One parsed reply: whether it was a null, and its bulk strings in order (enough for the few
/// replies this probe reads).
struct Reply {
    null: bool,
    bulks: Vec<Vec<u8>>,
    integer: Option<i64>,
}

/// Parses the reply starting at `pos`; `Ok(None)` means more bytes are needed, otherwise the
/// position after it. Bulk strings and integers are collected into `reply`.
fn parse(buf: &[u8], pos: usize, reply: &mut Reply) -> Result<Option<usize>> {
    let Some(line_len) = buf
        .get(pos..)
        .and_then(|rest| rest.windows(2).position(|w| w == b"\r\n"))
    else {
        return Ok(None);
    };
    let line = &buf[pos + 1..pos + line_len];
    let after = pos + line_len + 2;
    let number = || {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(line)))
    };
    match buf[pos] {
        b'+' => Ok(Some(after)),
        b'-' => Err(format!("error reply: {}", String::from_utf8_lossy(line))),
        b':' => {
            reply.integer = Some(number()?);
            Ok(Some(after))
        }
        b'$' => {
            let len = number()?;
            if len < 0 {
                reply.null = true;
                return Ok(Some(after));
            }
            let end = after + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            reply.bulks.push(buf[after..end].to_vec());
            Ok(Some(end + 2))
        }
        b'*' => {
            let count = number()?;
            if count < 0 {
                reply.null = true;
                return Ok(Some(after));
            }
            let mut next = after;
            for _ in 0..count {
                match parse(buf, next, reply)? {
                    Some(end) => next = end,
                    None => return Ok(None),
                }
            }
            Ok(Some(next))
        }
        other => Err(format!("unexpected reply type {:?}", other as char)),
    }
}

/// A connection that reads whole replies.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(port: u16) -> Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).map_err(|e| e.to_string())
    }

    fn read_reply(&mut self) -> Result<Reply> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let mut reply = Reply {
                null: false,
                bulks: Vec::new(),
                integer: None,
            };
            if let Some(end) = parse(&self.buf, 0, &mut reply)? {
                self.buf.drain(..end);
                return Ok(reply);
            }
            let n = self.stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, args: &[&str]) -> Result<Reply> {
        let mut request = Vec::new();
        encode(args, &mut request);
        self.send(&request)?;
        self.read_reply()
    }
}

/// A fresh stream of `entries` entries and one group at 0.
fn fill(port: u16, entries: usize) -> Result<()> {
    let mut conn = Conn::connect(port)?;
    conn.call(&["DEL", KEY])?;
    let value = "v".repeat(VALUE_BYTES);
    let mut left = entries;
    while left > 0 {
        let batch = left.min(FILL_BATCH);
        let mut request = Vec::new();
        for _ in 0..batch {
            encode(&["XADD", KEY, "*", "field", &value], &mut request);
        }
        conn.send(&request)?;
        for _ in 0..batch {
            conn.read_reply()?;
        }
        left -= batch;
    }
    conn.call(&["XGROUP", "CREATE", KEY, GROUP, "0"])?;
    Ok(())
}

/// Reads one entry at a time and acknowledges it until the group has nothing left; returns how
/// many it acknowledged.
fn consume(mut conn: Conn, consumer: &str) -> Result<usize> {
    let read = [
        "XREADGROUP",
        "GROUP",
        GROUP,
        consumer,
        "COUNT",
        "1",
        "STREAMS",
        KEY,
        ">",
    ];
    let mut acked = 0;
    loop {
        let reply = conn.call(&read)?;
        if reply.null {
            return Ok(acked);
        }
        // [[key, [[id, [field, value]]]]]: the ID is the second bulk string.
        let id = reply
            .bulks
            .get(1)
            .map(|id| String::from_utf8_lossy(id).into_owned())
            .ok_or("XREADGROUP reply without an entry ID")?;
        let ack = conn.call(&["XACK", KEY, GROUP, &id])?;
        if ack.integer != Some(1) {
            return Err(format!("XACK {id} did not acknowledge one entry"));
        }
        acked += 1;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: streambench PORT [CLIENTS] [ENTRIES]");
        std::process::exit(2);
    };
    let clients: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(50);
    let entries: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(100_000);
    if let Err(e) = fill(port, entries) {
        eprintln!("streambench: filling the stream failed: {e}");
        std::process::exit(1);
    }
    let start = Barrier::new(clients + 1);
    let acked = AtomicUsize::new(0);
    let (elapsed, failures) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let (start, acked) = (&start, &acked);
                scope.spawn(move || {
                    let conn = Conn::connect(port);
                    start.wait();
                    let n = consume(conn?, &format!("consumer-{id}"))?;
                    acked.fetch_add(n, Ordering::Relaxed);
                    Ok::<(), String>(())
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        let failures: Vec<String> = handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("client thread panicked".into()),
            })
            .collect();
        (started.elapsed().as_secs_f64(), failures)
    });
    if let Some(first) = failures.first() {
        eprintln!(
            "streambench: {} clients failed, first: {first}",
            failures.len()
        );
        std::process::exit(1);
    }
    let acked = acked.into_inner();
    if acked != entries {
        eprintln!("streambench: {acked} entries acknowledged, {entries} added");
        std::process::exit(1);
    }
    println!("XREADACK {:.0}", entries as f64 / elapsed);
}

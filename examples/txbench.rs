//! A MULTI/EXEC throughput probe, the one workload `make bench` measures that redis-benchmark
//! cannot express: each client sends `MULTI, SET, INCR, LPUSH, EXEC` as one write (as client
//! libraries send a transaction) and waits for the five replies before the next one.
//!
//! Usage: `txbench PORT [CLIENTS] [TRANSACTIONS]`; prints `MULTI/EXEC <transactions per second>`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn encode(args: &[&str], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
}

/// Reads until `replies` complete top-level replies arrived. The replies of this workload are
/// simple: status lines, integers, errors, and one array of three (EXEC), so counting lines is
/// enough: 4 single-line replies + the array header + its 3 elements = 8 lines.
fn read_lines(stream: &mut TcpStream, lines: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut seen = 0;
    buf.clear();
    let mut chunk = [0u8; 4096];
    while seen < lines {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        if chunk[..n].first() == Some(&b'-') {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&chunk[..n]).into_owned(),
            ));
        }
        seen += chunk[..n].iter().filter(|&&b| b == b'\n').count();
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

fn client(port: u16, id: usize, transactions: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let key = format!("tx:{id}");
    let counter = format!("tx:counter:{id}");
    let list = format!("tx:list:{id}");
    let mut request = Vec::new();
    encode(&["MULTI"], &mut request);
    encode(&["SET", &key, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"], &mut request);
    encode(&["INCR", &counter], &mut request);
    encode(&["LPUSH", &list, "v"], &mut request);
    encode(&["EXEC"], &mut request);
    let mut buf = Vec::new();
    for _ in 0..transactions {
        stream.write_all(&request)?;
        read_lines(&mut stream, 8, &mut buf)?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: txbench PORT [CLIENTS] [TRANSACTIONS]");
        std::process::exit(2);
    };
    let clients: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(50);
    let total: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(100_000);
    let per_client = (total / clients).max(1);
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|id| scope.spawn(move || client(port, id, per_client)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("client thread panicked".into()),
            })
            .collect()
    });
    if let Some(first) = failures.first() {
        eprintln!("txbench: {} clients failed, first: {first}", failures.len());
        std::process::exit(1);
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("MULTI/EXEC {:.0}", (per_client * clients) as f64 / elapsed);
}

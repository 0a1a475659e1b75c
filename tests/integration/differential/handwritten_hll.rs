//! Hand-written HyperLogLog sequences: what the generator leaves alone. Each limit of
//! `hll-sparse-max-bytes` gets its own servers, since a CONFIG SET outlives a generated
//! sequence; PFDEBUG's errors, PFSELFTEST, and the unsharing of an embstr HLL (OBJECT ENCODING)
//! are checked once.

use super::{cmd, Cmd, Pair};

/// `PFADD key <prefix>0 .. <prefix><n-1>`.
fn pfadd_range(key: &str, prefix: &str, n: usize) -> Cmd {
    let mut args = vec![b"PFADD".to_vec(), key.as_bytes().to_vec()];
    args.extend((0..n).map(|i| format!("{prefix}{i}").into_bytes()));
    Cmd::from_args(args)
}

/// The state of an HLL key, every way it can be read.
fn inspect(key: &str) -> Vec<Cmd> {
    [
        "GET",
        "PFDEBUG ENCODING",
        "STRLEN",
        "PFCOUNT",
        "GET",
        "OBJECT ENCODING",
    ]
    .iter()
    .map(|command| Cmd::parse(&format!("{command} {key}")))
    .collect()
}

#[test]
fn sparse_limits() {
    for limit in ["0", "1", "18", "30", "300", "3000", "20000"] {
        let mut cmds = vec![cmd!["CONFIG", "SET", "hll-sparse-max-bytes", limit]];
        for (i, n) in [1, 10, 100, 1000, 3000].into_iter().enumerate() {
            let key = format!("h{i}");
            cmds.push(pfadd_range(&key, "e", n));
            cmds.extend(inspect(&key));
            cmds.push(Cmd::parse(&format!("PFDEBUG DECODE {key}")));
        }
        cmds.push(pfadd_range("h1", "x", 500));
        cmds.extend(inspect("h1"));
        cmds.push(Cmd::parse("PFMERGE m h0 h1 h2"));
        cmds.extend(inspect("m"));
        cmds.push(Cmd::parse("PFMERGE m2 h0 h1"));
        cmds.extend(inspect("m2"));
        cmds.push(Cmd::parse("PFCOUNT h0 h1 h2 h3 h4"));
        cmds.push(Cmd::parse("PFDEBUG TODENSE h2"));
        cmds.extend(inspect("h2"));
        Pair::start().check(&cmds);
    }
}

#[test]
fn commands_and_errors() {
    let lines = [
        "PFADD h",
        "PFADD h",
        "GET h",
        "PFCOUNT h",
        "PFCOUNT nosuch",
        "PFCOUNT nosuch other",
        "PFMERGE empty",
        "GET empty",
        "PFMERGE empty nosuch",
        "GET empty",
        "PFADD h a b c",
        "PFADD h a",
        "EXPIRE h 1000",
        "PFADD h d",
        "TTL h",
        "PFMERGE h h",
        "TTL h",
        "PFDEBUG ENCODING nosuch",
        "PFDEBUG nosuch nosuch",
        "PFDEBUG nosuch h",
        "PFDEBUG getreg",
        "PFDEBUG DECODE h",
        "PFDEBUG TODENSE h",
        "PFDEBUG TODENSE h",
        "PFDEBUG DECODE h",
        "PFDEBUG ENCODING h",
        "PFDEBUG GETREG h",
        "GET h",
        "PFCOUNT h",
        "LPUSH list x",
        "PFADD list a",
        "PFCOUNT list",
        "PFCOUNT h list",
        "PFMERGE h list",
        "PFMERGE list h",
        "PFDEBUG ENCODING list",
        "SET s hello",
        "PFADD s a",
        "PFCOUNT s",
        "PFCOUNT h s",
        "PFMERGE s h",
        "PFMERGE h s",
        "PFDEBUG GETREG s",
        "SET n 12345678901234567890",
        "PFADD n a",
        "PFSELFTEST",
        "PFSELFTEST x",
    ];
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

#[test]
fn corrupted_values() {
    let header = |encoding: u8, last: u8| {
        let mut bytes = b"HYLL".to_vec();
        bytes.push(encoding);
        bytes.extend_from_slice(&[0; 10]);
        bytes.push(last);
        bytes
    };
    let with = |mut bytes: Vec<u8>, tail: &[u8]| {
        bytes.extend_from_slice(tail);
        bytes
    };
    let cmds = vec![
        // A small valid HLL is an embstr until a PF command unshares it.
        cmd!["SET", "small", with(header(1, 0x80), &[0x7f, 0xff])],
        cmd!["OBJECT", "ENCODING", "small"],
        cmd!["PFCOUNT", "small"],
        cmd!["OBJECT", "ENCODING", "small"],
        cmd!["SET", "small", with(header(1, 0), &[0x7f, 0xff])],
        cmd!["PFDEBUG", "ENCODING", "small"],
        cmd!["OBJECT", "ENCODING", "small"],
        // A valid cache is believed whatever the registers say.
        cmd!["SET", "cached", with(header(1, 0x7f), &[0x7f, 0xff])],
        cmd!["PFCOUNT", "cached"],
        cmd!["PFCOUNT", "cached", "nosuch"],
        // Opcodes covering too many or too few registers.
        cmd!["SET", "long", with(header(1, 0x80), &[0x7f, 0xff, 0x80])],
        cmd!["PFCOUNT", "long"],
        cmd!["PFCOUNT", "long", "nosuch"],
        cmd!["PFADD", "long", "a", "b", "c"],
        cmd!["PFDEBUG", "TODENSE", "long"],
        cmd!["PFDEBUG", "DECODE", "long"],
        cmd!["PFMERGE", "dest", "long"],
        cmd!["EXISTS", "dest"],
        cmd!["SET", "short", with(header(1, 0x80), &[0x7f, 0xfd, 0x84])],
        cmd!["PFCOUNT", "short"],
        cmd!["PFADD", "short", "a", "b", "c", "d", "e", "f", "g"],
        cmd!["GET", "short"],
        cmd!["SET", "empty", header(1, 0x80)],
        cmd!["PFADD", "empty", "a"],
        cmd!["PFDEBUG", "DECODE", "empty"],
        // Headers Redis refuses outright.
        cmd!["SET", "bad", with(header(2, 0), &[0x7f, 0xff])],
        cmd!["PFCOUNT", "bad"],
        cmd!["SET", "bad", with(header(0, 0), &[0x7f, 0xff])],
        cmd!["PFADD", "bad", "a"],
        cmd!["SET", "bad", b"HYLL\x01".to_vec()],
        cmd!["PFCOUNT", "bad"],
        // Dense registers at every value, 52..63 included: the estimate degenerates.
        cmd!["SET", "dense", with(header(0, 0x80), &[0xff; 12288])],
        cmd!["PFCOUNT", "dense"],
        cmd!["GET", "dense"],
        cmd!["PFCOUNT", "dense", "nosuch"],
        cmd!["PFADD", "dense", "a"],
        // APPEND and SETRANGE on real HLLs.
        cmd!["PFADD", "h", "a", "b", "c"],
        cmd!["APPEND", "h", "\u{0}"],
        cmd!["PFCOUNT", "h"],
        cmd!["PFADD", "h", "x", "y"],
        cmd!["SETRANGE", "h", "4", "\u{0}"],
        cmd!["PFCOUNT", "h"],
        cmd!["PFADD", "d", "a"],
        cmd!["PFDEBUG", "TODENSE", "d"],
        cmd!["APPEND", "d", "x"],
        cmd!["PFCOUNT", "d"],
        cmd!["SETRANGE", "d", "4", "\u{1}"],
        cmd!["PFCOUNT", "d"],
        cmd!["PFADD", "d", "a"],
    ];
    Pair::start().check(&cmds);
}

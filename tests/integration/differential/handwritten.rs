//! Hand-written differential sequences, one test per area. Each line is sent to both servers
//! and the replies compared (see the module above for the few normalised commands); the
//! sequences aim at edge cases a generator reaches rarely: overflow boundaries, decimal
//! floating point, exact expiry times, every error class.

use super::{cmd, Cmd, Pair};

/// A day far in the future (year 3000) in seconds, and the same instant in milliseconds plus an
/// odd millisecond part, so absolute expiry times read back exactly.
const FAR_S: &str = "32503680000";
const FAR_MS: &str = "32503680000123";

fn check(lines: &[&str]) {
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

#[test]
fn strings() {
    check(&[
        "SET s hello",
        "GET s",
        "SET s world NX",
        "SET s world XX GET",
        "SET fresh v XX",
        "SET fresh v NX GET",
        "GETSET s again",
        "APPEND s \"\"",
        "APPEND s \" and more\"",
        "STRLEN s",
        "STRLEN missing",
        "GETRANGE s 0 -1",
        "GETRANGE s -3 -1",
        "GETRANGE s 5 2",
        "GETRANGE s -100 100",
        "SUBSTR s 1 3",
        "SETRANGE s 2 XY",
        "SETRANGE pad 5 x",
        "GET pad",
        "SETRANGE pad 0 \"\"",
        "SETRANGE empty 3 \"\"",
        "EXISTS empty",
        "MSET a 1 b 2 c 3",
        "MGET a b c missing s",
        "MSETNX a 9 z 9",
        "MSETNX y 8 z 8",
        "MGET y z",
        "GETDEL a",
        "GETDEL a",
        "SETNX b 5",
        "SETNX new 5",
        "INCR new",
        "INCRBY new -10",
        "DECR new",
        "DECRBY new 3",
        "INCR s",
        "SET big 9223372036854775806",
        "INCR big",
        "INCR big",
        "DECRBY big -1",
        "SET small -9223372036854775807",
        "DECR small",
        "DECR small",
        "INCRBY small -9223372036854775808",
        "DECRBY small -9223372036854775808",
        "SET spaced \" 1\"",
        "INCR spaced",
        "SET lead 01",
        "INCR lead",
        "SET f 10.5",
        "INCRBYFLOAT f 0.1",
        "INCRBYFLOAT f 0.1",
        "INCRBYFLOAT f 0.1",
        "INCRBYFLOAT f -5.0e3",
        "INCRBYFLOAT f 1e300",
        "INCRBYFLOAT f inf",
        "INCRBYFLOAT f abc",
        "SET f 3",
        "INCRBYFLOAT f 1.5",
        "INCRBYFLOAT nf 3.0",
        "GET nf",
        "INCR f",
        "SET lcs1 ohmytext",
        "SET lcs2 mynewtext",
        "LCS lcs1 lcs2",
        "LCS lcs1 lcs2 LEN",
        "LCS lcs1 lcs2 IDX",
        "LCS lcs1 lcs2 IDX MINMATCHLEN 4 WITHMATCHLEN",
        "LCS lcs1 lcs2 LEN IDX",
        "LCS lcs1 missing",
        "SET e \"\"",
        "GET e",
        "STRLEN e",
        "SET long the-quick-brown-fox-jumps-over-the-lazy-dog-and-keeps-running",
        "APPEND long !",
        "GETRANGE long 40 -1",
    ]);
}

#[test]
fn strings_binary_values() {
    let cmds = [
        cmd!["SET", "bin", b"\x00\xff\r\n$1\r\n".as_slice()],
        cmd!["GET", "bin"],
        cmd!["APPEND", "bin", b"\x00".as_slice()],
        cmd!["STRLEN", "bin"],
        cmd!["SET", b"key with \x00 and spaces".as_slice(), "v"],
        cmd!["GET", b"key with \x00 and spaces".as_slice()],
        cmd!["SET", "large", vec![b'x'; 100_000]],
        cmd!["APPEND", "large", "tail"],
        cmd!["GETRANGE", "large", "99990", "-1"],
        cmd!["STRLEN", "large"],
        cmd!["GET", "large"],
    ];
    Pair::start().check(&cmds);
}

#[test]
fn bitmaps() {
    check(&[
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "GET b",
        "SETBIT b 100 1",
        "STRLEN b",
        "GETBIT b 100",
        "GETBIT b 101",
        "GETBIT b 100000",
        "GETBIT missing 3",
        "SETBIT b 1 2",
        "SETBIT b -1 1",
        "SETBIT b 4294967296 1",
        "BITCOUNT b",
        "BITCOUNT b 0 0",
        "BITCOUNT b 1 -1",
        "BITCOUNT b 0 7 BIT",
        "BITCOUNT b 7 7 BIT",
        "BITCOUNT b -5 -1 BIT",
        "BITCOUNT b 0 0 BYTE",
        "BITCOUNT b 0",
        "BITCOUNT b 0 1 WORD",
        "BITCOUNT missing",
        "SET s foobar",
        "BITCOUNT s",
        "BITCOUNT s 1 1",
        "BITPOS s 1",
        "BITPOS s 0",
        "BITPOS s 1 2",
        "BITPOS s 1 2 -1 BYTE",
        "BITPOS s 1 7 15 BIT",
        "BITPOS s 0 -3 -1 BIT",
        "BITPOS missing 0",
        "BITPOS missing 1",
        "SETBIT full 7 1",
        "SETBIT full 0 1",
        "BITPOS s 2",
        "SET x abc",
        "SET y xyz",
        "BITOP AND dand x y",
        "BITOP OR dor x y missing",
        "BITOP XOR dxor x y",
        "BITOP NOT dnot x",
        "MGET dand dor dxor dnot",
        "BITOP NOT dnot x y",
        "BITOP AND dmiss missing1 missing2",
        "EXISTS dmiss",
        "BITOP FOO d x",
        "BITFIELD bf SET i8 0 100 GET i8 0",
        "BITFIELD bf INCRBY i8 0 100",
        "BITFIELD bf OVERFLOW SAT INCRBY i8 0 100",
        "BITFIELD bf OVERFLOW FAIL INCRBY i8 0 100",
        "BITFIELD bf OVERFLOW WRAP INCRBY u4 #1 20 GET u4 #1",
        "BITFIELD bf SET u63 3 9223372036854775807 GET u63 3 GET i64 3",
        "BITFIELD bf GET u64 0",
        "BITFIELD bf GET i65 0",
        "BITFIELD bf SET i8 -1 1",
        "BITFIELD bf OVERFLOW NONE",
        "BITFIELD bf GET i8",
        "BITFIELD bf",
        "BITFIELD_RO bf GET u8 0 GET i16 #2",
        "BITFIELD_RO bf SET u8 0 1",
        "BITFIELD_RO missing GET u8 0",
        "GET bf",
        "SET str hello",
        "BITFIELD str GET u8 8 SET u8 8 70",
        "GET str",
    ]);
}

#[test]
fn keyspace() {
    check(&[
        "MSET a 1 b 2 c 3",
        "EXISTS a b missing a",
        "TYPE a",
        "TYPE missing",
        "DEL a missing",
        "UNLINK b c missing",
        "DBSIZE",
        "MSET a 1 b 2",
        "TOUCH a b missing",
        "RENAME a a2",
        "GET a2",
        "RENAME missing x",
        "RENAME a2 a2",
        "RENAMENX a2 b",
        "RENAMENX a2 a3",
        "RENAMENX a3 a3",
        "PEXPIREAT a3 32503680000123",
        "COPY a3 c",
        "COPY a3 c",
        "COPY a3 c REPLACE",
        "COPY a3 a3",
        "COPY missing d",
        "COPY a3 d DB 1",
        "COPY a3 d DB 16",
        "COPY a3 d FOO",
        "MOVE a3 1",
        "MOVE a3 1",
        "MOVE missing 1",
        "MOVE c 0",
        "MOVE c 16",
        "MOVE c x",
        "SELECT 1",
        "KEYS *",
        "GET a3",
        "DBSIZE",
        "MOVE a3 0",
        "SELECT 0",
        "MOVE a3 1",
        "SELECT 16",
        "SELECT x",
        "MSET k1 1 k2 2 k10 10 other x",
        "KEYS *",
        "KEYS k?",
        "KEYS k*",
        "KEYS k[12]*",
        "KEYS k[^1]",
        "KEYS *[0-9]",
        "KEYS \\k*",
        "KEYS nomatch",
        "SCAN 0",
        "SCAN 0 MATCH k* COUNT 1",
        "SCAN 0 TYPE string",
        "SCAN 0 TYPE list",
        "SCAN 0 COUNT 0",
        "SCAN 0 MATCH",
        "SCAN abc",
        "DBSIZE",
        "FLUSHDB",
        "DBSIZE",
        "KEYS *",
    ]);
}

/// RENAME, COPY and MOVE carry the TTL with the value; exact absolute times make that visible.
#[test]
fn keyspace_ttls() {
    let far_ms = || FAR_MS.to_string();
    Pair::start().check(&[
        cmd!["SET", "t", "v"],
        cmd!["PEXPIREAT", "t", far_ms()],
        cmd!["RENAME", "t", "t2"],
        cmd!["PEXPIRETIME", "t2"].exact(),
        cmd!["COPY", "t2", "t3"],
        cmd!["PEXPIRETIME", "t3"].exact(),
        cmd!["MOVE", "t3", "1"],
        cmd!["SELECT", "1"],
        cmd!["PEXPIRETIME", "t3"].exact(),
        cmd!["SELECT", "0"],
        cmd!["SET", "plain", "v"],
        cmd!["RENAME", "plain", "t2"],
        cmd!["PEXPIRETIME", "t2"].exact(),
    ]);
}

#[test]
fn expire() {
    let at = |offset_ms: i64| (FAR_MS.parse::<i64>().unwrap() + offset_ms).to_string();
    let mut cmds: Vec<Cmd> = [
        "SET k v",
        "TTL k",
        "PTTL k",
        "EXPIRETIME k",
        "PEXPIRETIME k",
        "TTL missing",
        "PEXPIRETIME missing",
        "EXPIRE k 100 XX",
        "EXPIRE k 100 NX",
        "EXPIRE k 200 NX",
        "EXPIRE k 50 GT",
        "EXPIRE k 500 GT",
        "EXPIRE k 1000 LT",
        "EXPIRE k 10 LT",
        "TTL k",
        "PTTL k",
        "EXPIRETIME k",
        "PERSIST k",
        "PERSIST k",
        "EXPIRE k 100 LT",
        "PERSIST k",
        "EXPIRE k 100 GT",
        "EXPIRE k 100 NX XX",
        "EXPIRE k 100 GT LT",
        "EXPIRE k 100 NX GT",
        "EXPIRE k 100 FOO",
        "EXPIRE k abc",
        "EXPIRE k 9223372036854775807",
        "PEXPIRE k 9223372036854775807",
        "EXPIRE k 9223372036854775",
        "EXPIREAT k 9223372036854775807",
        "EXPIRE missing 100",
        "SET gone v",
        "EXPIRE gone 0",
        "EXISTS gone",
        "SET gone v",
        "EXPIRE gone -5",
        "GET gone",
        "SET gone v",
        "PEXPIREAT gone 1",
        "GET gone",
        "SET gone v",
        "EXPIREAT gone 1 NX",
        "EXISTS gone",
        "SET past v PXAT 1",
        "GET past",
        "SET past v EXAT 1 GET",
        "EXISTS past",
        "SET past v",
        "GETEX past EXAT 1",
        "EXISTS past",
        "SET ex v EX 100",
        "TTL ex",
        "SET ex v2",
        "TTL ex",
        "SET ex v EX 100",
        "SET ex v3 KEEPTTL",
        "TTL ex",
        "SET ex v EX 0",
        "SET ex v PX -1",
        "SET ex v EX 100 PX 100",
        "SET ex v EX 100 KEEPTTL",
        "SETEX ex 0 v",
        "SETEX ex 100 v",
        "PSETEX ex 100000 v",
        "PTTL ex",
        "GETEX ex PERSIST",
        "TTL ex",
        "GETEX ex EX 100",
        "TTL ex",
        "GETEX ex EX 100 PX 100",
        "GETEX missing EX 100",
        "GETEX ex EX 0",
        "GETEX ex",
    ]
    .iter()
    .map(|line| Cmd::parse(line))
    .collect();
    // Absolute times read back exactly, and GT/LT compare against them.
    cmds.extend([
        cmd!["SET", "abs", "v"],
        cmd!["PEXPIREAT", "abs", at(0)],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["EXPIRETIME", "abs"].exact(),
        cmd!["EXPIREAT", "abs", FAR_S, "GT"],
        cmd!["PEXPIREAT", "abs", at(1), "GT"],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["PEXPIREAT", "abs", at(-1000), "LT"],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["PEXPIREAT", "abs", at(5000), "XX"],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["SET", "abs", "v2", "PXAT", at(77)],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["GETEX", "abs", "EXAT", FAR_S],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["SET", "abs", "v3", "EXAT", FAR_S, "GET"],
        cmd!["PEXPIRETIME", "abs"].exact(),
        cmd!["EXPIRE", "abs", "100", "GT"],
        cmd!["EXPIRE", "abs", "100", "LT"],
        cmd!["EXPIRETIME", "abs"],
    ]);
    Pair::start().check(&cmds);
}

#[test]
fn errors() {
    check(&[
        // Arity.
        "GET",
        "GET a b",
        "SET k",
        "MSET a",
        "MSET a 1 b",
        "MGET",
        "DEL",
        "EXPIRE k",
        "SETBIT k 1",
        "BITCOUNT",
        "get",
        // Unknown commands and subcommands.
        "NOSUCHCOMMAND",
        "NOSUCHCOMMAND a b \"c d\"",
        "\"\"",
        "OBJECT NOSUCH",
        "CONFIG NOSUCH x",
        // Syntax and values.
        "SET k v NX XX",
        "SET k v EX",
        "SET k v EX 10 EX 10",
        "SET k v FOO",
        "SET k v EX abc",
        "SET k v PX 1.5",
        "INCRBY k abc",
        "SET n 1",
        "INCRBY n 1.5",
        "INCRBYFLOAT n nan",
        "SETRANGE n -1 x",
        "GETRANGE n a b",
        "SETBIT n 0 x",
        "BITCOUNT n 0",
        "BITPOS n 3",
        "EXPIRE n 1.5",
        "SELECT -1",
        "COPY n n2 DB",
    ]);
}

/// Commands of one type on a key of another. Needs lists, hashes, sets and sorted sets.
#[test]
fn errors_wrong_type() {
    check(&[
        "SET str v",
        "HSET str f v",
        "SADD str m",
        "LPUSH str x",
        "LPOP str",
        "LRANGE str 0 -1",
        "LMOVE str str LEFT LEFT",
        // Sorted sets join when they exist (issue 3).
        "LPUSH list x",
        "HSET list x y",
        "SADD list m",
        "GET list",
        "APPEND list x",
        "INCR list",
        "SETBIT list 0 1",
        "BITCOUNT list",
        "BITFIELD list GET u8 0",
        "GETRANGE list 0 1",
        "MGET str list",
        "TYPE list",
        "SET list v GET",
        "GETDEL list",
        "SET list v",
        "TYPE list",
    ]);
}

/// Inline commands and malformed frames: replies, then whether the server hangs up.
#[test]
fn protocol() {
    let mut pair = Pair::start();
    pair.check_raw(b"PING\r\n", 1, false);
    pair.check_raw(b"PING hello\n", 1, false);
    pair.check_raw(b"SET k \"hello world\"\r\nGET k\r\n", 2, false);
    pair.check_raw(b"ECHO 'a b' \"c\\x41\\n\"\r\n", 1, false);
    pair.check_raw(b"\r\n\r\nPING\r\n", 1, false);
    pair.check_raw(
        b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        2,
        false,
    );
    pair.check_raw(b"*0\r\n*-1\r\nPING\r\n", 1, false);
    pair.check_raw(b"ECHO \"unbalanced\r\n", 1, true);
    pair.check_raw(b"*1\r\n$x\r\n", 1, true);
    pair.check_raw(b"*x\r\n", 1, true);
    pair.check_raw(b"*1\r\n+PING\r\n", 1, true);
    pair.check_raw(b"*1\r\n$-1\r\n", 1, true);
}

/// Hashes: listpack (insertion) order, conversions and the encodings they show, counters,
/// HRANDFIELD's reply shapes, RENAME / COPY / MOVE of both forms.
#[test]
fn hashes() {
    check(&[
        "HSET h b 1 a 2 c 3",
        "HSET h a 20 d 4",
        "HGETALL h",
        "HKEYS h",
        "HVALS h",
        "HDEL h b zz",
        "HSCAN h 0",
        "HSCAN h 0 MATCH ? COUNT 1",
        "OBJECT ENCODING h",
        "HSETNX h a xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "OBJECT ENCODING h",
        "HSETNX h long xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "OBJECT ENCODING h",
        "HDEL h a c d long",
        "OBJECT ENCODING h",
        "EXISTS h",
        "HINCRBYFLOAT f x 10.5",
        "HINCRBYFLOAT f x 0.1",
        "HINCRBYFLOAT f x -5.0e3",
        "HINCRBYFLOAT f x 1e4930",
        "HINCRBYFLOAT f x 1e4932",
        "HSET f y \" 1\"",
        "HINCRBYFLOAT f y 1",
        "HINCRBY f y 1",
        "HINCRBY f z -9223372036854775808",
        "HINCRBY f z -1",
        "HMGET f x y z",
        "HSET one k v",
        "HRANDFIELD one",
        "HRANDFIELD one 1 WITHVALUES",
        "HRANDFIELD one -3 WITHVALUES",
        "HRANDFIELD one -2",
        "HRANDFIELD one 5 WITHVALUES",
        "HRANDFIELD one -4611686018427387904 WITHVALUES",
        "HRANDFIELD missing -3 WITHVALUES",
        "HRANDFIELD missing",
        "CONFIG SET hash-max-listpack-entries 2",
        "HSET two a 1 b 2",
        "OBJECT ENCODING two",
        "HSET two c 3",
        "OBJECT ENCODING two",
        "HDEL two a b",
        "OBJECT ENCODING two",
        // The config outlives FLUSHALL: restore it for the RESP3 round.
        "CONFIG SET hash-max-listpack-entries 512",
        "HGETALL two",
        "RENAME two moved",
        "OBJECT ENCODING moved",
        "HGETALL moved",
        "COPY moved copied",
        "HDEL moved c",
        "HGETALL copied",
        "EXISTS moved",
        "RENAME one one2",
        "HGETALL one2",
        "MOVE one2 2",
        "SELECT 2",
        "HGETALL one2",
        "OBJECT ENCODING one2",
    ]);
}

#[test]
fn changes_redis_does_not_signal_keep_a_watch() {
    // SETBIT of a bit that already has the value (which still turns the string "raw") and a
    // PFCOUNT refreshing a cached cardinality change nothing a WATCH sees.
    check(&[
        "SET k4 a0",
        "WATCH k4",
        "SETBIT k4 12 0",
        "OBJECT ENCODING k4",
        "MULTI",
        "EXEC",
        "PFADD h a b c",
        "PFADD h d",
        "WATCH h",
        "PFCOUNT h",
        "MULTI",
        "EXEC",
        "WATCH k4",
        "SETBIT k4 12 1",
        "MULTI",
        "EXEC",
    ]);
}

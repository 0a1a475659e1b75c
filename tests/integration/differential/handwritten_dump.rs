//! DUMP and RESTORE against redis-server 7.0.15.
//!
//! The argument checks run as differential sequences: RESTORE's options, BUSYKEY, the TTL,
//! payloads with a short body, a wrong checksum, a newer RDB version, or a value Redis's loader
//! refuses (truncated, empty collection, duplicate set members, unknown type), ABSTTL in the
//! past (no key, yet OK), REPLACE, expire times, MULTI, and the keyspace events. The payloads
//! are built here with the `formats` writer (RDB 9) or taken from Redis (RDB 10), so both
//! servers get the same bytes.
//!
//! DUMP's own bytes legitimately differ (Redis writes RDB 10 with its in-memory encodings,
//! rockslot RDB 9 with plain types), so the values travel both ways instead: the same data is
//! built on both servers, every key is DUMPed on each side and RESTOREd on the other, with its
//! remaining TTL, and DEBUG DIGEST-VALUE must be equal for the original on both sides and for
//! both copies. Streams also compare their metadata (XINFO STREAM's IDs and counters), their
//! groups (XINFO GROUPS) and pending summaries, which the digest leaves out.
//!
//! Payloads of the encodings older versions dumped (zipmap, ziplist, quicklist v1, intset, RDB
//! 4-9 streams) are cut out of real RDB files written by Redis 2.4 to 6.2: each value's bytes
//! with the file's version in a footer, RESTOREd on both servers with the same outcome.

use formats::rdb::dump;
use formats::rdb::{crc64, Event, Kind, Options, Poll, Reader, Value, WriterOptions};

use super::{cmd, keyspace_events_of, Cmd, Pair, SERVER_ARGS};
use crate::fixtures;
use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

/// DUMP of the string "v0" on redis-server 7.0.15 (RDB 10).
const REDIS_V0: [u8; 14] = [
    0x00, 0x02, b'v', b'0', 0x0a, 0x00, 0xe1, 0xdd, 0xf0, 0x90, 0xe2, 0x01, 0x6b, 0xaf,
];

/// A value body with its footer: `version`, then a correct CRC-64.
fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::checksum(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

fn ours(value: &Value) -> Vec<u8> {
    dump::encode(value, WriterOptions::default()).expect("encode")
}

#[test]
fn restore_arguments_and_errors_in_redis_order() {
    let v = ours(&Value::String(b"v".to_vec()));
    let mut bad_crc = v.clone();
    bad_crc[2] ^= 1;
    let list = ours(&Value::List(vec![b"a".to_vec(), b"12".to_vec()]));
    let cmds = vec![
        cmd!("RESTORE", "k", "0", v),
        cmd!("GET", "k"),
        cmd!("RESTORE", "k", "0", v),
        cmd!("RESTORE", "k", "0", REDIS_V0, "REPLACE"),
        cmd!("GET", "k"),
        // Options are checked first, then BUSYKEY, then the TTL, then the payload.
        cmd!("RESTORE", "k", "0", "garbage", "BOGUS"),
        cmd!("RESTORE", "k", "-1", "garbage"),
        cmd!("RESTORE", "k", "-1", "garbage", "REPLACE"),
        cmd!("RESTORE", "k", "x", "garbage", "REPLACE"),
        cmd!("RESTORE", "k", "0", "garbage", "REPLACE"),
        cmd!("RESTORE", "n", "-1", v),
        cmd!("RESTORE", "n", "1.5", v),
        cmd!("RESTORE", "n", "0", "short"),
        cmd!("RESTORE", "n", "0", ""),
        cmd!("RESTORE", "n", "0", bad_crc),
        cmd!("RESTORE", "n", "0", with_footer(&[0x00, 0x01, b'v'], 11)),
        cmd!("RESTORE", "n", "0", with_footer(&[0x00, 0x01, b'v'], 10)),
        cmd!("RESTORE", "n2", "0", with_footer(&[0x00, 0x01, b'v'], 1)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x00, 0x05, b'v'], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x00], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x01, 0x00], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x02, 0x00], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x04, 0x00], 9)),
        cmd!(
            "RESTORE",
            "n3",
            "0",
            with_footer(&[0x02, 0x02, 0x01, b'a', 0x01, b'a'], 9)
        ),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x08, 0x00], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0x63, 0x00], 9)),
        cmd!("RESTORE", "n3", "0", with_footer(&[0xfe, 0x00], 9)),
        cmd!("EXISTS", "n", "n2", "n3"),
        cmd!("RESTORE", "l", "0", list),
        cmd!("LRANGE", "l", "0", "-1"),
        cmd!("TYPE", "l"),
        // IDLETIME and FREQ.
        cmd!("RESTORE", "o", "0", v, "IDLETIME", "-1"),
        cmd!("RESTORE", "o", "0", v, "IDLETIME", "x"),
        cmd!("RESTORE", "o", "0", v, "IDLETIME"),
        cmd!("RESTORE", "o", "0", v, "FREQ", "256"),
        cmd!("RESTORE", "o", "0", v, "FREQ", "-1"),
        cmd!("RESTORE", "o", "0", v, "FREQ", "1.5"),
        cmd!("RESTORE", "o", "0", v, "FREQ"),
        cmd!("RESTORE", "o", "0", v, "FREQ", "5", "IDLETIME", "5"),
        cmd!("RESTORE", "o", "0", v, "IDLETIME", "5", "FREQ", "5"),
        cmd!("RESTORE", "o", "0", v, "IDLETIME", "-1", "FREQ", "5"),
        cmd!("RESTORE", "o", "0", v, "idletime", "5", "IDLETIME", "6"),
        cmd!("RESTORE", "o", "0", v, "freq", "255", "replace", "absttl"),
        cmd!("RESTORE", "o2", "0", v, "FREQ", "0", "FREQ", "3"),
        cmd!("GET", "o"),
        // TTLs: relative, absolute, absolute in the past.
        cmd!("RESTORE", "t", "100000", v),
        cmd!("PTTL", "t"),
        cmd!("RESTORE", "t2", "4102444800000", v, "ABSTTL"),
        cmd!("PEXPIRETIME", "t2").exact(),
        cmd!("RESTORE", "t3", "1000", v, "ABSTTL"),
        cmd!("EXISTS", "t3"),
        cmd!("RESTORE", "k", "1000", v, "ABSTTL", "REPLACE"),
        cmd!("EXISTS", "k"),
        cmd!("RESTORE", "k", "1", v, "ABSTTL"),
        cmd!("RESTORE", "t2", "0", v, "REPLACE"),
        cmd!("PTTL", "t2"),
        cmd!("RESTORE", "big", "9223372036854775807", v, "ABSTTL"),
        cmd!("PEXPIRETIME", "big").exact(),
        cmd!("RESTORE", "wrap", "9223372036854775807", v),
        cmd!("EXISTS", "wrap"),
        cmd!("RESTORE", "wrap", "9223372036854775807", v, "ABSTTL"),
        cmd!("PEXPIRETIME", "wrap").exact(),
        // REPLACE over another type, and an expired key is not busy.
        cmd!("RPUSH", "x", "a"),
        cmd!("RESTORE", "x", "0", v),
        cmd!("RESTORE", "x", "0", v, "REPLACE"),
        cmd!("TYPE", "x"),
        cmd!("SET", "gone", "1", "PX", "1"),
        cmd!("DEBUG", "SLEEP", "0.01"),
        cmd!("RESTORE", "gone", "0", v),
        cmd!("GET", "gone"),
        // DUMP of missing keys and arity.
        cmd!("DUMP", "missing"),
        cmd!("DUMP"),
        cmd!("DUMP", "a", "b"),
        cmd!("RESTORE", "a", "0"),
        cmd!("MULTI"),
        cmd!("RESTORE", "m", "0", v),
        cmd!("RESTORE", "m", "0", v),
        cmd!("GET", "m"),
        cmd!("EXEC"),
        cmd!("DEBUG", "DIGEST"),
    ];
    Pair::start().check(&cmds);
}

#[test]
fn restore_keyspace_events() {
    let v = ours(&Value::String(b"v".to_vec()));
    let h = ours(&Value::Hash(vec![formats::rdb::HashField {
        field: b"f".to_vec(),
        value: b"1".to_vec(),
        expire_at_ms: None,
    }]));
    let commands = vec![
        cmd!("RESTORE", "k", "0", v),
        cmd!("RESTORE", "k", "0", v),
        cmd!("RESTORE", "k", "0", h, "REPLACE"),
        cmd!("RESTORE", "k", "1000", v, "REPLACE", "ABSTTL"),
        cmd!("RESTORE", "k", "1000", v, "ABSTTL"),
        cmd!("RESTORE", "e", "100000", v),
        cmd!("DUMP", "e"),
        cmd!("RESTORE", "l", "0", ours(&Value::List(vec![b"a".to_vec()]))),
        cmd!("RESTORE", "s", "0", ours(&Value::Set(vec![b"1".to_vec()]))),
        cmd!(
            "RESTORE",
            "z",
            "0",
            ours(&Value::Zset(vec![(b"m".to_vec(), 1.5)]))
        ),
        cmd!("RESTORE", "z", "0", v, "REPLACE"),
    ];
    let events = |flavor| {
        let mut seen = keyspace_events_of(flavor, &commands);
        // DUMP's bytes differ between the servers (RDB 9 and 10); its events must not.
        seen.retain(|line| !line.starts_with("DUMP"));
        seen
    };
    assert_eq!(events(Flavor::Rockslot), events(Flavor::Redis));
}

/// Lines building values of every type, in small and big encodings, on both servers.
fn dataset() -> Vec<Cmd> {
    let mut lines: Vec<String> = [
        "SET int 12345",
        "SET neg -9223372036854775808",
        "SET emb hello",
        "SET empty \"\"",
        "SET ttl v PX 100000000",
        "RPUSH list a b c 1 2 3",
        "HSET hash f1 v1 f2 v2 n 1",
        "SADD ints 1 2 3 -5",
        "SADD mixed a b c 1",
        "ZADD zset 0.1 a -0.0 b inf c 1e300 d -inf e 3 f 1e-300 g",
        "XADD s 1-1 a 1 b 2",
        "XADD s 1-2 a 3 b 4",
        "XADD s 2-0 other field",
        "XADD deleted 5-1 f v",
        "XADD deleted 5-2 f v",
        "XADD deleted 5-3 f v",
        "XDEL deleted 5-2",
        "XGROUP CREATE deleted g 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS deleted >",
        "XGROUP CREATE estream g $ MKSTREAM",
        "XGROUP CREATECONSUMER estream g bob",
        "XADD trimmed MAXLEN 0 7-7 f v",
        "XSETID trimmed 9-9 ENTRIESADDED 12 MAXDELETEDID 8-0",
        "EXPIRE list 100000",
        "PEXPIRE s 99999999",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let big = |command: &str, key: &str, n: usize, item: &dyn Fn(usize) -> String| {
        let items: Vec<String> = (0..n).map(item).collect();
        format!("{command} {key} {}", items.join(" "))
    };
    lines.push(format!("SET raw {}", "a".repeat(100)));
    lines.push(format!(
        "SET text \"{}\"",
        "The quick brown fox. ".repeat(20)
    ));
    lines.push(big("RPUSH", "biglist", 1500, &|i| format!("e{i}")));
    lines.push(big("RPUSH", "longlist", 3, &|i| {
        format!("{i}{}", "x".repeat(100))
    }));
    lines.push(big("HSET", "bighash", 1500, &|i| format!("f{i} v{i}")));
    lines.push(format!("HSET longhash f {}", "y".repeat(100)));
    lines.push(big("SADD", "bigints", 600, &|i| i.to_string()));
    lines.push(big("SADD", "bigset", 700, &|i| format!("m{i}")));
    lines.push(big("ZADD", "bigzset", 300, &|i| {
        format!("{} m{i}", [i as f64 / 7.0, -0.0, f64::INFINITY][i % 3])
    }));
    lines.push(big("ZADD", "bigzset", 2, &|i| {
        ["-inf minf", "-0.0 negzero"][i].to_string()
    }));
    lines.push(format!("ZADD longzset 1 {}", "z".repeat(100)));
    for i in 0..1000 {
        lines.push(format!(
            "XADD bigstream {}-{} field{} {i} v {i}",
            i / 3 + 1,
            i % 3,
            i % 2
        ));
    }
    lines.extend(
        [
            "XDEL bigstream 10-0 200-1",
            "XGROUP CREATE bigstream g1 0",
            "XGROUP CREATE bigstream g2 $",
            "XGROUP CREATE bigstream g3 100-0 ENTRIESREAD 50",
            "XREADGROUP GROUP g1 alice COUNT 10 STREAMS bigstream >",
            "XREADGROUP GROUP g1 bob COUNT 5 STREAMS bigstream >",
            "XREADGROUP GROUP g3 carol COUNT 3 STREAMS bigstream >",
            "XACK bigstream g1 1-1",
            "XCLAIM bigstream g1 bob 0 1-2 TIME 1700000000000 RETRYCOUNT 7",
            "XGROUP CREATECONSUMER bigstream g2 idle",
            // A stream version 9 holds: no deletion, groups whose entries-read 7.0 re-estimates.
            "XADD plain 1-1 a 1",
            "XADD plain 1-2 a 2",
            "XGROUP CREATE plain g 0",
            "XREADGROUP GROUP g c COUNT 2 STREAMS plain >",
            // Created at $, a group's counter is unknown: a type-15 load would estimate it.
            "XADD unknown 1-1 a 1",
            "XGROUP CREATE unknown h $",
        ]
        .iter()
        .map(|s| (*s).to_string()),
    );
    lines.iter().map(|line| Cmd::parse(line)).collect()
}

/// Every key `dataset` makes, with the streams among them.
const KEYS: &[&str] = &[
    "int", "neg", "emb", "empty", "ttl", "raw", "text", "list", "biglist", "longlist", "hash",
    "bighash", "longhash", "ints", "mixed", "bigints", "bigset", "zset", "bigzset", "longzset",
];
const STREAMS: &[&str] = &[
    "s",
    "deleted",
    "estream",
    "trimmed",
    "bigstream",
    "plain",
    "unknown",
];

fn call(conn: &mut Conn, args: &[&[u8]]) -> Reply {
    conn.call(args).expect("call")
}

fn start(flavor: Flavor) -> (Server, Conn) {
    let server = Server::start(flavor, SERVER_ARGS);
    let mut conn = server.conn();
    for c in dataset() {
        let reply = conn.call(&c.args).expect("call");
        assert!(!reply.is_error(), "{flavor:?}: {c:?} -> {reply:?}");
    }
    (server, conn)
}

/// DUMPs `key` on `from` and RESTOREs it as `to_key` on `to` with its remaining TTL.
fn copy(from: &mut Conn, key: &str, to: &mut Conn, to_key: &str) {
    let (payload, ttl) = dump_of(from, key);
    restore(to, to_key, &payload, &ttl);
}

/// The payload of `key` and its remaining TTL as RESTORE takes it.
fn dump_of(conn: &mut Conn, key: &str) -> (Vec<u8>, String) {
    let payload = call(conn, &[b"DUMP", key.as_bytes()]);
    let payload = payload.as_bytes().expect("a payload").to_vec();
    let ttl = call(conn, &[b"PTTL", key.as_bytes()])
        .as_int()
        .expect("pttl");
    (payload, ttl.max(0).to_string())
}

fn restore(conn: &mut Conn, key: &str, payload: &[u8], ttl: &str) {
    let reply = call(conn, &[b"RESTORE", key.as_bytes(), ttl.as_bytes(), payload]);
    assert_eq!(reply, Reply::Simple(b"OK".to_vec()), "RESTORE {key}");
}

fn digest(conn: &mut Conn, key: &str) -> Reply {
    call(conn, &[b"DEBUG", b"DIGEST-VALUE", key.as_bytes()])
}

/// What a stream's digest leaves out: XINFO STREAM's IDs and counters (not its node counts,
/// which depend on how the loader packs entries), its groups and their pending summaries.
fn stream_state(conn: &mut Conn, key: &str) -> Vec<Reply> {
    let info = call(conn, &[b"XINFO", b"STREAM", key.as_bytes()]);
    let items = info.as_items().expect("xinfo stream").to_vec();
    let mut state: Vec<Reply> = items
        .chunks(2)
        .filter(|pair| {
            !matches!(
                pair[0].as_bytes(),
                Some(b"radix-tree-keys" | b"radix-tree-nodes")
            )
        })
        .flat_map(|pair| pair.to_vec())
        .collect();
    let groups = call(conn, &[b"XINFO", b"GROUPS", key.as_bytes()]);
    for group in groups.as_items().expect("xinfo groups") {
        let name = group.as_items().expect("group")[1]
            .as_bytes()
            .expect("name")
            .to_vec();
        state.push(call(conn, &[b"XPENDING", key.as_bytes(), &name]));
        state.push(call(
            conn,
            &[b"XPENDING", key.as_bytes(), &name, b"-", b"+", b"1000"],
        ));
    }
    state.push(groups);
    state
}

/// Removes the delivery times and idle times from XPENDING's extended form, which depend on
/// when each server delivered: keeps only IDs, consumers and counts.
fn without_times(state: Vec<Reply>) -> Vec<Reply> {
    state
        .into_iter()
        .map(|reply| match reply {
            Reply::Array(Some(items))
                if items
                    .iter()
                    .all(|i| i.as_items().is_some_and(|p| p.len() == 4)) =>
            {
                Reply::Array(Some(
                    items
                        .into_iter()
                        .map(|i| {
                            let mut p = i.as_items().unwrap_or_default().to_vec();
                            p.remove(2);
                            Reply::Array(Some(p))
                        })
                        .collect(),
                ))
            }
            other => other,
        })
        .collect()
}

#[test]
fn values_of_every_type_travel_both_ways() {
    let (_redis, mut redis) = start(Flavor::Redis);
    let (_ours, mut rockslot) = start(Flavor::Rockslot);
    for &key in KEYS.iter().chain(STREAMS) {
        let (from_redis, from_ours) = (format!("r:{key}"), format!("o:{key}"));
        copy(&mut redis, key, &mut rockslot, &from_redis);
        copy(&mut rockslot, key, &mut redis, &from_ours);
        let reference = digest(&mut redis, key);
        assert_eq!(digest(&mut rockslot, key), reference, "{key} as built");
        assert_eq!(
            digest(&mut rockslot, &from_redis),
            reference,
            "{key} into rockslot"
        );
        assert_eq!(
            digest(&mut redis, &from_ours),
            reference,
            "{key} into redis"
        );
        // Our payload read back by ourselves, too.
        let (payload, ttl) = dump_of(&mut rockslot, key);
        restore(&mut rockslot, &format!("self:{key}"), &payload, &ttl);
        assert_eq!(digest(&mut rockslot, &format!("self:{key}")), reference);
    }
    for &key in STREAMS {
        let reference = without_times(stream_state(&mut redis, key));
        let into_ours = without_times(stream_state(&mut rockslot, &format!("r:{key}")));
        let into_redis = without_times(stream_state(&mut redis, &format!("o:{key}")));
        assert_eq!(into_ours, reference, "stream {key} into rockslot");
        assert_eq!(into_redis, reference, "stream {key} into redis");
    }
    // The payloads rockslot writes: RDB 9, except for streams 9 cannot describe.
    for (key, version) in [
        ("list", 9),
        ("plain", 9),
        ("deleted", 10),
        ("bigstream", 10),
    ] {
        let payload = call(&mut rockslot, &[b"DUMP", key.as_bytes()]);
        let payload = payload.as_bytes().expect("payload");
        let at = payload.len() - 10;
        assert_eq!(payload[at], version, "{key}");
    }
}

/// Files written by old Redis versions, whose values carry the encodings of their time.
const OLD_FILES: &[&str] = &[
    "gen-2.4.18-all-types-a.rdb",
    "gen-3.2.13-all-types-a.rdb",
    "gen-5.0.14-all-types-a.rdb",
    "gen-6.0.8-all-types-a.rdb",
    "cw-rdb-tools--hash_as_ziplist2.rdb",
    "cw-rdb-tools--redis_62_with_streams_and_group.rdb",
];

/// Every value of an RDB file as a DUMP payload of the file's RDB version, with whether it is a
/// stream: the type byte and the bytes between the key name and the end of the value.
fn payloads_of(file: &str) -> Vec<(bool, Vec<u8>)> {
    let data = std::fs::read(fixtures::fixtures_dir().join("rdb").join(file)).expect("fixture");
    let mut reader = Reader::new(Options::default());
    reader.feed(&data);
    reader.end_input();
    let (mut version, mut start, mut out) = (0, None, Vec::new());
    loop {
        match reader.poll().expect("a readable fixture") {
            Poll::Event(Event::Header { version: v }) => version = v,
            Poll::Event(Event::Key(header)) => {
                let stream = header.kind == Kind::Stream;
                start = Some((header.rdb_type, stream, reader.consumed() as usize));
            }
            Poll::Event(Event::ValueEnd) => {
                if let Some((rdb_type, stream, at)) = start.take() {
                    let mut body = vec![rdb_type];
                    body.extend_from_slice(&data[at..reader.consumed() as usize]);
                    out.push((stream, with_footer(&body, version as u16)));
                }
            }
            Poll::Done => return out,
            _ => {}
        }
    }
}

#[test]
fn payloads_in_older_encodings_restore_as_in_redis() {
    let args = SERVER_ARGS;
    let (redis_server, ours_server) = (
        Server::start(Flavor::Redis, args),
        Server::start(Flavor::Rockslot, args),
    );
    let (mut redis, mut rockslot) = (redis_server.conn(), ours_server.conn());
    let mut restored = 0;
    for file in OLD_FILES {
        for (i, (stream, payload)) in payloads_of(file).into_iter().enumerate() {
            let key = format!("{file}:{i}");
            let command: [&[u8]; 4] = [b"RESTORE", key.as_bytes(), b"0", &payload];
            let theirs = call(&mut redis, &command);
            assert_eq!(call(&mut rockslot, &command), theirs, "RESTORE {key}");
            if theirs.is_error() {
                continue;
            }
            restored += 1;
            assert_eq!(
                digest(&mut rockslot, &key),
                digest(&mut redis, &key),
                "{key}"
            );
            if stream {
                assert_eq!(
                    without_times(stream_state(&mut rockslot, &key)),
                    without_times(stream_state(&mut redis, &key)),
                    "stream {key}"
                );
            }
        }
    }
    assert!(restored > 400, "only {restored} payloads restored");
}

//! Redis 7.4's hash field expiry, end to end. The reference server (Redis 7.0.15) has none of
//! it, so the expected replies are written down from 7.4's source (`t_hash.c`, the command
//! JSON) instead of compared with a live server:
//! - the replies and errors of HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL,
//!   HEXPIRETIME, HPEXPIRETIME and HPERSIST, and their COMMAND INFO;
//! - what the other hash commands do with a field's TTL (HSET removes it, HINCRBY keeps it);
//! - fields really expire: hidden from every command once due, deleted on access, deleted by the
//!   active cycle without any access (`hexpired` events), the key with its last field;
//! - RENAME, COPY, MOVE, DUMP / RESTORE keep field TTLs, in both storage forms;
//! - kill -9 and a restart keep them; SAVE at `rdb-version 12` writes a file that a fresh node
//!   loads with them; SAVE and BGSAVE at version 9 refuse, never dropping them.

use std::time::{Duration, Instant};

use crate::support::now_ms;
use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

/// A far-future field expire time (2100-01-01), exact in milliseconds.
const FAR_MS: i64 = 4_102_444_800_123;
/// Fields of a hash big enough to be stored as element records (above 512).
const BIG: usize = 600;

fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

fn ints(ns: &[i64]) -> Reply {
    Reply::Array(Some(ns.iter().map(|&n| int(n)).collect()))
}

fn err(text: &str) -> Reply {
    Reply::Error(text.as_bytes().to_vec())
}

fn call(conn: &mut Conn, args: &[&str]) -> Reply {
    conn.call(args).expect("reply")
}

fn start() -> Server {
    Server::start(Flavor::Rockslot, ["--enable-debug-command", "yes"])
}

/// Field names f0..fN-1 as owned strings.
fn field_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

fn hset_many(conn: &mut Conn, key: &str, n: usize) {
    let mut args = vec!["HSET".to_string(), key.to_string()];
    for f in field_names(n) {
        args.push(f.clone());
        args.push(format!("v-{f}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(call(conn, &args), int(n as i64));
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn expire_commands_reply_as_74() {
    let server = start();
    let mut c = server.conn();
    call(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let at = FAR_MS.to_string();
    let at_s = (FAR_MS / 1000).to_string();
    // Per-field codes: set (1), missing field (-2), condition not met (0).
    assert_eq!(
        call(&mut c, &["HPEXPIREAT", "h", &at, "FIELDS", "2", "a", "zz"]),
        ints(&[1, -2])
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", &at, "NX", "FIELDS", "2", "a", "b"]
        ),
        ints(&[0, 1])
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", &at, "XX", "FIELDS", "2", "a", "c"]
        ),
        ints(&[1, 0])
    );
    let later = (FAR_MS + 1000).to_string();
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", &later, "GT", "FIELDS", "2", "a", "c"]
        ),
        ints(&[1, 0])
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", &at, "LT", "FIELDS", "2", "a", "c"]
        ),
        ints(&[1, 1])
    );
    assert_eq!(
        call(&mut c, &["HPEXPIREAT", "h", &at, "gt", "FIELDS", "1", "a"]),
        ints(&[0])
    );
    // Reading them back in every unit.
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIRETIME", "h", "FIELDS", "3", "a", "nope", "c"]
        ),
        ints(&[FAR_MS, -2, FAR_MS])
    );
    assert_eq!(
        call(&mut c, &["HEXPIRETIME", "h", "FIELDS", "1", "a"]),
        ints(&[(FAR_MS + 999) / 1000])
    );
    let ttl = call(&mut c, &["HPTTL", "h", "FIELDS", "1", "b"]);
    let left = ttl.as_items().and_then(|i| i[0].as_int()).expect("HPTTL");
    assert!((FAR_MS - now_ms() - 5000..=FAR_MS - now_ms() + 5000).contains(&left));
    let secs = call(&mut c, &["HTTL", "h", "FIELDS", "1", "b"]);
    let secs = secs.as_items().and_then(|i| i[0].as_int()).expect("HTTL");
    assert!((left / 1000..=left / 1000 + 1).contains(&secs));
    // Relative forms.
    assert_eq!(call(&mut c, &["HSET", "r", "x", "1", "y", "2"]), int(2));
    assert_eq!(
        call(&mut c, &["HEXPIRE", "r", "100", "FIELDS", "1", "x"]),
        ints(&[1])
    );
    assert_eq!(
        call(&mut c, &["HPEXPIRE", "r", "100000", "FIELDS", "1", "y"]),
        ints(&[1])
    );
    let t = call(&mut c, &["HTTL", "r", "FIELDS", "2", "x", "y"]);
    assert_eq!(t, ints(&[100, 100]));
    assert_eq!(
        call(&mut c, &["HEXPIREAT", "r", &at_s, "FIELDS", "1", "x"]),
        ints(&[1])
    );
    assert_eq!(
        call(&mut c, &["HPEXPIRETIME", "r", "FIELDS", "1", "x"]),
        ints(&[FAR_MS / 1000 * 1000])
    );
    // HPERSIST: removed (1), no TTL (-1), missing (-2); then the TTL is gone.
    assert_eq!(
        call(&mut c, &["HPERSIST", "h", "FIELDS", "3", "a", "a", "zz"]),
        ints(&[1, -1, -2])
    );
    assert_eq!(
        call(&mut c, &["HTTL", "h", "FIELDS", "1", "a"]),
        ints(&[-1])
    );
    // A missing key answers -2 per field, after the syntax checks.
    assert_eq!(
        call(&mut c, &["HEXPIRE", "none", "10", "FIELDS", "2", "a", "b"]),
        ints(&[-2, -2])
    );
    assert_eq!(
        call(&mut c, &["HTTL", "none", "FIELDS", "1", "a"]),
        ints(&[-2])
    );
    assert_eq!(
        call(&mut c, &["HPERSIST", "none", "FIELDS", "1", "a"]),
        ints(&[-2])
    );
    // A time in the past deletes the field (2), and the key with its last field.
    assert_eq!(call(&mut c, &["HSET", "p", "a", "1", "b", "2"]), int(2));
    assert_eq!(
        call(&mut c, &["HPEXPIREAT", "p", "1", "FIELDS", "1", "a"]),
        ints(&[2])
    );
    assert_eq!(
        call(&mut c, &["HGETALL", "p"]),
        Reply::Array(Some(vec![
            Reply::Bulk(Some(b"b".to_vec())),
            Reply::Bulk(Some(b"2".to_vec())),
        ]))
    );
    assert_eq!(
        call(&mut c, &["HEXPIRE", "p", "0", "FIELDS", "1", "b"]),
        ints(&[2])
    );
    assert_eq!(call(&mut c, &["EXISTS", "p"]), int(0));
}

#[test]
fn expire_commands_refuse_bad_arguments_as_74() {
    let server = start();
    let mut c = server.conn();
    call(&mut c, &["HSET", "h", "a", "1"]);
    call(&mut c, &["SET", "s", "x"]);
    let arity = |cmd: &str| {
        err(&format!(
            "ERR wrong number of arguments for '{cmd}' command"
        ))
    };
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "10", "FIELDS", "1"]),
        arity("hexpire")
    );
    assert_eq!(call(&mut c, &["HTTL", "h", "FIELDS", "1"]), arity("httl"));
    assert_eq!(
        call(&mut c, &["HPERSIST", "h", "FIELDS"]),
        arity("hpersist")
    );
    // The key's type is checked first.
    assert_eq!(
        call(&mut c, &["HEXPIRE", "s", "x", "FIELDS", "1", "a"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        call(&mut c, &["HTTL", "s", "FIELDS", "1", "a"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "x", "FIELDS", "1", "a"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "-1", "FIELDS", "1", "a"]),
        err("ERR invalid expire time, must be >= 0")
    );
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "70368744178", "FIELDS", "1", "a"]),
        err("ERR invalid expire time in 'hexpire' command")
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", "70368744177664", "FIELDS", "1", "a"]
        ),
        err("ERR invalid expire time in 'hpexpireat' command")
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "h", "70368744177663", "FIELDS", "1", "a"]
        ),
        ints(&[1])
    );
    let missing = err("ERR Mandatory argument FIELDS is missing or not at the right position");
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "10", "NX", "1", "a"]),
        missing
    );
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "10", "XY", "FIELDS", "1", "a"]),
        missing
    );
    assert_eq!(call(&mut c, &["HTTL", "h", "FIELD", "1", "a"]), missing);
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "10", "FIELDS", "0", "a"]),
        err("ERR Parameter `numFields` should be greater than 0")
    );
    assert_eq!(
        call(&mut c, &["HPEXPIRE", "h", "10", "FIELDS", "x", "a"]),
        err("ERR Parameter `numFields` should be greater than 0")
    );
    assert_eq!(
        call(&mut c, &["HTTL", "h", "FIELDS", "0", "a"]),
        err("ERR Number of fields must be a positive integer")
    );
    assert_eq!(
        call(&mut c, &["HPERSIST", "h", "FIELDS", "-1", "a"]),
        err("ERR Number of fields must be a positive integer")
    );
    let mismatch = err("ERR The `numfields` parameter must match the number of arguments");
    assert_eq!(
        call(&mut c, &["HEXPIRE", "h", "10", "FIELDS", "2", "a"]),
        mismatch
    );
    assert_eq!(
        call(&mut c, &["HPTTL", "h", "FIELDS", "1", "a", "b"]),
        mismatch
    );
    assert_eq!(
        call(&mut c, &["HPERSIST", "h", "FIELDS", "3", "a", "b"]),
        mismatch
    );
}

#[test]
fn command_info_lists_the_74_commands() {
    let server = start();
    let mut c = server.conn();
    let info = call(&mut c, &["COMMAND", "INFO", "hexpire", "httl", "hpersist"]);
    let entries = info.as_items().expect("COMMAND INFO");
    let head = |i: usize| {
        let e = entries[i].as_items().expect("entry");
        (
            e[0].clone(),
            e[1].clone(),
            e[3].clone(),
            e[4].clone(),
            e[5].clone(),
        )
    };
    let bulk = |s: &str| Reply::Bulk(Some(s.as_bytes().to_vec()));
    assert_eq!(head(0), (bulk("hexpire"), int(-6), int(1), int(1), int(1)));
    assert_eq!(head(1), (bulk("httl"), int(-5), int(1), int(1), int(1)));
    assert_eq!(head(2), (bulk("hpersist"), int(-5), int(1), int(1), int(1)));
    let flags = entries[0].as_items().expect("entry")[2].clone();
    let simple = |s: &str| Reply::Simple(s.as_bytes().to_vec());
    assert_eq!(
        flags,
        Reply::Array(Some(vec![
            simple("write"),
            simple("denyoom"),
            simple("fast")
        ]))
    );
    let keys = call(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "HPEXPIRE", "k", "5", "FIELDS", "1", "f",
        ],
    );
    assert_eq!(keys, Reply::Array(Some(vec![bulk("k")])));
    let docs = call(&mut c, &["COMMAND", "DOCS", "hpexpiretime"]);
    assert!(format!("{docs:?}").contains("7.4.0"), "{docs:?}");
}

#[test]
fn other_hash_commands_treat_field_ttls_as_74() {
    let server = start();
    let mut c = server.conn();
    let at = FAR_MS.to_string();
    call(&mut c, &["HSET", "h", "a", "1", "b", "2", "n", "5"]);
    call(
        &mut c,
        &["HPEXPIREAT", "h", &at, "FIELDS", "3", "a", "b", "n"],
    );
    assert_eq!(
        call(&mut c, &["OBJECT", "ENCODING", "h"]),
        Reply::Bulk(Some(b"listpackex".to_vec()))
    );
    // HSET of an existing field removes its TTL; HSETNX changes nothing; HINCRBY keeps it.
    assert_eq!(call(&mut c, &["HSET", "h", "a", "9"]), int(0));
    assert_eq!(call(&mut c, &["HSETNX", "h", "b", "9"]), int(0));
    assert_eq!(call(&mut c, &["HINCRBY", "h", "n", "1"]), int(6));
    assert_eq!(
        call(&mut c, &["HINCRBYFLOAT", "h", "n", "0.5"]),
        Reply::Bulk(Some(b"6.5".to_vec()))
    );
    assert_eq!(
        call(&mut c, &["HPEXPIRETIME", "h", "FIELDS", "3", "a", "b", "n"]),
        ints(&[-1, FAR_MS, FAR_MS])
    );
    // HDEL of a field with a TTL, and the key's own TTL commands stay apart from the fields'.
    assert_eq!(call(&mut c, &["HDEL", "h", "b"]), int(1));
    assert_eq!(call(&mut c, &["TTL", "h"]), int(-1));
    assert_eq!(call(&mut c, &["HLEN", "h"]), int(2));
    // A big hash (element records) behaves alike.
    hset_many(&mut c, "big", BIG);
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIREAT", "big", &at, "FIELDS", "2", "f1", "f7"]
        ),
        ints(&[1, 1])
    );
    assert_eq!(
        call(&mut c, &["OBJECT", "ENCODING", "big"]),
        Reply::Bulk(Some(b"hashtable".to_vec()))
    );
    assert_eq!(call(&mut c, &["HSET", "big", "f1", "x"]), int(0));
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIRETIME", "big", "FIELDS", "3", "f1", "f7", "f8"]
        ),
        ints(&[-1, FAR_MS, -1])
    );
    assert_eq!(call(&mut c, &["HLEN", "big"]), int(BIG as i64));
    assert_eq!(
        call(&mut c, &["HGET", "big", "f7"]),
        Reply::Bulk(Some(b"v-f7".to_vec()))
    );
}

/// Fields with short TTLs in a small and a big hash: gone for reads once due, and then deleted.
#[test]
fn fields_expire_on_time() {
    let server = start();
    let mut c = server.conn();
    call(&mut c, &["HSET", "small", "keep", "1", "gone", "2"]);
    hset_many(&mut c, "big", BIG);
    call(&mut c, &["HSET", "alone", "x", "1"]);
    assert_eq!(
        call(&mut c, &["HPEXPIRE", "small", "150", "FIELDS", "1", "gone"]),
        ints(&[1])
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIRE", "big", "150", "FIELDS", "3", "f0", "f5", "f150"]
        ),
        ints(&[1, 1, 1])
    );
    assert_eq!(
        call(&mut c, &["HPEXPIRE", "alone", "150", "FIELDS", "1", "x"]),
        ints(&[1])
    );
    assert_eq!(call(&mut c, &["HLEN", "small"]), int(2));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        call(&mut c, &["HGETALL", "small"]),
        Reply::Array(Some(vec![
            Reply::Bulk(Some(b"keep".to_vec())),
            Reply::Bulk(Some(b"1".to_vec())),
        ]))
    );
    assert_eq!(call(&mut c, &["HLEN", "small"]), int(1));
    assert_eq!(call(&mut c, &["HLEN", "big"]), int(BIG as i64 - 3));
    assert_eq!(call(&mut c, &["HEXISTS", "big", "f5"]), int(0));
    assert_eq!(call(&mut c, &["HGET", "big", "f150"]), Reply::Bulk(None));
    assert_eq!(
        call(&mut c, &["HTTL", "big", "FIELDS", "2", "f0", "f1"]),
        ints(&[-2, -1])
    );
    let all = call(&mut c, &["HGETALL", "big"]);
    assert_eq!(all.as_items().map(<[Reply]>::len), Some((BIG - 3) * 2));
    // The key went with its last field.
    assert_eq!(call(&mut c, &["EXISTS", "alone"]), int(0));
    assert_eq!(
        call(&mut c, &["TYPE", "alone"]),
        Reply::Simple(b"none".to_vec())
    );
}

/// The active cycle deletes due fields without any command touching the key, publishing
/// `hexpired`, and deletes a key whose fields all expired (`del`).
#[test]
fn active_expiry_reclaims_fields_without_access() {
    let server = start();
    let mut c = server.conn();
    call(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Egh"]);
    let mut sub = server.conn();
    let subscribed = sub.call(&["SUBSCRIBE", "__keyevent@0__:hexpired", "__keyevent@0__:del"]);
    assert!(subscribed.is_ok());
    let _second = sub.read_reply().expect("second subscribe reply");
    hset_many(&mut c, "big", BIG);
    call(&mut c, &["HSET", "alone", "x", "1"]);
    call(
        &mut c,
        &["HPEXPIRE", "big", "100", "FIELDS", "2", "f3", "f4"],
    );
    call(&mut c, &["HPEXPIRE", "alone", "100", "FIELDS", "1", "x"]);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (reply, _) = sub.read_reply().expect("event");
        let items = reply.as_items().expect("message").to_vec();
        let channel = items[1].as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        let key = items[2].as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        seen.push((
            String::from_utf8_lossy(&channel).into_owned(),
            String::from_utf8_lossy(&key).into_owned(),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("__keyevent@0__:del".to_string(), "alone".to_string()),
            ("__keyevent@0__:hexpired".to_string(), "alone".to_string()),
            ("__keyevent@0__:hexpired".to_string(), "big".to_string()),
        ]
    );
    // DBSIZE reads the counters, not the keys: the key is really gone.
    assert_eq!(call(&mut c, &["DBSIZE"]), int(1));
    assert_eq!(call(&mut c, &["HLEN", "big"]), int(BIG as i64 - 2));
}

#[test]
fn rename_copy_move_dump_restore_keep_field_ttls() {
    let server = start();
    let mut c = server.conn();
    let at = FAR_MS.to_string();
    for (key, n) in [("small", 3), ("big", BIG)] {
        hset_many(&mut c, key, n);
        call(&mut c, &["HPEXPIREAT", key, &at, "FIELDS", "2", "f0", "f2"]);
    }
    let times =
        |c: &mut Conn, key: &str| call(c, &["HPEXPIRETIME", key, "FIELDS", "3", "f0", "f1", "f2"]);
    let want = ints(&[FAR_MS, -1, FAR_MS]);
    for key in ["small", "big"] {
        let renamed = format!("{key}-renamed");
        assert_eq!(
            call(&mut c, &["RENAME", key, &renamed]),
            Reply::Simple(b"OK".to_vec())
        );
        assert_eq!(times(&mut c, &renamed), want);
        let copied = format!("{key}-copied");
        assert_eq!(call(&mut c, &["COPY", &renamed, &copied]), int(1));
        assert_eq!(times(&mut c, &copied), want);
        let payload = call(&mut c, &["DUMP", &renamed]);
        let payload = payload.as_bytes().expect("DUMP payload").to_vec();
        // A version-12 payload, as Redis 7.4 writes for a hash with field TTLs.
        assert_eq!(
            u16::from_le_bytes([payload[payload.len() - 10], payload[payload.len() - 9]]),
            12
        );
        let restored = format!("{key}-restored");
        let reply = c
            .call(&[b"RESTORE".as_slice(), restored.as_bytes(), b"0", &payload])
            .expect("RESTORE");
        assert_eq!(reply, Reply::Simple(b"OK".to_vec()));
        assert_eq!(times(&mut c, &restored), want);
        assert_eq!(
            call(&mut c, &["HLEN", &restored]),
            call(&mut c, &["HLEN", &renamed])
        );
        assert_eq!(call(&mut c, &["MOVE", &renamed, "3"]), int(1));
        call(&mut c, &["SELECT", "3"]);
        assert_eq!(times(&mut c, &renamed), want);
        call(&mut c, &["SELECT", "0"]);
    }
    // Version 12 is accepted for hashes only: a string payload restamped 12 is refused as
    // Redis 7.0 refuses it.
    call(&mut c, &["SET", "s", "v"]);
    let payload = call(&mut c, &["DUMP", "s"]);
    let mut payload = payload.as_bytes().expect("DUMP payload").to_vec();
    let n = payload.len();
    payload[n - 10..n - 8].copy_from_slice(&12u16.to_le_bytes());
    let crc = formats::rdb::crc64::checksum(&payload[..n - 8]);
    payload[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        c.call(&[b"RESTORE".as_slice(), b"s2", b"0", &payload])
            .expect("RESTORE"),
        err("ERR DUMP payload version or checksum are wrong")
    );
    // DEBUG DIGEST-VALUE sees the TTL markers: the copy equals the source, a plain hash differs.
    let digest = |c: &mut Conn, key: &str| call(c, &["DEBUG", "DIGEST-VALUE", key]);
    assert_eq!(
        digest(&mut c, "small-copied"),
        digest(&mut c, "small-restored")
    );
    call(
        &mut c,
        &["HPERSIST", "small-copied", "FIELDS", "2", "f0", "f2"],
    );
    assert_ne!(
        digest(&mut c, "small-copied"),
        digest(&mut c, "small-restored")
    );
}

#[test]
fn kill9_and_restart_keep_field_ttls() {
    let mut server = Server::start(Flavor::Rockslot, ["--appendonly", "yes"]);
    let mut c = server.conn();
    let at = FAR_MS.to_string();
    hset_many(&mut c, "small", 4);
    hset_many(&mut c, "big", BIG);
    call(&mut c, &["HPEXPIREAT", "small", &at, "FIELDS", "1", "f1"]);
    call(
        &mut c,
        &["HPEXPIREAT", "big", &at, "FIELDS", "2", "f1", "f599"],
    );
    call(&mut c, &["HPEXPIRE", "big", "300", "FIELDS", "1", "f2"]);
    server.kill9();
    server.start_again();
    let mut c = server.conn();
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIRETIME", "small", "FIELDS", "2", "f0", "f1"]
        ),
        ints(&[-1, FAR_MS])
    );
    assert_eq!(
        call(
            &mut c,
            &["HPEXPIRETIME", "big", "FIELDS", "2", "f1", "f599"]
        ),
        ints(&[FAR_MS, FAR_MS])
    );
    // The short TTL still runs out after the restart.
    wait_until("f2 to expire", || {
        call(&mut c, &["HLEN", "big"]) == int(BIG as i64 - 1)
    });
    assert_eq!(call(&mut c, &["HEXISTS", "big", "f2"]), int(0));
}

#[test]
fn save_at_version_12_keeps_field_ttls_and_version_9_refuses() {
    let server = start();
    let mut c = server.conn();
    let at = FAR_MS.to_string();
    hset_many(&mut c, "small", 4);
    hset_many(&mut c, "big", BIG);
    call(&mut c, &["HPEXPIREAT", "small", &at, "FIELDS", "1", "f1"]);
    call(
        &mut c,
        &["HPEXPIREAT", "big", &at, "FIELDS", "2", "f1", "f599"],
    );
    call(&mut c, &["SET", "plain", "v"]);
    // Version 9 cannot hold them: SAVE fails, BGSAVE reports the failure, nothing is dropped.
    assert_eq!(call(&mut c, &["SAVE"]), err("ERR"));
    assert_eq!(
        call(&mut c, &["BGSAVE"]),
        Reply::Simple(b"Background saving started".to_vec())
    );
    wait_until("the background save to fail", || {
        let info = call(&mut c, &["INFO", "persistence"]);
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        text.contains("rdb_bgsave_in_progress:0") && text.contains("rdb_last_bgsave_status:err")
    });
    assert!(server
        .log()
        .contains("hash field expire times cannot be kept by RDB version 9"));
    assert!(!server.data_dir().join("dump.rdb").exists());
    // Version 12 keeps them; a fresh node loads the file with them.
    assert_eq!(
        call(&mut c, &["CONFIG", "SET", "rdb-version", "12"]),
        Reply::Simple(b"OK".to_vec())
    );
    assert_eq!(call(&mut c, &["SAVE"]), Reply::Simple(b"OK".to_vec()));
    let file = std::fs::read(server.data_dir().join("dump.rdb")).expect("dump.rdb");
    assert_eq!(&file[..9], b"REDIS0012");
    let builder = Server::builder(Flavor::Rockslot);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("dump.rdb"), &file).expect("copy dump");
    let loaded = builder.start();
    let mut l = loaded.conn();
    assert_eq!(call(&mut l, &["DBSIZE"]), int(3));
    assert_eq!(
        call(
            &mut l,
            &["HPEXPIRETIME", "small", "FIELDS", "2", "f0", "f1"]
        ),
        ints(&[-1, FAR_MS])
    );
    assert_eq!(
        call(
            &mut l,
            &["HPEXPIRETIME", "big", "FIELDS", "3", "f0", "f1", "f599"]
        ),
        ints(&[-1, FAR_MS, FAR_MS])
    );
    assert_eq!(call(&mut l, &["HLEN", "big"]), int(BIG as i64));
    assert_eq!(
        call(&mut l, &["OBJECT", "ENCODING", "small"]),
        Reply::Bulk(Some(b"listpackex".to_vec()))
    );
}

/// A file (written here by the RDB writer at version 12) whose hashes hold fields already past
/// their time: those fields are skipped as a primary skips them, and a hash left without fields
/// counts as an expired key.
#[test]
fn loading_skips_fields_already_expired() {
    use formats::rdb::{HashField, KeyMeta, Value, Writer, WriterOptions};
    let field = |name: &str, at: Option<i64>| HashField {
        field: name.as_bytes().to_vec(),
        value: b"v".to_vec(),
        expire_at_ms: at,
    };
    let mut w = Writer::new(WriterOptions {
        version: 12,
        ..WriterOptions::default()
    })
    .expect("writer");
    w.select_db(0, 2, 0).expect("select");
    let mixed = Value::Hash(vec![
        field("old", Some(1000)),
        field("new", Some(FAR_MS)),
        field("plain", None),
    ]);
    let gone = Value::Hash(vec![field("old", Some(1000))]);
    w.write_key_value(b"mixed", KeyMeta::default(), &mixed)
        .expect("mixed");
    w.write_key_value(b"gone", KeyMeta::default(), &gone)
        .expect("gone");
    let mut file = w.take_output();
    file.extend(w.finish().expect("finish"));
    let builder = Server::builder(Flavor::Rockslot);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("dump.rdb"), &file).expect("dump.rdb");
    let server = builder.start();
    let mut c = server.conn();
    assert_eq!(call(&mut c, &["DBSIZE"]), int(1));
    assert_eq!(
        call(
            &mut c,
            &[
                "HPEXPIRETIME",
                "mixed",
                "FIELDS",
                "3",
                "old",
                "new",
                "plain"
            ]
        ),
        ints(&[-2, FAR_MS, -1])
    );
    assert!(
        server.log().contains("keys loaded: 1, keys expired: 1"),
        "{}",
        server.log_tail(10)
    );
}

//! Big collections: a hash, a set, a list and a sorted set of a million elements each.
//!
//! They are stored as element records, so the node's memory must not grow with them, reading a
//! few elements must not read them all, DEL must be O(1) (the elements are reclaimed later by
//! compaction), and everything must survive kill -9. The figures (load rate, latencies, RSS) are
//! printed to stderr (`-- --nocapture` shows them); the assertions use generous bounds, so a slow
//! machine does not fail the test but an O(n) DEL or an in-memory copy of the data does.

use std::time::{Duration, Instant};

use crate::support::resp::Reply;
use crate::support::server::{Flavor, Server};

/// Elements of each collection.
const ELEMENTS: usize = 1_000_000;
/// Elements carried by one command.
const PER_COMMAND: usize = 1_000;
/// Commands sent per pipelined round trip.
const COMMANDS_PER_ROUND: usize = 25;
/// Bytes of each hash value and list element.
const VALUE_BYTES: usize = 200;
/// Bytes of each set and sorted set member.
const MEMBER_BYTES: usize = 32;
/// Bound for reading ten elements of a big collection (they answer in well under a millisecond).
const READ_BOUND: Duration = Duration::from_secs(2);
/// What the issue demands of DEL on a big collection.
const DEL_BOUND: Duration = Duration::from_secs(1);

const HASH: &str = "scale:{hash}";
const SET: &str = "scale:{set}";
const LIST: &str = "scale:{list}";
const ZSET: &str = "scale:{zset}";

fn field(i: usize) -> Vec<u8> {
    format!("f:{i:07}").into_bytes()
}

/// A value of `VALUE_BYTES` that names its index.
fn value(i: usize) -> Vec<u8> {
    let mut v = format!("value {i:07} ").into_bytes();
    v.resize(VALUE_BYTES, b'v');
    v
}

fn member(i: usize) -> Vec<u8> {
    let mut m = format!("member {i:07} ").into_bytes();
    m.resize(MEMBER_BYTES, b'm');
    m
}

/// Bytes of the data itself (fields, values, members, 8-byte scores): a lower bound for what
/// holding it in memory takes.
fn payload_bytes() -> usize {
    let hash = (field(0).len() + VALUE_BYTES) * ELEMENTS;
    let list = VALUE_BYTES * ELEMENTS;
    let set = MEMBER_BYTES * ELEMENTS;
    let zset = (MEMBER_BYTES + 8) * ELEMENTS;
    hash + list + set + zset
}

/// One loading command: `name key` followed by the arguments of elements `range`.
fn load_command(
    name: &str,
    key: &str,
    range: std::ops::Range<usize>,
    args: impl Fn(usize) -> Vec<Vec<u8>>,
) -> Vec<Vec<u8>> {
    let mut command = vec![name.as_bytes().to_vec(), key.as_bytes().to_vec()];
    for i in range {
        command.extend(args(i));
    }
    command
}

fn load(server: &Server) {
    let mut conn = server.conn();
    type Args = fn(usize) -> Vec<Vec<u8>>;
    let collections: [(&str, &str, Args); 4] = [
        ("HSET", HASH, |i| vec![field(i), value(i)]),
        ("RPUSH", LIST, |i| vec![value(i)]),
        ("SADD", SET, |i| vec![member(i)]),
        ("ZADD", ZSET, |i| {
            vec![i.to_string().into_bytes(), member(i)]
        }),
    ];
    for (name, key, args) in collections {
        let started = Instant::now();
        let starts: Vec<usize> = (0..ELEMENTS).step_by(PER_COMMAND).collect();
        for round in starts.chunks(COMMANDS_PER_ROUND) {
            let commands: Vec<Vec<Vec<u8>>> = round
                .iter()
                .map(|&s| load_command(name, key, s..(s + PER_COMMAND).min(ELEMENTS), args))
                .collect();
            let replies = conn.pipeline(&commands).expect("load round");
            for reply in replies {
                assert!(
                    reply.as_int().is_some(),
                    "{name} {key} replied {reply:?} while loading"
                );
            }
        }
        let took = started.elapsed();
        eprintln!(
            "collections_scale: loaded {key} ({name}) in {took:.2?}: {:.0} elements/s",
            ELEMENTS as f64 / took.as_secs_f64()
        );
    }
}

/// Runs one command, checks its reply and how long it took; returns the reply.
fn timed(
    conn: &mut crate::support::resp::Conn,
    args: &[&str],
    bound: Duration,
    check: impl Fn(&Reply) -> bool,
) -> Reply {
    let started = Instant::now();
    let reply = conn.call(args).expect("call");
    let took = started.elapsed();
    eprintln!("collections_scale: {} took {took:.2?}", args.join(" "));
    assert!(check(&reply), "{} replied {reply:?}", args.join(" "));
    assert!(took < bound, "{} took {took:?}", args.join(" "));
    reply
}

fn items(reply: &Reply) -> &[Reply] {
    reply.as_items().unwrap_or_default()
}

/// HSCAN / SSCAN reply: [cursor, items].
fn scan_items(reply: &Reply) -> usize {
    items(reply).get(1).map_or(0, |r| items(r).len())
}

fn read_ten_of_each(conn: &mut crate::support::resp::Conn, when: &str) {
    eprintln!("collections_scale: reads {when}");
    let middle = (ELEMENTS / 2).to_string();
    let middle_end = (ELEMENTS / 2 + 9).to_string();
    let list = timed(
        conn,
        &["LRANGE", LIST, &middle, &middle_end],
        READ_BOUND,
        |r| items(r).len() == 10,
    );
    assert_eq!(items(&list)[0].as_bytes(), Some(&value(ELEMENTS / 2)[..]));
    timed(conn, &["LRANGE", LIST, "-10", "-1"], READ_BOUND, |r| {
        items(r).last().and_then(Reply::as_bytes) == Some(&value(ELEMENTS - 1)[..])
    });
    timed(
        conn,
        &["HSCAN", HASH, "0", "COUNT", "10"],
        READ_BOUND,
        |r| scan_items(r) >= 20,
    );
    timed(conn, &["SSCAN", SET, "0", "COUNT", "10"], READ_BOUND, |r| {
        scan_items(r) >= 10
    });
    let range = timed(
        conn,
        &["ZRANGEBYSCORE", ZSET, &middle, "+inf", "LIMIT", "0", "10"],
        READ_BOUND,
        |r| items(r).len() == 10,
    );
    assert_eq!(items(&range)[0].as_bytes(), Some(&member(ELEMENTS / 2)[..]));
    timed(
        conn,
        &["ZRANGEBYSCORE", ZSET, &middle, &middle_end],
        READ_BOUND,
        |r| items(r).len() == 10,
    );
}

fn check_contents(conn: &mut crate::support::resp::Conn) {
    let n = ELEMENTS as i64;
    for (command, key) in [
        ("HLEN", HASH),
        ("LLEN", LIST),
        ("SCARD", SET),
        ("ZCARD", ZSET),
    ] {
        let reply = conn.call(&[command, key]).expect(command);
        assert_eq!(reply.as_int(), Some(n), "{command} {key}");
    }
    for i in [0, 1, 123_456, ELEMENTS / 2, ELEMENTS - 1] {
        let got = conn
            .call(&[b"HGET".to_vec(), HASH.into(), field(i)])
            .unwrap();
        assert_eq!(got.as_bytes(), Some(&value(i)[..]), "HGET {i}");
        let got = conn
            .call(&["LINDEX", LIST, &i.to_string()])
            .expect("LINDEX");
        assert_eq!(got.as_bytes(), Some(&value(i)[..]), "LINDEX {i}");
        let got = conn
            .call(&[b"SISMEMBER".to_vec(), SET.into(), member(i)])
            .unwrap();
        assert_eq!(got.as_int(), Some(1), "SISMEMBER {i}");
        let got = conn
            .call(&[b"ZSCORE".to_vec(), ZSET.into(), member(i)])
            .unwrap();
        assert_eq!(got.as_bytes(), Some(i.to_string().as_bytes()), "ZSCORE {i}");
    }
    let absent = conn
        .call(&[b"SISMEMBER".to_vec(), SET.into(), member(ELEMENTS)])
        .unwrap();
    assert_eq!(absent.as_int(), Some(0));
}

#[test]
fn million_element_collections_stay_on_disk_and_delete_in_constant_time() {
    let started = Instant::now();
    // No automatic AOF rewrite: one would read the whole dataset in the middle of the RSS
    // measurement, which is about where the collections live, not about rewrites.
    let mut server = Server::start(
        Flavor::Rockslot,
        [
            "--appendonly",
            "yes",
            "--save",
            "",
            "--auto-aof-rewrite-percentage",
            "0",
        ],
    );
    load(&server);
    let mut conn = server.conn();
    check_contents(&mut conn);
    read_ten_of_each(&mut conn, "after loading");

    let payload = payload_bytes();
    let rss = crate::support::rss_bytes(server.pid());
    eprintln!(
        "collections_scale: RSS {} MiB for {} MiB of payload ({:.0}%)",
        rss >> 20,
        payload >> 20,
        100.0 * rss as f64 / payload as f64
    );
    assert!(
        rss < payload / 2,
        "RSS {rss} bytes is not far below the {payload} bytes of data: the collections are in memory"
    );

    server.kill9();
    let restart = Instant::now();
    server.start_again();
    eprintln!(
        "collections_scale: restart after kill -9 took {:.2?}",
        restart.elapsed()
    );
    let mut conn = server.conn();
    check_contents(&mut conn);
    read_ten_of_each(&mut conn, "after kill -9 and restart");

    for key in [HASH, LIST, SET, ZSET] {
        timed(&mut conn, &["DEL", key], DEL_BOUND, |r| {
            r.as_int() == Some(1)
        });
        let exists = conn.call(&["EXISTS", key]).expect("EXISTS");
        assert_eq!(exists.as_int(), Some(0), "{key} after DEL");
    }
    // A new instance under the same name sees none of the old elements.
    let reply = conn.call(&["RPUSH", LIST, "fresh"]).expect("RPUSH");
    assert_eq!(reply.as_int(), Some(1));
    let reply = conn.call(&["LRANGE", LIST, "0", "-1"]).expect("LRANGE");
    assert_eq!(items(&reply).len(), 1);
    let reply = conn.call(&["DBSIZE"]).expect("DBSIZE");
    assert_eq!(reply.as_int(), Some(1));
    eprintln!(
        "collections_scale: whole test took {:.2?}",
        started.elapsed()
    );
}

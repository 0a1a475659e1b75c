//! A big stream: a million entries and three consumer groups on one key.
//!
//! A stream is the one Redis type whose every reading command names a position (an entry ID), so
//! reading ten entries anywhere in it, delivering ten entries to a group, acknowledging them or
//! asking for a summary must not depend on the stream's length, and neither may DEL (the entries
//! are reclaimed later by compaction). The node's memory must not grow with the entries either,
//! and the stream and its groups must survive kill -9.
//!
//! The stream is loaded fast, with pipelined `XADD`s carrying explicit increasing IDs. Then every
//! operation is timed once and its latency printed to stderr (`-- --nocapture` shows it), with
//! the server's RSS. Like `collections_scale`, the assertions on time and memory are generous
//! bounds that a slow machine passes but an O(n) operation or an in-memory copy of the entries
//! does not; the assertions on the replies (IDs, lengths, pending counts) are exact.
//!
//! `STREAMS_AGAINST_REDIS=1` runs the same test against redis-server, to print Redis's figures
//! next to rockslot's and to check the test itself; the memory bound is then only printed, since
//! Redis keeps everything in memory by design.

use std::time::{Duration, Instant};

use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

/// Entries loaded into the stream.
const ENTRIES: usize = 1_000_000;
/// `XADD`s sent per pipelined round trip while loading.
const PER_ROUND: usize = 5_000;
/// Bytes of each entry's value: a payload of about 500 MB, the size `collections_scale` loads.
const VALUE_BYTES: usize = 480;
/// The one field of every entry.
const FIELD: &str = "payload";
/// Consumer groups, all created at ID 0.
const GROUPS: [&str; 3] = ["group:a", "group:b", "group:c"];
/// Entries read, ranged or acknowledged by one timed command.
const COUNT: usize = 10;
/// Bound for one command touching a few entries (they answer in well under a millisecond).
const OP_BOUND: Duration = Duration::from_secs(1);
/// Bound for DEL of the whole stream.
const DEL_BOUND: Duration = Duration::from_secs(1);
/// Index of the entry deleted with XDEL (three quarters in, away from the ranges read).
const DELETED: usize = ENTRIES / 4 * 3;

const KEY: &str = "scale:{stream}";

/// The flavor under test: rockslot, or redis-server when `STREAMS_AGAINST_REDIS` is set.
fn flavor() -> Flavor {
    if std::env::var_os("STREAMS_AGAINST_REDIS").is_some() {
        Flavor::Redis
    } else {
        Flavor::Rockslot
    }
}

/// The ID of entry `i`: four entries per millisecond, so sequence numbers are exercised too.
fn id(i: usize) -> String {
    format!("{}-{}", 1_700_000_000_000u64 + (i / 4) as u64, i % 4)
}

/// A value of `VALUE_BYTES` that names its entry.
fn value(i: usize) -> String {
    let mut v = format!("entry {i:07} ");
    v.extend(std::iter::repeat_n('v', VALUE_BYTES - v.len()));
    v
}

/// Bytes of the entries themselves (IDs as text, fields, values): a lower bound for what holding
/// them in memory takes.
fn payload_bytes() -> usize {
    (id(0).len() + FIELD.len() + VALUE_BYTES) * ENTRIES
}

fn xadd(i: usize) -> Vec<String> {
    vec!["XADD".into(), KEY.into(), id(i), FIELD.into(), value(i)]
}

fn load(conn: &mut Conn) {
    let started = Instant::now();
    let indexes: Vec<usize> = (0..ENTRIES).collect();
    for round in indexes.chunks(PER_ROUND) {
        let commands: Vec<Vec<String>> = round.iter().map(|&i| xadd(i)).collect();
        let replies = conn.pipeline(&commands).expect("load round");
        for (&i, reply) in round.iter().zip(&replies) {
            assert_eq!(
                reply.as_bytes(),
                Some(id(i).as_bytes()),
                "XADD {KEY} {} while loading",
                id(i)
            );
        }
    }
    let took = started.elapsed();
    eprintln!(
        "streams_scale: loaded {ENTRIES} entries in {took:.2?}: {:.0} entries/s",
        ENTRIES as f64 / took.as_secs_f64()
    );
}

/// Runs one command, prints how long it took and checks that against `bound`; returns the reply,
/// which must not be an error.
fn timed<A: AsRef<str>>(conn: &mut Conn, args: &[A], bound: Duration) -> Reply {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let shown = shown(&args);
    let started = Instant::now();
    let reply = conn.call(&args).expect("call");
    let took = started.elapsed();
    eprintln!("streams_scale: {shown} took {took:.2?}");
    assert!(!reply.is_error(), "{shown} replied {reply:?}");
    assert!(took < bound, "{shown} took {took:?}");
    reply
}

/// A command as printed: long arguments (the values) cut short.
fn shown(args: &[&str]) -> String {
    const SHOWN_BYTES: usize = 24;
    let short = |a: &&str| match a.get(..SHOWN_BYTES) {
        Some(start) if a.len() > SHOWN_BYTES => format!("{start}..."),
        _ => a.to_string(),
    };
    args.iter().map(short).collect::<Vec<_>>().join(" ")
}

fn items(reply: &Reply) -> &[Reply] {
    reply.as_items().unwrap_or_default()
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(reply.as_bytes().unwrap_or(b"(not a string)")).into_owned()
}

/// The value of `name` in a flat `[name, value, name, value...]` reply (XINFO in RESP2).
fn info_field<'a>(reply: &'a Reply, name: &str) -> &'a Reply {
    items(reply)
        .chunks(2)
        .find(|pair| pair[0].as_bytes() == Some(name.as_bytes()))
        .map(|pair| &pair[1])
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
}

/// Checks a list of `[id, [field, value]]` entries against the entries of `indexes`.
fn assert_entries(what: &str, entries: &[Reply], indexes: impl IntoIterator<Item = usize>) {
    let want: Vec<usize> = indexes.into_iter().collect();
    let got: Vec<String> = entries.iter().map(|e| text(&items(e)[0])).collect();
    let want_ids: Vec<String> = want.iter().map(|&i| id(i)).collect();
    assert_eq!(got, want_ids, "{what}: IDs");
    for (entry, &i) in entries.iter().zip(&want) {
        let fields: Vec<String> = items(&items(entry)[1]).iter().map(text).collect();
        assert_eq!(
            fields,
            [FIELD.to_string(), value(i)],
            "{what}: entry {}",
            id(i)
        );
    }
}

/// The entries of the one stream in an XREADGROUP reply.
fn delivered(reply: &Reply) -> &[Reply] {
    let streams = items(reply);
    assert_eq!(streams.len(), 1, "XREADGROUP replied {reply:?}");
    assert_eq!(text(&items(&streams[0])[0]), KEY);
    items(&items(&streams[0])[1])
}

fn consumer(group: &str) -> String {
    format!("consumer-of-{group}")
}

/// XREADGROUP `>` COUNT 10 for each group, checking it delivers entries `from..from + 10`; then
/// the PEL summary, XACK of what was delivered and the summary again.
fn consume_and_ack(conn: &mut Conn, from: usize) {
    for group in GROUPS {
        let reply = timed(
            conn,
            &[
                "XREADGROUP",
                "GROUP",
                group,
                &consumer(group),
                "COUNT",
                &COUNT.to_string(),
                "STREAMS",
                KEY,
                ">",
            ],
            OP_BOUND,
        );
        assert_entries(
            &format!("XREADGROUP {group}"),
            delivered(&reply),
            from..from + COUNT,
        );
    }
    for group in GROUPS {
        let summary = timed(conn, &["XPENDING", KEY, group], OP_BOUND);
        let want = Reply::Array(Some(vec![
            Reply::Integer(COUNT as i64),
            Reply::Bulk(Some(id(from).into_bytes())),
            Reply::Bulk(Some(id(from + COUNT - 1).into_bytes())),
            Reply::Array(Some(vec![Reply::Array(Some(vec![
                Reply::Bulk(Some(consumer(group).into_bytes())),
                Reply::Bulk(Some(COUNT.to_string().into_bytes())),
            ]))])),
        ]));
        assert_eq!(summary, want, "XPENDING {group} after delivering {COUNT}");
    }
    for group in GROUPS {
        let mut args = vec!["XACK".to_string(), KEY.into(), group.into()];
        args.extend((from..from + COUNT).map(id));
        let acked = timed(conn, &args, OP_BOUND);
        assert_eq!(acked.as_int(), Some(COUNT as i64), "XACK {group}");
        let summary = conn.call(&["XPENDING", KEY, group]).expect("XPENDING");
        assert_eq!(
            items(&summary).first().and_then(Reply::as_int),
            Some(0),
            "XPENDING {group} after XACK: {summary:?}"
        );
    }
}

/// XRANGE of ten entries at the start, in the middle and at the end, XREVRANGE of the last ten,
/// XLEN and XINFO STREAM. `len` entries exist: the loaded ones, minus `DELETED` once it was
/// deleted, plus the extra one (index `ENTRIES`) once it was added.
fn read_positions(conn: &mut Conn, extra_added: bool, deleted: bool, when: &str) {
    eprintln!("streams_scale: reads {when}");
    let count = COUNT.to_string();
    let last = if extra_added { ENTRIES } else { ENTRIES - 1 };
    let reply = timed(conn, &["XRANGE", KEY, "-", "+", "COUNT", &count], OP_BOUND);
    assert_entries("XRANGE at the start", items(&reply), 0..COUNT);
    let middle = ENTRIES / 2;
    let reply = timed(
        conn,
        &["XRANGE", KEY, &id(middle), "+", "COUNT", &count],
        OP_BOUND,
    );
    assert_entries(
        "XRANGE in the middle",
        items(&reply),
        middle..middle + COUNT,
    );
    let end = ENTRIES - COUNT;
    let reply = timed(
        conn,
        &["XRANGE", KEY, &id(end), &id(ENTRIES - 1), "COUNT", &count],
        OP_BOUND,
    );
    assert_entries("XRANGE at the end", items(&reply), end..ENTRIES);
    let reply = timed(
        conn,
        &["XREVRANGE", KEY, "+", "-", "COUNT", &count],
        OP_BOUND,
    );
    assert_entries("XREVRANGE", items(&reply), (last + 1 - COUNT..=last).rev());

    let len = ENTRIES + usize::from(extra_added) - usize::from(deleted);
    let reply = timed(conn, &["XLEN", KEY], OP_BOUND);
    assert_eq!(reply.as_int(), Some(len as i64), "XLEN {when}");
    let info = timed(conn, &["XINFO", "STREAM", KEY], OP_BOUND);
    assert_eq!(info_field(&info, "length").as_int(), Some(len as i64));
    assert_eq!(
        info_field(&info, "groups").as_int(),
        Some(GROUPS.len() as i64)
    );
    assert_eq!(text(info_field(&info, "last-generated-id")), id(last));
    assert_eq!(
        info_field(&info, "entries-added").as_int(),
        Some(last as i64 + 1)
    );
    assert_eq!(text(&items(info_field(&info, "first-entry"))[0]), id(0));
    assert_eq!(text(&items(info_field(&info, "last-entry"))[0]), id(last));
    let full = timed(
        conn,
        &["XINFO", "STREAM", KEY, "FULL", "COUNT", &count],
        OP_BOUND,
    );
    assert_entries(
        "XINFO STREAM FULL COUNT 10",
        items(info_field(&full, "entries")),
        0..COUNT,
    );
}

/// Every group's position: `read` entries delivered and acknowledged.
fn check_groups(conn: &mut Conn, read: usize, when: &str) {
    let reply = timed(conn, &["XINFO", "GROUPS", KEY], OP_BOUND);
    let groups = items(&reply);
    assert_eq!(groups.len(), GROUPS.len(), "XINFO GROUPS {when}: {reply:?}");
    for (group, info) in GROUPS.iter().zip(groups) {
        assert_eq!(text(info_field(info, "name")), *group, "{when}");
        assert_eq!(
            text(info_field(info, "last-delivered-id")),
            id(read - 1),
            "{group} {when}"
        );
        assert_eq!(
            info_field(info, "pending").as_int(),
            Some(0),
            "{group} {when}"
        );
        assert_eq!(
            info_field(info, "consumers").as_int(),
            Some(1),
            "{group} {when}"
        );
    }
}

#[test]
fn million_entry_stream_reads_by_position_and_deletes_in_constant_time() {
    let started = Instant::now();
    // No automatic AOF rewrite during the RSS measurement (both servers; see collections_scale).
    let mut server = Server::start(
        flavor(),
        ["--appendonly", "yes", "--auto-aof-rewrite-percentage", "0"],
    );
    let mut conn = server.conn();
    load(&mut conn);
    for group in GROUPS {
        let reply = timed(&mut conn, &["XGROUP", "CREATE", KEY, group, "0"], OP_BOUND);
        assert_eq!(reply.as_bytes(), Some(&b"OK"[..]));
    }
    read_positions(&mut conn, false, false, "after loading");
    let reply = timed(&mut conn, &xadd(ENTRIES), OP_BOUND);
    assert_eq!(text(&reply), id(ENTRIES), "XADD after loading");
    consume_and_ack(&mut conn, 0);
    let reply = timed(&mut conn, &["XDEL", KEY, &id(DELETED)], OP_BOUND);
    assert_eq!(reply.as_int(), Some(1), "XDEL {}", id(DELETED));
    let reply = conn
        .call(&["XRANGE", KEY, &id(DELETED - 1), &id(DELETED + 1)])
        .expect("XRANGE");
    assert_entries(
        "XRANGE around the deleted entry",
        items(&reply),
        [DELETED - 1, DELETED + 1],
    );
    read_positions(
        &mut conn,
        true,
        true,
        "after XADD, XREADGROUP, XACK and XDEL",
    );
    check_groups(&mut conn, COUNT, "before the kill");

    let payload = payload_bytes();
    let rss = crate::support::rss_bytes(server.pid());
    eprintln!(
        "streams_scale: {:?} RSS {} MiB for {} MiB of payload ({:.0}%)",
        server.flavor(),
        rss >> 20,
        payload >> 20,
        100.0 * rss as f64 / payload as f64
    );
    if server.flavor() == Flavor::Rockslot {
        assert!(
            rss < payload / 2,
            "RSS {rss} bytes is not far below the {payload} bytes of entries: the stream is in memory"
        );
    }

    server.kill9();
    let restart = Instant::now();
    server.start_again();
    eprintln!(
        "streams_scale: restart after kill -9 took {:.2?}",
        restart.elapsed()
    );
    let mut conn = server.conn();
    read_positions(&mut conn, true, true, "after kill -9 and restart");
    check_groups(&mut conn, COUNT, "after kill -9 and restart");
    consume_and_ack(&mut conn, COUNT);
    check_groups(&mut conn, 2 * COUNT, "after the second delivery");

    let reply = timed(&mut conn, &["DEL", KEY], DEL_BOUND);
    assert_eq!(reply.as_int(), Some(1), "DEL {KEY}");
    let exists = conn.call(&["EXISTS", KEY]).expect("EXISTS");
    assert_eq!(exists.as_int(), Some(0), "{KEY} after DEL");
    // A new stream under the same name has none of the old entries or groups.
    let reply = conn
        .call(&["XADD", KEY, "1-1", FIELD, "fresh"])
        .expect("XADD");
    assert_eq!(text(&reply), "1-1", "XADD to the new stream");
    let reply = conn.call(&["XRANGE", KEY, "-", "+"]).expect("XRANGE");
    assert_eq!(items(&reply).len(), 1, "the new stream: {reply:?}");
    let reply = conn.call(&["XINFO", "GROUPS", KEY]).expect("XINFO GROUPS");
    assert_eq!(
        items(&reply).len(),
        0,
        "groups of the new stream: {reply:?}"
    );
    let reply = conn.call(&["DBSIZE"]).expect("DBSIZE");
    assert_eq!(reply.as_int(), Some(1));
    eprintln!("streams_scale: whole test took {:.2?}", started.elapsed());
}

//! Replication with Debian's real redis-server on the other end.
//!
//! rockslot as a replica of a real Redis primary (full sync of 200,000 preloaded keys of every
//! type with the primary's disk-based and diskless transfers, writes of every type before,
//! during and after it), partial resyncs after CLIENT KILL TYPE master and after a kill -9 of
//! the replica, a backlog overrun while the replica is down forcing a full resync, a silent
//! primary dropped after `repl-timeout`, a chain Redis → rockslot → Redis, and a promotion
//! (REPLICAOF NO ONE) that a real Redis replica continues from. Then rockslot as the primary of
//! real Redis replicas: the same full syncs, CLIENT KILL TYPE replica and replica restarts
//! (CONTINUE, or a full resync once the gap outgrew the backlog), the chain rockslot → Redis →
//! rockslot, idle PINGs, WAIT with two replicas, `min-replicas-to-write`, a live backlog
//! resize, and `repl-backlog-ttl` side by side with Redis. Every test ends with equal DEBUG
//! DIGESTs once the replicas' offsets reached the primary's (polled in INFO, never a blind
//! sleep), and checks the primary's `sync_full` / `sync_partial_ok` counters for the kind of
//! sync that happened.

use std::time::{Duration, Instant};

use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

const DEBUG: [&str; 4] = ["--enable-debug-command", "yes", "--save", ""];

fn call(conn: &mut Conn, args: &[&str]) -> Reply {
    let reply = conn.call(args).expect("call");
    assert!(!reply.is_error(), "{args:?} replied {reply:?}");
    reply
}

/// One INFO field of `section`, if present.
fn info(server: &Server, section: &str, name: &str) -> Option<String> {
    let reply = server.conn().call(&["INFO", section]).expect("INFO");
    let text = String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn info_int(server: &Server, section: &str, name: &str) -> i64 {
    info(server, section, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no integer {name} in INFO {section}"))
}

/// Polls `done` every 20 ms for up to a minute.
fn wait_for(what: &str, servers: &[&Server], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        if Instant::now() > deadline {
            let logs: Vec<String> = servers.iter().map(|s| s.log_tail(30)).collect();
            panic!(
                "timed out waiting for {what}; logs:\n{}",
                logs.join("\n-----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `replica`'s link is up and it applied everything `primary` produced.
fn wait_in_sync(primary: &Server, replica: &Server) {
    wait_for("the replica to catch up", &[primary, replica], || {
        info(replica, "replication", "master_link_status").as_deref() == Some("up")
            && info_int(replica, "replication", "master_repl_offset")
                == info_int(primary, "replication", "master_repl_offset")
    });
}

fn digest(server: &Server) -> Reply {
    server
        .conn()
        .call(&["DEBUG", "DIGEST"])
        .expect("DEBUG DIGEST")
}

fn assert_same_data(primary: &Server, replica: &Server) {
    wait_in_sync(primary, replica);
    let (ours, theirs) = (digest(primary), digest(replica));
    assert_ne!(ours, Reply::Bulk(Some(vec![b'0'; 40])), "empty dataset");
    assert_eq!(
        ours,
        theirs,
        "digests differ; primary log:\n{}\nreplica log:\n{}",
        primary.log_tail(40),
        replica.log_tail(40)
    );
}

/// Writes of every type, their keys named after `tag`, in two databases, with the commands
/// Redis rewrites when it propagates them and a transaction.
fn write_every_type(server: &Server, tag: &str) {
    let mut conn = server.conn();
    // `%` marks the keys, named after `tag`.
    let lines = [
        "SET %s1 v",
        "SET %s2 v EX 100000",
        "SETEX %s3 100000 v",
        "SET %n 10",
        "INCRBYFLOAT %n 1.5",
        "INCR %counter",
        "APPEND %s1 more",
        "SETRANGE %s1 2 xx",
        "EXPIRE %s1 500000",
        "SET %getdel v",
        "GETDEL %getdel",
        "RPUSH %list a b c d e f g",
        "LPOP %list",
        "LMOVE %list %list2 LEFT RIGHT",
        "HSET %hash f1 1 f2 2 f3 3",
        "HINCRBYFLOAT %hash f1 0.25",
        "HDEL %hash f3",
        "SADD %set a b c d e f g h i j",
        "SPOP %set",
        "SADD %ints 1 2 3 4",
        "ZADD %zset 1 a 2 b 3 c 4 d",
        "ZINCRBY %zset 0.5 a",
        "ZPOPMIN %zset",
        "PFADD %hll a b c",
        "GEOADD %geo 13.361389 38.115556 Palermo",
        "XADD %stream * f 1",
        "XADD %stream * f 2",
        "XGROUP CREATE %stream g 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS %stream >",
        "SELECT 3",
        "SET %in3 v",
        "SADD %set3 x y",
        "SELECT 0",
    ];
    for line in lines {
        let line = line.replace('%', &format!("{tag}:"));
        let args: Vec<&str> = line.split(' ').collect();
        call(&mut conn, &args);
    }
    call(&mut conn, &["MULTI"]);
    call(
        &mut conn,
        &["SET", &format!("{tag}:tx1"), "1", "EX", "100000"],
    );
    call(&mut conn, &["INCR", &format!("{tag}:counter")]);
    call(&mut conn, &["EXEC"]);
}

/// Keys preloaded before a full sync (issue: 200,000 of every type).
const PRELOAD_KEYS: usize = 200_000;

/// Writes `PRELOAD_KEYS` keys in db 0, cycling through every type (strings with and without a
/// TTL, lists, hashes, sets of integers and of strings, sorted sets, streams, HyperLogLogs),
/// pipelined in rounds.
fn preload(server: &Server) {
    let mut conn = server.conn();
    let mut round: Vec<Vec<String>> = Vec::new();
    for i in 0..PRELOAD_KEYS {
        let key = format!("pre:{i}");
        let words: Vec<String> = match i % 9 {
            0 => vec!["SET".into(), key, format!("value-{i}")],
            1 => vec![
                "SET".into(),
                key,
                i.to_string(),
                "EX".into(),
                "100000".into(),
            ],
            2 => vec!["RPUSH".into(), key, "a".into(), i.to_string(), "c".into()],
            3 => vec![
                "HSET".into(),
                key,
                "f".into(),
                i.to_string(),
                "g".into(),
                "x".repeat(80),
            ],
            4 => vec!["SADD".into(), key, "1".into(), "2".into(), i.to_string()],
            5 => vec!["SADD".into(), key, "m".into(), format!("n{i}")],
            6 => vec![
                "ZADD".into(),
                key,
                "1.5".into(),
                "a".into(),
                i.to_string(),
                "b".into(),
            ],
            7 => vec!["XADD".into(), key, "*".into(), "f".into(), i.to_string()],
            _ => vec!["PFADD".into(), key, "a".into(), i.to_string()],
        };
        round.push(words);
        if round.len() == 10_000 || i + 1 == PRELOAD_KEYS {
            let replies = conn.pipeline(&round).expect("preload round");
            assert!(replies.iter().all(|r| !r.is_error()), "preload failed");
            round.clear();
        }
    }
    assert_eq!(
        call(&mut conn, &["DBSIZE"]).as_int(),
        Some(PRELOAD_KEYS as i64)
    );
}

fn real_primary(diskless: bool) -> Server {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend([
        "--repl-diskless-sync",
        if diskless { "yes" } else { "no" },
        "--repl-diskless-sync-delay",
        "0",
    ]);
    Server::start(Flavor::Redis, args)
}

fn replica_of(flavor: Flavor, primary: &Server, extra: &[&str]) -> Server {
    let port = primary.port().to_string();
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--replicaof", "127.0.0.1", &port]);
    args.extend(extra);
    Server::start(flavor, args)
}

fn rockslot_follows_a_real_primary(diskless: bool) {
    let primary = real_primary(diskless);
    preload(&primary);
    write_every_type(&primary, "before");
    let replica = replica_of(Flavor::Rockslot, &primary, &[]);
    // Writes while the sync is being set up or runs.
    write_every_type(&primary, "during");
    wait_in_sync(&primary, &replica);
    write_every_type(&primary, "after");
    assert_same_data(&primary, &replica);

    assert_eq!(
        info(&replica, "replication", "role").as_deref(),
        Some("slave")
    );
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);
    let mut conn = replica.conn();
    let refused = conn.call(&["SET", "x", "1"]).expect("SET");
    assert_eq!(
        refused,
        Reply::Error("READONLY You can't write against a read only replica.".into())
    );
    let role = conn.call(&["ROLE"]).expect("ROLE");
    let items = role.as_items().expect("ROLE array");
    assert_eq!(items[0], Reply::Bulk(Some(b"slave".to_vec())));
    assert_eq!(items[3], Reply::Bulk(Some(b"connected".to_vec())));
    assert_eq!(
        items[4].as_int(),
        Some(info_int(&primary, "replication", "master_repl_offset"))
    );
}

#[test]
fn replica_of_a_real_primary_disk_based() {
    rockslot_follows_a_real_primary(false);
}

#[test]
fn replica_of_a_real_primary_diskless() {
    rockslot_follows_a_real_primary(true);
}

#[test]
fn replica_continues_after_client_kill_type_master() {
    let primary = real_primary(true);
    write_every_type(&primary, "before");
    let replica = replica_of(Flavor::Rockslot, &primary, &[]);
    assert_same_data(&primary, &replica);
    let partial = info_int(&primary, "stats", "sync_partial_ok");
    call(&mut replica.conn(), &["CLIENT", "KILL", "TYPE", "master"]);
    write_every_type(&primary, "after");
    wait_for("a partial resync", &[&primary, &replica], || {
        info_int(&primary, "stats", "sync_partial_ok") > partial
    });
    assert_same_data(&primary, &replica);
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);
}

#[test]
fn replica_killed_with_sigkill_continues_after_restart() {
    let primary = real_primary(false);
    write_every_type(&primary, "before");
    let mut replica = replica_of(Flavor::Rockslot, &primary, &[]);
    assert_same_data(&primary, &replica);
    write_every_type(&primary, "more");
    // The stream stands in db 3 at the kill and goes on there without a SELECT: the restarted
    // replica must know.
    let mut conn = primary.conn();
    call(&mut conn, &["SELECT", "3"]);
    call(&mut conn, &["SET", "last-before-kill", "v"]);
    wait_in_sync(&primary, &replica);
    replica.kill9();
    call(&mut conn, &["SET", "first-while-down", "v"]);
    write_every_type(&primary, "while-down");
    replica.start_again();
    assert_same_data(&primary, &replica);
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);
    assert!(info_int(&primary, "stats", "sync_partial_ok") >= 1);
    assert!(
        replica
            .log()
            .contains("Successful partial resynchronization"),
        "{}",
        replica.log_tail(30)
    );
}

#[test]
fn chain_real_primary_rockslot_real_replica() {
    let primary = real_primary(false);
    write_every_type(&primary, "before");
    let middle = replica_of(Flavor::Rockslot, &primary, &[]);
    wait_in_sync(&primary, &middle);
    let last = replica_of(Flavor::Redis, &middle, &[]);
    write_every_type(&primary, "after");
    assert_same_data(&primary, &middle);
    assert_same_data(&middle, &last);
    assert_same_data(&primary, &last);
}

#[test]
fn promoted_replica_is_continued_by_a_real_replica() {
    let primary = real_primary(false);
    write_every_type(&primary, "before");
    let rockslot = replica_of(Flavor::Rockslot, &primary, &[]);
    let other = replica_of(Flavor::Redis, &primary, &[]);
    assert_same_data(&primary, &rockslot);
    assert_same_data(&primary, &other);
    let old_replid = info(&primary, "replication", "master_replid").expect("replid");

    call(&mut rockslot.conn(), &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(
        info(&rockslot, "replication", "role").as_deref(),
        Some("master")
    );
    assert_eq!(
        info(&rockslot, "replication", "master_replid2").as_deref(),
        Some(old_replid.as_str())
    );
    let port = rockslot.port().to_string();
    call(&mut other.conn(), &["REPLICAOF", "127.0.0.1", &port]);
    write_every_type(&rockslot, "promoted");
    wait_for("the real replica to continue", &[&rockslot, &other], || {
        info_int(&rockslot, "stats", "sync_partial_ok") >= 1
    });
    assert_same_data(&rockslot, &other);
    assert_eq!(info_int(&rockslot, "stats", "sync_full"), 0);
}

fn real_replica_of_rockslot(diskless: bool) {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-diskless-sync", if diskless { "yes" } else { "no" }]);
    let primary = Server::start(Flavor::Rockslot, args);
    preload(&primary);
    write_every_type(&primary, "before");
    let replica = replica_of(Flavor::Redis, &primary, &[]);
    write_every_type(&primary, "during");
    wait_in_sync(&primary, &replica);
    write_every_type(&primary, "after");
    assert_same_data(&primary, &replica);
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);

    // A write acknowledged by the one replica.
    let mut conn = primary.conn();
    call(&mut conn, &["SET", "waited", "1"]);
    assert_eq!(call(&mut conn, &["WAIT", "1", "5000"]).as_int(), Some(1));

    call(&mut primary.conn(), &["CLIENT", "KILL", "TYPE", "replica"]);
    write_every_type(&primary, "killed");
    wait_for("a partial resync", &[&primary, &replica], || {
        info_int(&primary, "stats", "sync_partial_ok") >= 1
    });
    assert_same_data(&primary, &replica);
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);
}

#[test]
fn real_replica_of_rockslot_disk_based() {
    real_replica_of_rockslot(false);
}

#[test]
fn real_replica_of_rockslot_diskless() {
    real_replica_of_rockslot(true);
}

#[test]
fn replica_waits_for_the_primarys_del_of_an_expired_key() {
    let primary = real_primary(false);
    let replica = replica_of(Flavor::Rockslot, &primary, &[]);
    let mut on_primary = primary.conn();
    // The primary's active cycle would race the checks below: only lazy expiry remains.
    call(&mut on_primary, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    call(&mut on_primary, &["SET", "short", "v", "PX", "300"]);
    call(&mut on_primary, &["SET", "long", "v"]);
    wait_in_sync(&primary, &replica);
    let mut on_replica = replica.conn();
    wait_for(
        "the key to expire on the replica's reads",
        &[&replica],
        || on_replica.call(&["GET", "short"]).expect("GET") == Reply::Bulk(None),
    );
    // Expired for its clients, but still there: the replica deleted nothing.
    assert_eq!(call(&mut on_replica, &["DBSIZE"]).as_int(), Some(2));
    assert_eq!(
        call(&mut on_replica, &["EXISTS", "short"]).as_int(),
        Some(0)
    );
    // The primary's lazy expiry propagates the DEL.
    assert_eq!(call(&mut on_primary, &["GET", "short"]), Reply::Bulk(None));
    wait_in_sync(&primary, &replica);
    assert_eq!(call(&mut on_replica, &["DBSIZE"]).as_int(), Some(1));
    assert_same_data(&primary, &replica);
}

#[test]
fn a_replica_without_its_primary_answers_like_redis() {
    // Nothing listens on the primary's port.
    let port = crate::support::server::free_port().to_string();
    let replies: Vec<Vec<Reply>> = [Flavor::Redis, Flavor::Rockslot]
        .map(|flavor| {
            let server = Server::start(flavor, ["--replicaof", "127.0.0.1", &port]);
            let mut conn = server.conn();
            let mut replies = Vec::new();
            for args in [
                &["GET", "k"][..],
                &["SET", "k", "v"],
                &["WAIT", "1", "1"],
                &["PSYNC", "?", "-1"],
                &["CONFIG", "SET", "replica-serve-stale-data", "no"],
                &["GET", "k"],
                &["PING"],
                &["CONFIG", "GET", "replicaof"],
            ] {
                replies.push(conn.call(args).expect("call"));
            }
            replies
        })
        .into_iter()
        .collect();
    assert_eq!(replies[0], replies[1], "redis-server, then rockslot");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_enough_good_replicas() {
    let primary = Server::start(Flavor::Rockslot, DEBUG);
    let mut conn = primary.conn();
    call(&mut conn, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    let refused = conn.call(&["SET", "k", "v"]).expect("SET");
    assert_eq!(
        refused,
        Reply::Error(b"NOREPLICAS Not enough good replicas to write.".to_vec())
    );
    // Reads go on; with one real replica acknowledging, writes are accepted again.
    assert_eq!(conn.call(&["GET", "k"]).expect("GET"), Reply::Bulk(None));
    let replica = replica_of(Flavor::Redis, &primary, &[]);
    wait_for("a good replica", &[&primary, &replica], || {
        primary
            .conn()
            .call(&["SET", "k", "v"])
            .is_ok_and(|r| !r.is_error())
    });
    assert_same_data(&primary, &replica);
}

#[test]
fn config_set_repl_backlog_size_resizes_the_live_backlog() {
    let primary = Server::start(Flavor::Rockslot, DEBUG);
    let replica = replica_of(Flavor::Redis, &primary, &[]);
    write_every_type(&primary, "before");
    assert_same_data(&primary, &replica);
    call(
        &mut primary.conn(),
        &["CONFIG", "SET", "repl-backlog-size", "16384"],
    );
    assert_eq!(
        info_int(&primary, "replication", "repl_backlog_size"),
        16384
    );
    // The resized ring still serves a partial resync.
    call(&mut primary.conn(), &["CLIENT", "KILL", "TYPE", "replica"]);
    write_every_type(&primary, "after");
    wait_for("a partial resync", &[&primary, &replica], || {
        info_int(&primary, "stats", "sync_partial_ok") >= 1
    });
    assert_same_data(&primary, &replica);
}

#[test]
fn chain_rockslot_real_replica_rockslot() {
    let primary = Server::start(Flavor::Rockslot, DEBUG);
    write_every_type(&primary, "before");
    let middle = replica_of(Flavor::Redis, &primary, &[]);
    wait_in_sync(&primary, &middle);
    let last = replica_of(Flavor::Rockslot, &middle, &[]);
    write_every_type(&primary, "after");
    assert_same_data(&primary, &middle);
    assert_same_data(&middle, &last);
    assert_same_data(&primary, &last);
}

/// The primary's backlog is 16 KiB (Redis's smallest): a replica restarted after less than
/// that gets `+CONTINUE`, after more a full resync; digests equal each time. `restart` stops
/// and starts the replica (a real Redis replica saves its replication ID and offset in its RDB
/// at SHUTDOWN; a rockslot replica keeps them with its data, even across kill -9).
fn restarted_replica_continues_or_resyncs(
    primary: &Server,
    replica: &mut Server,
    stop: fn(&mut Server),
) {
    let mut conn = primary.conn();
    write_every_type(primary, "before");
    assert_same_data(primary, replica);
    let full = info_int(primary, "stats", "sync_full");
    let partial = info_int(primary, "stats", "sync_partial_ok");

    stop(replica);
    write_every_type(primary, "small-gap");
    replica.start_again();
    assert_same_data(primary, replica);
    assert_eq!(info_int(primary, "stats", "sync_partial_ok"), partial + 1);
    assert_eq!(info_int(primary, "stats", "sync_full"), full);

    stop(replica);
    let value = "v".repeat(1000);
    for i in 0..40 {
        call(&mut conn, &["SET", &format!("big-gap:{i}"), &value]);
    }
    write_every_type(primary, "big-gap");
    replica.start_again();
    assert_same_data(primary, replica);
    assert_eq!(info_int(primary, "stats", "sync_full"), full + 1);
    assert_eq!(info_int(primary, "stats", "sync_partial_ok"), partial + 1);
}

fn shutdown_saving(server: &mut Server) {
    // SHUTDOWN closes the connection without a reply; the process exit is what counts.
    let _ = server.conn().call(&["SHUTDOWN", "SAVE"]);
    server.terminate();
}

#[test]
fn real_replica_of_rockslot_continues_or_resyncs_after_a_restart() {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-backlog-size", "16384"]);
    let primary = Server::start(Flavor::Rockslot, args);
    let mut replica = replica_of(Flavor::Redis, &primary, &[]);
    restarted_replica_continues_or_resyncs(&primary, &mut replica, shutdown_saving);
}

#[test]
fn rockslot_replica_continues_or_resyncs_after_kill9() {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-backlog-size", "16384"]);
    let primary = Server::start(Flavor::Redis, args);
    let mut replica = replica_of(Flavor::Rockslot, &primary, &[]);
    restarted_replica_continues_or_resyncs(&primary, &mut replica, Server::kill9);
}

/// An idle primary PINGs its replicas every `repl-ping-replica-period` seconds, so a replica
/// with a short `repl-timeout` keeps its link; the PINGs move the offset on both.
#[test]
fn an_idle_primary_pings_its_replicas() {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-ping-replica-period", "1"]);
    let primary = Server::start(Flavor::Rockslot, args);
    let replica = replica_of(Flavor::Redis, &primary, &["--repl-timeout", "3"]);
    write_every_type(&primary, "before");
    assert_same_data(&primary, &replica);
    let offset = info_int(&primary, "replication", "master_repl_offset");
    // `*1\r\n$4\r\nPING\r\n` is 14 bytes: at least four PINGs in the 6 s that follow.
    std::thread::sleep(Duration::from_secs(6));
    let moved = info_int(&primary, "replication", "master_repl_offset") - offset;
    assert!(
        moved >= 4 * 14 && moved % 14 == 0,
        "offset moved by {moved}"
    );
    assert_same_data(&primary, &replica);
    assert_eq!(info_int(&primary, "stats", "sync_partial_ok"), 0);
    assert_eq!(info_int(&primary, "stats", "sync_full"), 1);
}

/// A rockslot replica whose primary stays silent longer than `repl-timeout` drops the link
/// and continues with PSYNC, as a Redis replica does.
#[test]
fn a_replica_drops_a_silent_primary_and_continues() {
    let primary = real_primary(false);
    write_every_type(&primary, "before");
    // Redis PINGs every 10 s by default: a 2 s timeout fires first.
    let replica = replica_of(Flavor::Rockslot, &primary, &["--repl-timeout", "2"]);
    assert_same_data(&primary, &replica);
    wait_for(
        "a partial resync after the timeout",
        &[&primary, &replica],
        || info_int(&primary, "stats", "sync_partial_ok") >= 1,
    );
    assert!(
        replica.log().contains("MASTER timeout"),
        "{}",
        replica.log_tail(20)
    );
    write_every_type(&primary, "after");
    assert_same_data(&primary, &replica);
}

/// After `repl-backlog-ttl` seconds without replicas, a primary frees its backlog and takes a
/// new replication ID; rockslot and Redis side by side.
#[test]
fn the_backlog_is_freed_after_repl_backlog_ttl() {
    for flavor in [Flavor::Redis, Flavor::Rockslot] {
        let mut args: Vec<&str> = DEBUG.to_vec();
        args.extend(["--repl-backlog-ttl", "1"]);
        let primary = Server::start(flavor, args);
        let replica = replica_of(Flavor::Redis, &primary, &[]);
        write_every_type(&primary, "before");
        assert_same_data(&primary, &replica);
        let replid = info(&primary, "replication", "master_replid");
        assert_eq!(info_int(&primary, "replication", "repl_backlog_active"), 1);
        call(&mut replica.conn(), &["REPLICAOF", "NO", "ONE"]);
        wait_for("the backlog to be freed", &[&primary], || {
            info_int(&primary, "replication", "repl_backlog_active") == 0
        });
        assert_ne!(info(&primary, "replication", "master_replid"), replid);
        assert_eq!(
            info(&primary, "replication", "master_replid2").as_deref(),
            Some("0000000000000000000000000000000000000000")
        );
    }
}

/// WAIT counts the replicas that acknowledged: two real Redis replicas, then one after the
/// other is stopped (WAIT then times out with the one), as Redis's own WAIT answers.
#[test]
fn wait_counts_the_real_replicas_that_acknowledged() {
    for flavor in [Flavor::Redis, Flavor::Rockslot] {
        let primary = Server::start(flavor, DEBUG);
        let first = replica_of(Flavor::Redis, &primary, &[]);
        let mut second = replica_of(Flavor::Redis, &primary, &[]);
        write_every_type(&primary, "before");
        assert_same_data(&primary, &first);
        assert_same_data(&primary, &second);
        let mut conn = primary.conn();
        call(&mut conn, &["SET", "waited", "1"]);
        assert_eq!(
            call(&mut conn, &["WAIT", "2", "5000"]).as_int(),
            Some(2),
            "{flavor:?}"
        );
        second.terminate();
        wait_for("the primary to see one replica", &[&primary], || {
            info_int(&primary, "replication", "connected_slaves") == 1
        });
        call(&mut conn, &["SET", "waited", "2"]);
        assert_eq!(
            call(&mut conn, &["WAIT", "2", "300"]).as_int(),
            Some(1),
            "{flavor:?}"
        );
        assert_same_data(&primary, &first);
    }
}

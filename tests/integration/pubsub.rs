//! Pub/Sub and keyspace notifications, differential: the same multi-client scenarios run against
//! rockslot and against real redis-server 7.0.15, in RESP2 and in RESP3, and every frame each
//! client receives (subscribe confirmations, messages, replies, errors) must be byte for byte the
//! same. Where Redis's order comes from a hash table with a random seed (unsubscribing from all
//! channels, PUBSUB CHANNELS, messages of several matching patterns) the frames of that step are
//! compared sorted.
//!
//! The keyspace test enables `notify-keyspace-events KEA` on both servers, runs a command mix over
//! every data type rockslot implements and compares the whole event stream a pattern subscriber
//! receives. Active expiry is switched off there (DEBUG SET-ACTIVE-EXPIRE 0) so that `expired`
//! events come from lazy expiry at a deterministic point; a separate test covers the active cycle.

use std::time::{Duration, Instant};

use crate::differential::{Cmd, Proto};
use crate::support::resp::{escape, Conn, Reply};
use crate::support::server::{Flavor, Server};

/// How long a client must stay silent to count as having received nothing more.
const QUIET: Duration = Duration::from_millis(200);
/// Longest wait for a frame that is expected.
const EXPECTED: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
enum Step {
    /// Sends a command on a client and reads that many frames, recorded in order.
    Call(usize, &'static str, usize),
    /// Like `Call` where RESP2 and RESP3 answer with different numbers of frames (a RESP3
    /// subscriber runs any command and receives its own messages).
    CallByProto(usize, &'static str, usize, usize),
    /// Like `Call`, the frames recorded sorted (Redis sends them in hash-table order).
    CallSorted(usize, &'static str, usize),
    /// Like `Call` for a command replying with one array in hash-table order: items sorted.
    CallItemsSorted(usize, &'static str),
    /// Sends a command without recording its reply (its content is random, e.g. SPOP), but reads
    /// that many frames.
    CallUnrecorded(usize, &'static str, usize),
    /// Reads that many pushed frames of a client, in order.
    Read(usize, usize),
    /// Reads that many pushed frames of a client, sorted.
    ReadSorted(usize, usize),
    /// Records everything a client receives until it is quiet.
    Drain(usize),
    /// The client received nothing within [`QUIET`].
    Quiet(usize),
    /// Selected fields of the client's own CLIENT INFO line (needs RESP3 or no subscriptions).
    ClientFields(usize),
    /// The Pub/Sub lines of INFO stats, asked by a client.
    InfoPubsub(usize),
    Sleep(u64),
}
use Step::*;

fn servers(extra: &[&str]) -> (Server, Server) {
    let mut args = vec!["--save", "", "--appendonly", "no"];
    args.extend_from_slice(extra);
    (
        Server::start(Flavor::Rockslot, args.clone()),
        Server::start(Flavor::Redis, args),
    )
}

fn read_frame(conn: &mut Conn, wait: Duration) -> Option<(Reply, Vec<u8>)> {
    conn.poll_reply(wait).ok().flatten()
}

fn read_frames(conn: &mut Conn, n: usize) -> Vec<(Reply, Vec<u8>)> {
    (0..n).map_while(|_| read_frame(conn, EXPECTED)).collect()
}

fn shown(frames: &[(Reply, Vec<u8>)], sorted: bool) -> Vec<String> {
    let mut lines: Vec<String> = frames.iter().map(|(_, raw)| escape(raw)).collect();
    if sorted {
        lines.sort();
    }
    lines
}

fn send(conn: &mut Conn, line: &str) {
    conn.send(&Cmd::parse(line).args).expect("send");
}

/// Runs the steps on one server and returns its transcript.
fn run_side(server: &Server, proto: Proto, clients: usize, steps: &[Step]) -> Vec<String> {
    let mut conns: Vec<Conn> = (0..clients)
        .map(|_| Conn::connect(server.port()).expect("connect"))
        .collect();
    conns[0].call(&["FLUSHALL"]).expect("FLUSHALL");
    if proto == Proto::Resp3 {
        for conn in &mut conns {
            let hello = conn.call(&["HELLO", "3"]).expect("HELLO");
            assert!(matches!(hello, Reply::Map(_)), "HELLO 3 replied {hello:?}");
        }
    }
    let mut transcript = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut record = |client: usize, what: &str, lines: Vec<String>| {
            transcript.push(format!("#{i} client {client} {what}"));
            transcript.extend(lines.into_iter().map(|l| format!("    {l}")));
        };
        match *step {
            Call(c, line, n) | CallSorted(c, line, n) => {
                send(&mut conns[c], line);
                let frames = read_frames(&mut conns[c], n);
                record(c, line, shown(&frames, matches!(step, CallSorted(..))));
            }
            CallByProto(c, line, resp2, resp3) => {
                send(&mut conns[c], line);
                let n = if proto == Proto::Resp2 { resp2 } else { resp3 };
                let frames = read_frames(&mut conns[c], n);
                record(c, line, shown(&frames, false));
            }
            CallItemsSorted(c, line) => {
                send(&mut conns[c], line);
                let lines = match read_frames(&mut conns[c], 1).pop() {
                    Some((reply, _)) => {
                        let mut items: Vec<String> = reply
                            .as_items()
                            .unwrap_or_default()
                            .iter()
                            .map(|r| format!("{r:?}"))
                            .collect();
                        items.sort();
                        items
                    }
                    None => vec!["(no reply)".to_string()],
                };
                record(c, line, lines);
            }
            CallUnrecorded(c, line, n) => {
                send(&mut conns[c], line);
                let got = read_frames(&mut conns[c], n).len();
                record(c, line, vec![format!("{got} frames")]);
            }
            Read(c, n) | ReadSorted(c, n) => {
                let frames = read_frames(&mut conns[c], n);
                record(c, "reads", shown(&frames, matches!(step, ReadSorted(..))));
            }
            Drain(c) => {
                let mut frames = Vec::new();
                while let Some(frame) = read_frame(&mut conns[c], QUIET) {
                    frames.push(frame);
                }
                record(c, "drains", shown(&frames, false));
            }
            Quiet(c) => {
                let got = read_frame(&mut conns[c], QUIET).map(|(_, raw)| escape(&raw));
                record(c, "quiet", vec![got.unwrap_or_else(|| "(nothing)".into())]);
            }
            ClientFields(c) => {
                let reply = conns[c].call(&["CLIENT", "INFO"]).expect("CLIENT INFO");
                let text =
                    String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned();
                let fields = text
                    .split_whitespace()
                    .filter(|f| {
                        ["flags=", "sub=", "psub=", "ssub=", "db="]
                            .iter()
                            .any(|p| f.starts_with(p))
                    })
                    .map(str::to_string)
                    .collect();
                record(c, "client info", fields);
            }
            InfoPubsub(c) => {
                let reply = conns[c].call(&["INFO", "stats"]).expect("INFO");
                let text =
                    String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned();
                let lines = text
                    .lines()
                    .filter(|l| l.starts_with("pubsub"))
                    .map(str::to_string)
                    .collect();
                record(c, "info", lines);
            }
            Sleep(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
    }
    transcript
}

/// Runs a scenario on both servers in both protocols; panics with both transcripts on a
/// difference.
fn check(extra_args: &[&str], clients: usize, steps: &[Step]) {
    let (ours, theirs) = servers(extra_args);
    for proto in [Proto::Resp2, Proto::Resp3] {
        let mine = run_side(&ours, proto, clients, steps);
        let reference = run_side(&theirs, proto, clients, steps);
        if mine != reference {
            let first = mine
                .iter()
                .zip(&reference)
                .position(|(a, b)| a != b)
                .unwrap_or(mine.len().min(reference.len()));
            panic!(
                "{proto:?}: transcripts differ at line {first}\n--- rockslot ---\n{}\n--- redis ---\n{}\n\
                 rockslot log tail:\n{}",
                mine.join("\n"),
                reference.join("\n"),
                ours.log_tail(40)
            );
        }
    }
}

#[test]
fn subscribe_publish_unsubscribe() {
    check(
        &[],
        4,
        &[
            Call(0, "SUBSCRIBE news sport", 2),
            Call(1, "SUBSCRIBE news", 1),
            Call(2, "PSUBSCRIBE n* s?ort", 2),
            Call(3, "PUBLISH news hello", 1),
            Read(0, 1),
            Read(1, 1),
            Read(2, 1),
            Call(3, "PUBLISH sport goal", 1),
            Read(0, 1),
            Read(2, 1),
            Quiet(1),
            Call(3, "PUBLISH nothing x", 1),
            Read(2, 1),
            Call(3, "PUBLISH other x", 1),
            Quiet(0),
            Call(3, "PUBSUB NUMSUB news sport other", 1),
            Call(3, "PUBSUB NUMPAT", 1),
            CallItemsSorted(3, "PUBSUB CHANNELS"),
            CallItemsSorted(3, "PUBSUB CHANNELS n*"),
            InfoPubsub(3),
            // Subscribing twice keeps one subscription; the counts include patterns.
            Call(0, "SUBSCRIBE news", 1),
            Call(0, "PSUBSCRIBE news", 1),
            Call(3, "PUBLISH news twice", 1),
            Read(0, 2),
            Read(1, 1),
            Read(2, 1),
            Call(0, "UNSUBSCRIBE sport nope", 2),
            Call(0, "PUNSUBSCRIBE news", 1),
            CallSorted(2, "PUNSUBSCRIBE", 2),
            Call(2, "PUNSUBSCRIBE", 1),
            Call(2, "UNSUBSCRIBE", 1),
            CallSorted(0, "UNSUBSCRIBE", 1),
            Call(3, "PUBSUB NUMSUB news sport", 1),
            Call(3, "PUBSUB NUMPAT", 1),
            // Out of Pub/Sub mode every command works again.
            Call(0, "PING", 1),
            Call(2, "SET k v", 1),
            // Unsubscribing when nothing is subscribed still answers.
            Call(3, "UNSUBSCRIBE", 1),
            Call(3, "PUNSUBSCRIBE a b", 2),
            Call(3, "SUNSUBSCRIBE", 1),
            Quiet(0),
            Quiet(1),
            Quiet(2),
        ],
    );
}

#[test]
fn pattern_and_binary_messages() {
    check(
        &[],
        3,
        &[
            Call(0, "PSUBSCRIBE a* *b [xy]z h\\*", 4),
            Call(1, "SUBSCRIBE ab", 1),
            // Both patterns a* and *b match "ab": their order is a hash-table order in Redis.
            Call(2, "PUBLISH ab m1", 1),
            ReadSorted(0, 2),
            Read(1, 1),
            Call(2, "PUBLISH xz \"\"", 1),
            Read(0, 1),
            Call(2, "PUBLISH h* star", 1),
            Read(0, 1),
            Call(2, "PUBLISH hx nostar", 1),
            Quiet(0),
            Call(2, "PUBSUB NUMPAT", 1),
            CallItemsSorted(2, "PUBSUB CHANNELS"),
        ],
    );
}

#[test]
fn sharded_channels() {
    check(
        &[],
        3,
        &[
            Call(0, "SSUBSCRIBE s1 s2", 2),
            Call(0, "SUBSCRIBE s1", 1),
            Call(1, "PSUBSCRIBE s*", 1),
            Call(2, "SPUBLISH s1 hi", 1),
            Read(0, 1),
            Quiet(1),
            Call(2, "PUBLISH s1 plain", 1),
            Read(0, 1),
            Read(1, 1),
            Call(2, "PUBSUB SHARDNUMSUB s1 s2 s3", 1),
            CallItemsSorted(2, "PUBSUB SHARDCHANNELS"),
            CallItemsSorted(2, "PUBSUB SHARDCHANNELS *1"),
            InfoPubsub(2),
            Call(0, "SUNSUBSCRIBE s1", 1),
            CallSorted(0, "SUNSUBSCRIBE", 1),
            Call(0, "SUNSUBSCRIBE", 1),
            Call(0, "UNSUBSCRIBE", 1),
            Call(2, "PUBSUB HELP", 1),
            Call(2, "PUBSUB CHANNELS a b", 1),
            Call(2, "PUBSUB NUMPAT x", 1),
            Call(2, "PUBSUB NOPE", 1),
            Call(2, "SUBSCRIBE", 1),
            Call(2, "SPUBLISH onlyone", 1),
            // Inside MULTI/EXEC SSUBSCRIBE is refused, SUBSCRIBE and PSUBSCRIBE are not.
            Call(2, "MULTI", 1),
            Call(2, "SSUBSCRIBE x", 1),
            Call(2, "SUBSCRIBE y", 1),
            Call(2, "PSUBSCRIBE z", 1),
            Call(2, "EXEC", 1),
            Call(2, "PING", 1),
            Call(2, "UNSUBSCRIBE", 1),
            Call(2, "PUNSUBSCRIBE", 1),
        ],
    );
}

#[test]
fn subscribed_client_is_restricted_in_resp2_only() {
    check(
        &[],
        2,
        &[
            ClientFields(0),
            Call(0, "SUBSCRIBE c", 1),
            Call(0, "PSUBSCRIBE p*", 1),
            Call(0, "SSUBSCRIBE s", 1),
            // RESP2 answers with a restriction error (RESP3 runs the commands).
            Call(0, "GET k", 1),
            Call(0, "SET k v", 1),
            CallByProto(0, "PUBLISH c self", 1, 2),
            Call(0, "PING", 1),
            Call(0, "PING hello", 1),
            Call(0, "PING a b", 1),
            Call(0, "RESET", 1),
            Call(0, "PING", 1),
            Call(1, "PUBLISH c after-reset", 1),
            Call(1, "PUBSUB NUMPAT", 1),
            Quiet(0),
            ClientFields(0),
            Call(0, "SUBSCRIBE c", 1),
            Call(1, "CLIENT KILL TYPE pubsub", 1),
            Call(1, "PUBSUB NUMSUB c", 1),
            Call(1, "PING", 1),
        ],
    );
}

#[test]
fn resp3_subscriber_runs_commands_and_sees_its_own_messages() {
    // RESP3 only matters here, but the RESP2 half checks the restriction errors in between.
    check(
        &[],
        2,
        &[
            Call(1, "SUBSCRIBE me", 1),
            Call(1, "PSUBSCRIBE m*", 1),
            // The messages a client publishes to itself come before the reply of PUBLISH.
            CallByProto(1, "PUBLISH me hi", 1, 3),
            Call(1, "ECHO x", 1),
            Call(0, "PUBLISH me from-0", 1),
            Read(1, 2),
            Call(1, "UNSUBSCRIBE", 1),
            Call(1, "PUNSUBSCRIBE", 1),
            Call(1, "PUBLISH me none", 1),
        ],
    );
}

#[test]
fn client_fields_and_info() {
    let (ours, theirs) = servers(&[]);
    for server in [&ours, &theirs] {
        let mut sub = Conn::connect(server.port()).expect("connect");
        sub.call(&["HELLO", "3"]).expect("HELLO");
        sub.call(&["SUBSCRIBE", "a", "b"]).expect("subscribe");
        sub.read_reply().expect("second subscribe frame");
        sub.call(&["PSUBSCRIBE", "x*"]).expect("psubscribe");
        sub.call(&["SSUBSCRIBE", "s"]).expect("ssubscribe");
        let info = sub.call(&["CLIENT", "INFO"]).expect("CLIENT INFO");
        let text = String::from_utf8_lossy(info.as_bytes().expect("text")).into_owned();
        for field in ["flags=P", "sub=2", "psub=1", "ssub=1"] {
            assert!(
                text.split_whitespace().any(|f| f == field),
                "{:?}: {field} missing from {text}",
                server.flavor()
            );
        }
    }
}

/// A subscriber that does not read its messages is disconnected once they exceed the pubsub
/// class's hard `client-output-buffer-limit`, instead of growing the server's memory.
#[test]
fn slow_subscriber_is_disconnected() {
    let (ours, theirs) = servers(&["--client-output-buffer-limit", "pubsub 1mb 0 0"]);
    let payload = vec![b'x'; 100 * 1024];
    for server in [&ours, &theirs] {
        let mut sub = Conn::connect(server.port()).expect("connect");
        sub.call(&["SUBSCRIBE", "flood"]).expect("subscribe");
        let mut publisher = Conn::connect(server.port()).expect("connect");
        for _ in 0..400 {
            publisher
                .call(&[&b"PUBLISH"[..], b"flood", &payload])
                .expect("publish");
        }
        let deadline = Instant::now() + EXPECTED;
        loop {
            let reply = publisher
                .call(&["PUBSUB", "NUMSUB", "flood"])
                .expect("numsub");
            let count = reply.as_items().and_then(|items| items[1].as_int());
            if count == Some(0) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{:?}: the slow subscriber is still connected ({reply:?})",
                server.flavor()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The keyspace-notification mix: every command family rockslot implements.
const KEYSPACE_MIX: &[&str] = &[
    // HyperLogLog: a created key reports "new" before "pfadd"
    "PFADD hl a b",
    "PFADD hl a",
    "PFMERGE hm hl",
    // strings
    "SET s1 v",
    "SET s1 v2 EX 100",
    "SETNX s1 x",
    "SETNX s9 x",
    "SETEX s2 100 v",
    "PSETEX s3 100000 v",
    "GETSET s1 z",
    "APPEND s1 abc",
    "APPEND s4 new",
    "SETRANGE s1 1 QQ",
    "SETRANGE s5 0 \"\"",
    "INCR n",
    "INCRBY n 5",
    "DECR n",
    "DECRBY n 2",
    "INCRBYFLOAT f 1.5",
    "MSET m1 a m2 b",
    "MSETNX m3 c",
    "MSETNX m3 d",
    "GETDEL m1",
    "GETDEL m1",
    "GETEX m2 EX 100",
    "GETEX m2 PERSIST",
    "GETEX m2 PERSIST",
    "GETEX m3 PXAT 1",
    "SET kt v KEEPTTL",
    "SET kx v XX",
    "SET kx v NX GET",
    // bits
    "SETBIT b 7 1",
    "SETBIT b 7 1",
    "SETBIT b 7 0",
    "BITFIELD bf SET u8 0 255 GET u8 0",
    "BITFIELD bf SET u8 0 255",
    "BITFIELD bf GET u8 0",
    "BITOP OR dest b bf",
    "BITOP AND dest missing1 missing2",
    "BITOP AND dest2 missing1 missing2",
    // keys
    "DEL s2 missing s9",
    "UNLINK s3",
    "EXPIRE s1 100",
    "PEXPIRE s1 100000",
    "EXPIRE s1 100 NX",
    "EXPIREAT s1 1",
    "PERSIST n",
    "SET p 1 EX 100",
    "PERSIST p",
    "RENAME p p2",
    "RENAME p2 p2",
    "RENAMENX p2 n",
    "RENAMENX p2 p4",
    "SET r1 a",
    "SET r2 b",
    "RENAME r1 r2",
    "COPY p4 p5",
    "COPY p4 p5",
    "COPY p4 p5 REPLACE",
    "MOVE p5 1",
    "SELECT 1",
    "DEL p5",
    "SELECT 0",
    "EXISTS p4",
    // hashes
    "HSET h a 1 b 2",
    "HSETNX h a x",
    "HSETNX h c 3",
    "HINCRBY h a 5",
    "HINCRBYFLOAT h b 1.5",
    "HDEL h a zz",
    "HDEL h zz",
    "HDEL h b c",
    "HMSET h2 x 1",
    // sets
    "SADD st a b c",
    "SADD st a",
    "SREM st a",
    "SREM st zz",
    "SMOVE st st2 b",
    "SMOVE st st2 c",
    "SMOVE st2 st2 c",
    "SADD sp x",
    "SPOP sp",
    "SADD sp2 x y z",
    "SPOP sp2 0",
    "SPOP sp2 3",
    "SADD si a b",
    "SINTERSTORE si2 si st2",
    "SUNIONSTORE su si st2",
    "SDIFFSTORE sd si",
    "SDIFFSTORE sd missing",
    "SINTERSTORE sd missing si",
    "SINTERSTORE si2 si missing",
    // lists
    "RPUSH l a b c",
    "LPUSH l z",
    "LPUSHX nol x",
    "RPUSHX l d",
    "LINSERT l BEFORE a q",
    "LINSERT l BEFORE nope q",
    "LSET l 0 y",
    "LREM l 1 q",
    "LREM l 1 nope",
    "LTRIM l 0 10",
    "LPOP l",
    "RPOP l 2",
    "LPOP l 0",
    "LMOVE l l2 LEFT RIGHT",
    "RPOPLPUSH l2 l2",
    "LMPOP 1 l LEFT COUNT 10",
    "RPUSH l3 a",
    "LTRIM l3 1 0",
    "RPUSH l4 a",
    "RPOPLPUSH l4 l5",
    // lazy expiry
    "SET ex1 v PX 1",
    "SET ex2 v PX 1",
];

/// Commands run after a pause, so that the PX 1 keys above have expired.
const AFTER_EXPIRY: &[&str] = &["GET ex1", "DEL ex2", "FLUSHDB", "SWAPDB 0 1", "SET last v"];

/// The mix with every class (`A` leaves out `n` new-key and `m` key-miss events, so those get a
/// run each).
#[test]
fn keyspace_notifications() {
    for flags in ["KEA", "KEAn", "KEAm"] {
        let config = format!("CONFIG SET notify-keyspace-events {flags}");
        let mut steps = vec![
            Call(0, "DEBUG SET-ACTIVE-EXPIRE 0", 1),
            Call(0, leak(config), 1),
            Call(0, "CONFIG GET notify-keyspace-events", 1),
            Call(1, "PSUBSCRIBE __key*__:*", 1),
        ];
        for line in KEYSPACE_MIX {
            if line.starts_with("SPOP") {
                steps.push(CallUnrecorded(0, line, 1));
            } else {
                steps.push(Call(0, line, 1));
            }
        }
        steps.push(Sleep(50));
        steps.extend(AFTER_EXPIRY.iter().map(|line| Call(0, line, 1)));
        steps.push(Drain(1));
        check(&["--enable-debug-command", "yes"], 2, &steps);
    }
}

/// Steps hold `&'static str`; a test builds a handful of lines at run time.
fn leak(line: String) -> &'static str {
    Box::leak(line.into_boxed_str())
}

#[test]
fn keyspace_flags_select_channels_and_classes() {
    check(
        &[],
        2,
        &[
            Call(1, "PSUBSCRIBE __key*__:*", 1),
            Call(0, "CONFIG SET notify-keyspace-events Kg$", 1),
            Call(0, "CONFIG GET notify-keyspace-events", 1),
            Call(0, "SET a 1", 1),
            Call(0, "HSET h f v", 1),
            Call(0, "EXPIRE a 100", 1),
            Read(1, 2),
            Call(0, "CONFIG SET notify-keyspace-events Eh", 1),
            Call(0, "SET a 1", 1),
            Call(0, "HSET h f v", 1),
            Read(1, 1),
            Call(0, "CONFIG SET notify-keyspace-events \"\"", 1),
            Call(0, "SET a 1", 1),
            Quiet(1),
            Call(0, "CONFIG SET notify-keyspace-events AKEn", 1),
            Call(0, "CONFIG GET notify-keyspace-events", 1),
            Call(0, "CONFIG SET notify-keyspace-events gl$shzxetKEmdn", 1),
            Call(0, "CONFIG GET notify-keyspace-events", 1),
            Call(0, "CONFIG SET notify-keyspace-events Kq", 1),
            Call(0, "CONFIG GET notify-keyspace-events", 1),
            Call(0, "CONFIG SET notify-keyspace-events K$n", 1),
            Call(0, "SET newkey 1", 1),
            Call(0, "SET newkey 2", 1),
            Read(1, 3),
            Call(0, "CONFIG SET notify-keyspace-events Em", 1),
            Call(0, "GET missing", 1),
            Call(0, "SELECT 3", 1),
            Call(0, "MGET missing2 newkey", 1),
            Read(1, 3),
            Call(0, "CONFIG SET notify-keyspace-events \"\"", 1),
            Quiet(1),
        ],
    );
}

/// The active expire cycle publishes `expired` events too.
#[test]
fn active_expiry_publishes_expired_events() {
    let (ours, theirs) = servers(&["--notify-keyspace-events", "Ex"]);
    for server in [&ours, &theirs] {
        let mut sub = Conn::connect(server.port()).expect("connect");
        sub.call(&["SUBSCRIBE", "__keyevent@0__:expired"])
            .expect("subscribe");
        let mut conn = Conn::connect(server.port()).expect("connect");
        conn.call(&["SET", "gone", "v", "PX", "50"]).expect("SET");
        let (message, _) = read_frame(&mut sub, EXPECTED)
            .unwrap_or_else(|| panic!("{:?}: no expired event", server.flavor()));
        let items: Vec<_> = message
            .as_items()
            .unwrap_or_default()
            .iter()
            .map(|r| r.as_bytes().unwrap_or_default().to_vec())
            .collect();
        assert_eq!(
            items,
            vec![
                b"message".to_vec(),
                b"__keyevent@0__:expired".to_vec(),
                b"gone".to_vec()
            ],
            "{:?}",
            server.flavor()
        );
    }
}

//! Multi-client differential scenarios: transactions invalidated by other clients' writes, and
//! blocking commands served across clients (list and sorted-set pops, XREAD and XREADGROUP).
//!
//! A scenario is a list of steps over numbered connections. The same steps run against rockslot
//! and against real redis-server (in RESP2 and again in RESP3), each side recording a transcript:
//! one line per reply read, `(no reply)` where a client was expected to be blocked and nothing
//! arrived within [`QUIET`]. The transcripts must be identical, so the order in which blocked
//! clients are served, what each one receives, timeouts and WATCH outcomes are all compared with
//! Redis's. `DIFF_AGAINST_REDIS_ONLY=1` runs the scenarios against two redis-servers, to check
//! the scenarios themselves.

use std::time::Duration;

use super::{Cmd, Proto};
use crate::support::resp::{escape, Conn, Reply};
use crate::support::server::{Flavor, Server};

/// How long a client must stay silent to count as blocked.
const QUIET: Duration = Duration::from_millis(150);
/// Longest wait for a reply that is expected (a timeout firing, a client being served).
const EXPECTED: Duration = Duration::from_secs(5);

#[derive(Clone)]
enum Step {
    /// Sends a command on a client and reads its reply.
    Call(usize, &'static str),
    /// Sends a command without reading (the client is expected to block).
    Send(usize, &'static str),
    /// Reads the next reply of a client, waiting up to [`EXPECTED`].
    Read(usize),
    /// Records whether a client received anything within [`QUIET`].
    Quiet(usize),
    /// CLIENT UNBLOCK, sent by the first client naming the second one's id, with a reason.
    Unblock(usize, usize, &'static str),
    /// Records one `field:value` line of INFO, read by a client.
    Info(usize, &'static str),
    /// CLIENT KILL ID, sent by the first client naming the second one's id.
    Kill(usize, usize),
    Sleep(u64),
}
use Step::*;

fn run_side(
    flavor: Flavor,
    server: &Server,
    proto: Proto,
    clients: usize,
    steps: &[Step],
) -> Vec<String> {
    let mut conns: Vec<Conn> = (0..clients)
        .map(|_| Conn::connect(server.port()).expect("connect"))
        .collect();
    conns[0].call(&["FLUSHALL"]).expect("FLUSHALL");
    let mut ids = Vec::new();
    for conn in &mut conns {
        if proto == Proto::Resp3 {
            let hello = conn.call(&["HELLO", "3"]).expect("HELLO");
            assert!(
                matches!(hello, Reply::Map(_)),
                "{flavor:?}: HELLO 3 replied {hello:?}"
            );
        }
        ids.push(
            conn.call(&["CLIENT", "ID"])
                .expect("CLIENT ID")
                .as_int()
                .expect("id"),
        );
    }
    let mut transcript = Vec::new();
    let shown = |reply: std::io::Result<Option<(Reply, Vec<u8>)>>| match reply {
        Ok(Some((_, raw))) => escape(&raw),
        Ok(None) => "(no reply)".to_string(),
        Err(e) => format!("<{e}>"),
    };
    for step in steps {
        match step {
            Call(c, line) => {
                let cmd = Cmd::parse(line);
                conns[*c].send(&cmd.args).expect("send");
                let reply = conns[*c].poll_reply(EXPECTED);
                // A call Redis leaves unanswered is a mistake in the scenario (it blocked).
                let answered = matches!(reply, Ok(Some(_)));
                assert!(
                    answered || flavor != Flavor::Redis,
                    "scenario bug: Redis did not answer c{c} {line}"
                );
                transcript.push(format!("c{c} {line} -> {}", shown(reply)));
            }
            Send(c, line) => {
                conns[*c].send(&Cmd::parse(line).args).expect("send");
                transcript.push(format!("c{c} {line} (sent)"));
            }
            Read(c) => {
                let reply = conns[*c].poll_reply(EXPECTED);
                transcript.push(format!("c{c} read -> {}", shown(reply)));
            }
            Quiet(c) => {
                let reply = conns[*c].poll_reply(QUIET);
                transcript.push(format!("c{c} quiet -> {}", shown(reply)));
            }
            Unblock(by, target, reason) => {
                let id = ids[*target].to_string();
                let reply = conns[*by]
                    .send(&["CLIENT", "UNBLOCK", id.as_str(), reason])
                    .and_then(|()| conns[*by].poll_reply(EXPECTED));
                transcript.push(format!(
                    "c{by} CLIENT UNBLOCK c{target} {reason} -> {}",
                    shown(reply)
                ));
            }
            Info(c, field) => {
                let info = conns[*c].call(&["INFO", "everything"]).expect("INFO");
                let text =
                    String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
                let line = text
                    .lines()
                    .find(|l| l.split(':').next() == Some(*field))
                    .unwrap_or("(missing)")
                    .to_string();
                transcript.push(format!("c{c} INFO {line}"));
            }
            Kill(by, target) => {
                let id = ids[*target].to_string();
                let reply = conns[*by]
                    .send(&["CLIENT", "KILL", "ID", id.as_str()])
                    .and_then(|()| conns[*by].poll_reply(EXPECTED));
                transcript.push(format!("c{by} CLIENT KILL c{target} -> {}", shown(reply)));
            }
            Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
        }
    }
    transcript
}

fn scenario(clients: usize, steps: &[Step]) {
    let args = ["--save", "", "--appendonly", "no"];
    // As in `Pair::start`: a second redis-server as the subject checks the scenario itself.
    let subject_flavor = if std::env::var_os("DIFF_AGAINST_REDIS_ONLY").is_some() {
        Flavor::Redis
    } else {
        Flavor::Rockslot
    };
    let subject = Server::start(subject_flavor, args);
    let reference = Server::start(Flavor::Redis, args);
    for proto in [Proto::Resp2, Proto::Resp3] {
        // Both sides run at the same time so that waits overlap.
        let (ours, theirs) = std::thread::scope(|scope| {
            let ours = scope.spawn(|| run_side(subject_flavor, &subject, proto, clients, steps));
            let theirs = run_side(Flavor::Redis, &reference, proto, clients, steps);
            (ours.join().expect("subject side panicked"), theirs)
        });
        if ours != theirs {
            let mut report = format!("{proto:?} transcripts differ:\n");
            for i in 0..ours.len().max(theirs.len()) {
                let a = ours.get(i).map_or("", String::as_str);
                let b = theirs.get(i).map_or("", String::as_str);
                let mark = if a == b { "  " } else { "!!" };
                report.push_str(&format!("{mark} rockslot: {a}\n{mark} redis:    {b}\n"));
            }
            panic!("{report}");
        }
    }
}

#[test]
fn stream_commands_and_watch() {
    // Which stream commands invalidate another client's WATCH: Redis 7.0 signals a modified
    // key for XADD, XDEL, XTRIM, XSETID and a stream MKSTREAM creates, not for the
    // consumer-group commands.
    let mut steps = vec![Call(1, "XADD s 1-1 a 1"), Call(1, "XGROUP CREATE s g 0")];
    for command in [
        "XADD s 5-0 b 2",
        "XDEL s 5-0",
        "XTRIM s MAXLEN 5",
        "XSETID s 9-0",
        "XGROUP CREATE s g2 0",
        "XGROUP SETID s g2 0",
        "XGROUP CREATECONSUMER s g2 c",
        "XREADGROUP GROUP g2 c STREAMS s >",
        "XACK s g2 1-1",
        "XCLAIM s g2 d 0 1-1",
        "XAUTOCLAIM s g2 e 0 0",
        "XGROUP DELCONSUMER s g2 d",
        "XGROUP DESTROY s g",
        "XGROUP CREATE missing g 0 MKSTREAM",
    ] {
        let key = if command.contains("missing") {
            "missing"
        } else {
            "s"
        };
        steps.push(Call(
            0,
            if key == "s" {
                "WATCH s"
            } else {
                "WATCH missing"
            },
        ));
        steps.push(Call(0, "MULTI"));
        steps.push(Call(0, "PING"));
        steps.push(Call(1, command));
        steps.push(Call(0, "EXEC"));
    }
    scenario(2, &steps);
}

#[test]
fn watch_is_invalidated_by_other_clients() {
    scenario(
        2,
        &[
            // Another client's write.
            Call(0, "SET k 1"),
            Call(0, "WATCH k"),
            Call(1, "SET k 2"),
            Call(0, "MULTI"),
            Call(0, "INCR k"),
            Call(0, "EXEC"),
            // Untouched watch succeeds; EXEC unwatches, so a later write changes nothing.
            Call(0, "WATCH k"),
            Call(0, "MULTI"),
            Call(0, "INCR k"),
            Call(0, "EXEC"),
            Call(1, "SET k 5"),
            Call(0, "MULTI"),
            Call(0, "GET k"),
            Call(0, "EXEC"),
            // A write to an unrelated key; DEL of a missing key is no change.
            Call(0, "WATCH k missing"),
            Call(1, "SET other 1"),
            Call(1, "DEL missing"),
            Call(0, "MULTI"),
            Call(0, "GET k"),
            Call(0, "EXEC"),
            // DEL, LPUSH creating a key, and a write of the same value all count.
            Call(0, "WATCH k"),
            Call(1, "DEL k"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            Call(0, "WATCH newlist"),
            Call(1, "LPUSH newlist a"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            Call(0, "SET same v"),
            Call(0, "WATCH same"),
            Call(1, "SET same v"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            // UNWATCH and DISCARD forget the watched keys.
            Call(0, "WATCH same"),
            Call(0, "UNWATCH"),
            Call(1, "SET same w"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            // FLUSHDB, FLUSHALL and SWAPDB touch watched keys that exist.
            Call(0, "SET f 1"),
            Call(0, "WATCH f"),
            Call(1, "FLUSHDB"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            Call(0, "WATCH nothing-here"),
            Call(1, "FLUSHALL"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            Call(1, "SELECT 1"),
            Call(1, "SET s 1"),
            Call(0, "WATCH s"),
            Call(1, "SWAPDB 0 1"),
            Call(0, "MULTI"),
            Call(0, "GET s"),
            Call(0, "EXEC"),
            Call(1, "SWAPDB 0 1"),
            // Watched keys in another database than the writer's.
            Call(0, "WATCH s"),
            Call(1, "SET s 2"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
        ],
    );
}

#[test]
fn watch_and_expiry() {
    scenario(
        2,
        &[
            // A watched key that expires after WATCH fails the EXEC.
            Call(0, "SET e 1 PX 100"),
            Call(0, "WATCH e"),
            Sleep(200),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            // A key already expired when watched: its deletion changes nothing logically.
            Call(0, "DEBUG SET-ACTIVE-EXPIRE 0"),
            Call(0, "SET gone 1 PX 50"),
            Sleep(100),
            Call(0, "WATCH gone"),
            Call(1, "GET gone"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            // ... but recreating it is a change.
            Call(0, "SET gone2 1 PX 50"),
            Sleep(100),
            Call(0, "WATCH gone2"),
            Call(1, "SET gone2 2"),
            Call(0, "MULTI"),
            Call(0, "EXEC"),
            Call(0, "DEBUG SET-ACTIVE-EXPIRE 1"),
        ],
    );
}

#[test]
fn blocked_clients_are_served_in_order() {
    scenario(
        4,
        &[
            Send(0, "BLPOP q 0"),
            Quiet(0),
            Send(1, "BRPOP q other 0"),
            Quiet(1),
            Send(2, "BLPOP other q 0"),
            Quiet(2),
            // Three elements, three waiters: first come, first served.
            Call(3, "RPUSH q a b c"),
            Read(0),
            Read(1),
            Read(2),
            Call(3, "LLEN q"),
            // One element for two waiters: the second stays blocked.
            Send(0, "BLPOP q 0"),
            Send(1, "BLPOP q 0"),
            Quiet(1),
            Call(3, "LPUSH q x"),
            Read(0),
            Quiet(1),
            Call(3, "LPUSH q y"),
            Read(1),
            // A transaction pushing to two keys wakes their waiters after EXEC.
            Send(0, "BLPOP k1 0"),
            Send(1, "BLPOP k2 0"),
            Quiet(0),
            Call(3, "MULTI"),
            Call(3, "RPUSH k2 v2"),
            Call(3, "RPUSH k1 v1"),
            Call(3, "EXEC"),
            Read(0),
            Read(1),
            // A client blocked on several keys is served from the key the block wrote first.
            Send(0, "BRPOP c a 0"),
            Quiet(0),
            Call(3, "MULTI"),
            Call(3, "LPUSH a w"),
            Call(3, "LPUSH c 2 1"),
            Call(3, "EXEC"),
            Read(0),
            Send(0, "BRPOP e d 0"),
            Quiet(0),
            Call(3, "MULTI"),
            Call(3, "LPUSH d 1"),
            Call(3, "LPUSH e 2"),
            Call(3, "LPUSH d 3"),
            Call(3, "EXEC"),
            Read(0),
            // Pipelined requests after a blocking one wait for it.
            Send(0, "BLPOP late 0"),
            Send(0, "PING"),
            Quiet(0),
            Call(3, "RPUSH late 1"),
            Read(0),
            Read(0),
        ],
    );
}

#[test]
fn blocking_moves_and_multi_pops() {
    scenario(
        4,
        &[
            // BLMOVE chain: the element moved to dst wakes dst's waiter.
            Send(0, "BLMOVE src dst RIGHT LEFT 0"),
            Send(1, "BLPOP dst 0"),
            Quiet(0),
            Call(3, "RPUSH src 1 2"),
            Read(0),
            Read(1),
            Call(3, "LRANGE src 0 -1"),
            Call(3, "LRANGE dst 0 -1"),
            Send(0, "BRPOPLPUSH src2 dst2 0"),
            Quiet(0),
            Call(3, "RPUSH src2 z"),
            Read(0),
            Call(3, "LRANGE dst2 0 -1"),
            // BLMPOP with counts.
            Send(0, "BLMPOP 0 2 m1 m2 LEFT COUNT 2"),
            Quiet(0),
            Call(3, "RPUSH m2 a b c"),
            Read(0),
            Call(3, "LRANGE m2 0 -1"),
            // Immediate answers.
            Call(3, "RPUSH m2 d e f"),
            Call(0, "BLMPOP 0 2 m1 m2 RIGHT"),
            Call(0, "BLPOP m2 0"),
            Call(0, "BLMOVE m2 m1 LEFT LEFT 0"),
        ],
    );
}

#[test]
fn blocking_timeouts_errors_and_unblock() {
    scenario(
        3,
        &[
            Call(0, "BLPOP t 0.1"),
            Call(0, "BRPOP t 0.05"),
            Call(0, "BLMOVE t d LEFT LEFT 0.1"),
            Call(0, "BLMPOP 0.1 1 t LEFT"),
            Call(0, "BLPOP t -1"),
            Call(0, "BLPOP t abc"),
            Call(0, "BLPOP t inf"),
            Call(0, "BLPOP t 0.0001"),
            Call(0, "BLPOP t 1e16"),
            Call(0, "BLPOP t 1e400"),
            Call(0, "BLPOP t nan"),
            Call(0, "BLPOP t 0x1p-20"),
            Call(0, "BLMOVE t d UP LEFT 0"),
            Call(0, "BLMPOP 0 0 t LEFT"),
            Call(0, "BLMPOP 0 2 t LEFT"),
            Call(0, "BLMPOP x 1 t LEFT"),
            Call(0, "BLMPOP 0 1 t LEFT COUNT 0"),
            Call(0, "SET str x"),
            Call(0, "BLPOP str 0"),
            Call(0, "BLPOP missing str 0"),
            Call(0, "BLMOVE str d LEFT LEFT 0"),
            // CLIENT UNBLOCK with TIMEOUT and ERROR, and of a client that is not blocked.
            Send(1, "BLPOP u 0"),
            Quiet(1),
            Unblock(0, 1, "TIMEOUT"),
            Read(1),
            Send(1, "BLMOVE u v LEFT LEFT 0"),
            Quiet(1),
            Unblock(0, 1, "ERROR"),
            Read(1),
            Unblock(0, 1, "TIMEOUT"),
            // Keys deleted or replaced while a client is blocked do not wake it; a later push does.
            Send(1, "BLPOP w 0"),
            Quiet(1),
            Call(2, "SET w string"),
            Quiet(1),
            Call(2, "DEL w"),
            Call(2, "RPUSH w ok"),
            Read(1),
            // BLMOVE to a destination of the wrong type: the waiter gets WRONGTYPE.
            Call(2, "SET wrongdst x"),
            Send(1, "BLMOVE ws wrongdst LEFT LEFT 0"),
            Quiet(1),
            Call(2, "RPUSH ws e"),
            Read(1),
            Call(2, "LRANGE ws 0 -1"),
            // CLIENT REPLY SKIP silences the answer of the blocked command too.
            Send(0, "CLIENT REPLY SKIP"),
            Send(0, "BLPOP sk 0"),
            Quiet(0),
            Call(2, "RPUSH sk a"),
            Quiet(0),
            Call(2, "LLEN sk"),
            Call(0, "PING"),
            // Inside MULTI a blocking command answers at once.
            Call(0, "MULTI"),
            Call(0, "BLPOP never 0"),
            Call(0, "BLMOVE never d LEFT LEFT 0"),
            Call(0, "BLMPOP 0 1 never LEFT"),
            Call(0, "EXEC"),
            // Blocked clients are counted; a killed one is forgotten at once.
            Send(1, "BLPOP k1 k2 0"),
            Send(2, "BLPOP k2 100"),
            Quiet(2),
            Info(0, "blocked_clients"),
            Info(0, "clients_in_timeout_table"),
            Kill(0, 1),
            Info(0, "blocked_clients"),
            Call(0, "RPUSH k1 x"),
            Call(0, "LLEN k1"),
            Call(0, "RPUSH k2 y"),
            Read(2),
            Info(0, "blocked_clients"),
            // A client blocked with a timeout, served before it.
            Send(2, "BLPOP soon 5"),
            Quiet(2),
            Call(0, "RPUSH soon 1"),
            Read(2),
        ],
    );
}

#[test]
fn blocking_sorted_set_pops() {
    scenario(
        4,
        &[
            Send(0, "BZPOPMIN z1 z2 0"),
            Send(1, "BZPOPMAX z2 0"),
            Send(2, "BZMPOP 0 2 z2 z1 MAX COUNT 2"),
            Quiet(2),
            Call(3, "ZADD z2 1 a 2 b 3 c 4 d 5.5 e"),
            Read(0),
            Read(1),
            Read(2),
            Call(3, "ZRANGE z2 0 -1 WITHSCORES"),
            // Immediate answers, errors and timeouts.
            Call(3, "ZADD z2 1 a 2 b 3 c 4 d"),
            Call(0, "BZPOPMIN z2 0"),
            Call(0, "BZPOPMAX nothing z2 0"),
            Call(0, "BZMPOP 0 1 z2 MIN COUNT 10"),
            Call(0, "EXISTS z2"),
            Call(0, "BZPOPMIN z2 0.05"),
            Call(0, "BZMPOP 0.05 1 z2 MIN"),
            Call(0, "SET s x"),
            Call(0, "BZPOPMIN s 0"),
            Call(0, "BZMPOP 0 1 s MAX"),
            Call(0, "BZMPOP 0 1 z2 SIDEWAYS"),
            Call(0, "BZMPOP 0 0 z2 MIN"),
            Call(0, "BZPOPMIN z2 -1"),
            // A list pushed on a key a sorted-set waiter waits for does not serve it.
            Send(1, "BZPOPMIN mixed 0"),
            Quiet(1),
            Call(3, "RPUSH mixed x"),
            Quiet(1),
            Call(3, "DEL mixed"),
            Call(3, "ZADD mixed 7 m"),
            Read(1),
            // Inside MULTI.
            Call(0, "MULTI"),
            Call(0, "BZPOPMIN never 0"),
            Call(0, "BZMPOP 0 1 never MAX"),
            Call(0, "EXEC"),
        ],
    );
}

#[test]
fn blocking_xread() {
    scenario(
        4,
        &[
            Call(3, "XADD s 1-1 a 1"),
            // `$` is the last ID when the client blocks; a reader of several keys wakes when any
            // of them gets an entry, and every reader of the key is served by one XADD.
            Send(0, "XREAD BLOCK 0 STREAMS s $"),
            Quiet(0),
            Send(1, "XREAD COUNT 1 BLOCK 0 STREAMS other s $ $"),
            Quiet(1),
            // Entries after the ID already there: no blocking.
            Send(2, "XREAD BLOCK 0 STREAMS s 0-0"),
            Read(2),
            Call(3, "XADD s 2-1 b 2"),
            Read(0),
            Read(1),
            Send(0, "XREAD BLOCK 0 STREAMS s $"),
            Send(1, "XREAD BLOCK 0 STREAMS s 2-1"),
            Send(2, "XREAD BLOCK 0 STREAMS s 1-1"),
            Read(2),
            Quiet(0),
            Quiet(1),
            Call(3, "XADD s MAXLEN 1 3-0 c 3"),
            Read(0),
            Read(1),
            // Writes that add no entry do not wake a reader.
            Send(0, "XREAD BLOCK 0 STREAMS s $"),
            Quiet(0),
            Call(3, "XDEL s 3-0"),
            Call(3, "XTRIM s MAXLEN 0"),
            Call(3, "XSETID s 10-0"),
            Call(3, "XGROUP CREATE s g $"),
            Quiet(0),
            Call(3, "XADD s 11-0 d 4"),
            Read(0),
            // A deleted and recreated key: the reader still waits for IDs after its `$`.
            Send(0, "XREAD BLOCK 0 STREAMS s $"),
            Quiet(0),
            Call(3, "DEL s"),
            Quiet(0),
            Call(3, "XADD s 5-0 e 5"),
            Quiet(0),
            Call(3, "XADD s 12-0 f 6"),
            Read(0),
            // A key created by XADD while waited for.
            Send(1, "XREAD COUNT 5 BLOCK 0 STREAMS new 0"),
            Quiet(1),
            Call(3, "XADD new 1-0 g 7"),
            Read(1),
            // BLOCK 0 waits as long as it takes.
            Send(0, "XREAD BLOCK 0 STREAMS late $"),
            Sleep(300),
            Quiet(0),
            Call(3, "XADD late 5-5 x y"),
            Read(0),
            // Timeouts reply nil; bad timeouts and IDs are errors.
            Call(0, "XREAD BLOCK 100 STREAMS s $"),
            Call(0, "XREAD COUNT 2 BLOCK 50 STREAMS missing other 0 0"),
            Call(0, "XREAD BLOCK -1 STREAMS s $"),
            Call(0, "XREAD BLOCK abc STREAMS s $"),
            Call(0, "XREAD BLOCK 0 STREAMS s >"),
            Call(0, "XREAD BLOCK 0 STREAMS s"),
            Call(3, "SET str x"),
            Call(0, "XREAD BLOCK 0 STREAMS str $"),
            // A timeout served before it fires.
            Send(2, "XREAD BLOCK 5000 STREAMS soon $"),
            Quiet(2),
            Call(3, "XADD soon 1-0 a b"),
            Read(2),
            // CLIENT UNBLOCK of a blocked XREAD.
            Send(1, "XREAD BLOCK 0 STREAMS u $"),
            Quiet(1),
            Unblock(3, 1, "TIMEOUT"),
            Read(1),
            Send(1, "XREAD BLOCK 0 STREAMS u $"),
            Quiet(1),
            Unblock(3, 1, "ERROR"),
            Read(1),
        ],
    );
}

#[test]
fn blocking_xreadgroup() {
    scenario(
        4,
        &[
            Call(3, "XGROUP CREATE s g $ MKSTREAM"),
            // Consumers are served first come, first served; each new entry goes to one.
            Send(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >"),
            Quiet(0),
            Send(1, "XREADGROUP GROUP g c2 COUNT 1 BLOCK 0 STREAMS s >"),
            Quiet(1),
            Call(3, "XADD s 1-0 a 1"),
            Read(0),
            Quiet(1),
            Call(3, "XADD s 2-0 b 2"),
            Read(1),
            Send(1, "XREADGROUP GROUP g c2 BLOCK 0 STREAMS s >"),
            Quiet(1),
            Send(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >"),
            Quiet(0),
            Call(3, "XADD s 3-0 c 3"),
            Read(1),
            Quiet(0),
            Call(3, "XPENDING s g"),
            Call(3, "XINFO GROUPS s"),
            // NOACK leaves nothing pending.
            Call(3, "XADD s 4-0 d 4"),
            Read(0),
            Send(0, "XREADGROUP GROUP g c1 NOACK BLOCK 0 STREAMS s >"),
            Quiet(0),
            Call(3, "XADD s 5-0 e 5"),
            Read(0),
            Call(3, "XPENDING s g"),
            // An explicit ID reads the consumer's history and never blocks.
            Call(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s 0"),
            Call(0, "XREADGROUP GROUP g nobody BLOCK 0 STREAMS s 0"),
            Call(0, "XREADGROUP GROUP g c1 BLOCK 100 STREAMS s >"),
            Call(0, "XREADGROUP GROUP nogroup c1 BLOCK 0 STREAMS s >"),
            Call(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s $"),
            // XGROUP SETID while a consumer waits: the next entry serves it from the new ID.
            Send(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >"),
            Quiet(0),
            Call(3, "XGROUP SETID s g 3-0"),
            Quiet(0),
            Call(3, "XADD s 6-0 f 6"),
            Read(0),
            // The consumer deleted while it waits is created again when served.
            Send(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >"),
            Quiet(0),
            Call(3, "XGROUP DELCONSUMER s g c1"),
            Quiet(0),
            Call(3, "XADD s 7-0 g 7"),
            Read(0),
            Call(3, "XINFO GROUPS s"),
            Call(3, "XREADGROUP GROUP g c1 STREAMS s 0"),
            // The group destroyed, or the key deleted, while a consumer waits: an error.
            Send(0, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >"),
            Quiet(0),
            Call(3, "XGROUP DESTROY s g"),
            Read(0),
            Call(3, "XGROUP CREATE s g2 $"),
            Send(1, "XREADGROUP GROUP g2 c BLOCK 0 STREAMS s >"),
            Quiet(1),
            Call(3, "DEL s"),
            Read(1),
            // A key replaced by another type.
            Call(3, "XGROUP CREATE t g $ MKSTREAM"),
            Send(1, "XREADGROUP GROUP g c BLOCK 0 STREAMS t >"),
            Quiet(1),
            Call(3, "SET t x"),
            Read(1),
            // A timeout served before it fires, and CLIENT UNBLOCK.
            Call(3, "XGROUP CREATE v g $ MKSTREAM"),
            Send(2, "XREADGROUP GROUP g c BLOCK 5000 STREAMS v >"),
            Quiet(2),
            Call(3, "XADD v 1-0 a b"),
            Read(2),
            Send(2, "XREADGROUP GROUP g c BLOCK 0 STREAMS v >"),
            Quiet(2),
            Unblock(3, 2, "ERROR"),
            Read(2),
            Call(3, "XINFO STREAM v"),
        ],
    );
}

#[test]
fn blocking_streams_and_transactions() {
    scenario(
        3,
        &[
            // Inside MULTI a blocking read answers at once: nil, or what is there.
            Call(0, "XADD s 1-0 a 1"),
            Call(0, "XGROUP CREATE s g $"),
            Call(0, "MULTI"),
            Call(0, "XREAD BLOCK 0 STREAMS s $"),
            Call(0, "XREAD BLOCK 0 STREAMS s 0"),
            Call(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
            Call(0, "XREAD BLOCK 0 STREAMS missing 0"),
            Call(0, "EXEC"),
            // XADDs inside MULTI wake a reader after EXEC, with everything the EXEC added.
            Send(1, "XREAD BLOCK 0 STREAMS s $"),
            Send(2, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
            Quiet(2),
            Call(0, "MULTI"),
            Call(0, "XADD s 2-0 b 2"),
            Call(0, "XADD s 3-0 c 3"),
            Quiet(1),
            Call(0, "EXEC"),
            Read(1),
            Read(2),
            // An XADD and a DEL in one transaction: nothing to read at the end.
            Send(1, "XREAD BLOCK 0 STREAMS s $"),
            Quiet(1),
            Call(0, "MULTI"),
            Call(0, "XADD s 4-0 d 4"),
            Call(0, "DEL s"),
            Call(0, "EXEC"),
            Quiet(1),
            Call(0, "XADD s 5-0 e 5"),
            Read(1),
            // A reader of two keys, both written by one EXEC.
            Send(1, "XREAD BLOCK 0 STREAMS k1 k2 $ $"),
            Quiet(1),
            Call(0, "MULTI"),
            Call(0, "XADD k2 1-0 x 1"),
            Call(0, "XADD k1 1-0 y 2"),
            Call(0, "EXEC"),
            Read(1),
        ],
    );
}

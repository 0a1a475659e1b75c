//! Generated Pub/Sub differential test: proptest draws sequences of (client, command) over three
//! connections per server — subscribing and unsubscribing in all three namespaces, publishing,
//! PUBSUB introspection, PING, commands a RESP2 subscriber may not run, RESET — and runs each
//! sequence on rockslot and on redis-server side by side, in RESP2 and again in RESP3.
//!
//! Framing is deterministic: after every step each connection is sent `PING sentinel-<n>` and
//! read up to the sentinel's reply (a bulk string, or `["pong", "sentinel-<n>"]` from a RESP2
//! client in Pub/Sub mode). The step's own connection gets its command and the sentinel in one
//! write, and the other connections are pinged only once that sentinel has come back, so every
//! message the command published is already queued ahead of their sentinel replies. Every frame
//! each client received during a step, and the sentinel reply itself, must be byte for byte the
//! same on both servers.
//!
//! Only what Redis leaves to its hash tables is normalised, per step:
//! - UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments visit the client's subscriptions
//!   in hash-table order: the names in those confirmation frames are sorted, each frame keeping
//!   its position and its count;
//! - PUBSUB CHANNELS and SHARDCHANNELS list channels in hash-table order: the elements are sorted;
//! - PUBLISH walks Redis's pattern table in hash order, so a client with several matching
//!   patterns receives its `pmessage` frames in that order: each run of them is sorted.
//!
//! Reproducing a failure: the failing case's seed is recorded in
//! `tests/proptest-regressions/differential-pubsub-generated.txt` and replayed first on every
//! run; `PROPTEST_CASES=<n>` changes the number of sequences (default [`CASES`]).
//! `DIFF_AGAINST_REDIS_ONLY=1` compares two redis-servers, to check the harness itself.

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use proptest::bool::weighted;
use proptest::collection::vec;
use proptest::prop_oneof;
use proptest::sample::select;
use proptest::strategy::{BoxedStrategy, Just, Strategy};
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use super::generated::config;
use super::{cmd, Cmd, Pair, Proto};
use crate::support::resp::{encode_command, escape, Conn, Reply};
use crate::support::server::Server;

/// Sequences per run; each runs on fresh connections in RESP2 and in RESP3.
const CASES: u32 = 1000;
/// Longest sequence; lengths are uniform in `1..=MAX_LEN`.
const MAX_LEN: usize = 40;
const CLIENTS: usize = 3;
/// Longest wait for a frame that is expected (the sentinel reply always is).
const EXPECTED: Duration = Duration::from_secs(5);
/// More frames than this before the sentinel means the server is flooding the client.
const MAX_FRAMES: usize = 1000;
const REGRESSIONS: &str = "tests/proptest-regressions/differential-pubsub-generated.txt";

/// Channel names; `nx` matches `[cn]*` and `[^c]*`, `c1` is also a pattern matching itself.
const CHANNELS: &[&str] = &["c1", "c2", "news.x", "nx"];
const PATTERNS: &[&str] = &["c*", "news.*", "[cn]*", "*", "c1", "[^c]*"];
const MESSAGES: &[&str] = &["hi", "", "a b", "m\0z"];

/// One step: a command sent on one of the clients.
#[derive(Clone)]
struct Step {
    client: usize,
    cmd: Cmd,
}

/// `c1 SUBSCRIBE a b`: the command as redis-cli takes it, after its client.
impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{} {:?}", self.client, self.cmd)
    }
}

fn with_names(verb: &str, names: &[&str]) -> Cmd {
    let mut args = vec![verb.as_bytes().to_vec()];
    args.extend(names.iter().map(|n| n.as_bytes().to_vec()));
    Cmd::from_args(args)
}

/// Names for a (un)subscribe or NUMSUB: none now and then (unsubscribe from all, arity errors),
/// repeats allowed.
fn names(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(select(pool), 1..=3)]
}

/// `PUBSUB NUMSUB` or `PUBSUB SHARDNUMSUB` with 0-3 channels.
fn count_subscribers(sub: &'static str) -> impl Strategy<Value = Cmd> {
    names(CHANNELS).prop_map(move |n| with_names("PUBSUB", &[&[sub][..], &n[..]].concat()))
}

fn command() -> BoxedStrategy<Cmd> {
    let channel_verbs: &[&str] = &["SUBSCRIBE", "UNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE"];
    prop_oneof![
        8 => (select(channel_verbs), names(CHANNELS)).prop_map(|(v, n)| with_names(v, &n)),
        4 => (select(&["PSUBSCRIBE", "PUNSUBSCRIBE"][..]), names(PATTERNS))
            .prop_map(|(v, n)| with_names(v, &n)),
        8 => (select(&["PUBLISH", "SPUBLISH"][..]), select(CHANNELS), select(MESSAGES))
            .prop_map(|(v, c, m)| cmd!(v, c, m)),
        1 => Just(cmd!("PUBSUB", "CHANNELS")),
        1 => select(PATTERNS).prop_map(|p| cmd!("PUBSUB", "CHANNELS", p)),
        1 => Just(cmd!("PUBSUB", "SHARDCHANNELS")),
        1 => select(PATTERNS).prop_map(|p| cmd!("PUBSUB", "SHARDCHANNELS", p)),
        1 => count_subscribers("NUMSUB"),
        1 => count_subscribers("SHARDNUMSUB"),
        1 => Just(cmd!("PUBSUB", "NUMPAT")),
        1 => Just(cmd!("PING")),
        1 => select(MESSAGES).prop_map(|m| cmd!("PING", m)),
        1 => Just(cmd!("PING", "a", "b")),
        // Refused to a RESP2 subscriber, run by anyone else.
        1 => Just(cmd!("GET", "x")),
        1 => Just(cmd!("SET", "x", "1")),
        1 => Just(cmd!("RESET")),
    ]
    .boxed()
}

/// A command on a client; now and then in lower case (replies and errors name commands in
/// their own case).
fn step() -> impl Strategy<Value = Step> {
    (0..CLIENTS, command(), weighted(0.15)).prop_map(|(client, mut cmd, lower)| {
        if lower {
            let words = if cmd.args[0] == b"PUBSUB" { 2 } else { 1 };
            for word in cmd.args.iter_mut().take(words) {
                word.make_ascii_lowercase();
            }
        }
        Step { client, cmd }
    })
}

/// What one client received during a step: the frames before the sentinel's reply, then that
/// reply (or what went wrong instead), all escaped.
type Received = Vec<String>;

/// The generated pub/sub sequences run on the differential [`Pair`].
impl Pair {
    /// Runs the steps over RESP2 and then RESP3; describes the first step that differs. A
    /// subject that crashed is restarted so that shrinking can go on.
    fn run_pubsub(&mut self, steps: &[Step]) -> Result<(), String> {
        for proto in [Proto::Resp2, Proto::Resp3] {
            if let Err(failure) = self.run_pubsub_proto(proto, steps) {
                return Err(self.with_liveness(failure));
            }
        }
        Ok(())
    }

    fn run_pubsub_proto(&self, proto: Proto, steps: &[Step]) -> Result<(), String> {
        let mut ours =
            open(&self.subject, proto).map_err(|e| format!("{}: {e}", self.subject_name()))?;
        let mut theirs = open(&self.reference, proto).map_err(|e| format!("redis: {e}"))?;
        for (n, step) in steps.iter().enumerate() {
            let mine = run_step(&mut ours, n, step);
            let reference = run_step(&mut theirs, n, step);
            if mine != reference {
                return Err(self.report(proto, &steps[..=n], &mine, &reference));
            }
        }
        Ok(())
    }

    fn report(
        &self,
        proto: Proto,
        steps: &[Step],
        mine: &[Received],
        theirs: &[Received],
    ) -> String {
        let last = steps.len() - 1;
        let mut out = format!("{proto:?} sequence (step #{last} differs):\n");
        for (n, step) in steps.iter().enumerate() {
            out.push_str(&format!("  #{n} {step:?}\n"));
        }
        out.push_str(&format!("what each client received during step #{last}:\n"));
        for (client, (a, b)) in mine.iter().zip(theirs).enumerate() {
            let mark = if a == b { "  " } else { "!!" };
            out.push_str(&format!(
                "{mark} c{client} {:<9} {}\n{mark} c{client} {:<9} {}\n",
                format!("{}:", self.subject_name()),
                a.join(" | "),
                "redis:",
                b.join(" | ")
            ));
        }
        out
    }
}

/// Fresh connections on an empty server in `proto`, once the subscriptions of the previous
/// case's (closed) connections are gone.
fn open(server: &Server, proto: Proto) -> Result<Vec<Conn>, String> {
    let mut conns = Vec::new();
    for _ in 0..CLIENTS {
        conns.push(Conn::connect(server.port()).map_err(|e| e.to_string())?);
    }
    let call = |conn: &mut Conn, args: &[&str]| conn.call(args).map_err(|e| e.to_string());
    let flushed = call(&mut conns[0], &["FLUSHALL"])?;
    if flushed != Reply::Simple(b"OK".to_vec()) {
        return Err(format!("FLUSHALL replied {flushed:?}"));
    }
    let deadline = Instant::now() + EXPECTED;
    loop {
        let numpat = call(&mut conns[0], &["PUBSUB", "NUMPAT"])?;
        let channels = call(&mut conns[0], &["PUBSUB", "CHANNELS"])?;
        let shard = call(&mut conns[0], &["PUBSUB", "SHARDCHANNELS"])?;
        let empty = |r: &Reply| r.as_items().is_some_and(<[Reply]>::is_empty);
        if numpat == Reply::Integer(0) && empty(&channels) && empty(&shard) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "subscriptions of closed connections remain: NUMPAT {numpat:?}, CHANNELS \
                 {channels:?}, SHARDCHANNELS {shard:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if proto == Proto::Resp3 {
        for conn in &mut conns {
            let hello = call(conn, &["HELLO", "3"])?;
            if !matches!(hello, Reply::Map(_)) {
                return Err(format!("HELLO 3 replied {hello:?}"));
            }
        }
    }
    Ok(conns)
}

/// Frames as read: decoded, and their exact bytes.
type Frames = Vec<(Reply, Vec<u8>)>;

/// Runs one step on one server and returns what each client received, normalised.
fn run_step(conns: &mut [Conn], n: usize, step: &Step) -> Vec<Received> {
    let sentinel = format!("sentinel-{n}");
    let ping = ["PING", sentinel.as_str()];
    let mut outcomes: Vec<(Frames, String)> = vec![(Vec::new(), String::new()); CLIENTS];
    // The command and a sentinel in one write: once the sentinel's reply is back, the command
    // has run and queued its messages to the other clients.
    let mut request = Vec::new();
    encode_command(&step.cmd.args, &mut request);
    encode_command(&ping, &mut request);
    let c = step.client;
    let sent = conns[c].send_raw(&request);
    outcomes[c] = until_sentinel(&mut conns[c], sent, &sentinel);
    // The other clients are pinged together, then read one by one.
    let mut sent = Vec::new();
    for (j, conn) in conns.iter_mut().enumerate() {
        sent.push(if j == c { Ok(()) } else { conn.send(&ping) });
    }
    for (j, (conn, sent)) in conns.iter_mut().zip(sent).enumerate() {
        if j != c {
            outcomes[j] = until_sentinel(conn, sent, &sentinel);
        }
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(j, (mut frames, end))| {
            normalise(&step.cmd, j == c, &mut frames);
            let mut lines: Received = frames.iter().map(|(_, raw)| escape(raw)).collect();
            lines.push(end);
            lines
        })
        .collect()
}

/// Reads frames until the reply to `PING <sentinel>`: the frames before it, and the sentinel
/// reply escaped (or what happened instead, in angle brackets).
fn until_sentinel(conn: &mut Conn, sent: std::io::Result<()>, sentinel: &str) -> (Frames, String) {
    let mut frames = Vec::new();
    if let Err(e) = sent {
        return (frames, format!("<send: {e}>"));
    }
    while frames.len() < MAX_FRAMES {
        match conn.poll_reply(EXPECTED) {
            Ok(Some((reply, raw))) if is_sentinel(&reply, sentinel) => {
                return (frames, format!("sentinel {}", escape(&raw)));
            }
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, format!("<no sentinel reply within {EXPECTED:?}>")),
            Err(e) => return (frames, format!("<{e}>")),
        }
    }
    (frames, format!("<more than {MAX_FRAMES} frames>"))
}

fn is_sentinel(reply: &Reply, sentinel: &str) -> bool {
    let is = |r: &Reply| r.as_bytes() == Some(sentinel.as_bytes());
    match reply {
        Reply::Bulk(_) => is(reply),
        Reply::Array(Some(items)) => {
            items.len() == 2 && items[0].as_bytes() == Some(b"pong") && is(&items[1])
        }
        _ => false,
    }
}

/// The per-step normalisations of the module documentation. A frame is rewritten only when
/// re-encoding it gives back exactly the bytes received, so the framing stays compared.
fn normalise(cmd: &Cmd, own: bool, frames: &mut [(Reply, Vec<u8>)]) {
    let name = cmd.args[0].to_ascii_lowercase();
    let sub = cmd.args.get(1).map(|a| a.to_ascii_lowercase());
    match (name.as_slice(), sub.as_deref()) {
        (b"unsubscribe" | b"punsubscribe" | b"sunsubscribe", None) if own => {
            sort_unsubscribed_names(&name, frames);
        }
        (b"pubsub", Some(b"channels" | b"shardchannels")) if own => {
            for frame in frames.iter_mut() {
                if let Reply::Array(Some(items)) = &frame.0 {
                    let mut items = items.clone();
                    items.sort();
                    replace(frame, Reply::Array(Some(items)));
                }
            }
        }
        (b"publish", _) => {
            let is_pmessage = |f: &(Reply, Vec<u8>)| {
                f.0.as_items()
                    .and_then(|items| items.first())
                    .and_then(Reply::as_bytes)
                    == Some(b"pmessage")
            };
            let mut start = 0;
            while start < frames.len() {
                let run = frames[start..]
                    .iter()
                    .take_while(|f| is_pmessage(f))
                    .count();
                if encodes_back(&frames[start..start + run]) {
                    frames[start..start + run].sort_by(|a, b| a.1.cmp(&b.1));
                }
                start += run.max(1);
            }
        }
        _ => {}
    }
}

/// Unsubscribing from all: the names of the confirmation frames sorted, each frame keeping its
/// place and count.
fn sort_unsubscribed_names(verb: &[u8], frames: &mut [(Reply, Vec<u8>)]) {
    let confirmation = |reply: &Reply| match reply.as_items() {
        Some([kind, Reply::Bulk(Some(name)), Reply::Integer(_)])
            if kind.as_bytes() == Some(verb) =>
        {
            Some(name.clone())
        }
        _ => None,
    };
    let at: Vec<usize> = (0..frames.len())
        .filter(|&i| confirmation(&frames[i].0).is_some())
        .collect();
    if !encodes_back(&at.iter().map(|&i| frames[i].clone()).collect::<Vec<_>>()) {
        return;
    }
    let mut names: Vec<Vec<u8>> = at
        .iter()
        .filter_map(|&i| confirmation(&frames[i].0))
        .collect();
    names.sort();
    for (&i, name) in at.iter().zip(names) {
        let renamed = match &frames[i].0 {
            Reply::Push(items) => Reply::Push(vec![
                items[0].clone(),
                Reply::Bulk(Some(name)),
                items[2].clone(),
            ]),
            Reply::Array(Some(items)) => Reply::Array(Some(vec![
                items[0].clone(),
                Reply::Bulk(Some(name)),
                items[2].clone(),
            ])),
            _ => continue,
        };
        replace(&mut frames[i], renamed);
    }
}

fn encodes_back(frames: &[(Reply, Vec<u8>)]) -> bool {
    frames
        .iter()
        .all(|(reply, raw)| encode(reply).as_deref() == Some(raw.as_slice()))
}

/// Replaces a frame by `reply` if the frame's bytes are exactly its decoded reply's encoding.
fn replace(frame: &mut (Reply, Vec<u8>), reply: Reply) {
    if encode(&frame.0).as_deref() != Some(frame.1.as_slice()) {
        return;
    }
    if let Some(raw) = encode(&reply) {
        *frame = (reply, raw);
    }
}

/// Encodes the reply types Pub/Sub frames are made of; `None` for any other.
fn encode(reply: &Reply) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let aggregate = |out: &mut Vec<u8>, kind: char, items: &[Reply]| {
        out.extend_from_slice(format!("{kind}{}\r\n", items.len()).as_bytes());
        for item in items {
            out.extend_from_slice(&encode(item)?);
        }
        Some(())
    };
    match reply {
        Reply::Bulk(Some(b)) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
        Reply::Null => out.extend_from_slice(b"_\r\n"),
        Reply::Integer(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
        Reply::Array(Some(items)) => aggregate(&mut out, '*', items)?,
        Reply::Push(items) => aggregate(&mut out, '>', items)?,
        _ => return None,
    }
    Some(out)
}

#[test]
fn pubsub() {
    // The runner wants an `Fn`; the servers are reused across cases, hence the RefCell.
    let servers = RefCell::new(Pair::start());
    let mut runner = TestRunner::new(config(REGRESSIONS, CASES));
    let result = runner.run(&vec(step(), 1..=MAX_LEN), |steps| {
        servers
            .borrow_mut()
            .run_pubsub(&steps)
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, _)) => {
            panic!("generated Pub/Sub sequence differs after shrinking:\n{reason}")
        }
        Err(TestError::Abort(reason)) => panic!("generated Pub/Sub run aborted: {reason}"),
    }
}

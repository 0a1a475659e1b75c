//! Generated multi-client differential test of blocking commands: proptest draws sequences of
//! (client, command) steps over four client connections, and the same steps drive rockslot and
//! real redis-server, in RESP2 and again in RESP3.
//!
//! Commands: the blocking list and sorted-set pops with timeout 0 (BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) over one to three keys of a tiny pool, and the
//! writes that serve them or leave them blocked: LPUSH, RPUSH, ZADD, DEL, SET (a key of the wrong
//! type), MULTI ... EXEC blocks of those, LRANGE / ZRANGE reads and CLIENT UNBLOCK.
//!
//! Which clients are blocked is never guessed from timing. A fifth, RESP2 observer connection
//! per server reads `INFO clients` (`blocked_clients`) and `CLIENT LIST` (the `b` flag of each
//! client id). After a blocking command is sent, the runner waits until either its reply arrives
//! or the observer sees exactly the expected clients blocked. After every step it waits until two
//! consecutive observations agree with each other and with `blocked_clients`, then reads exactly
//! one reply from each client that is no longer blocked. Both servers run each step before the
//! next is drawn up, and their transcripts (per step: the replies each client received, which
//! clients blocked or were served, with every reply's raw bytes) must be identical; the runner's
//! choices depend on the blocked set, so the first difference ends the case.
//!
//! A step names a client; a command for a blocked client goes to the next unblocked one (in
//! index order, wrapping). With all four blocked, a blocking step is skipped and writes and reads
//! go through the observer. At the end every client still blocked gets CLIENT UNBLOCK and its
//! reply is read, then every client sends PING, which reads any reply that was sent but never
//! expected.
//!
//! `PROPTEST_CASES=<n>` changes the number of sequences (default [`CASES`]); failures are
//! recorded in [`REGRESSIONS`] and replayed first on every run, as in `generated.rs`.
//! `DIFF_AGAINST_REDIS_ONLY=1` makes the subject a second redis-server, to check the harness.
//! A difference that shows only sometimes cannot be shrunk: proptest then reports the sequence
//! as first drawn. (MULTI blocks writing several keys found one such: keys an EXEC made ready
//! were served in hash-map order instead of the order they were written.)

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use super::generated::MAX_SHRINK_MS;
use super::generators::{with, word};
use super::{cmd, Cmd, Pair, Proto};
use crate::support::resp::{escape, Conn, Reply};
use crate::support::server::{Flavor, Server};

/// Sequences per run; each runs on both servers in RESP2 and in RESP3.
const CASES: u32 = 512;
/// Longest generated sequence.
const MAX_STEPS: usize = 30;
const REGRESSIONS: &str = "tests/proptest-regressions/differential-blocking-generated.txt";
/// Client connections per server (the observer comes on top).
const CLIENTS: usize = 4;
/// Longest wait for the observer to see a settled state, or for a blocking command to either
/// answer or show up as blocked.
const SETTLE: Duration = Duration::from_secs(2);
/// Longest wait for a reply that must come (a write's, a served or unblocked client's).
const EXPECTED: Duration = Duration::from_secs(5);
/// One short wait for a reply while polling (in practice a kernel timer tick or two).
const POLL: Duration = Duration::from_millis(1);

const LISTS: &[&str] = &["a", "b", "c"];
const ZSETS: &[&str] = &["z1", "z2"];
const ALL_KEYS: &[&str] = &["a", "b", "c", "z1", "z2"];

#[derive(Clone, Debug)]
enum Action {
    /// A blocking command: answered at once or blocks its client.
    Block(Cmd),
    /// Non-blocking commands sent one after the other by one client (a single write, or a
    /// MULTI ... EXEC block), each reply read before the next is sent.
    Write(Vec<Cmd>),
    /// CLIENT UNBLOCK (sent by the observer) of the first blocked client from the step's index.
    Unblock { error: bool },
}

#[derive(Clone)]
struct Step {
    client: usize,
    action: Action,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Action::Block(cmd) => write!(f, "c{}: {cmd:?}", self.client),
            Action::Write(cmds) => {
                write!(f, "c{}: ", self.client)?;
                for (i, cmd) in cmds.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{cmd:?}")?;
                }
                Ok(())
            }
            Action::Unblock { error } => write!(
                f,
                "CLIENT UNBLOCK (first blocked from c{}){}",
                self.client,
                if *error { " ERROR" } else { "" }
            ),
        }
    }
}

fn key_from(pool: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![4 => word(pool), 1 => word(ALL_KEYS)].boxed()
}

fn keys_of(pool: &'static [&'static str]) -> BoxedStrategy<Vec<Vec<u8>>> {
    vec(word(pool), 1..=3).boxed()
}

/// `numkeys key... ` for BLMPOP and BZMPOP.
fn counted(keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut args = vec![keys.len().to_string().into_bytes()];
    args.extend(keys);
    args
}

fn count_option() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        Just(Vec::new()),
        (1..=3u8).prop_map(|n| vec![b"COUNT".to_vec(), n.to_string().into_bytes()]),
    ]
    .boxed()
}

fn blocking() -> BoxedStrategy<Cmd> {
    let end = || word(&["LEFT", "RIGHT"]);
    prop_oneof![
        3 => (word(&["BLPOP", "BRPOP"]), keys_of(LISTS))
            .prop_map(|(c, k)| with(with(cmd![c], k), vec![b"0".to_vec()])),
        2 => (word(LISTS), word(LISTS), end(), end())
            .prop_map(|(s, d, f, t)| cmd!["BLMOVE", s, d, f, t, "0"]),
        1 => (word(LISTS), word(LISTS)).prop_map(|(s, d)| cmd!["BRPOPLPUSH", s, d, "0"]),
        2 => (keys_of(LISTS), end(), count_option()).prop_map(|(k, e, n)| {
            with(with(cmd!["BLMPOP", "0"], counted(k)), [vec![e], n].concat())
        }),
        2 => (word(&["BZPOPMIN", "BZPOPMAX"]), keys_of(ZSETS))
            .prop_map(|(c, k)| with(with(cmd![c], k), vec![b"0".to_vec()])),
        1 => (keys_of(ZSETS), word(&["MIN", "MAX"]), count_option()).prop_map(|(k, e, n)| {
            with(with(cmd!["BZMPOP", "0"], counted(k)), [vec![e], n].concat())
        }),
    ]
    .boxed()
}

/// One write; a MULTI block holds one to three of them.
fn write() -> BoxedStrategy<Cmd> {
    let element = || word(&["x", "y", "w", "1", "2"]);
    prop_oneof![
        6 => (word(&["RPUSH", "LPUSH"]), key_from(LISTS), vec(element(), 1..=3))
            .prop_map(|(c, k, e)| with(cmd![c, k], e)),
        4 => (key_from(ZSETS), vec((0..4u8, word(&["m", "n", "o"])), 1..=3)).prop_map(
            |(k, members)| {
                let args = members
                    .into_iter()
                    .flat_map(|(score, member)| [score.to_string().into_bytes(), member])
                    .collect();
                with(cmd!["ZADD", k], args)
            }
        ),
        1 => vec(word(ALL_KEYS), 1..=3).prop_map(|k| with(cmd!["DEL"], k)),
        1 => word(ALL_KEYS).prop_map(|k| cmd!["SET", k, "x"]),
    ]
    .boxed()
}

fn action() -> BoxedStrategy<Action> {
    prop_oneof![
        8 => blocking().prop_map(Action::Block),
        7 => write().prop_map(|c| Action::Write(vec![c])),
        2 => vec(write(), 1..=3).prop_map(|cmds| {
            Action::Write([vec![cmd!["MULTI"]], cmds, vec![cmd!["EXEC"]]].concat())
        }),
        1 => word(LISTS).prop_map(|k| Action::Write(vec![cmd!["LRANGE", k, "0", "-1"]])),
        1 => word(ZSETS)
            .prop_map(|k| Action::Write(vec![cmd!["ZRANGE", k, "0", "-1", "WITHSCORES"]])),
        1 => any::<bool>().prop_map(|error| Action::Unblock { error }),
    ]
    .boxed()
}

fn steps() -> BoxedStrategy<Vec<Step>> {
    vec(
        (0..CLIENTS, action()).prop_map(|(client, action)| Step { client, action }),
        1..=MAX_STEPS,
    )
    .boxed()
}

#[test]
fn blocking_sequences() {
    let mut config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        max_shrink_time: MAX_SHRINK_MS,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    let servers = RefCell::new(Pair::start());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&steps(), |steps| {
        servers
            .borrow_mut()
            .run_blocking(&steps)
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, _)) => {
            panic!("generated blocking sequence differs after shrinking:\n{reason}")
        }
        Err(TestError::Abort(reason)) => panic!("generated blocking run aborted: {reason}"),
    }
}

/// The generated blocking sequences run on the differential [`Pair`].
impl Pair {
    fn run_blocking(&mut self, steps: &[Step]) -> Result<(), String> {
        for proto in [Proto::Resp2, Proto::Resp3] {
            if let Err(failure) = self.run_blocking_proto(proto, steps) {
                return Err(self.with_liveness(format!(
                    "{proto:?}, steps:\n{}{failure}",
                    steps
                        .iter()
                        .map(|s| format!("  {s:?}\n"))
                        .collect::<String>()
                )));
            }
        }
        Ok(())
    }

    fn run_blocking_proto(&self, proto: Proto, steps: &[Step]) -> Result<(), String> {
        let subject_name = match self.subject.flavor() {
            Flavor::Rockslot => "rockslot",
            Flavor::Redis => "redis#2",
        };
        let mut sides = [
            Side::open(subject_name, &self.subject, proto)?,
            Side::open("redis", &self.reference, proto)?,
        ];
        let mut blocked = [false; CLIENTS];
        let mut transcripts: [Vec<String>; 2] = Default::default();
        for (i, step) in steps.iter().enumerate() {
            let mut outcomes = Vec::new();
            for (side, transcript) in sides.iter_mut().zip(&mut transcripts) {
                let (lines, now_blocked) = side.step(step, &blocked);
                transcript.push(format!("step {i}: {step:?}"));
                transcript.extend(lines);
                outcomes.push(now_blocked);
            }
            if transcripts[0] != transcripts[1] || outcomes[0] != outcomes[1] {
                return Err(report(&sides, &transcripts));
            }
            blocked = outcomes[0];
        }
        for (side, transcript) in sides.iter_mut().zip(&mut transcripts) {
            transcript.push("end: CLIENT UNBLOCK every blocked client".into());
            transcript.extend(side.unblock_all(&blocked));
        }
        if transcripts[0] != transcripts[1] {
            return Err(report(&sides, &transcripts));
        }
        Ok(())
    }
}

fn report(sides: &[Side; 2], transcripts: &[Vec<String>; 2]) -> String {
    let [ours, theirs] = transcripts;
    let mut out = format!(
        "transcripts differ ({} vs {}):\n",
        sides[0].name, sides[1].name
    );
    for i in 0..ours.len().max(theirs.len()) {
        let a = ours.get(i).map_or("", String::as_str);
        let b = theirs.get(i).map_or("", String::as_str);
        if a == b {
            out.push_str(&format!("   {a}\n"));
        } else {
            out.push_str(&format!(
                "!! {:<9} {a}\n!! {:<9} {b}\n",
                format!("{}:", sides[0].name),
                format!("{}:", sides[1].name)
            ));
        }
    }
    out
}

/// Who performs a step.
#[derive(Clone, Copy)]
enum Actor {
    Client(usize),
    Observer,
    Skip,
}

/// Four clients and an observer on one server.
struct Side {
    name: &'static str,
    clients: Vec<Conn>,
    ids: Vec<String>,
    observer: Conn,
}

impl Side {
    fn open(name: &'static str, server: &Server, proto: Proto) -> Result<Side, String> {
        let fail = |e: std::io::Error| format!("{name}: {e}");
        let mut observer = Conn::connect(server.port()).map_err(fail)?;
        let flushed = observer.call_raw(&["FLUSHALL"]).map_err(fail)?;
        if flushed != b"+OK\r\n" {
            return Err(format!("{name}: FLUSHALL replied {}", escape(&flushed)));
        }
        let mut clients = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..CLIENTS {
            let mut conn = Conn::connect(server.port()).map_err(fail)?;
            if proto == Proto::Resp3 {
                let hello = conn.call(&["HELLO", "3"]).map_err(fail)?;
                if !matches!(hello, Reply::Map(_)) {
                    return Err(format!("{name}: HELLO 3 replied {hello:?}"));
                }
            }
            let id = conn.call(&["CLIENT", "ID"]).map_err(fail)?;
            ids.push(
                id.as_int()
                    .ok_or_else(|| format!("{name}: CLIENT ID replied {id:?}"))?
                    .to_string(),
            );
            clients.push(conn);
        }
        let mut side = Side {
            name,
            clients,
            ids,
            observer,
        };
        // Clients of the previous case may still be blocked until their disconnect is noticed.
        let deadline = Instant::now() + SETTLE;
        loop {
            match side.observe() {
                Ok((0, _)) => break,
                Ok((n, _)) if Instant::now() > deadline => {
                    return Err(format!("{name}: {n} stale blocked clients"))
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        Ok(side)
    }

    /// `blocked_clients` of INFO and, per client, whether CLIENT LIST flags it `b`.
    fn observe(&mut self) -> Result<(usize, [bool; CLIENTS]), String> {
        let info = self
            .observer
            .call(&["INFO", "clients"])
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no blocked_clients in INFO: {info:?}"))?;
        let list = self
            .observer
            .call(&["CLIENT", "LIST"])
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(list.as_bytes().unwrap_or_default()).into_owned();
        let mut flagged = [false; CLIENTS];
        for line in text.lines() {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            };
            if let (Some(id), Some(flags)) = (field("id"), field("flags")) {
                if let Some(i) = self.ids.iter().position(|ours| ours == id) {
                    flagged[i] = flags.contains('b');
                }
            }
        }
        Ok((count, flagged))
    }

    /// Runs one step; returns the transcript lines and the clients blocked afterwards.
    fn step(&mut self, step: &Step, blocked: &[bool; CLIENTS]) -> (Vec<String>, [bool; CLIENTS]) {
        let next_unblocked = (0..CLIENTS)
            .map(|k| (step.client + k) % CLIENTS)
            .find(|&c| !blocked[c]);
        let mut lines = Vec::new();
        let mut now_blocked = *blocked;
        match &step.action {
            Action::Block(cmd) => match next_unblocked.map_or(Actor::Skip, Actor::Client) {
                Actor::Client(c) => {
                    let outcome = self.send_blocking(c, cmd, blocked);
                    if outcome.is_none() {
                        now_blocked[c] = true;
                    }
                    lines.push(format!(
                        "c{c} {cmd:?} -> {}",
                        outcome.unwrap_or_else(|| "(blocked)".into())
                    ));
                }
                _ => lines.push("skipped: every client is blocked".into()),
            },
            Action::Write(cmds) => {
                let actor = next_unblocked.map_or(Actor::Observer, Actor::Client);
                for cmd in cmds {
                    let (label, conn) = match actor {
                        Actor::Client(c) => (format!("c{c}"), &mut self.clients[c]),
                        _ => ("observer".to_string(), &mut self.observer),
                    };
                    let reply = conn
                        .send(&cmd.args)
                        .and_then(|()| conn.poll_reply(EXPECTED));
                    lines.push(format!("{label} {cmd:?} -> {}", shown(reply)));
                }
            }
            Action::Unblock { error } => {
                let target = (0..CLIENTS)
                    .map(|k| (step.client + k) % CLIENTS)
                    .find(|&c| blocked[c])
                    .unwrap_or(step.client);
                let mut args = vec!["CLIENT", "UNBLOCK", self.ids[target].as_str()];
                if *error {
                    args.push("ERROR");
                }
                let reply = self
                    .observer
                    .send(&args)
                    .and_then(|()| self.observer.poll_reply(EXPECTED));
                lines.push(format!(
                    "observer CLIENT UNBLOCK c{target}{} -> {}",
                    if *error { " ERROR" } else { "" },
                    shown(reply)
                ));
            }
        }
        self.settle(&mut now_blocked, &mut lines);
        (lines, now_blocked)
    }

    /// Sends a blocking command on client `c` and waits until it either answers (the reply,
    /// shown) or is seen blocked together with the clients already blocked (`None`).
    fn send_blocking(&mut self, c: usize, cmd: &Cmd, blocked: &[bool; CLIENTS]) -> Option<String> {
        if let Err(e) = self.clients[c].send(&cmd.args) {
            return Some(format!("<send: {e}>"));
        }
        let mut expected = *blocked;
        expected[c] = true;
        let expected_count = expected.iter().filter(|b| **b).count();
        let deadline = Instant::now() + SETTLE;
        loop {
            // The observer first: a read that finds nothing waits for a whole timer tick.
            match self.observe() {
                Ok((count, flagged)) if count == expected_count && flagged == expected => {
                    return None
                }
                Ok(_) => {}
                Err(e) => return Some(format!("<observer: {e}>")),
            }
            match self.clients[c].poll_reply(POLL) {
                Ok(None) if Instant::now() < deadline => {}
                Ok(None) => return Some("<neither answered nor blocked>".into()),
                reply => return Some(shown(reply)),
            }
        }
    }

    /// Waits until two consecutive observations agree with each other and with
    /// `blocked_clients`, then reads the reply of every client no longer blocked. A reply sent
    /// to a client still blocked is not looked for here (a read that finds nothing costs a
    /// whole timer tick); it is read in place of a later expected reply, or at the latest by
    /// the PING that ends every client's transcript, so it shows as a difference anyway.
    fn settle(&mut self, blocked: &mut [bool; CLIENTS], lines: &mut Vec<String>) {
        let deadline = Instant::now() + SETTLE;
        let mut previous = None;
        let flagged = loop {
            let seen = match self.observe() {
                Ok(seen) => seen,
                Err(e) => {
                    lines.push(format!("<observer: {e}>"));
                    return;
                }
            };
            let (count, flagged) = seen;
            let consistent = count == flagged.iter().filter(|b| **b).count();
            if consistent && previous == Some(seen) {
                break flagged;
            }
            if Instant::now() > deadline {
                lines.push(format!(
                    "<unsettled: blocked_clients {count}, flagged {flagged:?}>"
                ));
                break flagged;
            }
            if previous.is_some() {
                std::thread::sleep(Duration::from_millis(5));
            }
            previous = Some(seen);
        };
        for c in 0..CLIENTS {
            match (blocked[c], flagged[c]) {
                (true, false) => {
                    let reply = self.clients[c].poll_reply(EXPECTED);
                    lines.push(format!("  c{c} answered -> {}", shown(reply)));
                }
                (false, true) => lines.push(format!("  c{c} blocked unexpectedly")),
                (false, false) | (true, true) => {}
            }
        }
        *blocked = flagged;
    }

    /// CLIENT UNBLOCK for every client still blocked, each reply read; then a PING on every
    /// client, which reads any reply that was sent but never expected.
    fn unblock_all(&mut self, blocked: &[bool; CLIENTS]) -> Vec<String> {
        let mut lines = Vec::new();
        for c in (0..CLIENTS).filter(|&c| blocked[c]) {
            let reply = self
                .observer
                .send(&["CLIENT", "UNBLOCK", self.ids[c].as_str()])
                .and_then(|()| self.observer.poll_reply(EXPECTED));
            lines.push(format!("observer CLIENT UNBLOCK c{c} -> {}", shown(reply)));
            let reply = self.clients[c].poll_reply(EXPECTED);
            lines.push(format!("  c{c} answered -> {}", shown(reply)));
        }
        for (c, conn) in self.clients.iter_mut().enumerate() {
            let reply = conn
                .send(&["PING"])
                .and_then(|()| conn.poll_reply(EXPECTED));
            lines.push(format!("c{c} PING -> {}", shown(reply)));
        }
        lines
    }
}

fn shown(reply: std::io::Result<Option<(Reply, Vec<u8>)>>) -> String {
    match reply {
        Ok(Some((_, raw))) => escape(&raw),
        Ok(None) => "(no reply)".to_string(),
        Err(e) => format!("<{e}>"),
    }
}

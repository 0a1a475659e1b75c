//! Differential testing: every command goes to rockslot (the subject) and to Debian's
//! redis-server 7.0.15 (the reference) over separate connections, and the replies must agree.
//!
//! Replies are compared byte for byte. The few commands whose replies legitimately differ between
//! two correct servers are normalised by name in [`Check::for_command`] and nowhere else:
//! - KEYS returns keys in hash-table order, so both sides are sorted;
//! - SCAN cursors are implementation details, so a SCAN is driven to completion on each side and
//!   the sorted sets of keys are compared; SSCAN likewise, and HSCAN comparing sorted (field,
//!   value) pairs;
//! - TTL, PTTL, EXPIRETIME and PEXPIRETIME after a *relative* EXPIRE depend on when each server
//!   ran the command, so non-negative values may differ by [`TIME_TOLERANCE_S`] seconds. Tests
//!   that need exact expiry times use absolute PEXPIREAT values and [`Cmd::exact`].
//!
//! A generator may also mark one command [`Check::Unordered`] or [`Check::UnorderedPairs`] with
//! [`Cmd::checked`] when the order depends on state it cannot know, e.g. HGETALL of a hash that
//! may have left Redis's ordered listpack form for its hash table.
//!
//! Stream consumer groups remember when entries were delivered and consumers last seen, and
//! XPENDING's extended form, XINFO CONSUMERS and XINFO STREAM FULL show those times; the stream
//! generator marks them [`Check::StreamTimes`], which lets those integers alone differ.
//!
//! Commands whose replies cannot be compared at all (RANDOMKEY, INFO, TIME, CLIENT ID, HELLO's
//! server details) are kept out of the sequences.
//!
//! Each sequence runs twice, once over RESP2 and once over RESP3 (HELLO 3 first), each time after
//! FLUSHALL and on fresh connections, so per-connection state (SELECT, protocol) starts clean.
//!
//! `DIFF_AGAINST_REDIS_ONLY=1` makes the subject a second redis-server. It exists to check the
//! harness itself (two identical servers must never differ) and is not meant for CI.

mod generated;
mod generated_aof;
mod generated_blocking;
mod generated_pubsub;
mod generators;
mod handwritten;
mod handwritten_digest;
mod handwritten_dump;
mod handwritten_geo;
mod handwritten_hll;
mod handwritten_lists;
mod handwritten_sets;
mod handwritten_streams;
mod handwritten_zsets;
mod multiclient;

use std::fmt;

use crate::support::resp::{escape, Conn, Reply};
use crate::support::server::{Flavor, Server, LOG_TAIL_LINES};

/// Slack for expiry times read back after a relative EXPIRE: the two servers run the command a
/// few microseconds apart, but a loaded machine can stall either process.
const TIME_TOLERANCE_S: i64 = 5;
/// A SCAN that has not finished after this many calls is looping.
const MAX_SCAN_CALLS: usize = 10_000;

/// How both servers of a comparison run. No snapshots or AOF: the comparison is about replies,
/// and background saves would only add noise to the logs. DEBUG is allowed for DEBUG DIGEST,
/// the whole-dataset check.
pub const SERVER_ARGS: [&str; 6] = [
    "--save",
    "",
    "--appendonly",
    "no",
    "--enable-debug-command",
    "yes",
];

/// How the replies to one command are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Exact,
    /// Element order of the (array or set) reply is unspecified.
    Unordered,
    /// The reply is (field, value) pairs in unspecified order: a RESP2 flat array or a RESP3 map
    /// (HGETALL), or an array of 2-element arrays (RESP3 HRANDFIELD ... WITHVALUES).
    UnorderedPairs,
    /// Non-negative integers may differ by `tolerance`, in the command's unit.
    Time {
        tolerance: i64,
    },
    /// SCAN: iterate to cursor 0 on each side, compare the sorted, deduplicated keys.
    ScanAll,
    /// Stream replies with times in milliseconds (idle times and timestamps of deliveries and
    /// consumers), which may differ by [`TIME_TOLERANCE_S`] seconds; everything else is exact.
    /// The times are the non-negative integers labelled `idle` or `seen-time` (a map key, or
    /// the string before them in a RESP2 array) and the delivery time of a pending entry, the
    /// integer before the delivery count in `[id, consumer, time, count]` (XPENDING, XINFO
    /// STREAM FULL's group PEL) and `[id, time, count]` (a consumer's PEL).
    StreamTimes,
}

impl Check {
    fn for_command(name: &[u8]) -> Check {
        match name.to_ascii_lowercase().as_slice() {
            b"keys" => Check::Unordered,
            b"scan" | b"hscan" | b"sscan" | b"zscan" => Check::ScanAll,
            b"ttl" | b"expiretime" => Check::Time {
                tolerance: TIME_TOLERANCE_S,
            },
            b"pttl" | b"pexpiretime" => Check::Time {
                tolerance: TIME_TOLERANCE_S * 1000,
            },
            _ => Check::Exact,
        }
    }
}

/// One command of a sequence.
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd {
    pub args: Vec<Vec<u8>>,
    pub check: Check,
}

impl Cmd {
    pub fn from_args(args: Vec<Vec<u8>>) -> Cmd {
        let check = Check::for_command(args.first().map(Vec::as_slice).unwrap_or_default());
        Cmd { args, check }
    }

    /// Splits a line like redis-cli does: words separated by spaces, `"..."` groups a word and
    /// may be empty. Byte escapes are not needed by the hand-written sequences, so not supported.
    pub fn parse(line: &str) -> Cmd {
        let mut args = Vec::new();
        let mut rest = line.trim_start();
        while !rest.is_empty() {
            let (word, tail) = match rest.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted
                        .find('"')
                        .unwrap_or_else(|| panic!("unbalanced {line}"));
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => rest.split_at(rest.find(' ').unwrap_or(rest.len())),
            };
            args.push(word.as_bytes().to_vec());
            rest = tail.trim_start();
        }
        Cmd::from_args(args)
    }

    /// Compares the reply byte for byte even if the command is normally normalised.
    pub fn exact(mut self) -> Cmd {
        self.check = Check::Exact;
        self
    }

    /// Compares the reply as `check` says instead of the command's usual way.
    pub fn checked(mut self, check: Check) -> Cmd {
        self.check = check;
        self
    }
}

/// Builds a [`Cmd`] from arguments of any byte-like types.
macro_rules! cmd {
    ($($arg:expr),+ $(,)?) => {
        $crate::differential::Cmd::from_args(vec![$(AsRef::<[u8]>::as_ref(&$arg).to_vec()),+])
    };
}
pub(crate) use cmd;

/// Prints the command the way redis-cli accepts it, so a failing sequence can be pasted there.
impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let plain = !arg.is_empty()
                && arg
                    .iter()
                    .all(|b| b.is_ascii_graphic() && *b != b'"' && *b != b'\'' && *b != b'\\');
            if plain {
                f.write_str(&String::from_utf8_lossy(arg))?;
            } else {
                // redis-cli reads the same escapes inside double quotes.
                write!(f, "\"{}\"", escape(arg))?;
            }
        }
        if self.check
            != Check::for_command(self.args.first().map(Vec::as_slice).unwrap_or_default())
        {
            write!(f, "  (compared {:?})", self.check)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// The subject and the reference server.
pub struct Pair {
    subject: Server,
    reference: Server,
}

impl Pair {
    pub fn start() -> Pair {
        let subject_flavor = if std::env::var_os("DIFF_AGAINST_REDIS_ONLY").is_some() {
            Flavor::Redis
        } else {
            Flavor::Rockslot
        };
        let args = SERVER_ARGS;
        Pair {
            subject: Server::start(subject_flavor, args),
            reference: Server::start(Flavor::Redis, args),
        }
    }

    /// Runs `cmds` over RESP2 and then over RESP3; panics with the transcript on a difference.
    pub fn check(&mut self, cmds: &[Cmd]) {
        if let Err(failure) = self.run_sequence(cmds) {
            panic!("{failure}");
        }
    }

    /// Sends `bytes` unchanged (inline commands, malformed frames) to both servers on fresh RESP2
    /// connections, compares the next `replies` replies, then whether each closes the connection.
    pub fn check_raw(&mut self, bytes: &[u8], replies: usize, then_closes: bool) {
        let mut session = self.session(Proto::Resp2).unwrap_or_else(|e| panic!("{e}"));
        let mut outcomes = Vec::new();
        for conn in [&mut session.subject, &mut session.reference] {
            let mut outcome = String::new();
            let sent = conn.send_raw(bytes);
            for _ in 0..replies {
                match sent
                    .as_ref()
                    .map_err(|e| e.to_string())
                    .and_then(|()| conn.read_reply().map_err(|e| e.to_string()))
                {
                    Ok((_, raw)) => outcome.push_str(&escape(&raw)),
                    Err(e) => outcome.push_str(&format!("<{e}>")),
                }
            }
            if then_closes {
                if let Err(e) = conn.expect_closed() {
                    outcome.push_str(&format!("<not closed: {e}>"));
                }
            }
            outcomes.push(outcome);
        }
        if let Err(failure) =
            session.compare_shown(outcomes[0] == outcomes[1], &outcomes[0], &outcomes[1])
        {
            panic!("raw request \"{}\": {failure}", escape(bytes));
        }
    }

    /// Runs `cmds` over RESP2 and then over RESP3 and describes the first difference. A subject
    /// that crashed is restarted, so the caller (proptest shrinking) can keep using the pair.
    pub fn run_sequence(&mut self, cmds: &[Cmd]) -> Result<(), String> {
        for proto in [Proto::Resp2, Proto::Resp3] {
            let result = self.session(proto).and_then(|mut session| {
                for (i, cmd) in cmds.iter().enumerate() {
                    session
                        .run(cmd)
                        .map_err(|e| transcript(proto, &cmds[..=i], &e))?;
                }
                Ok(())
            });
            if let Err(failure) = result {
                return Err(self.with_liveness(failure));
            }
        }
        Ok(())
    }

    /// Opens one connection per server speaking `proto`, after emptying both datasets.
    fn session(&mut self, proto: Proto) -> Result<Session, String> {
        let mut conns = Vec::new();
        for server in [&self.subject, &self.reference] {
            let name = format!("{:?}", server.flavor());
            let mut conn = Conn::connect(server.port()).map_err(|e| format!("{name}: {e}"))?;
            let flushed = conn
                .call_raw(&["FLUSHALL"])
                .map_err(|e| format!("{name}: {e}"))?;
            if flushed != b"+OK\r\n" {
                return Err(format!("{name}: FLUSHALL replied {}", escape(&flushed)));
            }
            if proto == Proto::Resp3 {
                // HELLO's reply names the server and connection id, so it is not compared.
                let hello = conn
                    .call(&["HELLO", "3"])
                    .map_err(|e| format!("{name}: {e}"))?;
                if !matches!(hello, Reply::Map(_)) {
                    return Err(format!("{name}: HELLO 3 replied {hello:?}"));
                }
            }
            conns.push(conn);
        }
        let reference = conns.pop().expect("two connections");
        let subject = conns.pop().expect("two connections");
        Ok(Session {
            subject,
            reference,
            subject_name: self.subject_name().into(),
            queued: None,
        })
    }

    /// How transcripts name the subject: rockslot, or a second Redis when checking the harness.
    fn subject_name(&self) -> &'static str {
        match self.subject.flavor() {
            Flavor::Rockslot => "rockslot",
            Flavor::Redis => "redis#2",
        }
    }

    fn with_liveness(&mut self, mut failure: String) -> String {
        for (role, server) in [
            ("subject", &mut self.subject),
            ("reference", &mut self.reference),
        ] {
            if !server.is_running() {
                failure.push_str(&format!(
                    "\n{role} {:?} EXITED; the end of its log:\n{}",
                    server.flavor(),
                    server.log_tail(LOG_TAIL_LINES)
                ));
                server.start_again();
            }
        }
        failure
    }
}

fn transcript(proto: Proto, cmds: &[Cmd], failure: &str) -> String {
    let mut out = format!("{proto:?} sequence (last command differs):\n");
    for cmd in cmds {
        out.push_str(&format!("  {cmd:?}\n"));
    }
    out.push_str(failure);
    out
}

/// A pair of connections, one per server, on which commands are compared.
pub struct Session {
    subject: Conn,
    reference: Conn,
    subject_name: String,
    /// Inside MULTI: how each queued command's element of EXEC's reply is compared.
    queued: Option<Vec<Check>>,
}

impl Session {
    pub fn run(&mut self, cmd: &Cmd) -> Result<(), String> {
        let name = cmd.args[0].to_ascii_lowercase();
        let queueing = self.queued.is_some() && !DRIVES_MULTI.contains(&name.as_slice());
        if cmd.check == Check::ScanAll && !queueing {
            let ours = scan_all(&mut self.subject, &cmd.args)
                .map_err(|e| format!("{}: {e}", self.subject_name))?;
            let theirs =
                scan_all(&mut self.reference, &cmd.args).map_err(|e| format!("redis: {e}"))?;
            return self.compare_shown(ours == theirs, &ours, &theirs);
        }
        let (ours_reply, ours) = self.exchange(cmd, true)?;
        let (theirs_reply, theirs) = self.exchange(cmd, false)?;
        let same = if queueing {
            // Queued inside MULTI: the reply is QUEUED or a queueing error; the command's own
            // comparison applies to its element of EXEC's reply.
            if ours == b"+QUEUED\r\n" {
                if let Some(checks) = self.queued.as_mut() {
                    checks.push(cmd.check);
                }
            }
            ours == theirs
        } else {
            match (name.as_slice(), self.queued.take()) {
                (b"exec", Some(checks)) => match (&ours_reply, &theirs_reply) {
                    (Reply::Array(Some(a)), Reply::Array(Some(b)))
                        if a.len() == checks.len() && b.len() == checks.len() =>
                    {
                        checks
                            .iter()
                            .zip(a.iter().zip(b))
                            .all(|(check, (a, b))| equivalent(*check, a, b))
                    }
                    _ => ours == theirs,
                },
                (b"multi", queued) => {
                    self.queued = queued.or_else(|| (ours == b"+OK\r\n").then(Vec::new));
                    ours == theirs
                }
                // A DISCARD refused for its arity leaves the transaction open.
                (b"discard", queued) if ours_reply.is_error() => {
                    self.queued = queued;
                    ours == theirs
                }
                (b"discard" | b"reset" | b"exec", _) => ours == theirs,
                (_, queued) => {
                    self.queued = queued;
                    match cmd.check {
                        Check::Exact | Check::ScanAll => ours == theirs,
                        check => equivalent(check, &ours_reply, &theirs_reply),
                    }
                }
            }
        };
        self.compare_shown(same, &escape(&ours), &escape(&theirs))
    }

    fn exchange(&mut self, cmd: &Cmd, subject: bool) -> Result<(Reply, Vec<u8>), String> {
        let (conn, name) = if subject {
            (&mut self.subject, self.subject_name.as_str())
        } else {
            (&mut self.reference, "redis")
        };
        conn.send(&cmd.args)
            .and_then(|()| conn.read_reply())
            .map_err(|e| format!("{name}: {e}"))
    }

    /// `ours` and `theirs` are already printable (escaped bytes or sorted key lists).
    fn compare_shown(&self, same: bool, ours: &str, theirs: &str) -> Result<(), String> {
        if same {
            return Ok(());
        }
        Err(format!(
            "replies differ:\n  {:<9} {ours}\n  {:<9} {theirs}",
            format!("{}:", self.subject_name),
            "redis:"
        ))
    }
}

/// Runs `commands` on a fresh server of `flavor` started with `notify-keyspace-events KEA`, and
/// returns each command's reply followed by the keyspace events (`__keyevent@0__:<event>` and
/// key) a pattern subscriber received after it: what a test compares between the two servers.
pub fn keyspace_events(flavor: Flavor, commands: &[&str]) -> Vec<String> {
    let cmds: Vec<Cmd> = commands.iter().map(|line| Cmd::parse(line)).collect();
    keyspace_events_of(flavor, &cmds)
}

/// [`keyspace_events`] for commands with arbitrary bytes (DUMP payloads).
pub fn keyspace_events_of(flavor: Flavor, commands: &[Cmd]) -> Vec<String> {
    let server = Server::start(flavor, ["--notify-keyspace-events", "KEA"]);
    let mut sub = Conn::connect(server.port()).expect("connect");
    sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"])
        .expect("psubscribe");
    let mut conn = Conn::connect(server.port()).expect("connect");
    let mut seen = Vec::new();
    for cmd in commands {
        let reply = conn.call(&cmd.args).expect("call");
        seen.push(format!("{cmd:?} -> {reply:?}"));
        while let Some((frame, _)) = sub
            .poll_reply(std::time::Duration::from_millis(100))
            .expect("read event")
        {
            let items: Vec<String> = frame
                .as_items()
                .unwrap_or_default()
                .iter()
                .skip(2)
                .map(|item| escape(item.as_bytes().unwrap_or_default()))
                .collect();
            seen.push(items.join(" "));
        }
    }
    seen
}

/// Commands that are not queued inside MULTI.
const DRIVES_MULTI: &[&[u8]] = &[b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"];

/// Whether two decoded replies agree under `check`. A SCAN page inside EXEC's reply cannot be
/// driven to the end, so there only the presence of an error is compared.
fn equivalent(check: Check, ours: &Reply, theirs: &Reply) -> bool {
    match check {
        Check::Exact => ours == theirs,
        Check::ScanAll => ours.is_error() == theirs.is_error(),
        Check::Unordered => sorted(ours.clone()) == sorted(theirs.clone()),
        Check::UnorderedPairs => sorted_pairs(ours.clone()) == sorted_pairs(theirs.clone()),
        Check::Time { tolerance } => close_times(ours, theirs, tolerance),
        Check::StreamTimes => same_but_stream_times(ours, theirs),
    }
}

/// Non-negative integers within `tolerance` of each other; anything else must be equal.
fn close_times(ours: &Reply, theirs: &Reply, tolerance: i64) -> bool {
    match (ours, theirs) {
        (Reply::Integer(a), Reply::Integer(b)) if *a >= 0 && *b >= 0 => {
            a.abs_diff(*b) <= tolerance.unsigned_abs()
        }
        _ => ours == theirs,
    }
}

/// [`Check::StreamTimes`]: the replies have the same shape and agree everywhere but in times.
fn same_but_stream_times(ours: &Reply, theirs: &Reply) -> bool {
    let tolerance = TIME_TOLERANCE_S * 1000;
    match (ours, theirs) {
        (Reply::Array(Some(a)), Reply::Array(Some(b))) if a.len() == b.len() => {
            let pel_time = pending_entry_time(a);
            a.iter().zip(b).enumerate().all(|(i, (x, y))| {
                let labelled = i > 0 && is_time_label(&a[i - 1]);
                if labelled || pel_time == Some(i) {
                    close_times(x, y, tolerance)
                } else {
                    same_but_stream_times(x, y)
                }
            })
        }
        (Reply::Map(a), Reply::Map(b)) if a.len() == b.len() => {
            a.iter().zip(b).all(|((ka, va), (kb, vb))| {
                ka == kb
                    && if is_time_label(ka) {
                        close_times(va, vb, tolerance)
                    } else {
                        same_but_stream_times(va, vb)
                    }
            })
        }
        _ => ours == theirs,
    }
}

fn is_time_label(reply: &Reply) -> bool {
    matches!(reply, Reply::Bulk(Some(s)) | Reply::Simple(s) if s == b"idle" || s == b"seen-time")
}

/// The index of the delivery time in a pending entry: `[id, consumer, time, count]` or
/// `[id, time, count]`, an ID string first and two integers last.
fn pending_entry_time(items: &[Reply]) -> Option<usize> {
    let is_id = |r: &Reply| {
        r.as_bytes().is_some_and(|s| {
            s.contains(&b'-') && s.iter().all(|b| b.is_ascii_digit() || *b == b'-')
        })
    };
    let n = items.len();
    let shaped = (n == 3 || n == 4)
        && is_id(&items[0])
        && matches!(items[n - 2], Reply::Integer(_))
        && matches!(items[n - 1], Reply::Integer(_));
    shaped.then_some(n - 2)
}

fn sorted(reply: Reply) -> Reply {
    match reply {
        Reply::Array(Some(mut items)) => {
            items.sort();
            Reply::Array(Some(items))
        }
        Reply::Set(mut items) => {
            items.sort();
            Reply::Set(items)
        }
        other => other,
    }
}

/// [`Check::UnorderedPairs`]: a flat array of fields and values is sorted pair by pair, a map
/// by entry, an array of pairs by item.
fn sorted_pairs(reply: Reply) -> Reply {
    match reply {
        Reply::Array(Some(items)) if items.iter().all(|i| i.as_items().is_none()) => {
            let mut pairs: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
            pairs.sort();
            Reply::Array(Some(pairs.concat()))
        }
        Reply::Map(mut entries) => {
            entries.sort();
            Reply::Map(entries)
        }
        other => sorted(other),
    }
}

/// Drives `SCAN 0 <options>` (or `HSCAN` / `SSCAN key 0 <options>`) to cursor 0. Returns the
/// sorted keys or members (HSCAN: the sorted (field, value) pairs), or the error reply's text.
fn scan_all(conn: &mut Conn, args: &[Vec<u8>]) -> Result<String, String> {
    let mut args = args.to_vec();
    // ZSCAN pages are (member, score) pairs, like HSCAN's.
    let hscan = args[0].eq_ignore_ascii_case(b"hscan") || args[0].eq_ignore_ascii_case(b"zscan");
    let cursor_at = if hscan || args[0].eq_ignore_ascii_case(b"sscan") {
        2
    } else {
        1
    };
    let mut keys = Vec::new();
    for _ in 0..MAX_SCAN_CALLS {
        let reply = conn.call(&args).map_err(|e| e.to_string())?;
        if reply.is_error() {
            return Ok(format!("{reply:?}"));
        }
        let page = reply
            .as_items()
            .filter(|items| items.len() == 2)
            .ok_or_else(|| format!("SCAN reply is not [cursor, keys]: {reply:?}"))?;
        let cursor = page[0]
            .as_bytes()
            .ok_or_else(|| format!("SCAN cursor is not a string: {reply:?}"))?;
        let page_keys = page[1]
            .as_items()
            .ok_or_else(|| format!("SCAN keys are not an array: {reply:?}"))?;
        keys.extend(page_keys.iter().cloned());
        if cursor == b"0" {
            if hscan {
                let mut pairs: Vec<&[Reply]> = keys.chunks(2).collect();
                pairs.sort();
                pairs.dedup();
                return Ok(format!("{pairs:?}"));
            }
            keys.sort();
            keys.dedup();
            return Ok(format!("{keys:?}"));
        }
        args[cursor_at] = cursor.to_vec();
    }
    Err(format!("SCAN did not finish in {MAX_SCAN_CALLS} calls"))
}

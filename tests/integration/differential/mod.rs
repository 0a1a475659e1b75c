//! Differential testing: every command goes to rockslot (the subject) and to Debian's
//! redis-server 7.0.15 (the reference) over separate connections, and the replies must agree.
//!
//! Replies are compared byte for byte. The few commands whose replies legitimately differ between
//! two correct servers are normalised by name in [`Check::for_command`] and nowhere else:
//! - KEYS returns keys in hash-table order, so both sides are sorted;
//! - SCAN cursors are implementation details, so a SCAN is driven to completion on each side and
//!   the sorted sets of keys are compared;
//! - TTL, PTTL, EXPIRETIME and PEXPIRETIME after a *relative* EXPIRE depend on when each server
//!   ran the command, so non-negative values may differ by [`TIME_TOLERANCE_S`] seconds. Tests
//!   that need exact expiry times use absolute PEXPIREAT values and [`Cmd::exact`].
//! Commands whose replies cannot be compared at all (RANDOMKEY, INFO, TIME, CLIENT ID, HELLO's
//! server details) are kept out of the sequences.
//!
//! Each sequence runs twice, once over RESP2 and once over RESP3 (HELLO 3 first), each time after
//! FLUSHALL and on fresh connections, so per-connection state (SELECT, protocol) starts clean.
//!
//! `DIFF_AGAINST_REDIS_ONLY=1` makes the subject a second redis-server. It exists to check the
//! harness itself (two identical servers must never differ) and is not meant for CI.

mod generated;
mod generators;
mod handwritten;

use std::fmt;

use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

/// Slack for expiry times read back after a relative EXPIRE: the two servers run the command a
/// few microseconds apart, but a loaded machine can stall either process.
const TIME_TOLERANCE_S: i64 = 5;
/// A SCAN that has not finished after this many calls is looping.
const MAX_SCAN_CALLS: usize = 10_000;

/// How the replies to one command are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Exact,
    /// Element order of the (array or set) reply is unspecified.
    Unordered,
    /// Non-negative integers may differ by `tolerance`, in the command's unit.
    Time { tolerance: i64 },
    /// SCAN: iterate to cursor 0 on each side, compare the sorted, deduplicated keys.
    ScanAll,
}

impl Check {
    fn for_command(name: &[u8]) -> Check {
        match name.to_ascii_lowercase().as_slice() {
            b"keys" => Check::Unordered,
            b"scan" => Check::ScanAll,
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
                    let end = quoted.find('"').unwrap_or_else(|| panic!("unbalanced {line}"));
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
                let escaped: String = arg
                    .iter()
                    .map(|&b| match b {
                        b'"' => "\\\"".to_string(),
                        b'\\' => "\\\\".to_string(),
                        b' ' => " ".to_string(),
                        b if b.is_ascii_graphic() => (b as char).to_string(),
                        b => format!("\\x{b:02x}"),
                    })
                    .collect();
                write!(f, "\"{escaped}\"")?;
            }
        }
        if self.check != Check::for_command(self.args.first().map(Vec::as_slice).unwrap_or_default()) {
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
        // No snapshots or AOF: the comparison is about replies, and background saves would only
        // add noise to the logs.
        let args = ["--save", "", "--appendonly", "no"];
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
                return Err(format!("{name}: FLUSHALL replied {}", show(&flushed)));
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
            subject_name: format!("{:?}", self.subject.flavor()).to_lowercase(),
        })
    }

    fn with_liveness(&mut self, mut failure: String) -> String {
        for (role, server) in [("subject", &mut self.subject), ("reference", &mut self.reference)]
        {
            if !server.is_running() {
                failure.push_str(&format!(
                    "\n{role} {:?} EXITED; its log:\n{}",
                    server.flavor(),
                    server.log()
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
}

impl Session {
    pub fn run(&mut self, cmd: &Cmd) -> Result<(), String> {
        if cmd.check == Check::ScanAll {
            let ours = scan_all(&mut self.subject, &cmd.args)
                .map_err(|e| format!("{}: {e}", self.subject_name))?;
            let theirs = scan_all(&mut self.reference, &cmd.args).map_err(|e| format!("redis: {e}"))?;
            return self.compare_shown(ours == theirs, &ours, &theirs);
        }
        let (ours_reply, ours) = self.exchange(cmd, true)?;
        let (theirs_reply, theirs) = self.exchange(cmd, false)?;
        let same = match cmd.check {
            Check::Exact | Check::ScanAll => ours == theirs,
            Check::Unordered => sorted(ours_reply) == sorted(theirs_reply),
            Check::Time { tolerance } => match (ours_reply, theirs_reply) {
                (Reply::Integer(a), Reply::Integer(b)) if a >= 0 && b >= 0 => {
                    a.abs_diff(b) <= tolerance.unsigned_abs()
                }
                _ => ours == theirs,
            },
        };
        self.compare_shown(same, &show(&ours), &show(&theirs))
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

    fn compare_shown<T: fmt::Debug + ?Sized>(
        &self,
        same: bool,
        ours: &T,
        theirs: &T,
    ) -> Result<(), String> {
        if same {
            return Ok(());
        }
        Err(format!(
            "replies differ:\n  {:<9} {ours:?}\n  {:<9} {theirs:?}",
            format!("{}:", self.subject_name),
            "redis:"
        ))
    }
}

/// Shows reply bytes with RESP's CR LF visible, e.g. `"$3\r\nfoo\r\n"`.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
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

/// Drives `SCAN 0 <options>` to cursor 0. Returns the sorted keys, or the error reply's text.
fn scan_all(conn: &mut Conn, args: &[Vec<u8>]) -> Result<String, String> {
    let mut args = args.to_vec();
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
            keys.sort();
            keys.dedup();
            return Ok(format!("{keys:?}"));
        }
        args[1] = cursor.to_vec();
    }
    Err(format!("SCAN did not finish in {MAX_SCAN_CALLS} calls"))
}

//! Clients blocked on keys (BLPOP, BLMOVE, BLMPOP, BZPOPMIN, ...), with Redis 7.0's rules.
//!
//! A blocking command first tries to answer at once. When every key it names is empty it
//! calls [`Ctx::block`]: the dispatcher then registers the client on each key, in FIFO order per
//! key, sends no reply, and the connection stops executing this client's later requests until it
//! is unblocked (it keeps reading, to notice a disconnect).
//!
//! After every batch commits, each key it changed that has waiters is "ready" (a deleted one
//! too, so a blocked XREADGROUP hears that its stream is gone): its waiters are tried in the
//! order they blocked, each with the command's serve function, which pops from that key in a
//! transaction of its own (committed before the next waiter is tried). A serve function that finds nothing to take (the key is empty or of another type)
//! leaves the client blocked; one that fails with an error answers it and unblocks it, as Redis
//! 7.0 does for a destination of the wrong type. Keys that a serve function changes (BLMOVE's
//! destination) are ready in turn. The answer goes into the client's state and its connection is
//! woken; the connection also enforces the deadline (Redis's timeouts are in milliseconds, the
//! wake-up is a tokio timer) and CLIENT UNBLOCK answers the client the same way.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use formats::resp::Reply;

use super::propagate::Unit;
use super::stats::Stats;
use super::{unix_ms, ClientState, Ctx, Server, Shared};
use crate::commands::args::{parse_f64, LongDouble};
use crate::error::CommandError;

/// Tries to serve a blocked command from a key that became ready: `Ok(Some(reply))` serves it,
/// `Ok(None)` leaves it blocked, `Err` answers it with the error.
pub type ServeFn = fn(&mut Ctx, &[Bytes], &[u8]) -> Result<Option<Reply>, CommandError>;

/// What a blocked client waits for.
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// The command, to be served later.
    pub args: Vec<Bytes>,
    pub serve: ServeFn,
    /// When to give up; `None` waits forever.
    pub deadline: Option<Instant>,
    /// The answer on timeout (a null array for BLPOP, a null bulk for BLMOVE).
    pub timeout_reply: Reply,
    /// CLIENT REPLY OFF/SKIP was in force when the command ran: the answer is not sent.
    pub silent: bool,
}

/// (db, key) → blocked clients, oldest first.
#[derive(Default)]
pub struct BlockedKeys {
    by_key: HashMap<(usize, Vec<u8>), VecDeque<u64>>,
    clients: usize,
}

impl BlockedKeys {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Number of blocked clients (INFO `blocked_clients`).
    pub fn clients(&self) -> usize {
        self.clients
    }

    fn add(&mut self, client: u64, db: usize, keys: &[Vec<u8>]) {
        for key in keys {
            let waiters = self.by_key.entry((db, key.clone())).or_default();
            if !waiters.contains(&client) {
                waiters.push_back(client);
            }
        }
        self.clients += 1;
    }

    fn remove(&mut self, client: u64, blocked: &Blocked) {
        for key in &blocked.keys {
            let id = (blocked.db, key.clone());
            if let Some(waiters) = self.by_key.get_mut(&id) {
                waiters.retain(|c| *c != client);
                if waiters.is_empty() {
                    self.by_key.remove(&id);
                }
            }
        }
        self.clients = self.clients.saturating_sub(1);
    }

    fn waiters(&self, db: usize, key: &[u8]) -> Vec<u64> {
        self.by_key
            .get(&(db, key.to_vec()))
            .map(|w| w.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// Redis's getTimeoutFromObjectOrReply in seconds: a `long double` (anything `strtold`
/// reads), rounded up to milliseconds; 0 = forever. A value whose milliseconds do not fit in
/// 64 bits converts, as C's cast does on x86, to the most negative integer, so Redis reports
/// it as negative. Returns the timeout (`None` = forever).
pub fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CommandError> {
    let invalid = || CommandError::other("ERR timeout is not a float or out of range");
    LongDouble::parse(arg).ok_or_else(invalid)?;
    // Valid as a long double but beyond a double's range: infinite (or zero) is the value's sign.
    let seconds = parse_f64(arg).or_else(|_| {
        std::str::from_utf8(arg)
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .ok_or_else(invalid)
    })?;
    let millis = (seconds * 1000.0).ceil();
    let millis = if millis >= i64::MIN as f64 && millis < i64::MAX as f64 {
        millis as i64
    } else {
        i64::MIN
    };
    if millis < 0 {
        return Err(CommandError::other("ERR timeout is negative"));
    }
    if millis > 0 && millis > i64::MAX - unix_ms() {
        return Err(CommandError::other("ERR timeout is out of range"));
    }
    Ok((millis > 0).then(|| Duration::from_millis(millis as u64)))
}

/// For serve functions: a ready key of another type than the command wants cannot serve the
/// client, which stays blocked (Redis 7.0), so WRONGTYPE becomes "nothing to serve".
pub fn unless_wrong_type(
    result: Result<Option<Reply>, CommandError>,
) -> Result<Option<Reply>, CommandError> {
    match result {
        Err(CommandError::WrongType) => Ok(None),
        other => other,
    }
}

/// Registers the client `ctx.blocked` describes, once its command has returned.
pub fn register(shared: &mut Shared, client: &mut ClientState, blocked: Blocked) {
    shared.blocked.add(client.id, blocked.db, &blocked.keys);
    client.blocked = Some(blocked);
}

/// Unblocks a client with `reply` (timeout, CLIENT UNBLOCK, or served) and wakes its connection.
pub fn unblock(shared: &mut Shared, client: &mut ClientState, reply: Reply) {
    if let Some(blocked) = client.blocked.take() {
        shared.blocked.remove(client.id, &blocked);
        client.unblocked_reply = (!blocked.silent).then_some(reply);
        client.signals.unblocked.notify_one();
    }
}

/// Forgets a disconnecting client's blocked state.
pub fn forget(shared: &mut Shared, client: &mut ClientState) {
    if let Some(blocked) = client.blocked.take() {
        shared.blocked.remove(client.id, &blocked);
    }
}

/// Serves the clients blocked on the keys a committed batch changed, in Redis's order (ready
/// keys in the order they changed, each key's waiters oldest first), including keys the serving
/// itself changes. Returns whether anything was written.
pub fn serve_ready(
    server: &Server,
    shared: &mut Shared,
    changed: Vec<(usize, Vec<u8>, bool)>,
) -> bool {
    // Deleted keys too: a blocked XREADGROUP learns that its stream is gone.
    let mut ready: VecDeque<(usize, Vec<u8>)> =
        changed.into_iter().map(|(db, key, _)| (db, key)).collect();
    let mut wrote = false;
    while let Some((db, key)) = ready.pop_front() {
        for id in shared.blocked.waiters(db, &key) {
            let Some(mut client) = shared.clients.remove(&id) else {
                continue;
            };
            let served = serve_one(server, shared, &mut client, db, &key);
            shared.clients.insert(id, client);
            match served {
                Ok(served) => {
                    wrote |= served.wrote;
                    ready.extend(served.ready);
                    if served.wrote && !served.key_left {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!("serving a blocked client: {e}");
                    break;
                }
            }
        }
    }
    wrote
}

/// What trying one blocked client did.
struct Served {
    /// Keys (db, key) its write left non-empty: ready in turn.
    ready: Vec<(usize, Vec<u8>)>,
    /// Whether the ready key still exists (when a serving removed it, later waiters cannot be
    /// served from it).
    key_left: bool,
    /// Whether anything was committed.
    wrote: bool,
}

/// Tries one blocked client on one ready key.
fn serve_one(
    server: &Server,
    shared: &mut Shared,
    client: &mut ClientState,
    db: usize,
    key: &[u8],
) -> Result<Served, engine::EngineError> {
    let Some(blocked) = client.blocked.as_ref() else {
        return Ok(Served {
            ready: Vec::new(),
            key_left: true,
            wrote: false,
        });
    };
    let (serve, args) = (blocked.serve, blocked.args.clone());
    let saved_db = client.db;
    client.db = db;
    let mut ctx = Ctx::new(server, shared, client, unix_ms());
    let outcome = serve(&mut ctx, &args, key);
    // A served command propagates in the non-blocking form its serve function chose.
    if let (Ok(Some(_)), Some(rewritten)) = (&outcome, ctx.call_prop.rewritten.take()) {
        ctx.also_propagate(rewritten);
    }
    let key_left = ctx.txn.get(db, key)?.is_some();
    let events = std::mem::take(&mut ctx.events);
    Stats::bump(&server.stats.dirty, ctx.dirty);
    let ops = std::mem::take(&mut ctx.ops);
    let txn = ctx.txn;
    let wrote = !txn.is_empty();
    // The keys this serving changed are always wanted: they may be ready for other waiters.
    let changed = server.commit(txn, &ops, Unit::Atomic, true)?;
    server.after_commit(shared, Some(&mut *client), &changed, &events);
    client.db = saved_db;
    let reply = match outcome {
        Ok(None) => {
            return Ok(Served {
                ready: Vec::new(),
                key_left,
                wrote,
            })
        }
        Ok(Some(reply)) => reply,
        Err(e) => e.to_reply(),
    };
    unblock(shared, client, reply);
    let ready = changed.into_iter().map(|(db, key, _)| (db, key)).collect();
    Ok(Served {
        ready,
        key_left,
        wrote,
    })
}

//! The dispatcher: the one path every command takes, with Redis's order of checks.
//!
//! 1. look the command up (unknown command, unknown subcommand, wrong arity),
//! 2. authentication (`NOAUTH` unless the command is flagged no-auth), then the Pub/Sub context
//!    (a RESP2 subscriber may only run the (un)subscribe commands, PING, QUIT and RESET),
//! 3. execute the handler inside an engine transaction and commit it as one batch, then publish
//!    the keyspace events it recorded,
//! 4. bookkeeping: command and error statistics, the MONITOR feed, CLIENT REPLY modes.
//!
//! Cluster routing, replica read-only and MULTI queueing slot in between 2 and 3 as they arrive.
//! Handlers never see a command they were not meant for, and never decide about errors' wire text.

use std::time::Instant;

use bytes::Bytes;
use formats::resp::Reply;

use super::context::After;
use super::propagate::{Op, Unit};
use super::stats::Stats;
use super::{blocking, transaction, unix_ms, ClientState, Ctx, ReplyMode, Server, Shared};
use crate::commands::table::CommandEntry;
use crate::commands::{meta, pubsub};
use crate::error::CommandError;

/// What the connection needs to know after one command.
pub struct Outcome {
    /// The reply to send; `None` when CLIENT REPLY suppresses it.
    pub reply: Option<Reply>,
    /// Protocol to encode with (HELLO may just have changed it).
    pub protocol: u8,
    pub authenticated: bool,
    pub after: After,
    /// Commit sequence of this command's write, if it wrote: the WAL must reach the OS (or the
    /// disk, with `appendfsync always`) before the reply leaves.
    pub commit_seq: Option<u64>,
    /// The command blocked the client (BLPOP, ...): stop executing its requests until the
    /// connection is woken with the answer or `deadline` (`None` = never) passes.
    pub blocked: Option<Option<Instant>>,
}

/// Executes one command for client `client_id`, received at `received` (a connection reads the
/// clock once per batch of requests); the caller holds the execution lock (`shared`).
pub fn execute(
    server: &Server,
    shared: &mut Shared,
    client_id: u64,
    args: &[Bytes],
    query_buffer_bytes: usize,
    received: Instant,
) -> Outcome {
    let Some(mut client) = shared.clients.remove(&client_id) else {
        return Outcome {
            reply: None,
            protocol: 2,
            authenticated: false,
            after: After {
                close: true,
                handover: None,
            },
            commit_seq: None,
            blocked: None,
        };
    };
    client.last_interaction = received;
    client.query_buffer_bytes = query_buffer_bytes;
    let suppressed_before = client.reply_mode == ReplyMode::Skip;

    let mut after = After::default();
    let mut commit_seq = None;
    let mut block = None;
    let lookup = server.commands.lookup(args);
    // Asked once: with `min-replicas-to-write` it counts the good replicas under the feed's lock.
    let refusal = lookup
        .as_ref()
        .ok()
        .and_then(|entry| replica_refusal(server, &client, entry));
    let reply = match lookup {
        Err(e) => reject(server, shared, &mut client, None, args, e),
        Ok(entry)
            if server.requires_auth()
                && !client.authenticated
                && entry.meta.flags & meta::NO_AUTH == 0 =>
        {
            reject(
                server,
                shared,
                &mut client,
                Some(entry),
                args,
                CommandError::NoAuth,
            )
        }
        Ok(entry) if !pubsub::allowed_in_context(&client, entry.meta.name.as_str()) => {
            let error = pubsub::context_error(entry.meta.name.as_str());
            reject(server, shared, &mut client, Some(entry), args, error)
        }
        Ok(entry) if refusal.is_some() => {
            let text = refusal.unwrap_or_default();
            reject(
                server,
                shared,
                &mut client,
                Some(entry),
                args,
                CommandError::other(text),
            )
        }
        Ok(entry) if client.multi.is_some() && transaction::is_queued(entry.meta.name.as_str()) => {
            if entry.meta.flags & meta::NO_MULTI != 0 {
                let error = CommandError::other("ERR Command not allowed inside a transaction");
                reject(server, shared, &mut client, Some(entry), args, error)
            } else {
                if let Some(multi) = client.multi.as_mut() {
                    multi.queue.push(args.to_vec());
                }
                Reply::Simple("QUEUED".into())
            }
        }
        Ok(entry) => {
            let now_ms = unix_ms();
            let mut ctx = Ctx::new(server, shared, &mut client, now_ms);
            let reply = call(&mut ctx, entry, args);
            let mut wrote = !ctx.txn.is_empty();
            after = std::mem::take(&mut ctx.after);
            let events = std::mem::take(&mut ctx.events);
            block = ctx.blocked.take();
            let signalled = std::mem::take(&mut ctx.signalled);
            let track = ctx.shared.tracks_keys();
            let ops = if ctx.client.replaying {
                Vec::new()
            } else {
                std::mem::take(&mut ctx.ops)
            };
            let txn = ctx.txn;
            let reply = match server.commit(txn, &ops, Unit::Atomic, track) {
                Ok(changed) => {
                    server.after_commit(shared, Some(&mut client), &changed, &events);
                    if !shared.blocked.is_empty() {
                        // The executing client is lent out, so it is never among the served.
                        let mut ready = changed;
                        for (db, key) in signalled {
                            if !ready.iter().any(|(d, k, _)| *d == db && *k == key) {
                                ready.push((db, key, true));
                            }
                        }
                        if !ready.is_empty() {
                            wrote |= blocking::serve_ready(server, shared, ready);
                        }
                    }
                    reply
                }
                Err(e) => CommandError::Storage(e).to_reply(),
            };
            if wrote {
                commit_seq = Some(server.durability.committed());
            }
            if !ops.is_empty() {
                client.woff = server.repl_offset.load(std::sync::atomic::Ordering::SeqCst);
            }
            reply
        }
    };
    if let Reply::Error(text) = &reply {
        Stats::bump(&server.stats.total_error_replies, 1);
        let code = text.split(' ').next().unwrap_or("ERR").to_string();
        *shared.error_stats.entry(code).or_default() += 1;
    }

    let suppressed =
        suppressed_before || matches!(client.reply_mode, ReplyMode::Off | ReplyMode::SkipNext);
    // A blocked client's answer comes later; CLIENT REPLY decides about it now.
    let blocked = block.map(|mut block| {
        block.silent = suppressed;
        let deadline = block.deadline;
        blocking::register(shared, &mut client, block);
        deadline
    });
    let suppressed = suppressed || blocked.is_some();
    client.reply_mode = match client.reply_mode {
        ReplyMode::Skip => ReplyMode::On,
        ReplyMode::SkipNext => ReplyMode::Skip,
        mode => mode,
    };
    if client.signals.is_killed() {
        after.close = true;
    }
    let outcome = Outcome {
        reply: (!suppressed).then_some(reply),
        protocol: client.protocol,
        authenticated: client.authenticated || !server.requires_auth(),
        after,
        commit_seq,
        blocked,
    };
    shared.clients.insert(client_id, client);
    outcome
}

/// Runs one command's handler in `ctx` and does its bookkeeping: propagation (see
/// [`super::propagate`]), dirty count, command statistics, the MONITOR feed. EXEC calls this for every queued command.
pub fn call(ctx: &mut Ctx, entry: &CommandEntry, args: &[Bytes]) -> Reply {
    let started = *ctx.clock.get_or_insert_with(Instant::now);
    let dirty_before = ctx.dirty;
    let outer = std::mem::take(&mut ctx.call_prop);
    let reply = (entry.handler)(ctx, args).unwrap_or_else(|e| e.to_reply());
    let asked = std::mem::replace(&mut ctx.call_prop, outer);
    // Propagated when it changed something (or insisted), never EXEC itself: its commands went
    // one by one (Redis 7.0's call()).
    // DEBUG (POPULATE, RELOAD, ...) is not propagated, as Redis does not count its changes.
    let name = entry.meta.name.as_str();
    if (ctx.dirty > dirty_before || asked.force)
        && !asked.prevent
        && ctx
            .server
            .propagating
            .load(std::sync::atomic::Ordering::Relaxed)
        && name != "exec"
        && name != "debug"
    {
        let args = asked.rewritten.unwrap_or_else(|| args.to_vec());
        ctx.ops.push(Op {
            db: ctx.client.db,
            args,
        });
    }
    let server = ctx.server;
    Stats::bump(&server.stats.dirty, ctx.dirty - dirty_before);
    Stats::bump(&server.stats.commands_processed, 1);
    let stat = ctx
        .shared
        .command_stats
        .entry(entry.meta.name.as_str())
        .or_default();
    let ended = Instant::now();
    ctx.clock = Some(ended);
    stat.calls += 1;
    stat.usec += ended.duration_since(started).as_micros() as u64;
    if reply.is_error() {
        stat.failed_calls += 1;
        Stats::bump(&server.stats.failed_calls, 1);
    }
    ctx.client.last_cmd = entry.meta.name.as_str();
    if entry.meta.flags & (meta::SKIP_MONITOR | meta::ADMIN) == 0 && !ctx.shared.monitors.is_empty()
    {
        feed_monitors(ctx.shared, ctx.client, args);
    }
    reply
}

/// A command refused before it ran (Redis's rejectCommand): counted as rejected (per command
/// when it was found). Inside MULTI the refusal flags the transaction; a refused EXEC (in MULTI
/// or not) discards it with `EXECABORT` and the reason.
fn reject(
    server: &Server,
    shared: &mut Shared,
    client: &mut ClientState,
    entry: Option<&CommandEntry>,
    args: &[Bytes],
    error: CommandError,
) -> Reply {
    Stats::bump(&server.stats.rejected_calls, 1);
    if let Some(entry) = entry {
        let name = entry.meta.name.as_str();
        shared.command_stats.entry(name).or_default().rejected_calls += 1;
        client.last_cmd = name;
    }
    if let Some(multi) = client.multi.as_mut() {
        multi.failed = true;
    }
    if !args[0].eq_ignore_ascii_case(b"exec") {
        return error.to_reply();
    }
    client.multi = None;
    shared.watchers.unwatch_all(client);
    let text = error.to_string();
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    Reply::Error(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

/// What a replica refuses to normal clients (its primary and the node's own replays are
/// obeyed): writes under `replica-read-only`, and commands not flagged `stale` while the link
/// with the primary is down under `replica-serve-stale-data no` (Redis's processCommand).
fn replica_refusal(
    server: &Server,
    client: &ClientState,
    entry: &CommandEntry,
) -> Option<&'static str> {
    use std::sync::atomic::Ordering::Relaxed;
    let tunables = &server.tunables;
    if client.replaying || client.client_type == super::client::ClientType::Primary {
        return None;
    }
    if !tunables.replica.load(Relaxed) {
        // A primary with `min-replicas-to-write` refuses writes while too few replicas
        // acknowledged within `min-replicas-max-lag` seconds (Redis's repl_good_slaves_count).
        let wanted = tunables.min_replicas_to_write.load(Relaxed);
        let max_lag = tunables.min_replicas_max_lag.load(Relaxed);
        let refused = wanted > 0
            && max_lag > 0
            && entry.meta.flags & meta::WRITE != 0
            && server.feed.lock().repl.good_replicas(max_lag) < wanted;
        return refused.then_some("NOREPLICAS Not enough good replicas to write.");
    }
    if !tunables.primary_link_up.load(Relaxed)
        && !tunables.replica_serve_stale_data.load(Relaxed)
        && entry.meta.flags & meta::STALE == 0
    {
        return Some(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        );
    }
    (tunables.replica_read_only.load(Relaxed) && entry.meta.flags & meta::WRITE != 0)
        .then_some("READONLY You can't write against a read only replica.")
}

/// Sends the MONITOR line for a command to every monitoring client, as Redis formats it:
/// `+<unix secs>.<micros> [<db> <addr>] "arg" "arg"`.
fn feed_monitors(shared: &mut Shared, client: &ClientState, args: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        client.db,
        client.addr
    );
    for arg in args {
        line.push(' ');
        line.push_str(&formats::text::repr(arg));
    }
    line.push_str("\r\n");
    let message = Bytes::from(line);
    let clients = &shared.clients;
    shared.monitors.retain(|id| match clients.get(id) {
        Some(monitor) => {
            if !monitor.signals.send(message.clone(), 0) {
                // The monitor cannot keep up: drop it rather than buffer without bound.
                monitor.signals.kill();
                return false;
            }
            true
        }
        // The executing client itself is lent out; it stays registered.
        None => *id == client.id,
    });
}

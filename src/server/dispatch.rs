//! The dispatcher: the one path every command takes, with Redis's order of checks.
//!
//! 1. look the command up (unknown command, unknown subcommand, wrong arity),
//! 2. authentication (`NOAUTH` unless the command is flagged no-auth),
//! 3. execute the handler inside an engine transaction and commit it as one batch,
//! 4. bookkeeping: command and error statistics, the MONITOR feed, CLIENT REPLY modes.
//!
//! Cluster routing, replica read-only and MULTI queueing slot in between 2 and 3 as they arrive.
//! Handlers never see a command they were not meant for, and never decide about errors' wire text.

use std::time::Instant;

use bytes::Bytes;
use formats::resp::Reply;

use super::context::After;
use super::stats::Stats;
use super::{unix_ms, ClientState, Ctx, ReplyMode, Server, Shared};
use crate::commands::meta;
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
}

/// Executes one command for client `client_id`.
pub fn execute(
    server: &Server,
    client_id: u64,
    args: &[Bytes],
    query_buffer_bytes: usize,
) -> Outcome {
    let mut guard = server.exec.lock();
    let shared: &mut Shared = &mut guard;
    let Some(mut client) = shared.clients.remove(&client_id) else {
        return Outcome {
            reply: None,
            protocol: 2,
            authenticated: false,
            after: After { close: true },
            commit_seq: None,
        };
    };
    let started = Instant::now();
    client.last_interaction = started;
    client.query_buffer_bytes = query_buffer_bytes;
    let suppressed_before = client.reply_mode == ReplyMode::Skip;

    let mut after = After::default();
    let mut commit_seq = None;
    let reply = match server.commands.lookup(args) {
        Err(e) => {
            Stats::bump(&server.stats.rejected_calls, 1);
            e.to_reply()
        }
        Ok(entry)
            if server.requires_auth()
                && !client.authenticated
                && entry.meta.flags & meta::NO_AUTH == 0 =>
        {
            Stats::bump(&server.stats.rejected_calls, 1);
            shared
                .command_stats
                .entry(entry.meta.name.as_str())
                .or_default()
                .rejected_calls += 1;
            client.last_cmd = entry.meta.name.as_str();
            CommandError::NoAuth.to_reply()
        }
        Ok(entry) => {
            let now_ms = unix_ms();
            let mut ctx = Ctx::new(server, shared, &mut client, now_ms);
            let result = (entry.handler)(&mut ctx, args);
            let wrote = !ctx.txn.is_empty();
            let dirty = ctx.dirty;
            after = ctx.after;
            let txn = ctx.txn;
            let reply = match server.commit(txn) {
                Ok(()) => result.unwrap_or_else(|e| e.to_reply()),
                Err(e) => CommandError::Storage(e).to_reply(),
            };
            if wrote {
                commit_seq = Some(server.durability.committed());
            }
            Stats::bump(&server.stats.dirty, dirty);
            Stats::bump(&server.stats.commands_processed, 1);
            let stat = shared
                .command_stats
                .entry(entry.meta.name.as_str())
                .or_default();
            stat.calls += 1;
            stat.usec += started.elapsed().as_micros() as u64;
            if reply.is_error() {
                stat.failed_calls += 1;
                Stats::bump(&server.stats.failed_calls, 1);
            }
            client.last_cmd = entry.meta.name.as_str();
            if entry.meta.flags & (meta::SKIP_MONITOR | meta::ADMIN) == 0
                && !shared.monitors.is_empty()
            {
                feed_monitors(shared, &client, args);
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
    };
    shared.clients.insert(client_id, client);
    outcome
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
            if monitor.signals.push.try_send(message.clone()).is_err() {
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

//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP: the wire side of the configuration module.
//!
//! The config module owns names, values, validation and the exact error texts; these handlers
//! turn arguments into its calls and its results into replies. CONFIG SET is all-or-nothing in
//! the module; after a successful change the values cached outside the config (the tunables the
//! hot path reads, the WAL fsync policy) are refreshed under the same write lock, so no command
//! observes the new config with stale tunables.

use bytes::Bytes;
use formats::resp::Reply;

use super::client::help_reply;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::persistence::aof;
use crate::server::durability::FsyncPolicy;
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("config|get", get),
    ("config|set", set),
    ("config|resetstat", resetstat),
    ("config|rewrite", rewrite),
    ("config|help", help),
];

/// CONFIG HELP, line for line as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

/// CONFIG GET pattern [pattern ...]: a map of every matching directive (RESP2: a flat array).
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let patterns: Vec<&[u8]> = args[2..].iter().map(Bytes::as_ref).collect();
    let pairs = ctx.server.config.read().config_get(&patterns);
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(name, value)| (Reply::bulk(name), Reply::bulk(value)))
            .collect(),
    ))
}

/// CONFIG SET directive value [directive value ...]
fn set(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if !args.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = args[2..]
        .chunks_exact(2)
        .map(|pair| (pair[0].to_vec(), pair[1].to_vec()))
        .collect();
    let server = ctx.server;
    let mut config = server.config.write();
    let changed = config
        .config_set_from(&pairs, ctx.client.is_local())
        .map_err(CommandError::Other)?;
    server.tunables.refresh(&config);
    if changed.contains(&"appendfsync") {
        server
            .durability
            .set_policy(FsyncPolicy::parse(&config.get_str("appendfsync")));
    }
    let appendonly = config.get_bool("appendonly");
    let backlog_size = config.repl_backlog_size();
    let replica_limit = config.replica_hard_limit();
    drop(config);
    tracing::debug!("CONFIG SET changed {changed:?}");
    if changed.contains(&"appendonly") {
        aof::turn(server, appendonly);
    }
    // The backlog keeps its newest bytes in a ring of the new size; replica links get the new
    // output limit at once.
    let mut feed = server.feed.lock();
    feed.repl.resize_backlog(backlog_size);
    feed.repl.output_limit = replica_limit;
    drop(feed);
    Ok(Reply::ok())
}

/// CONFIG RESETSTAT: what Redis's resetServerStats, resetCommandTableStats and
/// resetErrorTableStats zero.
fn resetstat(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    ctx.server.stats.reset();
    ctx.shared.command_stats.clear();
    ctx.shared.error_stats.clear();
    Ok(Reply::ok())
}

fn rewrite(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let config = ctx.server.config.read();
    match config.rewrite() {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            Ok(Reply::ok())
        }
        Err(e) => {
            // Like Redis, only a failed write is worth a log line, not a missing config file.
            if config.config_file().is_some() {
                tracing::warn!("CONFIG-REWRITE failed: {e}");
            }
            Err(CommandError::other(e))
        }
    }
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

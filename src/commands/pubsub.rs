//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
//! SUNSUBSCRIBE, PUBLISH, SPUBLISH and the PUBSUB introspection subcommands.
//!
//! A (un)subscribe command answers with one confirmation frame per name, each carrying the
//! client's subscription count after that step (Redis's `addReplyPubsub(Un)Subscribed`): arrays
//! in RESP2, push frames in RESP3. Unsubscribing from all when there is nothing to leave still
//! answers one frame, with a null name. The registry and the delivery of messages live in
//! src/server/pubsub.rs; the restriction of a RESP2 subscriber to these commands is the
//! dispatcher's ([`allowed_in_context`]).

use bytes::{Bytes, BytesMut};
use formats::resp::Reply;

use super::client::{help_reply, subcommand_syntax_error};
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::pubsub::{self, Kind};
use crate::server::{ClientState, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("psubscribe", psubscribe),
    ("punsubscribe", punsubscribe),
    ("ssubscribe", ssubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub|channels", channels),
    ("pubsub|numsub", numsub),
    ("pubsub|numpat", numpat),
    ("pubsub|shardchannels", shardchannels),
    ("pubsub|shardnumsub", shardnumsub),
    ("pubsub|help", help),
];

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// The commands a RESP2 client in Pub/Sub mode may still run.
const ALLOWED_IN_PUBSUB: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Redis's Pub/Sub context check: a RESP2 client with subscriptions can only run the
/// (un)subscribe commands, PING, QUIT and RESET (RESP3 clients can run anything).
pub fn allowed_in_context(client: &ClientState, command: &str) -> bool {
    client.protocol != 2
        || client.subscriptions.total() == 0
        || ALLOWED_IN_PUBSUB.contains(&command)
}

/// The refusal of a command [`allowed_in_context`] rejects.
pub fn context_error(command: &str) -> CommandError {
    CommandError::other(format!(
        "ERR Can't execute '{command}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context"
    ))
}

/// Confirmation frames, one after the other, in the client's protocol.
fn frames(protocol: u8, frames: Vec<Reply>) -> Reply {
    let mut out = BytesMut::new();
    for frame in frames {
        frame.encode(protocol, &mut out);
    }
    Reply::Raw(out.freeze())
}

fn subscribe_each(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> CommandResult {
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        ctx.shared.pubsub.subscribe(ctx.client, kind, name);
        let count = ctx.client.subscriptions.count(kind);
        replies.push(pubsub::confirmation(
            kind.subscribe_name(),
            Some(name),
            count,
        ));
    }
    Ok(frames(ctx.client.protocol, replies))
}

/// UNSUBSCRIBE and friends: the names given, or every subscription of the kind when none is.
fn unsubscribe_each(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> CommandResult {
    let names = if names.is_empty() {
        ctx.client.subscriptions.names(kind)
    } else {
        names.to_vec()
    };
    let verb = kind.unsubscribe_name();
    let mut replies = Vec::with_capacity(names.len().max(1));
    for name in &names {
        ctx.shared.pubsub.unsubscribe(ctx.client, kind, name);
        let count = ctx.client.subscriptions.count(kind);
        replies.push(pubsub::confirmation(verb, Some(name), count));
    }
    if replies.is_empty() {
        let count = ctx.client.subscriptions.count(kind);
        replies.push(pubsub::confirmation(verb, None, count));
    }
    Ok(frames(ctx.client.protocol, replies))
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    subscribe_each(ctx, Kind::Channel, &args[1..])
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    unsubscribe_each(ctx, Kind::Channel, &args[1..])
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    subscribe_each(ctx, Kind::Pattern, &args[1..])
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    unsubscribe_each(ctx, Kind::Pattern, &args[1..])
}

/// SSUBSCRIBE refuses a client that may not block (inside MULTI/EXEC); SUBSCRIBE and
/// PSUBSCRIBE are exempt there for backward compatibility, as in Redis.
fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if !ctx.may_block() {
        return Err(CommandError::other(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    subscribe_each(ctx, Kind::Shard, &args[1..])
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    unsubscribe_each(ctx, Kind::Shard, &args[1..])
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let receivers = pubsub::publish(
        ctx.server,
        ctx.shared,
        Some(ctx.client),
        &args[1],
        &args[2],
        false,
    );
    Ok(Reply::Integer(receivers as i64))
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let receivers = pubsub::publish(
        ctx.server,
        ctx.shared,
        Some(ctx.client),
        &args[1],
        &args[2],
        true,
    );
    Ok(Reply::Integer(receivers as i64))
}

fn list_active(ctx: &Ctx, kind: Kind, args: &[Bytes]) -> CommandResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let pattern = args.get(2).map(|p| p.as_ref());
    let names = ctx.shared.pubsub.active(kind, pattern);
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

fn count_subscribers(ctx: &Ctx, kind: Kind, args: &[Bytes]) -> CommandResult {
    let mut reply = Vec::with_capacity(2 * (args.len() - 2));
    for name in &args[2..] {
        reply.push(Reply::Bulk(name.clone()));
        reply.push(Reply::Integer(
            ctx.shared.pubsub.subscribers(kind, name) as i64
        ));
    }
    Ok(Reply::Array(reply))
}

fn channels(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    list_active(ctx, Kind::Channel, args)
}

fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    list_active(ctx, Kind::Shard, args)
}

fn numsub(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    count_subscribers(ctx, Kind::Channel, args)
}

fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    count_subscribers(ctx, Kind::Shard, args)
}

fn numpat(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(ctx.shared.pubsub.len(Kind::Pattern) as i64))
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

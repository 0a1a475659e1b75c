//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS and XINFO CONSUMERS, field for field as Redis 7.0
//! replies (maps in RESP3, flat arrays in RESP2).
//!
//! `radix-tree-keys` is the number of Redis's listpack nodes and `radix-tree-nodes` the number
//! of nodes of the radix tree that indexes them by master ID. rockslot keeps Redis's node
//! boundaries (see `store`) and computes the tree's size from the master IDs: a radix tree with
//! compressed nodes has one node per run of shared key bytes, one per branching point and one
//! per key end, which is what Redis's rax holds for keys inserted in increasing order.

use bytes::Bytes;
use engine::Order;
use formats::resp::Reply;

use super::id::StreamId;
use super::store::{Group, Stream};
use super::{entries_reply, entry_reply, id_reply, lag, shown};
use crate::commands::args::parse_i64;
use crate::commands::client::{help_reply, subcommand_syntax_error};
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

fn field(name: &'static str) -> Reply {
    Reply::bulk(name)
}

/// The stream for XINFO: `ERR no such key` when missing.
fn stream_of<'k>(ctx: &mut Ctx, key: &'k Bytes) -> Result<Stream<'k>, CommandError> {
    Stream::read(ctx, key)?.ok_or(CommandError::NoSuchKey)
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    // The key first, then the options, as Redis checks them.
    let stream = stream_of(ctx, &args[2])?;
    let options = &args[3..];
    let mut count: u64 = 10;
    let full = !options.is_empty();
    if full {
        if !matches!(options.len(), 1 | 3) || !options[0].eq_ignore_ascii_case(b"full") {
            return Err(subcommand_syntax_error(args));
        }
        if options.len() == 3 {
            if !options[1].eq_ignore_ascii_case(b"count") {
                return Err(subcommand_syntax_error(args));
            }
            count = u64::try_from(parse_i64(&options[2])?).unwrap_or(10);
        }
    }
    let nodes = stream.node_ids(ctx)?;
    let state = stream.state;
    let mut map = vec![
        (field("length"), Reply::Integer(stream.len() as i64)),
        (field("radix-tree-keys"), Reply::Integer(nodes.len() as i64)),
        (
            field("radix-tree-nodes"),
            Reply::Integer(rax_nodes(&nodes) as i64),
        ),
        (field("last-generated-id"), id_reply(state.last_id)),
        (field("max-deleted-entry-id"), id_reply(state.max_deleted)),
        (
            field("entries-added"),
            Reply::Integer(state.entries_added as i64),
        ),
        (field("recorded-first-entry-id"), id_reply(state.first_id)),
    ];
    let groups = stream.groups(ctx)?;
    if !full {
        let edge = |order| -> Result<Reply, CommandError> {
            let entries = stream.range(ctx, StreamId::ZERO, StreamId::MAX, order, 1)?;
            Ok(entries.into_iter().next().map_or(Reply::Null, entry_reply))
        };
        map.push((field("groups"), Reply::Integer(groups.len() as i64)));
        map.push((field("first-entry"), edge(Order::Ascending)?));
        map.push((field("last-entry"), edge(Order::Descending)?));
        return Ok(Reply::Map(map));
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    let entries = stream.range(ctx, StreamId::ZERO, StreamId::MAX, Order::Ascending, limit)?;
    map.push((field("entries"), entries_reply(entries)));
    let mut group_replies = Vec::with_capacity(groups.len());
    for group in &groups {
        group_replies.push(full_group(ctx, &stream, group, limit)?);
    }
    map.push((field("groups"), Reply::Array(group_replies)));
    Ok(Reply::Map(map))
}

/// One group of XINFO STREAM FULL: its PEL and consumers, each list at most `limit` long.
fn full_group(ctx: &Ctx, stream: &Stream, group: &Group, limit: usize) -> CommandResult {
    let pel = stream
        .pending(ctx, &group.name, StreamId::ZERO, StreamId::MAX, limit)?
        .into_iter()
        .map(|nack| {
            Reply::Array(vec![
                id_reply(nack.id),
                Reply::Bulk(nack.consumer),
                Reply::Integer(nack.delivery_time),
                Reply::Integer(nack.delivery_count as i64),
            ])
        })
        .collect();
    let mut consumers = Vec::new();
    for consumer in stream.consumers(ctx, &group.name)? {
        let ids = stream.consumer_pending(
            ctx,
            &group.name,
            &consumer.name,
            StreamId::ZERO,
            StreamId::MAX,
            limit,
        )?;
        let mut pending = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(nack) = stream.nack(ctx, &group.name, id)? {
                pending.push(Reply::Array(vec![
                    id_reply(id),
                    Reply::Integer(nack.delivery_time),
                    Reply::Integer(nack.delivery_count as i64),
                ]));
            }
        }
        consumers.push(Reply::Map(vec![
            (field("name"), Reply::Bulk(consumer.name)),
            (field("seen-time"), Reply::Integer(consumer.seen_time)),
            (field("pel-count"), Reply::Integer(consumer.pending as i64)),
            (field("pending"), Reply::Array(pending)),
        ]));
    }
    Ok(Reply::Map(vec![
        (field("name"), Reply::Bulk(group.name.clone())),
        (field("last-delivered-id"), id_reply(group.last_id)),
        (field("entries-read"), entries_read_reply(group)),
        (field("lag"), lag_reply(stream, group)),
        (field("pel-count"), Reply::Integer(group.pending as i64)),
        (field("pending"), Reply::Array(pel)),
        (field("consumers"), Reply::Array(consumers)),
    ]))
}

fn entries_read_reply(group: &Group) -> Reply {
    group
        .entries_read
        .map_or(Reply::Null, |n| Reply::Integer(n as i64))
}

fn lag_reply(stream: &Stream, group: &Group) -> Reply {
    lag::of_group(stream, group).map_or(Reply::Null, Reply::Integer)
}

/// XINFO GROUPS key
fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let stream = stream_of(ctx, &args[2])?;
    let groups = stream.groups(ctx)?;
    Ok(Reply::Array(
        groups
            .iter()
            .map(|group| {
                Reply::Map(vec![
                    (field("name"), Reply::Bulk(group.name.clone())),
                    (field("consumers"), Reply::Integer(group.consumers as i64)),
                    (field("pending"), Reply::Integer(group.pending as i64)),
                    (field("last-delivered-id"), id_reply(group.last_id)),
                    (field("entries-read"), entries_read_reply(group)),
                    (field("lag"), lag_reply(&stream, group)),
                ])
            })
            .collect(),
    ))
}

/// XINFO CONSUMERS key group
fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[2];
    let stream = stream_of(ctx, key)?;
    let Some(group) = stream.group(ctx, &args[3])? else {
        return Err(CommandError::other(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            shown(&args[3]),
            shown(key)
        )));
    };
    let now = crate::server::unix_ms();
    Ok(Reply::Array(
        stream
            .consumers(ctx, &group.name)?
            .into_iter()
            .map(|consumer| {
                Reply::Map(vec![
                    (field("name"), Reply::Bulk(consumer.name)),
                    (field("pending"), Reply::Integer(consumer.pending as i64)),
                    (
                        field("idle"),
                        Reply::Integer((now - consumer.seen_time).max(0)),
                    ),
                ])
            })
            .collect(),
    ))
}

/// Nodes of a radix tree with compressed nodes holding `keys` (sorted, all 16 bytes): the root
/// alone when empty.
fn rax_nodes(keys: &[StreamId]) -> u64 {
    if keys.is_empty() {
        return 1;
    }
    let encoded: Vec<[u8; 16]> = keys.iter().map(|id| id.encode()).collect();
    let refs: Vec<&[u8]> = encoded.iter().map(|k| &k[..]).collect();
    subtree_nodes(&refs)
}

/// Nodes below (and including) the node reached by the common history of `suffixes` (sorted,
/// distinct, all of one length).
fn subtree_nodes(suffixes: &[&[u8]]) -> u64 {
    let len = suffixes[0].len();
    if len == 0 {
        return 1; // the key's end
    }
    let first = suffixes[0];
    let last = suffixes[suffixes.len() - 1];
    // Sorted input: the common prefix of all is that of the first and the last.
    let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    if common > 0 {
        let rest: Vec<&[u8]> = suffixes.iter().map(|s| &s[common..]).collect();
        return 1 + subtree_nodes(&rest);
    }
    // A branching node, one child per distinct first byte.
    let mut total = 1;
    let mut start = 0;
    while start < suffixes.len() {
        let byte = suffixes[start][0];
        let end = start
            + suffixes[start..]
                .iter()
                .take_while(|s| s[0] == byte)
                .count();
        let children: Vec<&[u8]> = suffixes[start..end].iter().map(|s| &s[1..]).collect();
        total += subtree_nodes(&children);
        start = end;
    }
    total
}

const HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

pub const COMMANDS: &[(&str, crate::commands::table::Handler)] = &[
    ("xinfo|help", help),
    ("xinfo|stream", xinfo_stream),
    ("xinfo|groups", xinfo_groups),
    ("xinfo|consumers", xinfo_consumers),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_tree_sizes() {
        assert_eq!(rax_nodes(&[]), 1);
        // One key: a compressed node of 16 bytes and the key's end.
        assert_eq!(rax_nodes(&[StreamId::new(1, 1)]), 2);
        // Two keys differing in the last byte: compressed prefix, branch, two ends.
        assert_eq!(rax_nodes(&[StreamId::new(1, 1), StreamId::new(1, 2)]), 4);
    }
}

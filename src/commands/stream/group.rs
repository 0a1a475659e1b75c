//! Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER), XACK,
//! XPENDING, XCLAIM and XAUTOCLAIM, and the pending-entry bookkeeping XREADGROUP shares.
//!
//! A group owns a pending entries list (PEL): entries delivered to one of its consumers and not
//! yet acknowledged, each with its owner, last delivery time and delivery count. Every consumer
//! also lists its own pending IDs, so a consumer's history is a range read. Counts (the group's
//! pending entries and consumers, a consumer's pending entries) live in the group and consumer
//! records, so XPENDING's summary and XINFO never count by iterating.

use bytes::Bytes;
use formats::resp::Reply;

use super::id::{parse_loose, parse_range, parse_start, parse_strict, StreamId};
use super::store::{Consumer, Group, Nack, Stream, PAGE};
use super::{entry_reply, id_reply, shown};
use crate::commands::args::parse_i64;
use crate::commands::client::{help_reply, subcommand_syntax_error};
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// The error of a command naming a group that does not exist (XPENDING, XCLAIM, ...).
pub fn no_group(key: &Bytes, group: &Bytes) -> CommandError {
    CommandError::other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        shown(key),
        shown(group)
    ))
}

/// A consumer, creating it (with Redis's event and dirty count) when missing. An existing
/// consumer's seen time is refreshed, as Redis's streamLookupConsumer does.
pub fn consumer_for(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut Group,
    name: &[u8],
) -> Result<Consumer, CommandError> {
    if let Some(mut consumer) = stream.consumer(ctx, &group.name, name)? {
        consumer.seen_time = ctx.now_ms;
        stream.put_consumer(ctx, &group.name, &consumer)?;
        return Ok(consumer);
    }
    create_consumer(ctx, stream, group, name)
}

fn create_consumer(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut Group,
    name: &[u8],
) -> Result<Consumer, CommandError> {
    let consumer = Consumer {
        name: Bytes::copy_from_slice(name),
        seen_time: ctx.now_ms,
        pending: 0,
    };
    stream.put_consumer(ctx, &group.name, &consumer)?;
    group.consumers += 1;
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-createconsumer", stream.key);
    Ok(consumer)
}

/// Gives pending entry `nack` (already updated with its new owner and times) to its owner:
/// `previous` is the NACK as it was (`None`: a new one), whose owner loses it.
pub fn store_nack(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut Group,
    nack: &Nack,
    previous: Option<&Nack>,
) -> Result<(), CommandError> {
    let previous_owner = previous.map(|p| p.consumer.clone());
    let moved = previous_owner.as_deref() != Some(&nack.consumer[..]);
    stream.put_nack(
        ctx,
        &group.name,
        nack,
        previous_owner.as_deref().filter(|_| moved),
    )?;
    if previous.is_none() {
        group.pending += 1;
    }
    if moved {
        if let Some(owner) = &previous_owner {
            adjust_pending(ctx, stream, &group.name, owner, -1)?;
        }
        adjust_pending(ctx, stream, &group.name, &nack.consumer, 1)?;
    }
    Ok(())
}

/// Propagates pending entry `nack` of `group` as Redis's streamPropagateXCLAIM does: an XCLAIM
/// that makes a replica's PEL entry equal (owner, delivery time and count, the group's last ID),
/// or removes it when the entry is gone.
pub fn propagate_claim(ctx: &mut Ctx, key: &[u8], group: &Group, nack: &Nack) {
    ctx.also_propagate(vec![
        Bytes::from_static(b"XCLAIM"),
        Bytes::copy_from_slice(key),
        group.name.clone(),
        nack.consumer.clone(),
        Bytes::from_static(b"0"),
        Bytes::from(nack.id.text()),
        Bytes::from_static(b"TIME"),
        Bytes::from(nack.delivery_time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(nack.delivery_count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        Bytes::from(group.last_id.text()),
    ]);
}

/// Propagates the group's last ID and entries-read counter (Redis's streamPropagateGroupID).
pub fn propagate_group_id(ctx: &mut Ctx, key: &[u8], group: &Group) {
    ctx.also_propagate(vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        Bytes::copy_from_slice(key),
        group.name.clone(),
        Bytes::from(group.last_id.text()),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(group.entries_read.map_or(-1, |n| n as i64).to_string()),
    ]);
}

/// Propagates the creation of a consumer (Redis's streamPropagateConsumerCreation).
pub fn propagate_consumer_creation(ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8]) {
    ctx.also_propagate(vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"CREATECONSUMER"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(consumer),
    ]);
}

/// Removes a pending entry from the group and its owner.
pub fn drop_nack(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut Group,
    nack: &Nack,
) -> Result<(), CommandError> {
    stream.delete_nack(ctx, &group.name, nack)?;
    group.pending = group.pending.saturating_sub(1);
    adjust_pending(ctx, stream, &group.name, &nack.consumer, -1)
}

fn adjust_pending(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &[u8],
    consumer: &[u8],
    delta: i64,
) -> Result<(), CommandError> {
    if let Some(mut record) = stream.consumer(ctx, group, consumer)? {
        record.pending = record.pending.saturating_add_signed(delta);
        stream.put_consumer(ctx, group, &record)?;
    }
    Ok(())
}

/// A stream and one of its groups for a command that needs both (NOGROUP otherwise).
fn stream_and_group<'k>(
    ctx: &mut Ctx,
    key: &'k Bytes,
    name: &Bytes,
) -> Result<(Stream<'k>, Group), CommandError> {
    let stream = Stream::read(ctx, key)?;
    let group = match &stream {
        Some(stream) => stream.group(ctx, name)?,
        None => None,
    };
    match (stream, group) {
        (Some(stream), Some(group)) => Ok((stream, group)),
        _ => Err(no_group(key, name)),
    }
}

/// ENTRIESREAD's value: a non-negative count or -1 (unknown).
fn parse_entries_read(arg: &[u8]) -> Result<Option<u64>, CommandError> {
    match parse_i64(arg)? {
        -1 => Ok(None),
        n if n < 0 => Err(CommandError::other(
            "ERR value for ENTRIESREAD must be positive or -1",
        )),
        n => Ok(Some(n as u64)),
    }
}

/// XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER, with Redis's shared checks
/// first (options of CREATE, the key, the group).
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let sub = args[1].to_ascii_lowercase();
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    if sub == b"create" && args.len() >= 5 {
        let mut i = 5;
        while i < args.len() {
            if args[i].eq_ignore_ascii_case(b"mkstream") {
                mkstream = true;
                i += 1;
            } else if args[i].eq_ignore_ascii_case(b"entriesread") && i + 1 < args.len() {
                entries_read = parse_entries_read(&args[i + 1])?;
                i += 2;
            } else {
                return Err(subcommand_syntax_error(args));
            }
        }
    }
    if sub == b"setid" {
        // SETID's option is read before the key is looked up, as in Redis 7.0.
        match args.len() {
            5 => {}
            7 if args[5].eq_ignore_ascii_case(b"entriesread") => {
                entries_read = parse_entries_read(&args[6])?;
            }
            _ => return Err(subcommand_syntax_error(args)),
        }
    }
    let key = &args[2];
    let name = &args[3];
    let stream = Stream::write(ctx, key)?;
    let group = match &stream {
        Some(stream) => stream.group(ctx, name)?,
        None => None,
    };
    if !mkstream {
        if stream.is_none() {
            return Err(CommandError::other(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may \
                 want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        if group.is_none() && matches!(&sub[..], b"setid" | b"createconsumer" | b"delconsumer") {
            return Err(CommandError::other(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                shown(name),
                shown(key)
            )));
        }
    }
    match (&sub[..], args.len()) {
        (b"create", 5..=8) => create(ctx, args, stream, group, entries_read),
        (b"setid", 5 | 7) => {
            let (Some(stream), Some(mut group)) = (stream, group) else {
                return Err(subcommand_syntax_error(args));
            };
            let id = if args[4].as_ref() == b"$" {
                stream.state.last_id
            } else {
                parse_loose(&args[4], 0)?
            };
            group.last_id = id;
            group.entries_read = entries_read;
            stream.put_group(ctx, &group)?;
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-setid", key);
            Ok(Reply::ok())
        }
        (b"destroy", 4) => {
            let (Some(stream), Some(group)) = (stream, group) else {
                return Ok(Reply::Integer(0));
            };
            stream.destroy_group(ctx, &group.name)?;
            // Blocked XREADGROUP clients of the group get their NOGROUP error: Redis signals
            // the key as ready (without touching WATCH).
            ctx.signal_ready(key);
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-destroy", key);
            Ok(Reply::Integer(1))
        }
        (b"createconsumer", 5) => {
            let (Some(stream), Some(mut group)) = (stream, group) else {
                return Err(subcommand_syntax_error(args));
            };
            if stream.consumer(ctx, name, &args[4])?.is_some() {
                return Ok(Reply::Integer(0));
            }
            create_consumer(ctx, &stream, &mut group, &args[4])?;
            stream.put_group(ctx, &group)?;
            Ok(Reply::Integer(1))
        }
        (b"delconsumer", 5) => {
            let (Some(stream), Some(mut group)) = (stream, group) else {
                return Err(subcommand_syntax_error(args));
            };
            let Some(pending) = delete_consumer(ctx, &stream, &mut group, &args[4])? else {
                return Ok(Reply::Integer(0));
            };
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
            Ok(Reply::Integer(pending as i64))
        }
        _ => Err(subcommand_syntax_error(args)),
    }
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n], after the shared checks.
fn create(
    ctx: &mut Ctx,
    args: &[Bytes],
    stream: Option<Stream>,
    group: Option<Group>,
    entries_read: Option<u64>,
) -> CommandResult {
    let id = match (&stream, args[4].as_ref()) {
        (Some(stream), b"$") => stream.state.last_id,
        (None, b"$") => StreamId::ZERO,
        (_, text) => parse_strict(text)?,
    };
    let key = &args[2];
    let stream = match stream {
        Some(stream) => stream,
        None => {
            // MKSTREAM: the empty stream is added (and counted) before the group.
            let stream = Stream::create(ctx, key);
            let dirty = ctx.dirty;
            stream.save(ctx, 0)?;
            ctx.dirty = dirty;
            Stream::write(ctx, key)?.ok_or(CommandError::NoSuchKey)?
        }
    };
    if group.is_some() {
        return Err(CommandError::other(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    let group = Group {
        name: args[3].clone(),
        last_id: id,
        entries_read,
        pending: 0,
        consumers: 0,
    };
    stream.put_group(ctx, &group)?;
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-create", key);
    Ok(Reply::ok())
}

/// Removes a consumer and its pending entries; returns how many it had (`None`: no such
/// consumer).
fn delete_consumer(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut Group,
    name: &[u8],
) -> Result<Option<u64>, CommandError> {
    let Some(consumer) = stream.consumer(ctx, &group.name, name)? else {
        return Ok(None);
    };
    loop {
        let ids =
            stream.consumer_pending(ctx, &group.name, name, StreamId::ZERO, StreamId::MAX, PAGE)?;
        for id in &ids {
            if let Some(nack) = stream.nack(ctx, &group.name, *id)? {
                stream.delete_nack(ctx, &group.name, &nack)?;
                group.pending = group.pending.saturating_sub(1);
            }
        }
        if ids.len() < PAGE {
            break;
        }
    }
    stream.delete_consumer(ctx, &group.name, name)?;
    group.consumers = group.consumers.saturating_sub(1);
    stream.put_group(ctx, group)?;
    Ok(Some(consumer.pending))
}

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(stream) = Stream::read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let Some(mut group) = stream.group(ctx, &args[2])? else {
        return Ok(Reply::Integer(0));
    };
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut acked = 0;
    for id in ids {
        if let Some(nack) = stream.nack(ctx, &group.name, id)? {
            drop_nack(ctx, &stream, &mut group, &nack)?;
            acked += 1;
        }
    }
    if acked > 0 {
        stream.put_group(ctx, &group)?;
        ctx.dirty += acked;
    }
    Ok(Reply::Integer(acked as i64))
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return Err(CommandError::Syntax);
    }
    let mut min_idle = 0i64;
    let mut range = None;
    let mut consumer = None;
    if !summary {
        let mut at = 3;
        if args[3].eq_ignore_ascii_case(b"idle") {
            min_idle = parse_i64(&args[4])?;
            if args.len() < 8 {
                return Err(CommandError::Syntax);
            }
            at += 2;
        }
        let count = parse_i64(args.get(at + 2).ok_or(CommandError::Syntax)?)?.max(0);
        let (from, to) = parse_range(&args[at], &args[at + 1])?;
        range = Some((from, to, count as u64));
        consumer = args.get(at + 3);
    }
    let (stream, group) = stream_and_group(ctx, &args[1], &args[2])?;
    let Some((from, to, count)) = range else {
        return pending_summary(ctx, &stream, &group);
    };
    let ids: Vec<Nack> = match consumer {
        Some(name) => {
            if stream.consumer(ctx, &group.name, name)?.is_none() {
                return Ok(Reply::Array(Vec::new()));
            }
            let mut nacks = Vec::new();
            for id in scan_consumer_pel(ctx, &stream, &group.name, name, from, to, count, min_idle)?
            {
                if let Some(nack) = stream.nack(ctx, &group.name, id)? {
                    nacks.push(nack);
                }
            }
            nacks
        }
        None => scan_pel(ctx, &stream, &group.name, from, to, count, min_idle)?,
    };
    let now = ctx.now_ms;
    Ok(Reply::Array(
        ids.into_iter()
            .map(|nack| {
                Reply::Array(vec![
                    id_reply(nack.id),
                    Reply::Bulk(nack.consumer),
                    Reply::Integer((now - nack.delivery_time).max(0)),
                    Reply::Integer(nack.delivery_count as i64),
                ])
            })
            .collect(),
    ))
}

/// Up to `count` pending entries of a group in `from..=to` idle for at least `min_idle` ms.
fn scan_pel(
    ctx: &Ctx,
    stream: &Stream,
    group: &[u8],
    mut from: StreamId,
    to: StreamId,
    count: u64,
    min_idle: i64,
) -> Result<Vec<Nack>, CommandError> {
    let mut found = Vec::new();
    while (found.len() as u64) < count {
        let page = stream.pending(ctx, group, from, to, PAGE)?;
        for nack in &page {
            if (found.len() as u64) < count
                && (min_idle == 0 || ctx.now_ms - nack.delivery_time >= min_idle)
            {
                found.push(nack.clone());
            }
        }
        match page.last().and_then(|n| n.id.next()) {
            Some(next) if page.len() == PAGE => from = next,
            _ => break,
        }
    }
    Ok(found)
}

/// Like [`scan_pel`] over one consumer's pending list; returns IDs.
#[allow(clippy::too_many_arguments)]
fn scan_consumer_pel(
    ctx: &Ctx,
    stream: &Stream,
    group: &[u8],
    consumer: &[u8],
    mut from: StreamId,
    to: StreamId,
    count: u64,
    min_idle: i64,
) -> Result<Vec<StreamId>, CommandError> {
    let mut found = Vec::new();
    while (found.len() as u64) < count {
        let page = stream.consumer_pending(ctx, group, consumer, from, to, PAGE)?;
        for id in &page {
            if found.len() as u64 >= count {
                break;
            }
            if min_idle != 0 {
                let idle_enough = stream
                    .nack(ctx, group, *id)?
                    .is_some_and(|n| ctx.now_ms - n.delivery_time >= min_idle);
                if !idle_enough {
                    continue;
                }
            }
            found.push(*id);
        }
        match page.last().and_then(|id| id.next()) {
            Some(next) if page.len() == PAGE => from = next,
            _ => break,
        }
    }
    Ok(found)
}

/// XPENDING's summary: count, smallest and greatest pending ID, and per consumer its count.
fn pending_summary(ctx: &Ctx, stream: &Stream, group: &Group) -> CommandResult {
    if group.pending == 0 {
        return Ok(Reply::Array(vec![
            Reply::Integer(0),
            Reply::Null,
            Reply::Null,
            Reply::NullArray,
        ]));
    }
    let first = stream.pending(ctx, &group.name, StreamId::ZERO, StreamId::MAX, 1)?;
    let last = stream.last_pending_id(ctx, &group.name)?;
    let consumers = stream
        .consumers(ctx, &group.name)?
        .into_iter()
        .filter(|c| c.pending > 0)
        .map(|c| {
            Reply::Array(vec![
                Reply::Bulk(c.name),
                Reply::bulk(c.pending.to_string()),
            ])
        })
        .collect();
    Ok(Reply::Array(vec![
        Reply::Integer(group.pending as i64),
        first.first().map_or(Reply::Null, |n| id_reply(n.id)),
        last.map_or(Reply::Null, id_reply),
        Reply::Array(consumers),
    ]))
}

/// The options XCLAIM takes after its IDs.
struct ClaimOptions {
    force: bool,
    justid: bool,
    /// Delivery time to set (`None`: now).
    delivery_time: Option<i64>,
    retry_count: Option<u64>,
    last_id: StreamId,
}

fn parse_claim_options(ctx: &Ctx, options: &[Bytes]) -> Result<ClaimOptions, CommandError> {
    let mut parsed = ClaimOptions {
        force: false,
        justid: false,
        delivery_time: None,
        retry_count: None,
        last_id: StreamId::ZERO,
    };
    let number = |arg: &[u8], what: &str| {
        parse_i64(arg).map_err(|_| {
            CommandError::other(format!("ERR Invalid {what} option argument for XCLAIM"))
        })
    };
    let mut i = 0;
    while i < options.len() {
        let opt = &options[i];
        let value = options.get(i + 1);
        match value {
            _ if opt.eq_ignore_ascii_case(b"force") => parsed.force = true,
            _ if opt.eq_ignore_ascii_case(b"justid") => parsed.justid = true,
            Some(v) if opt.eq_ignore_ascii_case(b"idle") => {
                parsed.delivery_time = Some(ctx.now_ms.wrapping_sub(number(v, "IDLE")?));
                i += 1;
            }
            Some(v) if opt.eq_ignore_ascii_case(b"time") => {
                parsed.delivery_time = Some(number(v, "TIME")?);
                i += 1;
            }
            Some(v) if opt.eq_ignore_ascii_case(b"retrycount") => {
                // A negative count is taken and then ignored, as in Redis.
                parsed.retry_count = u64::try_from(number(v, "RETRYCOUNT")?).ok();
                i += 1;
            }
            Some(v) if opt.eq_ignore_ascii_case(b"lastid") => {
                parsed.last_id = parse_strict(v)?;
                i += 1;
            }
            _ => {
                return Err(CommandError::other(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    shown(opt)
                )))
            }
        }
        i += 1;
    }
    Ok(parsed)
}

/// The min-idle-time argument of XCLAIM / XAUTOCLAIM (negative counts as 0).
fn parse_min_idle(arg: &[u8], command: &str) -> Result<i64, CommandError> {
    parse_i64(arg).map(|n| n.max(0)).map_err(|_| {
        CommandError::other(format!("ERR Invalid min-idle-time argument for {command}"))
    })
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (stream, mut group) = stream_and_group(ctx, &args[1], &args[2])?;
    let min_idle = parse_min_idle(&args[4], "XCLAIM")?;
    let ids: Vec<StreamId> = args[5..]
        .iter()
        .map_while(|a| parse_strict(a).ok())
        .collect();
    let options = parse_claim_options(ctx, &args[5 + ids.len()..])?;
    let now = ctx.now_ms;
    let mut changed = false;
    // Redis counts a moved last ID as a change only when no claim carried it.
    let mut last_id_only = false;
    if options.last_id > group.last_id {
        group.last_id = options.last_id;
        changed = true;
        last_id_only = true;
    }
    let delivery_time = match options.delivery_time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let name = &args[3];
    let mut owner: Option<Consumer> = None;
    let mut replies = Vec::new();
    for id in ids {
        let existing = stream.nack(ctx, &group.name, id)?;
        let entry = stream.entry(ctx, id)?;
        if entry.is_none() {
            if let Some(nack) = existing {
                propagate_claim(ctx, &args[1], &group, &nack);
                drop_nack(ctx, &stream, &mut group, &nack)?;
                ctx.dirty += 1;
                changed = true;
                last_id_only = false;
            }
            continue;
        }
        let (previous, mut nack) = match existing {
            Some(nack) => {
                if min_idle > 0 && now - nack.delivery_time < min_idle {
                    continue;
                }
                (Some(nack.clone()), nack)
            }
            None if options.force => (
                None,
                Nack {
                    id,
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: Bytes::new(),
                },
            ),
            None => continue,
        };
        if owner.is_none() {
            owner = Some(consumer_for(ctx, &stream, &mut group, name)?);
        }
        nack.consumer = name.clone();
        nack.delivery_time = delivery_time;
        match options.retry_count {
            Some(n) => nack.delivery_count = n,
            None if !options.justid => nack.delivery_count += 1,
            None => {}
        }
        store_nack(ctx, &stream, &mut group, &nack, previous.as_ref())?;
        propagate_claim(ctx, &args[1], &group, &nack);
        replies.push(match (options.justid, entry) {
            (true, _) => id_reply(id),
            (false, Some(entry)) => entry_reply(entry),
            (false, None) => Reply::Null,
        });
        ctx.dirty += 1;
        changed = true;
        last_id_only = false;
    }
    if last_id_only {
        ctx.dirty += 1;
        propagate_group_id(ctx, &args[1], &group);
    }
    if changed || owner.is_some() {
        stream.put_group(ctx, &group)?;
    }
    // What changed was propagated piece by piece above.
    ctx.prevent_propagation();
    Ok(Reply::Array(replies))
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let min_idle = parse_min_idle(&args[4], "XAUTOCLAIM")?;
    let mut from = parse_start(&args[5])?;
    let mut count: u64 = 100;
    let mut justid = false;
    let mut i = 6;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"count") && i + 1 < args.len() {
            let max = i64::MAX / 16;
            count = match parse_i64(&args[i + 1]) {
                Ok(n) if (1..=max).contains(&n) => n as u64,
                _ => return Err(CommandError::other("ERR COUNT must be > 0")),
            };
            i += 1;
        } else if args[i].eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    let (stream, mut group) = stream_and_group(ctx, &args[1], &args[2])?;
    let now = ctx.now_ms;
    let name = &args[3];
    let mut attempts = count * 10;
    let mut owner: Option<Consumer> = None;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut changed = false;
    let mut cursor = StreamId::ZERO;
    'scan: loop {
        let page = stream.pending(ctx, &group.name, from, StreamId::MAX, PAGE)?;
        for nack in &page {
            if attempts == 0 || count == 0 {
                cursor = nack.id;
                break 'scan;
            }
            attempts -= 1;
            if stream.entry(ctx, nack.id)?.is_none() {
                propagate_claim(ctx, &args[1], &group, nack);
                drop_nack(ctx, &stream, &mut group, nack)?;
                deleted.push(nack.id);
                count -= 1;
                ctx.dirty += 1;
                changed = true;
                continue;
            }
            if min_idle > 0 && now - nack.delivery_time < min_idle {
                continue;
            }
            if owner.is_none() {
                owner = Some(consumer_for(ctx, &stream, &mut group, name)?);
            }
            let mut moved = nack.clone();
            moved.consumer = name.clone();
            moved.delivery_time = now;
            if !justid {
                moved.delivery_count += 1;
            }
            store_nack(ctx, &stream, &mut group, &moved, Some(nack))?;
            propagate_claim(ctx, &args[1], &group, &moved);
            claimed.push(if justid {
                id_reply(nack.id)
            } else {
                stream.entry(ctx, nack.id)?.map_or(Reply::Null, entry_reply)
            });
            count -= 1;
            ctx.dirty += 1;
            changed = true;
        }
        match page.last().and_then(|n| n.id.next()) {
            Some(next) if page.len() == PAGE => from = next,
            _ => break,
        }
    }
    if changed || owner.is_some() {
        stream.put_group(ctx, &group)?;
    }
    ctx.prevent_propagation();
    Ok(Reply::Array(vec![
        id_reply(cursor),
        Reply::Array(claimed),
        Reply::Array(deleted.into_iter().map(id_reply).collect()),
    ]))
}

const HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

pub const COMMANDS: &[(&str, crate::commands::table::Handler)] = &[
    ("xgroup|help", help),
    ("xgroup|create", xgroup),
    ("xgroup|setid", xgroup),
    ("xgroup|destroy", xgroup),
    ("xgroup|createconsumer", xgroup),
    ("xgroup|delconsumer", xgroup),
    ("xack", xack),
    ("xpending", xpending),
    ("xclaim", xclaim),
    ("xautoclaim", xautoclaim),
];

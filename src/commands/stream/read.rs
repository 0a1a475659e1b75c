//! XREAD and XREADGROUP, blocking included.
//!
//! Both read, per stream, the entries after an ID: XREAD after the given ID (`$`: the stream's
//! last ID now), XREADGROUP with `>` after the group's last delivered ID, advancing it and
//! adding what it delivers to the pending entries list (unless NOACK), or with an explicit ID the
//! consumer's own pending history. The reply names each stream that had something: an array of
//! `[key, entries]` pairs in RESP2, a map in RESP3; nothing at all is a null.
//!
//! With BLOCK and nothing to read, the client blocks on every key (see `server::blocking`); a
//! `$` is resolved to the stream's last ID at that moment and kept in the saved arguments. A key
//! that changes later serves the client when the stream's last ID passed the client's (for a
//! group: the group's last delivered ID then), with at most COUNT entries (1000 by default),
//! from that key only. A blocked XREADGROUP whose group vanished gets NOGROUP; one whose key was
//! deleted or replaced by another type gets UNBLOCKED, as in Redis 7.0.

use std::time::Duration;

use bytes::Bytes;
use engine::Order;
use formats::resp::Reply;

use super::group::{
    consumer_for, propagate_claim, propagate_consumer_creation, propagate_group_id, store_nack,
};
use super::id::{parse_strict, StreamId};
use super::store::{Nack, Stream, PAGE};
use super::{entry_reply, id_reply, lag, shown};
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

/// Entries a blocked reader without COUNT gets at once (Redis's XREAD_BLOCKED_DEFAULT_COUNT).
const BLOCKED_DEFAULT_COUNT: u64 = 1000;

/// A parsed XREAD / XREADGROUP call.
struct ReadArgs {
    /// 0: no limit.
    count: u64,
    /// `None`: no BLOCK; `Some(None)`: block forever.
    block: Option<Option<Duration>>,
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    /// Index of the first key; the IDs follow the keys.
    keys_at: usize,
    streams: usize,
}

impl ReadArgs {
    fn key<'a>(&self, args: &'a [Bytes], i: usize) -> &'a Bytes {
        &args[self.keys_at + i]
    }

    fn id_arg<'a>(&self, args: &'a [Bytes], i: usize) -> &'a Bytes {
        &args[self.keys_at + self.streams + i]
    }
}

/// What to read from one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    /// Entries after this ID.
    After(StreamId),
    /// XREADGROUP `>`: entries after the group's last delivered ID.
    New,
}

/// The BLOCK argument: milliseconds, Redis's getTimeoutFromObjectOrReply in milliseconds.
fn parse_block(arg: &[u8]) -> Result<Option<Duration>, CommandError> {
    let ms = parse_i64(arg)
        .map_err(|_| CommandError::other("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CommandError::other("ERR timeout is negative"));
    }
    if ms > 0 && ms > i64::MAX - crate::server::unix_ms() {
        return Err(CommandError::other("ERR timeout is out of range"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

fn parse_read_args(args: &[Bytes]) -> Result<ReadArgs, CommandError> {
    let group_command = args[0].eq_ignore_ascii_case(b"xreadgroup");
    let mut parsed = ReadArgs {
        count: 0,
        block: None,
        group: None,
        noack: false,
        keys_at: 0,
        streams: 0,
    };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if opt.eq_ignore_ascii_case(b"block") && more > 0 {
            parsed.block = Some(parse_block(&args[i + 1])?);
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            parsed.count = u64::try_from(parse_i64(&args[i + 1])?).unwrap_or(0);
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"streams") && more > 0 {
            let rest = args.len() - i - 1;
            if !rest.is_multiple_of(2) {
                // The same words for XREADGROUP, as Redis 7.0 has them.
                return Err(CommandError::other(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must \
                     be specified.",
                ));
            }
            parsed.keys_at = i + 1;
            parsed.streams = rest / 2;
            break;
        } else if opt.eq_ignore_ascii_case(b"group") && more >= 2 {
            if !group_command {
                return Err(CommandError::other(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            parsed.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"noack") {
            if !group_command {
                return Err(CommandError::other(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            parsed.noack = true;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if parsed.keys_at == 0 {
        return Err(CommandError::Syntax);
    }
    if group_command && parsed.group.is_none() {
        return Err(CommandError::other(
            "ERR Missing GROUP option for XREADGROUP",
        ));
    }
    Ok(parsed)
}

/// Resolves each stream's starting point, with Redis's checks in key order (type, group,
/// ID). Keys are looked up as reads.
fn resolve_ids(
    ctx: &mut Ctx,
    args: &[Bytes],
    parsed: &ReadArgs,
) -> Result<Vec<From>, CommandError> {
    let mut froms = Vec::with_capacity(parsed.streams);
    for i in 0..parsed.streams {
        let key = parsed.key(args, i);
        let stream = Stream::read(ctx, key)?;
        if let Some((group, _)) = &parsed.group {
            let exists = match &stream {
                Some(stream) => stream.group(ctx, group)?.is_some(),
                None => false,
            };
            if !exists {
                return Err(CommandError::other(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    shown(key),
                    shown(group)
                )));
            }
        }
        let text = parsed.id_arg(args, i);
        let from = match text.as_ref() {
            b"$" if parsed.group.is_some() => {
                return Err(CommandError::other(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the \
                     history of this consumer by specifying a proper ID, or use the > ID to get new \
                     messages. The $ ID would just return an empty result set.",
                ))
            }
            b"$" => From::After(stream.map_or(StreamId::ZERO, |s| s.state.last_id)),
            b">" if parsed.group.is_none() => {
                return Err(CommandError::other(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP \
                     <group> <consumer> option.",
                ))
            }
            b">" => From::New,
            _ => explicit(text, parsed.group.is_some())?,
        };
        froms.push(from);
    }
    Ok(froms)
}

/// An explicit ID. Redis marks `>` internally as the greatest ID, so for a group that ID
/// written out means `>` too.
fn explicit(text: &[u8], group: bool) -> Result<From, CommandError> {
    match parse_strict(text)? {
        StreamId::MAX if group => Ok(From::New),
        id => Ok(From::After(id)),
    }
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ... /
/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...
fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    // XREADGROUP is propagated through its effects (XCLAIM, XGROUP SETID/CREATECONSUMER).
    ctx.prevent_propagation();
    let parsed = parse_read_args(args)?;
    let froms = resolve_ids(ctx, args, &parsed)?;
    let mut served = Vec::new();
    for (i, from) in froms.iter().enumerate() {
        let key = parsed.key(args, i);
        if let Some(entries) = read_one(ctx, &parsed, key, *from, parsed.count, false)? {
            served.push((key.clone(), entries));
        }
    }
    if !served.is_empty() {
        return Ok(streams_reply(ctx, served));
    }
    let Some(timeout) = parsed.block else {
        return Ok(Reply::NullArray);
    };
    if ctx.may_block() {
        let keys = &args[parsed.keys_at..parsed.keys_at + parsed.streams];
        // `$` means "after what the stream holds now": keep the resolved IDs for serving.
        let mut saved = args.to_vec();
        for (i, from) in froms.iter().enumerate() {
            if let From::After(id) = from {
                saved[parsed.keys_at + parsed.streams + i] = Bytes::from(id.text());
            }
        }
        ctx.block(keys, &saved, timeout, serve_blocked, Reply::NullArray);
    }
    Ok(Reply::NullArray)
}

/// The reply naming each served stream: `[[key, entries], ...]` in RESP2, a map in RESP3.
fn streams_reply(ctx: &Ctx, served: Vec<(Bytes, Reply)>) -> Reply {
    if ctx.client.protocol >= 3 {
        Reply::Map(
            served
                .into_iter()
                .map(|(k, e)| (Reply::Bulk(k), e))
                .collect(),
        )
    } else {
        Reply::Array(
            served
                .into_iter()
                .map(|(k, e)| Reply::Array(vec![Reply::Bulk(k), e]))
                .collect(),
        )
    }
}

/// Reads one stream for XREAD / XREADGROUP; `None` when it has nothing to serve. `blocked`:
/// the client is being served after blocking (the stream's last ID decides, not its entries).
fn read_one(
    ctx: &mut Ctx,
    parsed: &ReadArgs,
    key: &Bytes,
    from: From,
    count: u64,
    blocked: bool,
) -> Result<Option<Reply>, CommandError> {
    let Some(stream) = Stream::read(ctx, key)? else {
        return Ok(None);
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    let Some((group_name, consumer_name)) = &parsed.group else {
        let From::After(after) = from else {
            return Ok(None);
        };
        return Ok(newer(ctx, &stream, after, limit, blocked)?.map(super::entries_reply));
    };
    let Some(mut group) = stream.group(ctx, group_name)? else {
        return Ok(None);
    };
    let fresh = match from {
        From::After(_) => None,
        From::New => match newer(ctx, &stream, group.last_id, limit, blocked)? {
            Some(entries) => Some(entries),
            None => return Ok(None),
        },
    };
    // Redis 7.0 looks the consumer up (creating it) only for a stream it serves.
    if stream.consumer(ctx, &group.name, consumer_name)?.is_none() {
        propagate_consumer_creation(ctx, key, &group.name, consumer_name);
    }
    let consumer = consumer_for(ctx, &stream, &mut group, consumer_name)?;
    let reply = match (fresh, from) {
        (Some(entries), _) => deliver(
            ctx,
            &stream,
            &mut group,
            consumer_name,
            parsed.noack,
            entries,
        )?,
        (None, From::After(after)) => history(ctx, &stream, &group, &consumer.name, after, limit)?,
        (None, From::New) => Reply::Array(Vec::new()),
    };
    ctx.dirty += 1;
    stream.put_group(ctx, &group)?;
    Ok(Some(reply))
}

/// Up to `limit` entries after `after`, if the stream is to be served: it holds one (Redis
/// compares its last live ID), or, for a client served after blocking, its last ID moved past
/// `after` (then possibly nothing, when the new entries are gone again).
fn newer(
    ctx: &Ctx,
    stream: &Stream,
    after: StreamId,
    limit: usize,
    blocked: bool,
) -> Result<Option<Vec<super::store::Entry>>, CommandError> {
    if blocked && stream.state.last_id <= after {
        return Ok(None);
    }
    let entries = match after.next() {
        Some(start) => stream.range(ctx, start, StreamId::MAX, Order::Ascending, limit)?,
        None => Vec::new(),
    };
    Ok((blocked || !entries.is_empty()).then_some(entries))
}

/// Delivers `entries` (those after the group's last ID) to a consumer (XREADGROUP `>`).
fn deliver(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &mut super::store::Group,
    consumer: &Bytes,
    noack: bool,
    entries: Vec<super::store::Entry>,
) -> Result<Reply, CommandError> {
    let mut replies = Vec::with_capacity(entries.len());
    let mut advanced = false;
    for entry in entries {
        let id = entry.id;
        if id > group.last_id {
            lag::advance(stream, group, id);
            advanced = true;
        }
        if !noack {
            let previous = stream.nack(ctx, &group.name, id)?;
            let nack = Nack {
                id,
                delivery_time: ctx.now_ms,
                delivery_count: 1,
                consumer: consumer.clone(),
            };
            store_nack(ctx, stream, group, &nack, previous.as_ref())?;
            propagate_claim(ctx, stream.key, group, &nack);
        }
        replies.push(entry_reply(entry));
    }
    // XREADGROUP itself is never propagated: its effects are, as XCLAIMs and this SETID.
    if advanced {
        propagate_group_id(ctx, stream.key, group);
    }
    Ok(Reply::Array(replies))
}

/// A consumer's pending history after `after` (XREADGROUP with an ID): each entry that still
/// exists counts as delivered again; a deleted one is reported with a null body.
fn history(
    ctx: &mut Ctx,
    stream: &Stream,
    group: &super::store::Group,
    consumer: &[u8],
    after: StreamId,
    limit: usize,
) -> Result<Reply, CommandError> {
    let Some(mut from) = after.next() else {
        return Ok(Reply::Array(Vec::new()));
    };
    let mut replies = Vec::new();
    while replies.len() < limit {
        let want = (limit - replies.len()).min(PAGE);
        let ids = stream.consumer_pending(ctx, &group.name, consumer, from, StreamId::MAX, want)?;
        for id in &ids {
            match stream.entry(ctx, *id)? {
                Some(entry) => {
                    if let Some(mut nack) = stream.nack(ctx, &group.name, *id)? {
                        nack.delivery_time = ctx.now_ms;
                        nack.delivery_count += 1;
                        stream.put_nack(ctx, &group.name, &nack, None)?;
                    }
                    replies.push(entry_reply(entry));
                }
                None => replies.push(Reply::Array(vec![id_reply(*id), Reply::NullArray])),
            }
        }
        match ids.last().and_then(|id| id.next()) {
            Some(next) if ids.len() == want => from = next,
            _ => break,
        }
    }
    Ok(Reply::Array(replies))
}

/// Serves a blocked XREAD / XREADGROUP from `key`, which changed.
fn serve_blocked(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    let parsed = parse_read_args(args)?;
    let Some(i) = (0..parsed.streams).find(|&i| parsed.key(args, i).as_ref() == key) else {
        return Ok(None);
    };
    let key = parsed.key(args, i);
    let stream = match Stream::write(ctx, key) {
        Ok(stream) => stream,
        Err(CommandError::WrongType) => None,
        Err(e) => return Err(e),
    };
    let Some(stream) = stream else {
        return match parsed.group {
            Some(_) => Err(CommandError::other(
                "UNBLOCKED the stream key no longer exists",
            )),
            None => Ok(None),
        };
    };
    if let Some((group, _)) = &parsed.group {
        if stream.group(ctx, group)?.is_none() {
            return Err(CommandError::other(
                "NOGROUP the consumer group this client was blocked on no longer exists",
            ));
        }
    }
    let text = parsed.id_arg(args, i);
    let from = if text.as_ref() == b">" {
        From::New
    } else {
        explicit(text, parsed.group.is_some())?
    };
    let count = if parsed.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        parsed.count
    };
    Ok(read_one(ctx, &parsed, key, from, count, true)?
        .map(|entries| streams_reply(ctx, vec![(key.clone(), entries)])))
}

pub const COMMANDS: &[(&str, crate::commands::table::Handler)] =
    &[("xread", xread), ("xreadgroup", xread)];

//! The stream commands that add, remove and list entries: XADD, XTRIM, XDEL, XLEN, XRANGE,
//! XREVRANGE and XSETID, with Redis 7.0's argument rules, errors and keyspace events.
//!
//! XADD and XTRIM share one option parser (Redis's streamParseAddOrTrimArgsOrReply): MAXLEN or
//! MINID with `=` (exact) or `~` (whole nodes only), LIMIT only with `~` (default: 100 nodes'
//! worth of entries), and for XADD NOMKSTREAM and the ID, which ends the options.

use bytes::Bytes;
use engine::Order;
use formats::resp::Reply;

use super::id::{parse_range, parse_strict, parse_with, IdRules, ParsedId, StreamId};
use super::store::{NodeLimits, Pair, Stream, Trim};
use super::{entries_reply, id_reply};
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// The options XADD and XTRIM share.
struct TrimArgs {
    rule: Option<Trim>,
    approx: bool,
    limit: u64,
    no_mkstream: bool,
    /// XADD's ID (`None` for `*`) and where it is.
    id: Option<ParsedId>,
    id_at: usize,
    /// Where the trimming rule is: from its keyword to past its threshold.
    rule_at: (usize, usize),
    /// Where `LIMIT count` is, if given.
    limit_at: Option<usize>,
}

fn syntax(text: &str) -> CommandError {
    CommandError::other(format!("ERR syntax error, {text}"))
}

/// Redis's streamParseAddOrTrimArgsOrReply.
fn parse_trim_args(ctx: &Ctx, args: &[Bytes], xadd: bool) -> Result<TrimArgs, CommandError> {
    let mut parsed = TrimArgs {
        rule: None,
        approx: false,
        limit: 0,
        no_mkstream: false,
        id: None,
        id_at: args.len(),
        rule_at: (0, 0),
        limit_at: None,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && opt.as_ref() == b"*" {
            parsed.id_at = i;
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            if parsed.rule.is_some() {
                return Err(syntax(
                    "MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            parsed.approx = false;
            let rule_start = i;
            let next = &args[i + 1];
            if more >= 2 && (next.as_ref() == b"~" || next.as_ref() == b"=") {
                parsed.approx = next.as_ref() == b"~";
                i += 1;
            }
            let value = &args[i + 1];
            parsed.rule =
                Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                    let max = parse_i64(value)?;
                    Trim::MaxLen(u64::try_from(max).map_err(|_| {
                        CommandError::other("ERR The MAXLEN argument must be >= 0.")
                    })?)
                } else {
                    Trim::MinId(parse_strict(value)?)
                });
            i += 2;
            parsed.rule_at = (rule_start, i);
            continue;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let limit = parse_i64(&args[i + 1])?;
            parsed.limit = u64::try_from(limit)
                .map_err(|_| CommandError::other("ERR The LIMIT argument must be >= 0."))?;
            limit_given = true;
            parsed.limit_at = Some(i);
            i += 2;
            continue;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            parsed.no_mkstream = true;
        } else if xadd {
            let rules = IdRules {
                missing_seq: 0,
                strict: true,
                seq_wildcard: true,
            };
            parsed.id = Some(parse_with(opt, rules)?);
            parsed.id_at = i;
            break;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if parsed.limit != 0 && parsed.rule.is_none() {
        return Err(syntax(
            "LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && parsed.rule.is_none() {
        return Err(syntax("XTRIM must be called with a trimming strategy"));
    }
    if limit_given {
        if !parsed.approx {
            return Err(syntax("LIMIT cannot be used without the special ~ option"));
        }
    } else if parsed.approx {
        // At most 100 nodes' worth of work, as Redis bounds it.
        parsed.limit = 100 * NodeLimits::from_config(ctx).entries;
    } else {
        parsed.limit = 0;
    }
    Ok(parsed)
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let parsed = parse_trim_args(ctx, args, true)?;
    let fields = args.get(parsed.id_at + 1..).unwrap_or_default();
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(CommandError::WrongArity("xadd".into()));
    }
    if let Some(ParsedId {
        id: StreamId::ZERO,
        seq_given: true,
    }) = parsed.id
    {
        return Err(CommandError::other(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = &args[1];
    let (mut stream, created) = match Stream::write(ctx, key)? {
        Some(stream) => (stream, false),
        None if parsed.no_mkstream => return Ok(Reply::Null),
        None => (Stream::create(ctx, key), true),
    };
    if stream.state.last_id == StreamId::MAX {
        return exhausted(ctx, stream, created);
    }
    let Some(id) = next_id(&stream, parsed.id, ctx.now_ms) else {
        return rejected(
            ctx,
            stream,
            created,
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        );
    };
    let payload: u64 = fields.iter().map(|f| f.len() as u64).sum();
    if payload > 1 << 30 {
        return rejected(
            ctx,
            stream,
            created,
            "ERR Elements are too large to be stored",
        );
    }
    let pairs: Vec<Pair> = fields
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    stream.append(ctx, id, &pairs, NodeLimits::from_config(ctx))?;
    let trimmed = match parsed.rule {
        Some(rule) => stream.trim(ctx, rule, parsed.approx, parsed.limit)?,
        None => 0,
    };
    let chosen = (!matches!(
        parsed.id,
        Some(ParsedId {
            seq_given: true,
            ..
        })
    ))
    .then_some(id);
    let rewritten =
        (chosen.is_some() || parsed.approx).then(|| propagated(args, &parsed, &stream, chosen));
    stream.save(ctx, 1)?;
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    if let Some(rewritten) = rewritten {
        ctx.rewrite_propagated(rewritten);
    }
    Ok(id_reply(id))
}

/// What XADD or XTRIM propagates: the command with the ID XADD chose (for `*` or a `ms-*`
/// ID) and an approximate trim (`~`, LIMIT) replaced by the exact one it came to, `= <length>`
/// or `= <first ID>` (Redis's streamRewriteApproxSpecifier and streamRewriteTrimArgument), so a
/// replica or an AOF load ends with the same entries.
fn propagated(
    args: &[Bytes],
    parsed: &TrimArgs,
    stream: &Stream,
    id: Option<StreamId>,
) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        if i == parsed.rule_at.0 && parsed.approx {
            let exact = match parsed.rule {
                Some(Trim::MaxLen(_)) => stream.len().to_string(),
                // Redis's streamGetEdgeID: an empty stream's first ID is the greatest one.
                _ if stream.is_empty() => StreamId::MAX.text(),
                _ => stream.state.first_id.text(),
            };
            out.extend([
                args[i].clone(),
                Bytes::from_static(b"="),
                Bytes::from(exact),
            ]);
            i = parsed.rule_at.1;
        } else if Some(i) == parsed.limit_at && parsed.approx {
            i += 2;
        } else if i == parsed.id_at && id.is_some() {
            out.push(Bytes::from(id.map(StreamId::text).unwrap_or_default()));
            i += 1;
        } else {
            out.push(args[i].clone());
            i += 1;
        }
    }
    out
}

/// The ID XADD adds with (Redis's streamAppendItem rules); `None` when it would not be
/// greater than the last ID.
fn next_id(stream: &Stream, given: Option<ParsedId>, now_ms: i64) -> Option<StreamId> {
    let last = stream.state.last_id;
    let id = match given {
        Some(ParsedId {
            id,
            seq_given: true,
        }) => id,
        Some(ParsedId { id, .. }) if id.ms == last.ms => last.next().filter(|n| n.ms == id.ms)?,
        Some(ParsedId { id, .. }) => id,
        None => {
            let now = u64::try_from(now_ms).unwrap_or(0);
            if now > last.ms {
                StreamId::new(now, 0)
            } else {
                last.next()?
            }
        }
    };
    (id > last).then_some(id)
}

/// XADD refused after the stream was looked up: a stream it just created stays, empty, as in
/// Redis (which creates the key before appending).
fn rejected(ctx: &mut Ctx, stream: Stream, created: bool, text: &str) -> CommandResult {
    if created {
        stream.save(ctx, 0)?;
    }
    Err(CommandError::other(text))
}

fn exhausted(ctx: &mut Ctx, stream: Stream, created: bool) -> CommandResult {
    rejected(
        ctx,
        stream,
        created,
        "ERR The stream has exhausted the last possible ID, unable to add more items",
    )
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let parsed = parse_trim_args(ctx, args, false)?;
    let Some(rule) = parsed.rule else {
        return Err(CommandError::Syntax);
    };
    let key = &args[1];
    let Some(mut stream) = Stream::write(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let trimmed = stream.trim(ctx, rule, parsed.approx, parsed.limit)?;
    if trimmed > 0 {
        let rewritten = parsed
            .approx
            .then(|| propagated(args, &parsed, &stream, None));
        stream.save(ctx, trimmed)?;
        ctx.notify(notify::STREAM, "xtrim", key);
        if let Some(rewritten) = rewritten {
            ctx.rewrite_propagated(rewritten);
        }
    }
    Ok(Reply::Integer(trimmed as i64))
}

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut stream) = Stream::write(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0;
    let mut first_deleted = false;
    for id in ids {
        if stream.delete(ctx, id)? {
            first_deleted |= id == stream.state.first_id;
            deleted += 1;
        }
    }
    if deleted == 0 {
        return Ok(Reply::Integer(0));
    }
    if stream.is_empty() || first_deleted {
        stream.refresh_first_id(ctx)?;
    }
    stream.save(ctx, deleted)?;
    ctx.notify(notify::STREAM, "xdel", key);
    Ok(Reply::Integer(deleted as i64))
}

/// XLEN key
fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let len = Stream::read(ctx, &args[1])?.map_or(0, |s| s.len());
    Ok(Reply::Integer(len as i64))
}

/// XRANGE key start end [COUNT count] / XREVRANGE key end start [COUNT count]
fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let rev = args[0].eq_ignore_ascii_case(b"xrevrange");
    let (start, end) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let (from, to) = parse_range(start, end)?;
    let mut count: Option<i64> = None;
    let mut options = args[4..].iter();
    while let Some(option) = options.next() {
        match options.next() {
            Some(value) if option.eq_ignore_ascii_case(b"count") => {
                count = Some(parse_i64(value)?.max(0));
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    let Some(stream) = Stream::read(ctx, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let limit = match count {
        Some(0) => return Ok(Reply::NullArray),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    let order = if rev {
        Order::Descending
    } else {
        Order::Ascending
    };
    Ok(entries_reply(stream.range(ctx, from, to, order, limit)?))
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let id = parse_strict(&args[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::ZERO;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args[i].eq_ignore_ascii_case(b"entriesadded") && more > 0 {
            let n = parse_i64(&args[i + 1])?;
            entries_added = Some(
                u64::try_from(n)
                    .map_err(|_| CommandError::other("ERR entries_added must be positive"))?,
            );
        } else if args[i].eq_ignore_ascii_case(b"maxdeletedid") && more > 0 {
            max_deleted = parse_strict(&args[i + 1])?;
            if id < max_deleted {
                return Err(CommandError::other(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CommandError::Syntax);
        }
        i += 2;
    }
    let key = &args[1];
    let Some(mut stream) = Stream::write(ctx, key)? else {
        return Err(CommandError::NoSuchKey);
    };
    if !stream.is_empty() {
        let top = stream
            .edge_id(ctx, Order::Descending)?
            .unwrap_or(StreamId::ZERO);
        if id < top {
            return Err(CommandError::other(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| n < stream.len()) {
            return Err(CommandError::other(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    stream.state.last_id = id;
    if let Some(n) = entries_added {
        stream.state.entries_added = n;
    }
    if !max_deleted.is_zero() {
        stream.state.max_deleted = max_deleted;
    }
    stream.save_unsignalled(ctx, 1)?;
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(Reply::ok())
}

pub const COMMANDS: &[(&str, crate::commands::table::Handler)] = &[
    ("xadd", xadd),
    ("xtrim", xtrim),
    ("xdel", xdel),
    ("xlen", xlen),
    ("xrange", xrange),
    ("xrevrange", xrange),
    ("xsetid", xsetid),
];

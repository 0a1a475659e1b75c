//! Sorted set commands, with Redis 7.0's `t_zset.c` rules: ZADD / ZINCRBY, ZREM, ZCARD,
//! ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZSCAN and ZRANDMEMBER here; the range commands in
//! [`range`], the pops in [`pop`] (the blocking ones in [`blocking`]), the set algebra in
//! [`algebra`].
//!
//! Storage, the two forms and their conversion live in [`store`], which is also the API GEO and
//! SORT use. Reads count keyspace hits and misses; writes count `server.dirty` as Redis does
//! and record keyspace events where `t_zset.c` calls `notifyKeyspaceEvent`. A set left without
//! members is deleted (with a generic "del" event).
//!
//! Scores are replied with [`Reply::Double`]: a `%.17g` bulk string in RESP2, a double in RESP3.
//! Replies WITHSCORES are a flat member/score array in RESP2 and an array of [member, score]
//! pairs in RESP3, as Redis 7.0 sends them. ZSCAN returns a whole inline set at once with cursor
//! 0, as Redis does for a listpack, and pages through an element-bodied one in member order with
//! cursors from the shared SCAN cursor map.

pub mod algebra;
pub mod blocking;
pub mod pop;
pub mod range;
pub mod store;

use bytes::Bytes;
use engine::Meta;
use formats::resp::{format_double, Reply};
use rand::seq::index::sample;
use rand::Rng;

use super::args::{parse_f64, parse_i64};
use super::keys::element_scan::{self, ScanOptions};
use super::keys::parse_cursor;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};
use store::{AddFlags, Added, Entry, ZSet};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zscan", zscan),
    ("zrandmember", zrandmember),
    ("zrange", range::zrange),
    ("zrangestore", range::zrangestore),
    ("zrevrange", range::zrevrange),
    ("zrangebyscore", range::zrangebyscore),
    ("zrevrangebyscore", range::zrevrangebyscore),
    ("zrangebylex", range::zrangebylex),
    ("zrevrangebylex", range::zrevrangebylex),
    ("zcount", range::zcount),
    ("zlexcount", range::zlexcount),
    ("zremrangebyrank", range::zremrangebyrank),
    ("zremrangebyscore", range::zremrangebyscore),
    ("zremrangebylex", range::zremrangebylex),
    ("zpopmin", pop::zpopmin),
    ("zpopmax", pop::zpopmax),
    ("zmpop", pop::zmpop),
    ("zunion", algebra::zunion),
    ("zinter", algebra::zinter),
    ("zdiff", algebra::zdiff),
    ("zunionstore", algebra::zunionstore),
    ("zinterstore", algebra::zinterstore),
    ("zdiffstore", algebra::zdiffstore),
    ("zintercard", algebra::zintercard),
];

/// The encoding OBJECT ENCODING reports for a sorted set.
pub fn encoding_name(meta: &Meta) -> &'static str {
    if meta.body.first() == Some(&store::ELEMENTS) {
        "skiplist"
    } else {
        "listpack"
    }
}

fn bulk(bytes: Vec<u8>) -> Reply {
    Reply::Bulk(Bytes::from(bytes))
}

/// Entries as Redis replies with them: members only, or WITHSCORES as flat member/score pairs
/// (RESP2, or `nested == false`) or as [member, score] arrays (RESP3 with `nested`).
pub fn entries_reply(entries: Vec<Entry>, with_scores: bool, nested: bool) -> Vec<Reply> {
    let mut out = Vec::with_capacity(entries.len() * if with_scores { 2 } else { 1 });
    for (member, score) in entries {
        match (with_scores, nested) {
            (false, _) => out.push(bulk(member)),
            (true, false) => out.extend([bulk(member), Reply::Double(score)]),
            (true, true) => out.push(Reply::Array(vec![bulk(member), Reply::Double(score)])),
        }
    }
    out
}

/// ZADD; GEOADD stores through it.
pub(crate) fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    zadd_generic(ctx, args, AddFlags::default())
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    zadd_generic(
        ctx,
        args,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
    )
}

/// Redis's `zaddGenericCommand`: options, then score/member pairs; ZINCRBY is ZADD INCR (its
/// increment is even read as an option word when it is one, as in Redis).
fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], mut flags: AddFlags) -> CommandResult {
    let mut ch = false;
    let mut at = 2;
    while let Some(word) = args.get(at) {
        let word = word.to_ascii_lowercase();
        match word.as_slice() {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"ch" => ch = true,
            b"incr" => flags.incr = true,
            b"gt" => flags.gt = true,
            b"lt" => flags.lt = true,
            _ => break,
        }
        at += 1;
    }
    let pairs = &args[at..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return Err(CommandError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CommandError::other(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CommandError::other(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    let elements = pairs.len() / 2;
    if flags.incr && elements > 1 {
        return Err(CommandError::other(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks_exact(2)
        .map(|pair| parse_f64(&pair[0]))
        .collect::<Result<Vec<f64>, _>>()?;
    let limits = ZSet::limits(ctx);
    let key = &args[1];
    let mut zset = match ZSet::write(ctx, key)? {
        Some(zset) => zset,
        None if flags.xx => {
            return Ok(if flags.incr {
                Reply::Null
            } else {
                Reply::Integer(0)
            })
        }
        None => ZSet::create(ctx, key, limits, 1, pairs[1].len()),
    };
    let (mut added, mut updated) = (0u64, 0u64);
    let mut result = None;
    for (pair, score) in pairs.chunks_exact(2).zip(scores) {
        match zset.add(ctx, limits, score, &pair[1], flags)? {
            Added::Added(score) => {
                added += 1;
                result = Some(score);
            }
            Added::Updated(score) => {
                updated += 1;
                result = Some(score);
            }
            Added::Unchanged(score) => result = Some(score),
            Added::Skipped => {}
        }
    }
    let changes = added + updated;
    if changes > 0 {
        zset.save(ctx, changes)?;
        ctx.notify(notify::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(match (flags.incr, result) {
        (true, Some(score)) => Reply::Double(score),
        (true, None) => Reply::Null,
        (false, _) => Reply::Integer((if ch { changes } else { added }) as i64),
    })
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut zset) = ZSet::write(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut deleted = 0;
    for member in &args[2..] {
        if zset.remove(ctx, member)? {
            deleted += 1;
        }
        // Redis stops at the last member, not at the last argument.
        if zset.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        let removed = zset.save(ctx, deleted)?;
        ctx.notify_and_del(notify::ZSET, "zrem", key, removed);
    }
    Ok(Reply::Integer(deleted as i64))
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let len = ZSet::read(ctx, &args[1])?.map_or(0, |zset| zset.len());
    Ok(Reply::Integer(len as i64))
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(zset) = ZSet::read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    Ok(zset
        .score(ctx, &args[2])?
        .map_or(Reply::Null, Reply::Double))
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let zset = ZSet::read(ctx, &args[1])?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &zset {
            Some(zset) => zset.score(ctx, member)?,
            None => None,
        };
        out.push(score.map_or(Reply::Null, Reply::Double));
    }
    Ok(Reply::Array(out))
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], reverse: bool) -> CommandResult {
    let Some(zset) = ZSet::read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    Ok(zset
        .rank(ctx, &args[2], reverse)?
        .map_or(Reply::Null, |(rank, _)| Reply::Integer(rank as i64)))
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count] (see `keys::element_scan`). Scores are bulk
/// strings in Redis's `%.17g` text, in both protocols.
fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(zset) = ZSet::read(ctx, &args[1])? else {
        return Ok(element_scan::reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(args)?;
    let (entries, next) = if zset.is_inline() {
        (zset.all(ctx)?, 0)
    } else {
        element_scan::page(
            ctx,
            cursor,
            &options,
            |(member, _): &Entry| member.as_slice(),
            |ctx, after, limit| zset.page_by_member(ctx, after, limit),
        )?
    };
    let mut items = Vec::with_capacity(entries.len() * 2);
    for (member, score) in entries.into_iter().filter(|(m, _)| options.keeps(m)) {
        items.push(bulk(member));
        items.push(Reply::bulk(format_double(score)));
    }
    Ok(element_scan::reply(next, items))
}

/// ZRANDMEMBER key [count [WITHSCORES]]
///
/// A positive count returns distinct members (the whole set, highest score first as Redis's
/// set iterator walks it, when it has no more than count), a negative one may repeat members.
/// Random ranks are drawn first and then read in one pass.
fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        let Some(zset) = ZSet::read(ctx, &args[1])?.filter(|z| !z.is_empty()) else {
            return Ok(Reply::Null);
        };
        let rank = rand::thread_rng().gen_range(0..zset.len());
        let picked = zset.range_by_rank(ctx, rank, rank, false)?;
        return Ok(picked
            .into_iter()
            .next()
            .map_or(Reply::Null, |(member, _)| bulk(member)));
    }
    let count = parse_i64(&args[2])?;
    if count == i64::MIN {
        return Err(CommandError::other(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let with_scores = match args.get(3) {
        None => false,
        Some(word) if args.len() == 4 && word.eq_ignore_ascii_case(b"withscores") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::other("ERR value is out of range"));
    }
    let Some(zset) = ZSet::read(ctx, &args[1])?.filter(|z| !z.is_empty()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = zset.len();
    let wanted = count.unsigned_abs();
    let mut rng = rand::thread_rng();
    let picked: Vec<Entry> = if wanted == 0 {
        Vec::new()
    } else if count < 0 || wanted == 1 {
        let draws: Vec<u64> = (0..wanted).map(|_| rng.gen_range(0..size)).collect();
        zset.at_ranks(ctx, &draws)?
    } else if wanted >= size {
        let mut all = zset.all(ctx)?;
        all.reverse();
        all
    } else {
        // `wanted < size`, and a set's size fits in memory, so both fit in usize.
        let ranks: Vec<u64> = sample(&mut rng, size as usize, wanted as usize)
            .into_iter()
            .map(|i| i as u64)
            .collect();
        zset.at_ranks(ctx, &ranks)?
    };
    let nested = ctx.client.protocol > 2;
    Ok(Reply::Array(entries_reply(picked, with_scores, nested)))
}

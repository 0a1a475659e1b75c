//! Hash commands: HSET / HMSET, HSETNX, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HGETALL,
//! HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HSCAN and HRANDFIELD, with Redis 7.0's `t_hash.c` rules,
//! and Redis 7.4's per-field expire times ([`ttl`]): a field whose time has come is gone for
//! every command, HSET and HSETNX give a field no expire time (HSET removes one it had), HINCRBY
//! and HINCRBYFLOAT keep it.
//!
//! The storage forms and their conversion live in [`store`]. Reads count keyspace hits and
//! misses; writes look the key up "for write" and count one change per field written or
//! removed, as `server.dirty` does. A hash left without fields is deleted.
//!
//! Reply order: an inline hash replies in insertion order, like Redis's listpack; an
//! element-bodied one in field byte order, where Redis's hash-table order is arbitrary anyway.
//! HSCAN returns a whole inline hash at once with cursor 0, as Redis does for listpacks, and
//! pages through an element-bodied one with cursors from the shared SCAN cursor map.

pub(crate) mod rdb;
pub(crate) mod store;
pub(crate) mod ttl;

use bytes::Bytes;
use formats::resp::Reply;
use rand::seq::index::sample;
use rand::Rng;

use super::args::{parse_i64, LongDouble};
use super::keys::element_scan::{self, ScanOptions};
use super::keys::parse_cursor;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};
use store::{Hash, Pair};

/// The encoding Redis reports for a hash with this metadata (OBJECT ENCODING).
pub fn encoding_name(meta: &engine::Meta) -> &'static str {
    match meta.body.first() {
        Some(&store::ELEMENTS | &store::ELEMENTS_EX) => "hashtable",
        Some(&store::INLINE_EX) => "listpackex",
        _ => "listpack",
    }
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hgetall", hgetall),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hscan", hscan),
    ("hrandfield", hrandfield),
];

fn bulk(bytes: Vec<u8>) -> Reply {
    Reply::Bulk(Bytes::from(bytes))
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let added = hset_generic(ctx, args, "hset")?;
    Ok(Reply::Integer(added as i64))
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    hset_generic(ctx, args, "hmset")?;
    Ok(Reply::ok())
}

/// HSET and HMSET: sets every pair, returns how many fields are new.
fn hset_generic(ctx: &mut Ctx, args: &[Bytes], name: &str) -> Result<u64, CommandError> {
    if args.len() % 2 == 1 {
        return Err(CommandError::WrongArity(name.into()));
    }
    let limits = Hash::limits(ctx);
    let mut hash = Hash::write_or_create(ctx, &args[1])?;
    let mut added = 0;
    for pair in args[2..].chunks_exact(2) {
        if hash.set(ctx, limits, &pair[0], pair[1].to_vec())? {
            added += 1;
        }
    }
    hash.save(ctx, (args.len() as u64 - 2) / 2)?;
    ctx.notify(notify::HASH, "hset", &args[1]);
    Ok(added)
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let limits = Hash::limits(ctx);
    let mut hash = Hash::write_or_create(ctx, &args[1])?;
    if hash.get(ctx, &args[2])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    hash.set(ctx, limits, &args[2], args[3].to_vec())?;
    hash.save(ctx, 1)?;
    ctx.notify(notify::HASH, "hset", &args[1]);
    Ok(Reply::Integer(1))
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(hash) = Hash::read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    Ok(hash.get(ctx, &args[2])?.map_or(Reply::Null, bulk))
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let hash = Hash::read(ctx, &args[1])?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for field in &args[2..] {
        let value = match &hash {
            Some(hash) => hash.get(ctx, field)?,
            None => None,
        };
        out.push(value.map_or(Reply::Null, bulk));
    }
    Ok(Reply::Array(out))
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(mut hash) = Hash::write(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut deleted = 0;
    for field in &args[2..] {
        if hash.delete(ctx, field)? {
            deleted += 1;
        }
        // Redis stops at the last field, not at the last argument.
        if hash.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        let emptied = hash.is_empty();
        hash.save(ctx, deleted)?;
        ctx.notify_and_del(notify::HASH, "hdel", &args[1], emptied);
    }
    Ok(Reply::Integer(deleted as i64))
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let len = Hash::read(ctx, &args[1])?.map_or(0, |hash| hash.len());
    Ok(Reply::Integer(len as i64))
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(hash) = Hash::read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let len = hash.get(ctx, &args[2])?.map_or(0, |v| v.len());
    Ok(Reply::Integer(len as i64))
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(hash) = Hash::read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(hash.get(ctx, &args[2])?.is_some() as i64))
}

/// The whole hash of a read command, or nothing for a missing key.
fn all_pairs(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<Pair>, CommandError> {
    match Hash::read(ctx, key)? {
        Some(hash) => hash.all(ctx),
        None => Ok(Vec::new()),
    }
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let pairs = all_pairs(ctx, &args[1])?;
    Ok(Reply::Map(
        pairs.into_iter().map(|(f, v)| (bulk(f), bulk(v))).collect(),
    ))
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let pairs = all_pairs(ctx, &args[1])?;
    Ok(Reply::Array(
        pairs.into_iter().map(|(f, _)| bulk(f)).collect(),
    ))
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let pairs = all_pairs(ctx, &args[1])?;
    Ok(Reply::Array(
        pairs.into_iter().map(|(_, v)| bulk(v)).collect(),
    ))
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let increment = parse_i64(&args[3])?;
    let limits = Hash::limits(ctx);
    let mut hash = Hash::write_or_create(ctx, &args[1])?;
    let current = match hash.get(ctx, &args[2])? {
        Some(value) => formats::text::string2ll(&value)
            .ok_or_else(|| CommandError::other("ERR hash value is not an integer"))?,
        None => 0,
    };
    let sum = current
        .checked_add(increment)
        .ok_or(CommandError::Overflow)?;
    hash.put(ctx, limits, &args[2], sum.to_string().into_bytes(), true)?;
    hash.save(ctx, 1)?;
    ctx.notify(notify::HASH, "hincrby", &args[1]);
    Ok(Reply::Integer(sum))
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let increment = LongDouble::parse(&args[3]).ok_or(CommandError::NotFloat)?;
    let infinite = [&b"inf"[..], b"-inf"]
        .into_iter()
        .any(|text| LongDouble::parse(text) == Some(increment));
    if infinite {
        return Err(CommandError::other("ERR value is NaN or Infinity"));
    }
    let limits = Hash::limits(ctx);
    let mut hash = Hash::write_or_create(ctx, &args[1])?;
    let current = match hash.get(ctx, &args[2])? {
        Some(value) => LongDouble::parse(&value)
            .ok_or_else(|| CommandError::other("ERR hash value is not a float"))?,
        None => LongDouble::ZERO,
    };
    let sum = current
        .checked_add(increment)
        .ok_or_else(|| CommandError::other("ERR increment would produce NaN or Infinity"))?;
    let text = sum.to_human().into_bytes();
    hash.put(ctx, limits, &args[2], text.clone(), true)?;
    hash.save(ctx, 1)?;
    ctx.notify(notify::HASH, "hincrbyfloat", &args[1]);
    // The result, not the float arithmetic, is propagated: HSET key field value.
    ctx.rewrite_propagated(vec![
        Bytes::from_static(b"HSET"),
        args[1].clone(),
        args[2].clone(),
        Bytes::from(text.clone()),
    ]);
    Ok(bulk(text))
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] (see `keys::element_scan`).
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(hash) = Hash::read(ctx, &args[1])? else {
        return Ok(element_scan::reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(args)?;
    let (pairs, next) = if hash.is_inline() {
        (hash.all(ctx)?, 0)
    } else {
        element_scan::page(
            ctx,
            cursor,
            &options,
            |(field, _): &Pair| field.as_slice(),
            |ctx, after, limit| hash.page(ctx, after, limit),
        )?
    };
    let mut items = Vec::with_capacity(pairs.len() * 2);
    for (field, value) in pairs.into_iter().filter(|(f, _)| options.keeps(f)) {
        items.push(bulk(field));
        items.push(bulk(value));
    }
    Ok(element_scan::reply(next, items))
}

/// HRANDFIELD key [count [WITHVALUES]]
///
/// A positive count returns distinct fields (the whole hash when it has no more than count), a
/// negative one may repeat fields. Random positions are drawn first; an element-bodied hash is
/// then walked once, page by page, to fetch the fields at those positions.
fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        let Some(hash) = Hash::read(ctx, &args[1])?.filter(|h| !h.is_empty()) else {
            return Ok(Reply::Null);
        };
        let position = rand::thread_rng().gen_range(0..hash.len());
        let picked = hash.at_positions(ctx, &[position])?;
        return Ok(picked
            .into_iter()
            .next()
            .map_or(Reply::Null, |(f, _)| bulk(f)));
    }
    let count = parse_i64(&args[2])?;
    if count == i64::MIN {
        return Err(CommandError::other(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let with_values = match args.get(3) {
        None => false,
        Some(word) if args.len() == 4 && word.eq_ignore_ascii_case(b"withvalues") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    // Redis's guard against the reply length (count * 2) overflowing.
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::other("ERR value is out of range"));
    }
    let Some(hash) = Hash::read(ctx, &args[1])?.filter(|h| !h.is_empty()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = hash.len();
    let wanted = count.unsigned_abs();
    let mut rng = rand::thread_rng();
    let picked: Vec<Pair> = if wanted == 0 {
        Vec::new()
    } else if count < 0 || wanted == 1 {
        let mut draws: Vec<(u64, u64)> = (0..wanted)
            .map(|order| (rng.gen_range(0..size), order))
            .collect();
        draws.sort_unstable();
        let positions: Vec<u64> = draws.iter().map(|&(position, _)| position).collect();
        let fetched = hash.at_positions(ctx, &positions)?;
        // Back to the order of the draws.
        let mut placed: Vec<(u64, Pair)> = draws
            .into_iter()
            .map(|(_, order)| order)
            .zip(fetched)
            .collect();
        placed.sort_unstable_by_key(|(order, _)| *order);
        placed.into_iter().map(|(_, pair)| pair).collect()
    } else if wanted >= size {
        hash.all(ctx)?
    } else {
        // `wanted < size`, and a hash's size fits in memory, so both fit in usize.
        let mut positions: Vec<u64> = sample(&mut rng, size as usize, wanted as usize)
            .into_iter()
            .map(|i| i as u64)
            .collect();
        positions.sort_unstable();
        hash.at_positions(ctx, &positions)?
    };
    let resp3 = ctx.client.protocol > 2;
    let mut out = Vec::with_capacity(picked.len() * if with_values { 2 } else { 1 });
    for (field, value) in picked {
        match (with_values, resp3) {
            (false, _) => out.push(bulk(field)),
            (true, false) => out.extend([bulk(field), bulk(value)]),
            (true, true) => out.push(Reply::Array(vec![bulk(field), bulk(value)])),
        }
    }
    Ok(Reply::Array(out))
}

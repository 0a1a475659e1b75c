//! Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SMOVE, SPOP, SRANDMEMBER,
//! SSCAN, and the set algebra (SINTER, SUNION, SDIFF, their *STORE variants, SINTERCARD) in
//! [`algebra`].
//!
//! Storage and encodings are in [`value`]. The rules are Redis 7.0's `t_set.c`: a set is created
//! by its first write in the encoding `setTypeCreate` picks, a set left empty is deleted, and
//! replies come in Redis's order for intsets (ascending numbers) and in byte order for
//! hashtable-encoded sets (whose Redis order is arbitrary). Random picks (SPOP, SRANDMEMBER) read
//! the whole set, which is what a uniform choice over element records costs without an index.

mod algebra;
pub(crate) mod value;

use bytes::Bytes;
use engine::{Kind, Meta};
use formats::resp::Reply;
use rand::seq::index::sample;
use rand::seq::SliceRandom;

use super::args::parse_i64;
use super::keys::element_scan::{self, ScanOptions};
use super::keys::parse_cursor;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};
use value::Built;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("scard", scard),
    ("sismember", sismember),
    ("smismember", smismember),
    ("smembers", smembers),
    ("smove", smove),
    ("spop", spop),
    ("srandmember", srandmember),
    ("sscan", sscan),
    ("sinter", algebra::sinter),
    ("sinterstore", algebra::sinterstore),
    ("sintercard", algebra::sintercard),
    ("sunion", algebra::sunion),
    ("sunionstore", algebra::sunionstore),
    ("sdiff", algebra::sdiff),
    ("sdiffstore", algebra::sdiffstore),
];

/// The encoding OBJECT ENCODING reports for a set.
pub fn encoding_name(meta: &Meta) -> &'static str {
    if value::is_intset(meta) {
        "intset"
    } else {
        "hashtable"
    }
}

fn bulks(members: Vec<Vec<u8>>) -> Vec<Reply> {
    members.into_iter().map(|m| Reply::Bulk(m.into())).collect()
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let mut meta = match value::lookup(ctx, key, false)? {
        Some(meta) => meta,
        None => value::create(ctx, &args[2]),
    };
    let mut added = 0;
    for member in &args[2..] {
        if value::add(ctx, key, &mut meta, member)? {
            added += 1;
        }
    }
    if added > 0 {
        value::save(ctx, key, meta, added)?;
        ctx.notify(notify::SET, "sadd", key);
    }
    Ok(Reply::Integer(added as i64))
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut meta) = value::lookup(ctx, key, false)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for member in &args[2..] {
        if value::remove(ctx, key, &mut meta, member)? {
            removed += 1;
            if meta.count == 0 {
                break;
            }
        }
    }
    if removed > 0 {
        let emptied = meta.count == 0;
        value::save(ctx, key, meta, removed)?;
        ctx.notify_and_del(notify::SET, "srem", key, emptied);
    }
    Ok(Reply::Integer(removed as i64))
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let meta = value::lookup(ctx, &args[1], true)?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.count as i64)))
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let found = match value::lookup(ctx, &args[1], true)? {
        Some(meta) => value::contains(ctx, &args[1], &meta, &args[2])?,
        None => false,
    };
    Ok(Reply::Integer(found.into()))
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let meta = value::lookup(ctx, &args[1], true)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let found = match &meta {
            Some(meta) => value::contains(ctx, &args[1], meta, member)?,
            None => false,
        };
        out.push(Reply::Integer(found.into()));
    }
    Ok(Reply::Array(out))
}

/// SMEMBERS is SINTER of one key in Redis.
fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(meta) = value::lookup(ctx, &args[1], true)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    Ok(Reply::Set(bulks(value::members(ctx, &args[1], &meta)?)))
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (source, destination, member) = (&args[1], &args[2], &args[3]);
    // Both keys are looked up before any type check, so the destination's lazy expiry happens
    // even when the source is missing.
    let src = ctx.lookup(source)?;
    let dst = ctx.lookup(destination)?;
    let Some(mut src) = src else {
        return Ok(Reply::Integer(0));
    };
    if src.kind != Kind::Set || dst.as_ref().is_some_and(|d| d.kind != Kind::Set) {
        return Err(CommandError::WrongType);
    }
    if source == destination {
        let found = value::contains(ctx, source, &src, member)?;
        return Ok(Reply::Integer(found.into()));
    }
    if !value::remove(ctx, source, &mut src, member)? {
        return Ok(Reply::Integer(0));
    }
    let emptied = src.count == 0;
    value::save(ctx, source, src, 1)?;
    ctx.notify_and_del(notify::SET, "srem", source, emptied);
    let mut dst = match dst {
        Some(meta) => meta,
        None => value::create(ctx, member),
    };
    if value::add(ctx, destination, &mut dst, member)? {
        value::save(ctx, destination, dst, 1)?;
        ctx.notify(notify::SET, "sadd", destination);
    }
    Ok(Reply::Integer(1))
}

/// SPOP's count: a non-negative integer; anything else is out of range (Redis's wording).
fn pop_count(arg: &[u8]) -> Result<u64, CommandError> {
    match parse_i64(arg) {
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(CommandError::other(
            "ERR value is out of range, must be positive",
        )),
    }
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = args.get(2).map(|arg| pop_count(arg)).transpose()?;
    let Some(mut meta) = value::lookup(ctx, key, false)? else {
        return Ok(match count {
            Some(_) => Reply::Set(Vec::new()),
            None => Reply::Null,
        });
    };
    let Some(count) = count else {
        let members = value::members(ctx, key, &meta)?;
        let Some(member) = members.choose(&mut rand::thread_rng()).cloned() else {
            return Ok(Reply::Null);
        };
        value::remove(ctx, key, &mut meta, &member)?;
        let emptied = meta.count == 0;
        value::save(ctx, key, meta, 1)?;
        ctx.notify_and_del(notify::SET, "spop", key, emptied);
        // The random choice is propagated as its outcome: SREM key member.
        ctx.rewrite_propagated(vec![
            Bytes::from_static(b"SREM"),
            key.clone(),
            Bytes::from(member.clone()),
        ]);
        return Ok(Reply::Bulk(member.into()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let members = value::members(ctx, key, &meta)?;
    let size = members.len() as u64;
    let dirty = ctx.dirty;
    ctx.notify(notify::SET, "spop", key);
    if count >= size {
        ctx.delete(key)?;
        ctx.notify(notify::GENERIC, "del", key);
        ctx.dirty = dirty + count + 1;
        ctx.propagate_as_server_del(key);
        return Ok(Reply::Set(bulks(members)));
    }
    let picked = sample(&mut rand::thread_rng(), members.len(), count as usize);
    let mut popped = vec![false; members.len()];
    for i in picked.iter() {
        popped[i] = true;
    }
    let remaining = size - count;
    let mut out = Vec::with_capacity(count as usize);
    if remaining * 5 > count {
        // Redis removes the picked members one by one.
        for i in picked.iter() {
            value::remove(ctx, key, &mut meta, &members[i])?;
            out.push(Reply::Bulk(members[i].clone().into()));
        }
        value::save(ctx, key, meta, count)?;
    } else {
        // Redis builds a new set from the members that stay, so its encoding restarts from
        // `setTypeCreate`: a hashtable can become an intset again.
        let mut rest = Built::new(value::max_intset_entries(ctx));
        for (member, gone) in members.into_iter().zip(popped) {
            if gone {
                out.push(Reply::Bulk(member.into()));
            } else {
                rest.add(&member);
            }
        }
        rest.store(ctx, key, meta.expire_at_ms)?;
    }
    // Redis counts each popped member and the key once more.
    ctx.dirty = dirty + count + 1;
    // Propagated as SREMs of the popped members, at most 1024 per command (Redis 7.0).
    ctx.prevent_propagation();
    for batch in out.chunks(1024) {
        let mut srem = vec![Bytes::from_static(b"SREM"), key.clone()];
        srem.extend(batch.iter().filter_map(|reply| match reply {
            Reply::Bulk(member) => Some(member.clone()),
            _ => None,
        }));
        ctx.also_propagate(srem);
    }
    Ok(Reply::Set(out))
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let Some(arg) = args.get(2) else {
        let Some(meta) = value::lookup(ctx, key, true)? else {
            return Ok(Reply::Null);
        };
        let members = value::members(ctx, key, &meta)?;
        return Ok(members
            .choose(&mut rand::thread_rng())
            .map_or(Reply::Null, |m| Reply::Bulk(m.clone().into())));
    };
    let requested = parse_i64(arg)?;
    if requested == i64::MIN {
        return Err(CommandError::other(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let Some(meta) = value::lookup(ctx, key, true)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if requested == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let members = value::members(ctx, key, &meta)?;
    let mut rng = rand::thread_rng();
    let count = requested.unsigned_abs();
    if requested < 0 {
        // Repeats allowed: `count` independent picks. The reply grows as it is filled, never
        // reserved up front, so an absurd count costs memory gradually (as the reply does in
        // Redis) instead of failing one huge allocation.
        let mut picks = Vec::new();
        for _ in 0..count {
            if let Some(m) = members.choose(&mut rng) {
                picks.push(Reply::Bulk(m.clone().into()));
            }
        }
        return Ok(Reply::Array(picks));
    }
    if count >= members.len() as u64 {
        return Ok(Reply::Array(bulks(members)));
    }
    let picked = sample(&mut rng, members.len(), count as usize);
    Ok(Reply::Array(
        picked
            .iter()
            .map(|i| Reply::Bulk(members[i].clone().into()))
            .collect(),
    ))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count] (see `keys::element_scan`).
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let cursor = parse_cursor(&args[2])?;
    let Some(meta) = value::lookup(ctx, key, true)? else {
        return Ok(element_scan::reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(args)?;
    let (members, next) = if value::is_intset(&meta) {
        (value::members(ctx, key, &meta)?, 0)
    } else {
        element_scan::page(ctx, cursor, &options, Vec::as_slice, |ctx, after, limit| {
            value::members_after(ctx, key, &meta, after, limit)
        })?
    };
    let kept = members.into_iter().filter(|m| options.keeps(m)).collect();
    Ok(element_scan::reply(next, bulks(kept)))
}

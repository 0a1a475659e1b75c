//! Set algebra: SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE.
//!
//! As in Redis 7.0, every key is looked up and type-checked first (a missing key is an empty
//! set, but does not stop the type checks of later keys). Intersections walk the smallest set
//! and test membership in the others. Unions and differences are built in memory as Redis builds
//! its result object, including the encoding that object ends up with, because the *STORE
//! variants store it as is: SDIFF picks one of Redis's two algorithms by the same cost estimate,
//! and the second one (copy the first set, then remove) makes a hashtable whenever the first set
//! is one, even if the members left would fit an intset.

use bytes::Bytes;
use engine::Meta;
use formats::resp::Reply;

use super::bulks;
use super::value::{self, Built};
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// Looks up and type-checks every key; `None` for a missing one. Every form, the STORE ones
/// included, reads its sources as Redis's `lookupKeyRead` does (hits, misses, `keymiss`).
fn load_all(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Option<Meta>>, CommandError> {
    keys.iter()
        .map(|key| value::lookup(ctx, key, true))
        .collect()
}

/// The intersection's members, at most `limit` of them (0 = all), in the iteration order of the
/// smallest set.
fn intersection(
    ctx: &Ctx,
    keys: &[Bytes],
    sets: &[Option<Meta>],
    limit: usize,
) -> Result<Vec<Vec<u8>>, CommandError> {
    let Some(mut found) = sets
        .iter()
        .zip(keys)
        .map(|(set, key)| set.as_ref().map(|meta| (key, meta)))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(Vec::new());
    };
    found.sort_by_key(|(_, meta)| meta.count);
    let (first_key, first) = found[0];
    let mut out = Vec::new();
    'members: for member in value::members(ctx, first_key, first)? {
        for (key, meta) in &found[1..] {
            if *key != first_key && !value::contains(ctx, key, meta, &member)? {
                continue 'members;
            }
        }
        out.push(member);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

pub fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let keys = &args[1..];
    let sets = load_all(ctx, keys)?;
    Ok(Reply::Set(bulks(intersection(ctx, keys, &sets, 0)?)))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let numkeys = parse_i64(&args[1])
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| CommandError::other("ERR numkeys should be greater than 0"))?;
    if numkeys > args.len() as i64 - 2 {
        return Err(CommandError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        match args.get(i + 1) {
            Some(arg) if args[i].eq_ignore_ascii_case(b"limit") => {
                limit = parse_i64(arg)
                    .ok()
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| CommandError::other("ERR LIMIT can't be negative"))?;
                i += 2;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    let keys = &args[2..2 + numkeys];
    let sets = load_all(ctx, keys)?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(Reply::Integer(
        intersection(ctx, keys, &sets, limit)?.len() as i64
    ))
}

pub fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let keys = &args[2..];
    let sets = load_all(ctx, keys)?;
    let mut result = Built::new(value::max_intset_entries(ctx));
    for member in intersection(ctx, keys, &sets, 0)? {
        result.add(&member);
    }
    store(ctx, &args[1], result, "sinterstore")
}

/// Which operation [`combine`] performs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// Redis's `sunionDiffGenericCommand` without the reply: the result set.
fn combine(
    ctx: &Ctx,
    keys: &[Bytes],
    sets: &[Option<Meta>],
    op: Op,
) -> Result<Built, CommandError> {
    let mut result = Built::new(value::max_intset_entries(ctx));
    if op == Op::Union {
        for (key, meta) in keys.iter().zip(sets) {
            if let Some(meta) = meta {
                for member in value::members(ctx, key, meta)? {
                    result.add(&member);
                }
            }
        }
        return Ok(result);
    }
    let Some(first) = sets[0].as_ref().filter(|meta| meta.count > 0) else {
        return Ok(result);
    };
    let present = sets.iter().flatten();
    // Redis's cost estimate: algorithm 1 tests each member of the first set against the others,
    // algorithm 2 copies the first set and removes the others' members.
    let one = first.count * present.clone().count() as u64 / 2;
    let two: u64 = present.map(|meta| meta.count).sum();
    let others = keys[1..].iter().zip(&sets[1..]);
    if one <= two {
        'members: for member in value::members(ctx, &keys[0], first)? {
            for (key, meta) in others.clone() {
                let Some(meta) = meta else { continue };
                if *key == keys[0] || value::contains(ctx, key, meta, &member)? {
                    continue 'members;
                }
            }
            result.add(&member);
        }
    } else {
        for member in value::members(ctx, &keys[0], first)? {
            result.add(&member);
        }
        for (key, meta) in others {
            if let Some(meta) = meta {
                for member in value::members(ctx, key, meta)? {
                    result.remove(&member);
                }
            }
        }
    }
    Ok(result)
}

fn combine_reply(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CommandResult {
    let keys = &args[1..];
    let sets = load_all(ctx, keys)?;
    let result = combine(ctx, keys, &sets, op)?;
    Ok(Reply::Set(bulks(result.into_members())))
}

fn combine_store(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CommandResult {
    let keys = &args[2..];
    let sets = load_all(ctx, keys)?;
    let result = combine(ctx, keys, &sets, op)?;
    let event = match op {
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    store(ctx, &args[1], result, event)
}

/// Replaces the destination with the result (deleting it for an empty one) and replies with the
/// result's size. `event` is the keyspace event of a stored result.
fn store(ctx: &mut Ctx, destination: &[u8], result: Built, event: &'static str) -> CommandResult {
    if result.cardinality() == 0 {
        if ctx.delete(destination)? {
            ctx.notify(notify::GENERIC, "del", destination);
        }
        return Ok(Reply::Integer(0));
    }
    let stored = result.store(ctx, destination, 0)?;
    ctx.notify(notify::SET, event, destination);
    Ok(Reply::Integer(stored as i64))
}

pub fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    combine_reply(ctx, args, Op::Union)
}

pub fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    combine_reply(ctx, args, Op::Diff)
}

pub fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    combine_store(ctx, args, Op::Union)
}

pub fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    combine_store(ctx, args, Op::Diff)
}

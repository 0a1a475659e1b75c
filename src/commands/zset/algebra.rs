//! ZUNION, ZINTER, ZDIFF, their *STORE variants and ZINTERCARD: Redis 7.0's
//! `zunionInterDiffGenericCommand`.
//!
//! Inputs may be sorted sets or plain sets (whose members score 1), missing keys are empty,
//! and anything else is WRONGTYPE, checked while the keys are read and so before the options.
//! Each input is read whole (the union needs every member anyway). The arithmetic follows Redis
//! step by step, because floating-point sums depend on their order: union and intersection
//! visit the inputs from the smallest to the largest (a stable sort, as glibc's `qsort` is),
//! each weighted score that is NaN (0 × inf) counts as 0, a SUM that gives NaN (inf + -inf) is
//! 0, and MIN / MAX keep the current score unless the new one compares below / above it. ZDIFF
//! keeps the first input's members that no other input has, with their scores unweighted.
//! Results come out in score order; stored results take the form [`store::replace`] picks.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use engine::Kind;
use formats::resp::Reply;

use super::entries_reply;
use super::store::{self, Entry, ZSet};
use crate::commands::args::{parse_f64, parse_i64};
use crate::commands::set::value as set_value;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// One input: its entries and its weight.
struct Source {
    entries: Vec<Entry>,
    weight: f64,
}

pub fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, None, Op::Union, false)
}

pub fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, None, Op::Inter, false)
}

pub fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, None, Op::Diff, false)
}

pub fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, &args[1..], Some(&args[1]), Op::Union, false)
}

pub fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, &args[1..], Some(&args[1]), Op::Inter, false)
}

pub fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, &args[1..], Some(&args[1]), Op::Diff, false)
}

pub fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, None, Op::Inter, true)
}

/// The command's name as Redis's `c->cmd->fullname` spells it.
fn command_name(op: Op, store: bool, cardinality: bool) -> &'static str {
    match (op, store, cardinality) {
        (_, _, true) => "zintercard",
        (Op::Union, false, _) => "zunion",
        (Op::Union, true, _) => "zunionstore",
        (Op::Inter, false, _) => "zinter",
        (Op::Inter, true, _) => "zinterstore",
        (Op::Diff, false, _) => "zdiff",
        (Op::Diff, true, _) => "zdiffstore",
    }
}

/// `args[1]` is numkeys (for the *STORE commands the caller passes the arguments from the
/// destination on, so the destination sits in the command name's slot).
fn generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    destination: Option<&[u8]>,
    op: Op,
    cardinality: bool,
) -> CommandResult {
    let numkeys = parse_i64(&args[1])?;
    if numkeys < 1 {
        return Err(CommandError::other(format!(
            "ERR at least 1 input key is needed for '{}' command",
            command_name(op, destination.is_some(), cardinality)
        )));
    }
    let available = args.len() - 2;
    let numkeys = match usize::try_from(numkeys) {
        Ok(n) if n <= available => n,
        _ => return Err(CommandError::Syntax),
    };
    let mut sources = Vec::with_capacity(numkeys);
    for key in &args[2..2 + numkeys] {
        sources.push(Source {
            entries: read_input(ctx, key)?,
            weight: 1.0,
        });
    }
    let mut aggregate = Aggregate::Sum;
    let mut with_scores = false;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < args.len() {
        let remaining = args.len() - j;
        let word = args[j].to_ascii_lowercase();
        let combining = op != Op::Diff && !cardinality;
        if combining && remaining > numkeys && word == b"weights" {
            for (source, arg) in sources.iter_mut().zip(&args[j + 1..]) {
                source.weight = parse_f64(arg)
                    .map_err(|_| CommandError::other("ERR weight value is not a float"))?;
            }
            j += 1 + numkeys;
        } else if combining && remaining >= 2 && word == b"aggregate" {
            aggregate = match args[j + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(CommandError::Syntax),
            };
            j += 2;
        } else if destination.is_none() && !cardinality && word == b"withscores" {
            with_scores = true;
            j += 1;
        } else if cardinality && remaining >= 2 && word == b"limit" {
            limit = parse_i64(&args[j + 1])
                .ok()
                .and_then(|l| u64::try_from(l).ok())
                .ok_or_else(|| CommandError::other("ERR LIMIT can't be negative"))?;
            j += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if op != Op::Diff {
        sources.sort_by_key(|source| source.entries.len());
    }
    if cardinality {
        let count = intersection(&sources, aggregate, limit).len();
        return Ok(Reply::Integer(count as i64));
    }
    let mut result = match op {
        Op::Union => union(&sources, aggregate),
        Op::Inter => intersection(&sources, aggregate, 0),
        Op::Diff => difference(sources),
    };
    match destination {
        Some(destination) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            let stored = store::replace(ctx, destination, result, event, 1)?;
            Ok(Reply::Integer(stored as i64))
        }
        None => {
            result.sort_by(store::entry_order);
            let nested = ctx.client.protocol > 2;
            Ok(Reply::Array(entries_reply(result, with_scores, nested)))
        }
    }
}

/// A key's entries as an input: a sorted set's, or a set's members scored 1.
fn read_input(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<Entry>, CommandError> {
    let Some(meta) = ctx.lookup_read(key)? else {
        return Ok(Vec::new());
    };
    match meta.kind {
        Kind::ZSet => match ZSet::from_meta(ctx, key, Some(meta))? {
            Some(zset) => zset.all(ctx),
            None => Ok(Vec::new()),
        },
        Kind::Set => Ok(set_value::members(ctx, key, &meta)?
            .into_iter()
            .map(|member| (member, 1.0))
            .collect()),
        _ => Err(CommandError::WrongType),
    }
}

/// A weighted score, NaN counting as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

fn union(sources: &[Source], aggregate: Aggregate) -> Vec<Entry> {
    let mut scores: HashMap<&[u8], f64> = HashMap::new();
    for source in sources {
        for (member, score) in &source.entries {
            let value = weighted(*score, source.weight);
            match scores.get_mut(member.as_slice()) {
                Some(target) => aggregate.apply(target, value),
                None => {
                    scores.insert(member.as_slice(), value);
                }
            }
        }
    }
    scores
        .into_iter()
        .map(|(member, score)| (member.to_vec(), score))
        .collect()
}

/// The members of every input (the first `limit` found when `limit` is not 0), walking the
/// smallest input.
fn intersection(sources: &[Source], aggregate: Aggregate, limit: u64) -> Vec<Entry> {
    let Some((first, others)) = sources.split_first() else {
        return Vec::new();
    };
    let maps: Vec<HashMap<&[u8], f64>> = others
        .iter()
        .map(|source| {
            source
                .entries
                .iter()
                .map(|(m, s)| (m.as_slice(), *s))
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    'members: for (member, score) in &first.entries {
        let mut total = weighted(*score, first.weight);
        for (source, map) in others.iter().zip(&maps) {
            match map.get(member.as_slice()) {
                Some(value) => aggregate.apply(&mut total, value * source.weight),
                None => continue 'members,
            }
        }
        out.push((member.clone(), total));
        if limit > 0 && out.len() as u64 >= limit {
            break;
        }
    }
    out
}

fn difference(mut sources: Vec<Source>) -> Vec<Entry> {
    if sources.is_empty() {
        return Vec::new();
    }
    let first = sources.remove(0);
    let excluded: HashSet<&[u8]> = sources
        .iter()
        .flat_map(|source| source.entries.iter().map(|(m, _)| m.as_slice()))
        .collect();
    first
        .entries
        .into_iter()
        .filter(|(member, _)| !excluded.contains(member.as_slice()))
        .collect()
}

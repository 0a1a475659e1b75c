//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST, ported from Redis
//! 7.0's `hyperloglog.c` as Debian ships 7.0.15 (with the CVE-2025-32023 fix: sparse opcodes
//! reaching past the last register make an HLL corrupt).
//!
//! An HLL is an ordinary string holding Redis's exact bytes ([`value`]: the "HYLL" header, then
//! [`dense`] or [`sparse`] registers), so GET, SET, APPEND and the rest see what they would see
//! in Redis, and a value that does not pass `isHLLObjectOrReply`'s checks is refused with its
//! WRONGTYPE text. Elements are hashed with MurmurHash64A ([`hash`]); the cardinality comes
//! from the register histogram through Ertl's estimator ([`estimate`]) and is cached in the
//! header, which is why PFCOUNT of one key writes the key back (and counts as a change) when
//! the cache is stale.
//!
//! Redis modifies the HLL string in place after `dbUnshareStringValue`, which turns an embstr
//! value into a raw one: every command that modifies or unshares a key here stores it back as a
//! raw string, keeping its expire. Changes are counted in `dirty` exactly as Redis adds to
//! `server.dirty` (PFADD: one per changed register, plus one for a new key); what Redis changes
//! without counting (unsharing, registers raised before a corrupt opcode is met) is stored
//! without counting.

mod dense;
mod estimate;
mod hash;
mod selftest;
mod sparse;
mod value;

use bytes::Bytes;
use engine::{Kind, Meta, StringForm};
use formats::resp::Reply;

use super::keys::object::value_encoding;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};
use dense::REGISTERS;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", pfselftest),
];

fn corrupt() -> CommandError {
    CommandError::other("INVALIDOBJ Corrupted HLL object detected")
}

/// `isHLLObjectOrReply`: a string with a valid HLL header, else WRONGTYPE.
fn check_hll(meta: &Meta) -> Result<(), CommandError> {
    if meta.kind != Kind::String {
        return Err(CommandError::WrongType);
    }
    if !value::is_valid(&meta.body) {
        return Err(CommandError::other(
            "WRONGTYPE Key is not a valid HyperLogLog string value.",
        ));
    }
    Ok(())
}

/// `hll-sparse-max-bytes`: the longest sparse HLL before it turns dense.
fn max_sparse(ctx: &Ctx) -> u64 {
    let limit = ctx.server.config.read().get_int("hll-sparse-max-bytes");
    u64::try_from(limit).unwrap_or(0)
}

/// Stores an HLL modified in place, adding `changes` to the dirty count (none: the change is
/// one Redis makes without counting or signalling it, so a WATCH on the key survives).
fn store(ctx: &mut Ctx, key: &[u8], mut meta: Meta, changes: u64) -> Result<(), CommandError> {
    meta.string_form = StringForm::Raw;
    if changes == 0 {
        let db = ctx.db();
        ctx.txn.put_unsignalled(db, key, meta)?;
    } else {
        ctx.put(key, meta)?;
        ctx.dirty += changes - 1;
    }
    Ok(())
}

/// `dbUnshareStringValue`: an existing HLL becomes a raw string before Redis touches it (only
/// an embstr one, a small sparse HLL stored by SET, actually changes).
fn unshare(ctx: &mut Ctx, key: &[u8], meta: &mut Meta) -> Result<(), CommandError> {
    if value_encoding(ctx, meta) != "raw" {
        meta.string_form = StringForm::Raw;
        store(ctx, key, meta.clone(), 0)?;
    }
    Ok(())
}

/// An existing HLL for a command that may modify it (looked up without hit/miss accounting),
/// checked and unshared; `None` if the key does not exist.
fn hll_for_write(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Meta>, CommandError> {
    let Some(mut meta) = ctx.lookup(key)? else {
        return Ok(None);
    };
    check_hll(&meta)?;
    unshare(ctx, key, &mut meta)?;
    Ok(Some(meta))
}

/// A new raw string holding an empty sparse HLL.
fn new_hll() -> Meta {
    let mut meta = Meta::string(value::new_sparse(), 0);
    meta.string_form = StringForm::Raw;
    meta
}

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let max_sparse = max_sparse(ctx);
    let (mut meta, mut updated) = match hll_for_write(ctx, key)? {
        Some(meta) => (meta, 0),
        None => (new_hll(), 1),
    };
    for element in &args[2..] {
        match value::add(&mut meta.body, element, max_sparse) {
            Ok(changed) => updated += u64::from(changed),
            Err(value::Corrupt) => {
                // Registers raised before the corrupt opcode stay raised, uncounted. Redis does
                // not propagate that change, so its replicas and AOF lose it; rockslot
                // propagates the command, whose replay raises the same registers.
                if updated > 0 {
                    store(ctx, key, meta, 0)?;
                    ctx.force_propagation();
                }
                return Err(corrupt());
            }
        }
    }
    if updated > 0 {
        value::invalidate(&mut meta.body);
        store(ctx, key, meta, updated)?;
        // After the store, which reports a created key ("new") first, as Redis's dbAdd does.
        ctx.notify(notify::STRING, "pfadd", key);
    }
    Ok(Reply::Integer(i64::from(updated > 0)))
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() > 2 {
        // The cardinality of the union, computed on one byte per register.
        let mut max = vec![0u8; REGISTERS];
        for key in &args[1..] {
            let Some(meta) = ctx.lookup_read(key)? else {
                continue;
            };
            check_hll(&meta)?;
            value::merge_into(&meta.body, &mut max).map_err(|_| corrupt())?;
        }
        let histogram = estimate::raw_histogram(&max);
        return Ok(Reply::Integer(estimate::cardinality(&histogram) as i64));
    }
    let key = &args[1];
    let Some(mut meta) = ctx.lookup_read(key)? else {
        return Ok(Reply::Integer(0));
    };
    check_hll(&meta)?;
    unshare(ctx, key, &mut meta)?;
    if let Some(card) = value::cached(&meta.body) {
        return Ok(Reply::Integer(card as i64));
    }
    let card = value::count(&meta.body).map_err(|_| corrupt())?;
    value::set_cached(&mut meta.body, card);
    // A read-only command in Redis's eyes, but the cache update is a change to propagate.
    store(ctx, key, meta, 1)?;
    Ok(Reply::Integer(card as i64))
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let dest = &args[1];
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    // The destination is merged too: it is the first key.
    for key in &args[1..] {
        let Some(meta) = ctx.lookup_read(key)? else {
            continue;
        };
        check_hll(&meta)?;
        use_dense |= value::is_dense(&meta.body);
        value::merge_into(&meta.body, &mut max).map_err(|_| corrupt())?;
    }
    let max_sparse = max_sparse(ctx);
    let mut meta = hll_for_write(ctx, dest)?.unwrap_or_else(new_hll);
    if use_dense {
        value::make_dense(&mut meta.body).map_err(|_| corrupt())?;
    }
    for (index, &count) in max.iter().enumerate() {
        if count != 0 {
            // A corrupt destination was refused by the merge above.
            value::set(&mut meta.body, index, count, max_sparse).ok();
        }
    }
    value::invalidate(&mut meta.body);
    store(ctx, dest, meta, 1)?;
    // Redis reports PFMERGE as a "pfadd" event (after "new" for a created key).
    ctx.notify(notify::STRING, "pfadd", dest);
    Ok(Reply::ok())
}

/// PFDEBUG GETREG | DECODE | ENCODING | TODENSE key.
fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (sub, key) = (&args[1], &args[2]);
    let Some(mut meta) = hll_for_write(ctx, key)? else {
        return Err(CommandError::other("ERR The specified key does not exist"));
    };
    let sub_is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    if sub_is("getreg") || sub_is("todense") {
        let converted = value::make_dense(&mut meta.body).map_err(|_| corrupt())?;
        let reply = if sub_is("getreg") {
            Reply::Array(
                value::registers(&meta.body)
                    .map(|v| Reply::Integer(i64::from(v)))
                    .collect(),
            )
        } else {
            Reply::Integer(i64::from(converted))
        };
        if converted {
            // Redis counts the encoding change so that it propagates.
            store(ctx, key, meta, 1)?;
        }
        Ok(reply)
    } else if sub_is("decode") {
        if value::is_dense(&meta.body) {
            return Err(CommandError::other("ERR HLL encoding is not sparse"));
        }
        Ok(Reply::bulk(sparse::describe(&meta.body[value::HEADER..])))
    } else if sub_is("encoding") {
        let name = if value::is_dense(&meta.body) {
            "dense"
        } else {
            "sparse"
        };
        Ok(Reply::Simple(name.into()))
    } else {
        Err(CommandError::other(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )))
    }
}

fn pfselftest(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    selftest::run(max_sparse(ctx)).map_err(CommandError::other)?;
    Ok(Reply::ok())
}

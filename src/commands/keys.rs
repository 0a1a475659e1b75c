//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, TOUCH, RENAME, RENAMENX, COPY, MOVE,
//! KEYS, SCAN and RANDOMKEY. The expire commands live in [`expire`], OBJECT in [`object`], DUMP and
//! RESTORE in [`dump`]; this file registers all four.
//!
//! Every read of a single key goes through `Ctx::lookup*`, so an expired key is deleted on touch
//! and reported as missing, as Redis's `expireIfNeeded` does on a primary. Hit/miss accounting
//! follows Redis's lookup flavours: commands that look a key up "for read" (EXISTS, TYPE, TOUCH,
//! COPY's source, SCAN's TYPE filter) count a keyspace hit or miss; write lookups (DEL, RENAME,
//! MOVE) do not.
//!
//! The commands that walk the keyspace (KEYS, SCAN, RANDOMKEY) go in storage order (slot, then
//! key); Redis's hash-table order differs, and no client may rely on either. KEYS and SCAN see
//! writes made earlier in the same MULTI/EXEC block (`Txn::scan`); RANDOMKEY draws from the
//! committed state only.

mod dump;
pub(crate) use dump::repeats;
pub(crate) mod element_scan;
mod expire;
pub(crate) mod object;

use bytes::Bytes;
use std::ops::Bound;

use engine::{layout, Instance, Kind, Meta, Order};
use formats::glob::string_match;
use formats::resp::Reply;
use formats::slot::SLOT_COUNT;
use rand::Rng;

use super::args::parse_i64;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::stats::Stats;
use crate::server::{notify, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", del),
    ("exists", exists),
    ("type", type_command),
    ("touch", touch),
    ("rename", rename),
    ("renamenx", renamenx),
    ("copy", copy),
    ("move", move_command),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("dump", dump::dump),
    ("restore", dump::restore),
    ("expire", expire::expire),
    ("pexpire", expire::pexpire),
    ("expireat", expire::expireat),
    ("pexpireat", expire::pexpireat),
    ("ttl", expire::ttl),
    ("pttl", expire::pttl),
    ("expiretime", expire::expiretime),
    ("pexpiretime", expire::pexpiretime),
    ("persist", expire::persist),
    ("object|encoding", object::encoding),
    ("object|freq", object::freq),
    ("object|idletime", object::idletime),
    ("object|refcount", object::refcount),
    ("object|help", object::help),
];

/// Keys read from the engine per step while walking a database (KEYS, SCAN), so that a walk
/// never holds more than this many metadata records at once.
pub(crate) const WALK_CHUNK: usize = 512;

/// RANDOMKEY draws at most this many random positions before falling back to a linear walk
/// (reached only when the draws keep landing on expired keys the expire cycle has not reached).
const RANDOM_DRAWS: usize = 16;

/// RANDOMKEY looks at most this many random slots for one that holds keys (a few times the slot
/// count: a database with a single key still finds it almost always, in well under a millisecond).
const SLOT_PROBES: usize = 4 * SLOT_COUNT as usize;

/// RANDOMKEY skips at most this many keys inside the drawn slot, bounding the work per draw even
/// when a hashtag piles millions of keys into one slot.
const RANDOM_SKIP_MAX: u64 = 128;

/// Redis's `shared.sameobjecterr`.
const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// DEL and UNLINK: both delete synchronously here (the element records of a collection become
/// garbage for the compaction filter, so there is no large free to push to a background thread).
fn del(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut deleted = 0;
    for key in &args[1..] {
        if ctx.delete(key)? {
            ctx.notify(notify::GENERIC, "del", key);
            deleted += 1;
        }
    }
    Ok(Reply::Integer(deleted))
}

/// EXISTS counts every argument that names a live key, duplicates included.
fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut found = 0;
    for key in &args[1..] {
        if ctx.lookup_read(key)?.is_some() {
            found += 1;
        }
    }
    Ok(Reply::Integer(found))
}

fn type_command(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let name = ctx
        .lookup_read(&args[1])?
        .map_or("none", |meta| meta.kind.type_name());
    Ok(Reply::Simple(name.into()))
}

/// TOUCH only refreshes access times in Redis; rockslot keeps none, so it counts live keys.
fn touch(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    exists(ctx, args)
}

/// Element records copied per step when a collection changes name or database.
const TRANSFER_PAGE: usize = 1024;

/// The value to store at (`dst_db`, `to`), from the metadata of the key at (`src_db`, `from`).
///
/// A string is entirely in its metadata record, so the record is the copy. A collection's
/// elements are records keyed by (slot, db, key, version), so the copy gets a fresh version and
/// every element of the source is copied under it, page by page; this works for every kind,
/// whatever its body holds (an inline collection simply has no element records). RENAME and
/// MOVE then delete the source's metadata record, leaving its elements as garbage.
fn transferable(
    ctx: &mut Ctx,
    meta: &Meta,
    (src_db, from): (usize, &[u8]),
    (dst_db, to): (usize, &[u8]),
) -> Result<Meta, CommandError> {
    if meta.kind == Kind::String {
        return Ok(meta.clone());
    }
    let version = ctx.server.engine.new_version();
    let source = Instance {
        db: src_db,
        key: from,
        version: meta.version,
    };
    let target = Instance {
        db: dst_db,
        key: to,
        version,
    };
    let mut last: Option<Vec<u8>> = None;
    loop {
        let start = last.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let page = ctx.txn.element_range(
            source,
            start,
            Bound::Unbounded,
            Order::Ascending,
            TRANSFER_PAGE,
        )?;
        let done = page.len() < TRANSFER_PAGE;
        for (field, value) in page {
            ctx.txn.element_put(target, &field, value)?;
            last = Some(field);
        }
        if done {
            break;
        }
    }
    Ok(Meta {
        version,
        ..meta.clone()
    })
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    rename_generic(ctx, args, true)
}

/// RENAME and RENAMENX (Redis's `renameGenericCommand`). The expire travels with the value.
fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CommandResult {
    let (from, to) = (&args[1], &args[2]);
    let Some(meta) = ctx.lookup(from)? else {
        return Err(CommandError::NoSuchKey);
    };
    // Renaming a key onto itself changes nothing, but only once the key is known to exist.
    if from == to {
        return Ok(if nx { Reply::Integer(0) } else { Reply::ok() });
    }
    // Looked up even without NX so that an expired destination is expired (and counted).
    let db = ctx.db();
    if ctx.lookup(to)?.is_some() {
        if nx {
            return Ok(Reply::Integer(0));
        }
        // Redis deletes the destination first, so the key is added anew.
        ctx.notify_in(db, notify::NEW, "new", to);
    }
    let moved = transferable(ctx, &meta, (db, from), (db, to))?;
    ctx.put(to, moved)?;
    // Redis counts a rename as one change: the source removal is part of the same change.
    ctx.txn.delete(db, from)?;
    ctx.notify(notify::GENERIC, "rename_from", from);
    ctx.notify(notify::GENERIC, "rename_to", to);
    Ok(if nx { Reply::Integer(1) } else { Reply::ok() })
}

/// A database index argument: Redis's `getIntFromObjectOrReply` (a 64-bit integer that must fit
/// in a C int), then the range of configured databases.
fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CommandError> {
    let index = parse_i64(arg)?;
    if i32::try_from(index).is_err() {
        return Err(CommandError::other(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    ctx.check_db(index)
}

/// Whether the node runs in cluster mode, where only database 0 exists for data commands.
fn cluster_enabled(ctx: &Ctx) -> bool {
    ctx.server.config.read().cluster_enabled()
}

/// COPY source destination [DB db] [REPLACE]
fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let option = &args[i];
        if option.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if option.eq_ignore_ascii_case(b"db") && i + 1 < args.len() {
            dst_db = parse_db_index(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if (src_db != 0 || dst_db != 0) && cluster_enabled(ctx) {
        return Err(CommandError::other(
            "ERR Copying to another database is not allowed in cluster mode",
        ));
    }
    let (from, to) = (&args[1], &args[2]);
    if src_db == dst_db && from == to {
        return Err(CommandError::other(SAME_OBJECT));
    }
    let Some(meta) = ctx.lookup_read(from)? else {
        return Ok(Reply::Integer(0));
    };
    if ctx.lookup_in(dst_db, to)?.is_some() {
        if !replace {
            return Ok(Reply::Integer(0));
        }
        // Redis deletes the destination first, so the key is added anew.
        ctx.notify_in(dst_db, notify::NEW, "new", to);
    }
    let copied = transferable(ctx, &meta, (src_db, from), (dst_db, to))?;
    ctx.put_in(dst_db, to, copied)?;
    ctx.notify_in(dst_db, notify::GENERIC, "copy_to", to);
    Ok(Reply::Integer(1))
}

/// MOVE key db: 1 when moved, 0 when the key is missing or already exists in the target.
fn move_command(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if cluster_enabled(ctx) {
        return Err(CommandError::other(
            "ERR MOVE is not allowed in cluster mode",
        ));
    }
    let src_db = ctx.db();
    let dst_db = parse_db_index(ctx, &args[2])?;
    if src_db == dst_db {
        return Err(CommandError::other(SAME_OBJECT));
    }
    let key = &args[1];
    let Some(meta) = ctx.lookup(key)? else {
        return Ok(Reply::Integer(0));
    };
    if ctx.lookup_in(dst_db, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let moved = transferable(ctx, &meta, (src_db, key), (dst_db, key))?;
    ctx.put_in(dst_db, key, moved)?;
    // One change for Redis, as for RENAME.
    ctx.txn.delete(src_db, key)?;
    ctx.notify_in(src_db, notify::GENERIC, "move_from", key);
    ctx.notify_in(dst_db, notify::GENERIC, "move_to", key);
    Ok(Reply::Integer(1))
}

/// KEYS pattern. Expired keys are skipped but not deleted: Redis's KEYS only checks them.
fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let pattern = &args[1][..];
    // `*` must be special-cased: the glob matcher does not match it against an empty key.
    let all = pattern == b"*";
    let db = ctx.db();
    let mut found = Vec::new();
    let mut position = Vec::new();
    loop {
        let (items, next) = ctx.txn.scan(db, &position, WALK_CHUNK)?;
        for item in items {
            if (all || string_match(pattern, &item.key, false)) && !item.meta.is_expired(ctx.now_ms)
            {
                found.push(Reply::Bulk(item.key.into()));
            }
        }
        match next {
            Some(next) => position = next,
            None => return Ok(Reply::Array(found)),
        }
    }
}

/// Parses a SCAN cursor like Redis's `parseScanCursorOrReply` (`strtoul`, base 10): an optional
/// sign (a negative value wraps around), digits, nothing else; the empty string reads as 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Result<u64, CommandError> {
    let invalid = || CommandError::other("ERR invalid cursor");
    if arg.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let text = std::str::from_utf8(digits).map_err(|_| invalid())?;
    let value: u64 = text.parse().map_err(|_| invalid())?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// Each call examines COUNT keys (default 10) from the cursor's position, then filters them
/// (pattern, then type, then expiry, in Redis's order), so a call may return fewer keys than
/// COUNT, or none, before the iteration ends with cursor 0.
fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let cursor = parse_cursor(&args[1])?;
    let mut count: u64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let option = &args[i];
        let has_value = i + 1 < args.len();
        if option.eq_ignore_ascii_case(b"count") && has_value {
            let value = parse_i64(&args[i + 1])?;
            if value < 1 {
                return Err(CommandError::Syntax);
            }
            count = value as u64;
        } else if option.eq_ignore_ascii_case(b"match") && has_value {
            let glob = &args[i + 1][..];
            pattern = (glob != b"*").then_some(glob);
        } else if option.eq_ignore_ascii_case(b"type") && has_value {
            type_name = Some(&args[i + 1][..]);
        } else {
            return Err(CommandError::Syntax);
        }
        i += 2;
    }

    let db = ctx.db();
    let mut position = ctx.shared.scan_cursors.position(cursor);
    let mut remaining = count;
    let mut found = Vec::new();
    let next = loop {
        let step = remaining.min(WALK_CHUNK as u64) as usize;
        let (items, next) = ctx.txn.scan(db, &position, step)?;
        remaining -= items.len() as u64;
        for item in items {
            if pattern.is_some_and(|p| !string_match(p, &item.key, false)) {
                continue;
            }
            if scan_keeps(ctx, &item.key, &item.meta, type_name)? {
                found.push(Reply::Bulk(item.key.into()));
            }
        }
        match next {
            Some(next) if remaining > 0 => position = next,
            other => break other,
        }
    };
    let cursor = match next {
        Some(position) => ctx.shared.scan_cursors.issue(position),
        None => 0,
    };
    Ok(Reply::Array(vec![
        Reply::bulk(cursor.to_string()),
        Reply::Array(found),
    ]))
}

/// SCAN's TYPE and expiry filters for a key that passed MATCH, with Redis 7.0's side effects:
/// the TYPE check is a read lookup (a hit or a miss, and lazy expiry), and an expired key is
/// deleted. Redis's quirk is kept too: with `TYPE none` an expired key is deleted by the type
/// lookup, then found unexpired (it is gone) by the expiry check, and so is returned.
fn scan_keeps(
    ctx: &mut Ctx,
    key: &[u8],
    meta: &Meta,
    type_name: Option<&[u8]>,
) -> Result<bool, CommandError> {
    let expired = meta.is_expired(ctx.now_ms);
    if let Some(wanted) = type_name {
        let actual = if expired {
            ctx.lookup_read(key)?;
            "none"
        } else {
            Stats::bump(&ctx.server.stats.keyspace_hits, 1);
            meta.kind.type_name()
        };
        return Ok(wanted.eq_ignore_ascii_case(actual.as_bytes()));
    }
    if expired {
        ctx.lookup(key)?;
        return Ok(false);
    }
    Ok(true)
}

/// RANDOMKEY: nil on an empty database.
///
/// A draw picks random slots until one holds keys (at most [`SLOT_PROBES`] tries, so that a key
/// in a sparse database is not favoured by the run of empty slots before it), then a random
/// offset among that slot's keys (below [`RANDOM_SKIP_MAX`]), and takes the key there: the next
/// key in storage order, wrapping around, if the slot turns out shorter than its counter says.
/// Keys are equally likely when slots hold similar numbers of keys; a key that shares a crowded
/// slot (a hashtag) is less likely, which RANDOMKEY does not promise otherwise. An expired key
/// that is drawn is deleted, as in Redis, and another draw follows.
fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let db = ctx.db();
    let server = ctx.server;
    let engine = &server.engine;
    if engine.db_counts(db)?.0 == 0 {
        return Ok(Reply::Null);
    }
    let physical = engine.physical_db(db)?;
    for _ in 0..RANDOM_DRAWS {
        let mut rng = rand::thread_rng();
        let mut slot = rng.gen_range(0..SLOT_COUNT);
        let mut in_slot = engine.slot_keys(db, slot)?;
        for _ in 0..SLOT_PROBES {
            if in_slot > 0 {
                break;
            }
            slot = rng.gen_range(0..SLOT_COUNT);
            in_slot = engine.slot_keys(db, slot)?;
        }
        let skip = if in_slot > 0 {
            rng.gen_range(0..in_slot.min(RANDOM_SKIP_MAX)) as usize
        } else {
            0
        };
        let start = layout::meta_key(slot, physical, b"");
        let (mut items, _) = engine.scan(db, &start, skip + 1)?;
        if items.is_empty() {
            items = engine.scan(db, &[], 1)?.0;
        }
        let Some(item) = items.pop() else {
            return Ok(Reply::Null);
        };
        if ctx.lookup(&item.key)?.is_some() {
            return Ok(Reply::Bulk(item.key.into()));
        }
    }
    // Every draw hit an expired key: walk the database for a live one.
    let mut position = Vec::new();
    loop {
        let (items, next) = engine.scan(db, &position, WALK_CHUNK)?;
        for item in items {
            if !item.meta.is_expired(ctx.now_ms) && ctx.lookup(&item.key)?.is_some() {
                return Ok(Reply::Bulk(item.key.into()));
            }
        }
        match next {
            Some(next) => position = next,
            None => return Ok(Reply::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0").unwrap(), 0);
        assert_eq!(parse_cursor(b"").unwrap(), 0);
        assert_eq!(parse_cursor(b"00").unwrap(), 0);
        assert_eq!(parse_cursor(b"+7").unwrap(), 7);
        assert_eq!(parse_cursor(b"-1").unwrap(), u64::MAX);
        assert_eq!(parse_cursor(b"18446744073709551615").unwrap(), u64::MAX);
        for bad in [
            &b"abc"[..],
            b" 0",
            b"0 ",
            b"+",
            b"-",
            b"1x",
            b"18446744073709551616",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}

//! A hash in RDB form: what SAVE / BGSAVE write for it, what DUMP reads from it and how RESTORE
//! rebuilds it, field expire times included.
//!
//! A hash without field TTLs is written as the plain HASH type (4), element by element. One with
//! field TTLs exists only from RDB 12: it is announced as `ValueStart::HashEx` (type 25 when the
//! hash is inline, as 7.4 writes a listpackex, type 24 otherwise) and the writer of an older
//! version refuses it, so a SAVE at version 9 fails rather than drop the TTLs. SAVE writes
//! every stored field, expired or not yet reclaimed, as 7.4 does (its loader drops them); DUMP
//! reads a hash that its lookup just cleared of expired fields.
//!
//! RESTORE skips fields whose time has passed and sets the others' times in the payload's
//! order: for each run of equal times, in reverse, so that the placement rule of a listpackex
//! (before the first field with no earlier time) rebuilds the payload's order exactly.

use engine::Meta;
use formats::rdb::{HashField, ValueStart, WriteError, Writer};

use super::store::{Entry, Hash, PAGE};
use crate::error::CommandError;
use crate::server::Ctx;

/// Writes the hash at `key` (its stored `meta`) page by page: `begin` announces the value (a
/// key of a file, or a DUMP payload), then the fields follow.
pub fn write<E>(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    writer: &mut Writer,
    begin: impl FnOnce(&mut Writer, ValueStart<'_>) -> Result<(), WriteError>,
) -> Result<(), E>
where
    E: From<WriteError> + From<CommandError>,
{
    let len = meta.count;
    let min_expire_ms = meta.field_expire_ms;
    let Some(hash) = Hash::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    let with_ttls = min_expire_ms != 0;
    let start = if with_ttls {
        ValueStart::HashEx {
            len,
            min_expire_ms,
            listpack: hash.is_inline(),
        }
    } else {
        ValueStart::Hash { len }
    };
    begin(writer, start)?;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = hash.page_stored(ctx, after.as_deref(), PAGE)?;
        let done = page.len() < PAGE;
        for e in &page {
            if with_ttls {
                writer.hash_field_ex(&e.field, &e.value, expire(e))?;
            } else {
                writer.hash_field(&e.field, &e.value)?;
            }
        }
        match page.into_iter().last() {
            Some(last) if !done => after = Some(last.field),
            _ => return Ok(()),
        }
    }
}

fn expire(entry: &Entry) -> Option<i64> {
    (entry.expire_ms != 0).then_some(entry.expire_ms)
}

/// Stores `fields` as the hash at `key` (which does not exist), with their expire times; fields
/// whose time has passed are left out. Returns whether any field was stored.
pub fn build(ctx: &mut Ctx, key: &[u8], fields: Vec<HashField>) -> Result<bool, CommandError> {
    let now = ctx.now_ms;
    let limits = Hash::limits(ctx);
    let mut hash = Hash::write_or_create(ctx, key)?;
    let mut timed: Vec<(i64, Vec<u8>)> = Vec::new();
    for f in fields {
        match f.expire_at_ms {
            Some(at) if at <= now => continue,
            Some(at) => timed.push((at, f.field.clone())),
            None => {}
        }
        hash.set(ctx, limits, &f.field, f.value)?;
    }
    for run in timed.chunk_by(|a, b| a.0 == b.0) {
        for (at, field) in run.iter().rev() {
            hash.set_expire(ctx, field, *at)?;
        }
    }
    if hash.is_empty() {
        return Ok(false);
    }
    hash.save(ctx, 0)?;
    Ok(true)
}

//! How one set is stored, mirroring Redis 7.0's two set encodings.
//!
//! `Meta::body` starts with an encoding tag:
//! - [`INTSET`]: Redis's "intset". The members follow inline as big-endian `i64`s in ascending
//!   numeric order (the order Redis's intset replies in), so a small all-integer set costs one
//!   point read. `Meta::count` is their number.
//! - [`HASHTABLE`]: Redis's "hashtable". The body is just the tag; each member is an element
//!   record (field = member bytes, empty value) under `Meta::version`.
//!
//! A set is an intset while every member is an integer `string2ll` accepts and there are at most
//! `set-max-intset-entries` of them; it converts on the first member breaking either rule and,
//! as in Redis, never converts back.

use std::collections::BTreeSet;
use std::ops::Bound;

use engine::{Instance, Kind, Meta, Order};

use crate::commands::args::parse_i64;
use crate::commands::collection::Stored;
use crate::error::CommandError;
use crate::server::Ctx;

pub const INTSET: u8 = 0;
pub const HASHTABLE: u8 = 1;

/// Element records read per range scan when walking a hashtable-encoded set.
pub const PAGE: usize = 512;

pub fn max_intset_entries(ctx: &Ctx) -> i64 {
    ctx.server.config.read().get_int("set-max-intset-entries")
}

pub fn is_intset(meta: &Meta) -> bool {
    meta.body.first() != Some(&HASHTABLE)
}

fn instance<'k>(ctx: &Ctx, key: &'k [u8], meta: &Meta) -> Instance<'k> {
    Instance {
        db: ctx.db(),
        key,
        version: meta.version,
    }
}

/// The members of an intset body.
fn ints(meta: &Meta) -> Vec<i64> {
    meta.body
        .get(1..)
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|chunk| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            i64::from_be_bytes(bytes)
        })
        .collect()
}

fn set_ints(meta: &mut Meta, members: &[i64]) {
    let mut body = Vec::with_capacity(1 + members.len() * 8);
    body.push(INTSET);
    for m in members {
        body.extend_from_slice(&m.to_be_bytes());
    }
    meta.body = body;
    meta.count = members.len() as u64;
}

/// A live key that must be a set (WRONGTYPE otherwise); `read` counts keyspace hits and misses.
pub fn lookup(ctx: &mut Ctx, key: &[u8], read: bool) -> Result<Option<Meta>, CommandError> {
    let found = if read {
        ctx.lookup_read(key)?
    } else {
        ctx.lookup(key)?
    };
    match found {
        Some(meta) if meta.kind != Kind::Set => Err(CommandError::WrongType),
        found => Ok(found),
    }
}

/// An empty set in the encoding Redis's `setTypeCreate` picks for its first member.
pub fn create(ctx: &Ctx, first: &[u8]) -> Meta {
    let tag = if parse_i64(first).is_ok() {
        INTSET
    } else {
        HASHTABLE
    };
    Meta::collection(Kind::Set, ctx.server.engine.new_version(), 0, vec![tag])
}

pub fn contains(ctx: &Ctx, key: &[u8], meta: &Meta, member: &[u8]) -> Result<bool, CommandError> {
    if is_intset(meta) {
        return Ok(parse_i64(member).is_ok_and(|v| ints(meta).binary_search(&v).is_ok()));
    }
    Ok(ctx
        .txn
        .element_get(instance(ctx, key, meta), member)?
        .is_some())
}

/// Moves an intset's members to element records (Redis's `setTypeConvert`).
fn convert(ctx: &mut Ctx, key: &[u8], meta: &mut Meta) -> Result<(), CommandError> {
    let inst = instance(ctx, key, meta);
    for v in ints(meta) {
        ctx.txn
            .element_put(inst, v.to_string().as_bytes(), Vec::new())?;
    }
    meta.body = vec![HASHTABLE];
    Ok(())
}

/// Redis's `setTypeAdd`: adds `member`, converting the encoding when needed; returns whether it
/// was new. The caller stores `meta`.
pub fn add(
    ctx: &mut Ctx,
    key: &[u8],
    meta: &mut Meta,
    member: &[u8],
) -> Result<bool, CommandError> {
    if is_intset(meta) {
        match parse_i64(member) {
            Ok(v) => {
                let mut members = ints(meta);
                let Err(at) = members.binary_search(&v) else {
                    return Ok(false);
                };
                members.insert(at, v);
                set_ints(meta, &members);
                if meta.count as i64 > max_intset_entries(ctx) {
                    convert(ctx, key, meta)?;
                }
                return Ok(true);
            }
            Err(_) => convert(ctx, key, meta)?,
        }
    }
    let inst = instance(ctx, key, meta);
    if ctx.txn.element_get(inst, member)?.is_some() {
        return Ok(false);
    }
    ctx.txn.element_put(inst, member, Vec::new())?;
    meta.count += 1;
    Ok(true)
}

/// Redis's `setTypeRemove`; returns whether `member` was there. The caller stores `meta`.
pub fn remove(
    ctx: &mut Ctx,
    key: &[u8],
    meta: &mut Meta,
    member: &[u8],
) -> Result<bool, CommandError> {
    if is_intset(meta) {
        let Ok(v) = parse_i64(member) else {
            return Ok(false);
        };
        let mut members = ints(meta);
        let Ok(at) = members.binary_search(&v) else {
            return Ok(false);
        };
        members.remove(at);
        set_ints(meta, &members);
        return Ok(true);
    }
    let inst = instance(ctx, key, meta);
    if ctx.txn.element_get(inst, member)?.is_none() {
        return Ok(false);
    }
    ctx.txn.element_delete(inst, member)?;
    meta.count -= 1;
    Ok(true)
}

/// Every member, in the order Redis iterates the set for an intset (ascending numbers) and in
/// byte order for a hashtable (whose Redis order is arbitrary).
pub fn members(ctx: &Ctx, key: &[u8], meta: &Meta) -> Result<Vec<Vec<u8>>, CommandError> {
    if is_intset(meta) {
        return Ok(ints(meta)
            .into_iter()
            .map(|v| v.to_string().into_bytes())
            .collect());
    }
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(meta.count as usize);
    loop {
        let start = out
            .last()
            .map_or(Bound::Unbounded, |m| Bound::Excluded(m.as_slice()));
        let page = ctx.txn.element_range(
            instance(ctx, key, meta),
            start,
            Bound::Unbounded,
            Order::Ascending,
            PAGE,
        )?;
        let done = page.len() < PAGE;
        out.extend(page.into_iter().map(|(field, _)| field));
        if done {
            return Ok(out);
        }
    }
}

/// Up to `limit` members of a hashtable-encoded set after `after` (from the start if `None`).
pub fn members_after(
    ctx: &Ctx,
    key: &[u8],
    meta: &Meta,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Vec<u8>>, CommandError> {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    Ok(ctx
        .txn
        .element_range(
            instance(ctx, key, meta),
            start,
            Bound::Unbounded,
            Order::Ascending,
            limit,
        )?
        .into_iter()
        .map(|(field, _)| field)
        .collect())
}

/// Calls `visit` with every member of a set: an intset from its record at once, a bigger set
/// page by page, so memory stays bounded by a page.
pub fn for_each_member<E: From<CommandError>>(
    ctx: &Ctx,
    key: &[u8],
    meta: &Meta,
    mut visit: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    if is_intset(meta) {
        for member in members(ctx, key, meta)? {
            visit(&member)?;
        }
        return Ok(());
    }
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = members_after(ctx, key, meta, after.as_deref(), PAGE)?;
        let done = page.len() < PAGE;
        for member in &page {
            visit(member)?;
        }
        match page.into_iter().last() {
            Some(last) if !done => after = Some(last),
            _ => return Ok(()),
        }
    }
}

/// Stores a modified set, or deletes the key when it became empty (as Redis does), and counts
/// `changes` in the dirty counter as Redis's `server.dirty` does.
pub fn save(ctx: &mut Ctx, key: &[u8], meta: Meta, changes: u64) -> Result<(), CommandError> {
    let dirty = ctx.dirty;
    if meta.count == 0 {
        ctx.delete(key)?;
    } else {
        ctx.put(key, meta)?;
    }
    ctx.dirty = dirty + changes;
    Ok(())
}

/// A set computed in memory (SUNION, SDIFF, the *STORE variants, SPOP's rebuild), tracking the
/// encoding Redis's result object would have: it starts as an intset and converts for good on a
/// non-integer member or when it grows past `set-max-intset-entries`.
pub struct Built {
    ints: BTreeSet<i64>,
    strings: BTreeSet<Vec<u8>>,
    hashtable: bool,
    max_intset: i64,
}

impl Built {
    /// An empty result; `max_intset` is `set-max-intset-entries`.
    pub fn new(max_intset: i64) -> Built {
        Built {
            ints: BTreeSet::new(),
            strings: BTreeSet::new(),
            hashtable: false,
            max_intset,
        }
    }

    pub fn cardinality(&self) -> usize {
        if self.hashtable {
            self.strings.len()
        } else {
            self.ints.len()
        }
    }

    pub fn add(&mut self, member: &[u8]) {
        if !self.hashtable {
            if let Ok(v) = parse_i64(member) {
                self.ints.insert(v);
                if self.ints.len() as i64 <= self.max_intset {
                    return;
                }
            }
            self.hashtable = true;
            self.strings = std::mem::take(&mut self.ints)
                .into_iter()
                .map(|v| v.to_string().into_bytes())
                .collect();
        }
        self.strings.insert(member.to_vec());
    }

    pub fn remove(&mut self, member: &[u8]) {
        if self.hashtable {
            self.strings.remove(member);
        } else if let Ok(v) = parse_i64(member) {
            self.ints.remove(&v);
        }
    }

    /// The members in the order [`members`] would list them once stored.
    pub fn into_members(self) -> Vec<Vec<u8>> {
        if self.hashtable {
            self.strings.into_iter().collect()
        } else {
            self.ints
                .into_iter()
                .map(|v| v.to_string().into_bytes())
                .collect()
        }
    }

    /// Replaces `key` with this set (a new instance with the given expire), or deletes it if
    /// empty. Returns the stored cardinality.
    pub fn store(
        self,
        ctx: &mut Ctx,
        key: &[u8],
        expire_at_ms: i64,
    ) -> Result<usize, CommandError> {
        let len = self.cardinality();
        if len == 0 {
            ctx.delete(key)?;
            return Ok(0);
        }
        let (mut meta, records) = self.into_stored();
        meta.version = ctx.server.engine.new_version();
        meta.expire_at_ms = expire_at_ms;
        let inst = instance(ctx, key, &meta);
        for (member, value) in records {
            ctx.txn.element_put(inst, &member, value)?;
        }
        ctx.put(key, meta)?;
        Ok(len)
    }

    /// What this (non-empty) set is stored as: an intset record, or a hashtable record and one
    /// element record per member.
    pub fn into_stored(self) -> Stored {
        if self.hashtable {
            let count = self.strings.len() as u64;
            let records = self.strings.into_iter().map(|m| (m, Vec::new())).collect();
            return (
                Meta::collection(Kind::Set, 0, count, vec![HASHTABLE]),
                records,
            );
        }
        let mut meta = Meta::collection(Kind::Set, 0, 0, vec![INTSET]);
        set_ints(&mut meta, &self.ints.into_iter().collect::<Vec<_>>());
        (meta, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(max_intset: i64, members: &[&str]) -> Built {
        let mut b = Built::new(max_intset);
        for m in members {
            b.add(m.as_bytes());
        }
        b
    }

    #[test]
    fn built_sets_convert_like_redis_results() {
        let b = built(512, &["3", "-1", "3", "10"]);
        assert!(!b.hashtable);
        assert_eq!(b.into_members(), [&b"-1"[..], b"3", b"10"]);
        // A non-integer converts for good, even once removed.
        let mut b = built(512, &["2", "x", "1"]);
        b.remove(b"x");
        assert!(b.hashtable);
        assert_eq!(b.cardinality(), 2);
        assert_eq!(b.into_members(), [&b"1"[..], b"2"]);
        // So does growing past the limit; "01" is not an integer member.
        assert!(built(2, &["1", "2", "3"]).hashtable);
        assert!(!built(2, &["1", "2"]).hashtable);
        assert!(built(512, &["01"]).hashtable);
    }
}

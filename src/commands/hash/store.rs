//! A hash value as the hash commands see it, in any of its four stored forms.
//!
//! The metadata record's `count` is the number of fields; the body's first byte is the form:
//! - [`INLINE`] (Redis's "listpack"): the fields follow in the body, in insertion order, each as
//!   `field_len(u32 BE) | field | value_len(u32 BE) | value`. A point read of the metadata
//!   record is the whole hash, and replies come out in Redis's listpack order.
//! - [`INLINE_EX`] (Redis 7.4's "listpackex", a small hash with field TTLs): the same, each
//!   field followed by its expire time (`i64 BE`, 0 = none), in 7.4's order: fields with a TTL
//!   first, by expire time, then the others in insertion order.
//! - [`ELEMENTS`] (Redis's "hashtable"): the body is that one byte; every field is an element
//!   record (field → value) under the key's version, so replies come out in field byte order.
//! - [`ELEMENTS_EX`] (7.4's hashtable with field TTLs): every field is an element record
//!   `'f' | field` → `expire(i64 BE, 0 = none) | value`, and every field with a TTL also has an
//!   index record `'t' | expire(u64 BE) | field` (empty value), so the fields due first are a
//!   prefix scan away.
//!
//! A hash converts from inline to elements when Redis would convert its listpack: before a
//! write of a field or value longer than `hash-max-listpack-value`, or after a write leaves more
//! than `hash-max-listpack-entries` fields. It never converts back, as in Redis. A plain hash
//! takes its TTL form when a field first gets an expire time (a big one is copied to tagged
//! records under a new version: its old records become garbage for the compaction filter); an
//! inline hash whose last TTL is removed is stored as a plain listpack again (7.4 keeps calling
//! it "listpackex", but both behave alike).
//!
//! FIELD EXPIRY. The metadata record carries the hash's earliest field expire time
//! (`Meta::field_expire_ms`, kept by [`InlineForm::before_save`]), which the engine indexes. A
//! field whose time has come is invisible to every read here; it is deleted when the key is
//! next looked up ([`expire_fields`], called by the keyspace lookup) or when the active cycle
//! reaches the key, whichever comes first, with a `hexpired` event, and the key goes when its
//! last field does.

use std::ops::Bound;

use bytes::Bytes;
use engine::{Kind, Meta, Order};

pub use crate::commands::collection::Limits;
use crate::commands::collection::{self, InlineForm, Loaded, Stored};
use crate::error::CommandError;
use crate::server::{notify, Ctx};

pub use crate::commands::collection::{ELEMENTS, INLINE};

/// Body tag of an inline hash with field expire times (7.4's listpackex).
pub const INLINE_EX: u8 = 2;
/// Body tag of an element-bodied hash with field expire times.
pub const ELEMENTS_EX: u8 = 3;

/// Element record tags of an [`ELEMENTS_EX`] hash.
const FIELD_TAG: u8 = b'f';
const TTL_TAG: u8 = b't';

/// Element records read per step while walking an element-bodied hash.
pub const PAGE: usize = 1024;

/// A field and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// A field, its value and its expire time in Unix milliseconds (0 = none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub field: Vec<u8>,
    pub value: Vec<u8>,
    pub expire_ms: i64,
}

impl Entry {
    fn pair(self) -> Pair {
        (self.field, self.value)
    }

    fn live(&self, now_ms: i64) -> bool {
        self.expire_ms == 0 || self.expire_ms > now_ms
    }
}

/// A hash loaded for a command: its metadata and, for the inline forms, its decoded fields
/// (see [`Loaded`]).
pub type Hash<'k> = Loaded<'k, Entry>;

impl InlineForm for Entry {
    const KIND: Kind = Kind::Hash;
    const WHAT: &'static str = "hash body";

    const LIMIT_DIRECTIVES: (&'static str, &'static str) =
        ("hash-max-listpack-entries", "hash-max-listpack-value");

    fn decode(raw: &[u8]) -> Result<Vec<Entry>, CommandError> {
        decode(raw, false)
    }

    fn encode(entries: &[Entry]) -> Vec<u8> {
        encode(entries)
    }

    fn decode_body(body: &[u8]) -> Result<Option<Vec<Entry>>, CommandError> {
        match body.first() {
            Some(&INLINE) => Ok(Some(decode(&body[1..], false)?)),
            Some(&INLINE_EX) => Ok(Some(decode(&body[1..], true)?)),
            Some(&ELEMENTS | &ELEMENTS_EX) => Ok(None),
            _ => Err(corrupt("unknown body tag")),
        }
    }

    fn before_save(hash: &mut Hash<'_>, ctx: &Ctx) -> Result<(), CommandError> {
        hash.meta.field_expire_ms = hash.min_field_expire(ctx)?;
        Ok(())
    }
}

/// Deletes the fields of the hash at (`db`, `key`) whose expire time has come (the key with
/// them when none is left), given its metadata as stored; returns the metadata now live. Called
/// by the keyspace lookup for a hash whose earliest field expire time has passed (every due
/// field), and by the active expire cycle (at most `limit` of them per call, so that one huge
/// hash cannot stall the server: its earliest time stays due and the next run goes on). The
/// deletion is propagated as `HDEL key field ...`, as Redis 7.4 propagates field expiry.
pub fn expire_fields(
    ctx: &mut Ctx,
    db: usize,
    key: &[u8],
    meta: Meta,
    limit: usize,
) -> Result<Option<Meta>, CommandError> {
    let Some(mut hash) = Hash::from_meta(ctx, key, Some(meta))? else {
        return Ok(None);
    };
    hash.db = db;
    let expired = hash.take_expired(ctx, limit)?;
    if expired.is_empty() {
        // Nothing was due after all: the stored earliest time was stale. Store it right.
        hash.meta.field_expire_ms = hash.min_field_expire(ctx)?;
        let meta = hash.meta.clone();
        ctx.txn.put(db, key, meta.clone())?;
        return Ok(Some(meta));
    }
    ctx.notify_in(db, notify::HASH, "hexpired", key);
    let mut hdel = vec![Bytes::from_static(b"HDEL"), Bytes::copy_from_slice(key)];
    hdel.extend(expired.into_iter().map(Bytes::from));
    ctx.also_propagate_in(db, hdel);
    if hash.is_empty() {
        // Straight to the transaction: `Ctx::delete_in` would look the key up again.
        ctx.txn.delete(db, key)?;
        ctx.notify_in(db, notify::GENERIC, "del", key);
        return Ok(None);
    }
    // No change counted (`save` with 0), as Redis counts none for expired fields.
    hash.save(ctx, 0)?;
    Ok(ctx.txn.get(db, key)?.cloned())
}

/// A hash read whole from an RDB file (distinct fields, none with an expire time), in the form
/// the HSETs that rebuild it leave it in: inline in the file's order when it has at most
/// `limits.entries` fields and no field or value is longer than `limits.value`, element records
/// otherwise.
pub fn build(fields: Vec<Pair>, limits: Limits) -> Stored {
    let count = fields.len() as u64;
    let fits = |part: &Vec<u8>| part.len() <= limits.value;
    if count <= limits.entries && fields.iter().all(|(f, v)| fits(f) && fits(v)) {
        let entries: Vec<Entry> = fields
            .into_iter()
            .map(|(field, value)| Entry {
                field,
                value,
                expire_ms: 0,
            })
            .collect();
        return (
            Meta::collection(Kind::Hash, 0, count, encode(&entries)),
            Vec::new(),
        );
    }
    (
        Meta::collection(Kind::Hash, 0, count, vec![ELEMENTS]),
        fields,
    )
}

impl<'k> Loaded<'k, Entry> {
    /// The hash at `key`, or a new empty inline one (Redis's `hashTypeLookupWriteOrCreate`).
    pub fn write_or_create(ctx: &mut Ctx, key: &'k [u8]) -> Result<Hash<'k>, CommandError> {
        if let Some(hash) = Hash::write(ctx, key)? {
            return Ok(hash);
        }
        Ok(Hash {
            key,
            db: ctx.db(),
            meta: Meta::collection(Kind::Hash, ctx.server.engine.new_version(), 0, vec![INLINE]),
            inline: Some(Vec::new()),
            elements_tag: ELEMENTS,
        })
    }

    /// Whether the fields are tagged element records with expire times.
    fn elements_ex(&self) -> bool {
        self.inline.is_none() && self.elements_tag == ELEMENTS_EX
    }

    /// A field's stored entry, expired or not.
    fn entry(&self, ctx: &Ctx, field: &[u8]) -> Result<Option<Entry>, CommandError> {
        if let Some(entries) = &self.inline {
            return Ok(entries.iter().find(|e| e.field == field).cloned());
        }
        let (value, expire_ms) = if self.elements_ex() {
            match ctx
                .txn
                .element_get(self.instance(), &tagged(FIELD_TAG, field))?
            {
                Some(raw) => split_expire(&raw)?,
                None => return Ok(None),
            }
        } else {
            match ctx.txn.element_get(self.instance(), field)? {
                Some(value) => (value, 0),
                None => return Ok(None),
            }
        };
        Ok(Some(Entry {
            field: field.to_vec(),
            value,
            expire_ms,
        }))
    }

    /// A live field's entry (value and expire time).
    pub fn get_entry(&self, ctx: &Ctx, field: &[u8]) -> Result<Option<Entry>, CommandError> {
        Ok(self.entry(ctx, field)?.filter(|e| e.live(ctx.now_ms)))
    }

    /// A live field's value.
    pub fn get(&self, ctx: &Ctx, field: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
        Ok(self.get_entry(ctx, field)?.map(|e| e.value))
    }

    /// Sets a field (Redis's `hashTypeSet`, conversions included), removing its expire time as
    /// HSET does; true when it is new.
    pub fn set(
        &mut self,
        ctx: &mut Ctx,
        limits: Limits,
        field: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, CommandError> {
        self.put(ctx, limits, field, value, false)
    }

    /// Sets a field's value, keeping its expire time when `keep_ttl` (HINCRBY, HINCRBYFLOAT:
    /// 7.4's `HASH_SET_KEEP_TTL`); true when it is new.
    pub fn put(
        &mut self,
        ctx: &mut Ctx,
        limits: Limits,
        field: &[u8],
        value: Vec<u8>,
        keep_ttl: bool,
    ) -> Result<bool, CommandError> {
        if self.is_inline() && (field.len() > limits.value || value.len() > limits.value) {
            self.convert(ctx)?;
        }
        let added = match &mut self.inline {
            Some(entries) => match entries.iter().position(|e| e.field == field) {
                Some(at) if keep_ttl || entries[at].expire_ms == 0 => {
                    entries[at].value = value;
                    false
                }
                Some(at) => {
                    // 7.4 re-inserts a field that loses its TTL, which puts it last.
                    let mut entry = entries.remove(at);
                    entry.value = value;
                    entry.expire_ms = 0;
                    entries.push(entry);
                    false
                }
                None => {
                    entries.push(Entry {
                        field: field.to_vec(),
                        value,
                        expire_ms: 0,
                    });
                    true
                }
            },
            None => {
                let old = self.entry(ctx, field)?;
                let old_expire = old.as_ref().map_or(0, |e| e.expire_ms);
                let expire = if keep_ttl { old_expire } else { 0 };
                self.put_element(ctx, field, value, expire, old_expire)?;
                old.is_none()
            }
        };
        if added {
            self.meta.count += 1;
        }
        if self.is_inline() && self.meta.count > limits.entries {
            self.convert(ctx)?;
        }
        Ok(added)
    }

    /// Gives an existing field the expire time `expire_ms` (0 removes it), placing it where 7.4
    /// places it in a listpackex.
    pub fn set_expire(
        &mut self,
        ctx: &mut Ctx,
        field: &[u8],
        expire_ms: i64,
    ) -> Result<(), CommandError> {
        if let Some(entries) = &mut self.inline {
            let Some(at) = entries.iter().position(|e| e.field == field) else {
                return Ok(());
            };
            let mut entry = entries.remove(at);
            entry.expire_ms = expire_ms;
            // Before the first field with no TTL or a TTL no earlier (`listpackExAddInternal`).
            let to = match expire_ms {
                0 => entries.len(),
                _ => entries
                    .iter()
                    .position(|e| e.expire_ms == 0 || e.expire_ms >= expire_ms)
                    .unwrap_or(entries.len()),
            };
            entries.insert(to, entry);
            return Ok(());
        }
        if expire_ms != 0 && !self.elements_ex() {
            self.convert_to_ex(ctx)?;
        }
        if let Some(old) = self.entry(ctx, field)? {
            self.put_element(ctx, field, old.value, expire_ms, old.expire_ms)?;
        }
        Ok(())
    }

    /// Writes a field's element record(s): its value with `expire_ms`, and the TTL index record
    /// moved from `old_expire` to `expire_ms`.
    fn put_element(
        &mut self,
        ctx: &mut Ctx,
        field: &[u8],
        value: Vec<u8>,
        expire_ms: i64,
        old_expire: i64,
    ) -> Result<(), CommandError> {
        let instance = self.instance();
        if !self.elements_ex() {
            ctx.txn.element_put(instance, field, value)?;
            return Ok(());
        }
        let mut stored = expire_ms.to_be_bytes().to_vec();
        stored.extend_from_slice(&value);
        ctx.txn
            .element_put(instance, &tagged(FIELD_TAG, field), stored)?;
        if old_expire != expire_ms {
            if old_expire != 0 {
                ctx.txn
                    .element_delete(instance, &ttl_record(old_expire, field))?;
            }
            if expire_ms != 0 {
                ctx.txn
                    .element_put(instance, &ttl_record(expire_ms, field), Vec::new())?;
            }
        }
        Ok(())
    }

    /// Removes a field; true when it existed.
    pub fn delete(&mut self, ctx: &mut Ctx, field: &[u8]) -> Result<bool, CommandError> {
        let removed = match &mut self.inline {
            Some(entries) => match entries.iter().position(|e| e.field == field) {
                Some(at) => {
                    entries.remove(at);
                    true
                }
                None => false,
            },
            None => match self.entry(ctx, field)? {
                Some(old) => {
                    self.delete_element(ctx, &old)?;
                    true
                }
                None => false,
            },
        };
        if removed {
            self.meta.count -= 1;
        }
        Ok(removed)
    }

    fn delete_element(&mut self, ctx: &mut Ctx, old: &Entry) -> Result<(), CommandError> {
        let instance = self.instance();
        if !self.elements_ex() {
            ctx.txn.element_delete(instance, &old.field)?;
            return Ok(());
        }
        ctx.txn
            .element_delete(instance, &tagged(FIELD_TAG, &old.field))?;
        if old.expire_ms != 0 {
            ctx.txn
                .element_delete(instance, &ttl_record(old.expire_ms, &old.field))?;
        }
        Ok(())
    }

    /// Deletes the fields whose expire time has come (an element-bodied hash's first `limit`
    /// of them); returns their names.
    fn take_expired(&mut self, ctx: &mut Ctx, limit: usize) -> Result<Vec<Vec<u8>>, CommandError> {
        let now = ctx.now_ms;
        let ex = self.elements_ex();
        let expired: Vec<Vec<u8>> = match &mut self.inline {
            Some(entries) => {
                let (gone, kept): (Vec<Entry>, Vec<Entry>) =
                    entries.drain(..).partition(|e| !e.live(now));
                *entries = kept;
                gone.into_iter().map(|e| e.field).collect()
            }
            None if ex => {
                let mut gone = Vec::new();
                while gone.len() < limit {
                    let due = self.due_elements(ctx, now, limit - gone.len())?;
                    if due.is_empty() {
                        break;
                    }
                    for entry in due {
                        self.delete_element(ctx, &entry)?;
                        gone.push(entry.field);
                    }
                }
                gone
            }
            None => Vec::new(),
        };
        self.meta.count -= expired.len() as u64;
        Ok(expired)
    }

    /// Up to `limit` (and a page) of the fields of an [`ELEMENTS_EX`] hash due at `now`,
    /// earliest first.
    fn due_elements(&self, ctx: &Ctx, now: i64, limit: usize) -> Result<Vec<Entry>, CommandError> {
        let records = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&[TTL_TAG][..]),
            Bound::Excluded(&[TTL_TAG + 1][..]),
            Order::Ascending,
            limit.min(PAGE),
        )?;
        let mut out = Vec::new();
        for (raw, _) in records {
            let (expire_ms, field) = parse_ttl_record(&raw)?;
            if expire_ms > now {
                break;
            }
            out.push(Entry {
                field: field.to_vec(),
                value: Vec::new(),
                expire_ms,
            });
        }
        Ok(out)
    }

    /// The earliest field expire time (0 for none).
    pub fn min_field_expire(&self, ctx: &Ctx) -> Result<i64, CommandError> {
        if let Some(entries) = &self.inline {
            return Ok(entries
                .iter()
                .map(|e| e.expire_ms)
                .filter(|&t| t != 0)
                .min()
                .unwrap_or(0));
        }
        if !self.elements_ex() {
            return Ok(0);
        }
        let first = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&[TTL_TAG][..]),
            Bound::Excluded(&[TTL_TAG + 1][..]),
            Order::Ascending,
            1,
        )?;
        match first.first() {
            Some((raw, _)) => Ok(parse_ttl_record(raw)?.0),
            None => Ok(0),
        }
    }

    /// Moves an inline hash's fields to element records (Redis's `hashTypeConvert`), tagged
    /// ones when a field has an expire time.
    fn convert(&mut self, ctx: &mut Ctx) -> Result<(), CommandError> {
        let Some(entries) = self.inline.take() else {
            return Ok(());
        };
        self.elements_tag = if entries.iter().any(|e| e.expire_ms != 0) {
            ELEMENTS_EX
        } else {
            ELEMENTS
        };
        for entry in entries {
            self.put_element(ctx, &entry.field, entry.value, entry.expire_ms, 0)?;
        }
        Ok(())
    }

    /// Copies a plain element-bodied hash to tagged records under a new version, so that its
    /// fields can carry expire times.
    fn convert_to_ex(&mut self, ctx: &mut Ctx) -> Result<(), CommandError> {
        let old = self.instance();
        let mut last: Option<Vec<u8>> = None;
        let mut pairs = Vec::new();
        loop {
            let start = last.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let page =
                ctx.txn
                    .element_range(old, start, Bound::Unbounded, Order::Ascending, PAGE)?;
            let done = page.len() < PAGE;
            last = page.last().map(|(f, _)| f.clone());
            pairs.extend(page);
            if done {
                break;
            }
        }
        self.meta.version = ctx.server.engine.new_version();
        self.elements_tag = ELEMENTS_EX;
        for (field, value) in pairs {
            self.put_element(ctx, &field, value, 0, 0)?;
        }
        Ok(())
    }

    /// Up to `limit` stored entries after `after` (from the start for `None`), in the hash's
    /// order, expired ones included.
    pub(crate) fn page_stored(
        &self,
        ctx: &Ctx,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, CommandError> {
        match &self.inline {
            Some(entries) => {
                let start = match after {
                    Some(field) => entries
                        .iter()
                        .position(|e| e.field == field)
                        .map_or(entries.len(), |at| at + 1),
                    None => 0,
                };
                Ok(entries.iter().skip(start).take(limit).cloned().collect())
            }
            None if self.elements_ex() => {
                let after = after.map(|f| tagged(FIELD_TAG, f));
                let start = after
                    .as_deref()
                    .map_or(Bound::Included(&[FIELD_TAG][..]), Bound::Excluded);
                let records = ctx.txn.element_range(
                    self.instance(),
                    start,
                    Bound::Excluded(&[FIELD_TAG + 1][..]),
                    Order::Ascending,
                    limit,
                )?;
                records
                    .into_iter()
                    .map(|(raw, stored)| {
                        let (value, expire_ms) = split_expire(&stored)?;
                        Ok(Entry {
                            field: raw[1..].to_vec(),
                            value,
                            expire_ms,
                        })
                    })
                    .collect()
            }
            None => {
                let start = after.map_or(Bound::Unbounded, Bound::Excluded);
                Ok(ctx
                    .txn
                    .element_range(
                        self.instance(),
                        start,
                        Bound::Unbounded,
                        Order::Ascending,
                        limit,
                    )?
                    .into_iter()
                    .map(|(field, value)| Entry {
                        field,
                        value,
                        expire_ms: 0,
                    })
                    .collect())
            }
        }
    }

    /// Up to `limit` live entries after `after`, in the hash's order: fewer only at the end.
    pub fn page_entries(
        &self,
        ctx: &Ctx,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, CommandError> {
        let mut after = after.map(<[u8]>::to_vec);
        let mut out = Vec::new();
        while out.len() < limit {
            let wanted = limit - out.len();
            let stored = self.page_stored(ctx, after.as_deref(), wanted)?;
            let end = stored.len() < wanted;
            after = stored.last().map(|e| e.field.clone());
            out.extend(stored.into_iter().filter(|e| e.live(ctx.now_ms)));
            if end {
                break;
            }
        }
        Ok(out)
    }

    /// Up to `limit` live fields after `after` (from the start for `None`), in the hash's
    /// order.
    pub fn page(
        &self,
        ctx: &Ctx,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, CommandError> {
        Ok(self
            .page_entries(ctx, after, limit)?
            .into_iter()
            .map(Entry::pair)
            .collect())
    }

    /// Every live entry, in the hash's order.
    pub fn all_entries(&self, ctx: &Ctx) -> Result<Vec<Entry>, CommandError> {
        let mut out: Vec<Entry> = Vec::new();
        loop {
            let page = self.page_entries(ctx, out.last().map(|e| e.field.as_slice()), PAGE)?;
            let done = page.len() < PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every live field, in the hash's order (for the commands that reply with all of them).
    pub fn all(&self, ctx: &Ctx) -> Result<Vec<Pair>, CommandError> {
        Ok(self
            .all_entries(ctx)?
            .into_iter()
            .map(Entry::pair)
            .collect())
    }

    /// The fields at the given positions (ascending, repeats allowed), in that order. An
    /// element-bodied hash is walked page by page, keeping only the wanted fields.
    pub fn at_positions(&self, ctx: &Ctx, positions: &[u64]) -> Result<Vec<Pair>, CommandError> {
        if let Some(entries) = &self.inline {
            return Ok(positions
                .iter()
                .filter_map(|&i| usize::try_from(i).ok().and_then(|i| entries.get(i)))
                .map(|e| (e.field.clone(), e.value.clone()))
                .collect());
        }
        let mut out = Vec::with_capacity(positions.len());
        let mut wanted = positions.iter().peekable();
        let mut base = 0u64;
        let mut last: Option<Vec<u8>> = None;
        while wanted.peek().is_some() {
            let page = self.page(ctx, last.as_deref(), PAGE)?;
            if page.is_empty() {
                break;
            }
            let end = base + page.len() as u64;
            while let Some(&&i) = wanted.peek() {
                if i >= end {
                    break;
                }
                if let Some(pair) = usize::try_from(i - base).ok().and_then(|at| page.get(at)) {
                    out.push(pair.clone());
                }
                wanted.next();
            }
            base = end;
            last = page.last().map(|(f, _)| f.clone());
        }
        Ok(out)
    }
}

fn corrupt(detail: &str) -> CommandError {
    collection::corrupt(<Entry as InlineForm>::WHAT, detail)
}

fn tagged(tag: u8, field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + field.len());
    out.push(tag);
    out.extend_from_slice(field);
    out
}

fn ttl_record(expire_ms: i64, field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + field.len());
    out.push(TTL_TAG);
    out.extend_from_slice(&(expire_ms.max(0) as u64).to_be_bytes());
    out.extend_from_slice(field);
    out
}

fn parse_ttl_record(raw: &[u8]) -> Result<(i64, &[u8]), CommandError> {
    let at = raw
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("truncated field TTL record"))?;
    Ok((u64::from_be_bytes(at) as i64, &raw[9..]))
}

/// Splits a tagged field record's value into (value, expire time).
fn split_expire(stored: &[u8]) -> Result<(Vec<u8>, i64), CommandError> {
    let (at, value) = stored
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated field record"))?;
    Ok((value.to_vec(), i64::from_be_bytes(*at)))
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let ex = entries.iter().any(|e| e.expire_ms != 0);
    let size: usize = entries
        .iter()
        .map(|e| 16 + e.field.len() + e.value.len())
        .sum();
    let mut out = Vec::with_capacity(1 + size);
    out.push(if ex { INLINE_EX } else { INLINE });
    for entry in entries {
        for part in [&entry.field, &entry.value] {
            // Fields and values of an inline hash are at most `hash-max-listpack-value` bytes,
            // far below u32::MAX, unless the limit is configured absurdly high.
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        if ex {
            out.extend_from_slice(&entry.expire_ms.to_be_bytes());
        }
    }
    out
}

fn decode(mut raw: &[u8], ex: bool) -> Result<Vec<Entry>, CommandError> {
    let take = |raw: &mut &[u8]| -> Result<Vec<u8>, CommandError> {
        let (len, rest) = raw
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("truncated length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(corrupt("truncated field"));
        }
        let (part, rest) = rest.split_at(len);
        *raw = rest;
        Ok(part.to_vec())
    };
    let mut entries = Vec::new();
    while !raw.is_empty() {
        let field = take(&mut raw)?;
        let value = take(&mut raw)?;
        let expire_ms = if ex {
            let (at, rest) = raw
                .split_first_chunk::<8>()
                .ok_or_else(|| corrupt("truncated field TTL"))?;
            raw = rest;
            i64::from_be_bytes(*at)
        } else {
            0
        };
        entries.push(Entry {
            field,
            value,
            expire_ms,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(field: &[u8], value: &[u8], expire_ms: i64) -> Entry {
        Entry {
            field: field.to_vec(),
            value: value.to_vec(),
            expire_ms,
        }
    }

    #[test]
    fn inline_body_round_trips() {
        let plain = vec![entry(b"b", b"", 0), entry(b"", b"x\0y", 0)];
        let body = encode(&plain);
        assert_eq!(body[0], INLINE);
        assert_eq!(Entry::decode_body(&body).unwrap(), Some(plain));
        assert!(decode(&body[1..body.len() - 1], false).is_err());
        assert!(decode(&[0, 0], false).is_err());
    }

    #[test]
    fn inline_body_with_ttls_round_trips() {
        let with_ttls = vec![entry(b"a", b"1", 1_700_000_000_000), entry(b"b", b"2", 0)];
        let body = encode(&with_ttls);
        assert_eq!(body[0], INLINE_EX);
        assert_eq!(Entry::decode_body(&body).unwrap(), Some(with_ttls));
        assert!(decode(&body[1..body.len() - 3], true).is_err());
        assert_eq!(Entry::decode_body(&[ELEMENTS_EX]).unwrap(), None);
        assert!(Entry::decode_body(&[9]).is_err());
    }

    #[test]
    fn ttl_records_sort_by_time_and_parse_back() {
        assert!(ttl_record(5, b"z") < ttl_record(6, b"a"));
        let raw = ttl_record(42, b"field");
        assert_eq!(parse_ttl_record(&raw).unwrap(), (42, &b"field"[..]));
        assert!(parse_ttl_record(&raw[..5]).is_err());
        assert_eq!(
            split_expire(&[0, 0, 0, 0, 0, 0, 0, 7, b'v']).unwrap(),
            (b"v".to_vec(), 7)
        );
        assert!(split_expire(&[1, 2]).is_err());
    }
}

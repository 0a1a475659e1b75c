//! A hash value as the hash commands see it, in either of its two stored forms.
//!
//! The metadata record's `count` is the number of fields; the body's first byte is the form:
//! - [`INLINE`] (Redis's "listpack"): the fields follow in the body, in insertion order, each as
//!   `field_len(u32 BE) | field | value_len(u32 BE) | value`. A point read of the metadata
//!   record is the whole hash, and replies come out in Redis's listpack order.
//! - [`ELEMENTS`] (Redis's "hashtable"): the body is that one byte; every field is an element
//!   record (field → value) under the key's version, so replies come out in field byte order.
//!
//! A hash converts from inline to elements when Redis 7.0 would convert its listpack: before a
//! write of a field or value longer than `hash-max-listpack-value`, or after a write leaves more
//! than `hash-max-listpack-entries` fields. It never converts back, as in Redis.

use std::ops::Bound;

use engine::{Kind, Meta, Order};

pub use crate::commands::collection::Limits;
use crate::commands::collection::{self, InlineForm, Loaded};
use crate::error::CommandError;
use crate::server::Ctx;

pub use crate::commands::collection::{ELEMENTS, INLINE};

/// Element records read per step while walking an element-bodied hash.
pub const PAGE: usize = 1024;

/// A field and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// A hash loaded for a command: its metadata and, for the inline form, its decoded fields
/// (see [`Loaded`]).
pub type Hash<'k> = Loaded<'k, Pair>;

impl InlineForm for Pair {
    const KIND: Kind = Kind::Hash;
    const WHAT: &'static str = "hash body";

    const LIMIT_DIRECTIVES: (&'static str, &'static str) =
        ("hash-max-listpack-entries", "hash-max-listpack-value");

    fn decode(raw: &[u8]) -> Result<Vec<Pair>, CommandError> {
        decode(raw)
    }

    fn encode(entries: &[Pair]) -> Vec<u8> {
        encode(entries)
    }
}

impl<'k> Loaded<'k, Pair> {
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
        })
    }

    pub fn get(&self, ctx: &Ctx, field: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
        match &self.inline {
            Some(pairs) => Ok(pairs
                .iter()
                .find(|(f, _)| f.as_slice() == field)
                .map(|(_, v)| v.clone())),
            None => Ok(ctx.txn.element_get(self.instance(), field)?),
        }
    }

    /// Sets a field (Redis's `hashTypeSet`, conversions included); true when it is new.
    pub fn set(
        &mut self,
        ctx: &mut Ctx,
        limits: Limits,
        field: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, CommandError> {
        if self.is_inline() && (field.len() > limits.value || value.len() > limits.value) {
            self.convert(ctx)?;
        }
        let instance = self.instance();
        let added = match &mut self.inline {
            Some(pairs) => match pairs.iter_mut().find(|(f, _)| f.as_slice() == field) {
                Some(pair) => {
                    pair.1 = value;
                    false
                }
                None => {
                    pairs.push((field.to_vec(), value));
                    true
                }
            },
            None => {
                let existed = ctx.txn.element_get(instance, field)?.is_some();
                ctx.txn.element_put(instance, field, value)?;
                !existed
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

    /// Removes a field; true when it existed.
    pub fn delete(&mut self, ctx: &mut Ctx, field: &[u8]) -> Result<bool, CommandError> {
        let instance = self.instance();
        let removed = match &mut self.inline {
            Some(pairs) => match pairs.iter().position(|(f, _)| f.as_slice() == field) {
                Some(at) => {
                    pairs.remove(at);
                    true
                }
                None => false,
            },
            None => {
                let existed = ctx.txn.element_get(instance, field)?.is_some();
                if existed {
                    ctx.txn.element_delete(instance, field)?;
                }
                existed
            }
        };
        if removed {
            self.meta.count -= 1;
        }
        Ok(removed)
    }

    /// Moves an inline hash's fields to element records (Redis's `hashTypeConvert`).
    fn convert(&mut self, ctx: &mut Ctx) -> Result<(), CommandError> {
        let instance = self.instance();
        if let Some(pairs) = self.inline.take() {
            for (field, value) in pairs {
                ctx.txn.element_put(instance, &field, value)?;
            }
        }
        Ok(())
    }

    /// Up to `limit` fields after `after` (from the start for `None`), in the hash's order.
    pub fn page(
        &self,
        ctx: &Ctx,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, CommandError> {
        match &self.inline {
            Some(pairs) => {
                let start = match after {
                    Some(field) => pairs
                        .iter()
                        .position(|(f, _)| f.as_slice() == field)
                        .map_or(pairs.len(), |at| at + 1),
                    None => 0,
                };
                Ok(pairs.iter().skip(start).take(limit).cloned().collect())
            }
            None => {
                let start = after.map_or(Bound::Unbounded, Bound::Excluded);
                Ok(ctx.txn.element_range(
                    self.instance(),
                    start,
                    Bound::Unbounded,
                    Order::Ascending,
                    limit,
                )?)
            }
        }
    }

    /// Every field, in the hash's order (for the commands that reply with all of them).
    pub fn all(&self, ctx: &Ctx) -> Result<Vec<Pair>, CommandError> {
        if let Some(pairs) = &self.inline {
            return Ok(pairs.clone());
        }
        let mut out: Vec<Pair> = Vec::new();
        loop {
            let page = self.page(ctx, out.last().map(|(f, _)| f.as_slice()), PAGE)?;
            let done = page.len() < PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// The fields at the given positions (ascending, repeats allowed), in that order. An
    /// element-bodied hash is walked page by page, keeping only the wanted fields.
    pub fn at_positions(&self, ctx: &Ctx, positions: &[u64]) -> Result<Vec<Pair>, CommandError> {
        if let Some(pairs) = &self.inline {
            return Ok(positions
                .iter()
                .filter_map(|&i| usize::try_from(i).ok().and_then(|i| pairs.get(i)))
                .cloned()
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
    collection::corrupt(<Pair as InlineForm>::WHAT, detail)
}

fn encode(pairs: &[Pair]) -> Vec<u8> {
    let size: usize = pairs.iter().map(|(f, v)| 8 + f.len() + v.len()).sum();
    let mut out = Vec::with_capacity(1 + size);
    out.push(INLINE);
    for (field, value) in pairs {
        for part in [field, value] {
            // Fields and values of an inline hash are at most `hash-max-listpack-value` bytes,
            // far below u32::MAX, unless the limit is configured absurdly high.
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

fn decode(mut raw: &[u8]) -> Result<Vec<Pair>, CommandError> {
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
    let mut pairs = Vec::new();
    while !raw.is_empty() {
        let field = take(&mut raw)?;
        let value = take(&mut raw)?;
        pairs.push((field, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_body_round_trips() {
        let pairs = vec![
            (b"b".to_vec(), b"".to_vec()),
            (b"".to_vec(), b"x\0y".to_vec()),
        ];
        let body = encode(&pairs);
        assert_eq!(body[0], INLINE);
        assert_eq!(decode(&body[1..]).unwrap(), pairs);
        assert!(decode(&body[1..body.len() - 1]).is_err());
        assert!(decode(&[0, 0]).is_err());
    }
}

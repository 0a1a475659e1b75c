//! DEBUG DIGEST and DEBUG DIGEST-VALUE: a SHA1-based fingerprint of the dataset or of single
//! values, computed exactly as Redis 7.0.15's `debug.c` does, so that a rockslot node and a real
//! Redis holding the same data print the same 40 hex digits (test suites compare primaries,
//! replicas and reloaded datasets this way).
//!
//! Two operations build every digest, both on a 20-byte accumulator:
//! - `xor(d, data)`: `d ^= SHA1(data)`. XOR commutes, so it "adds" unordered things: the keys
//!   of a database, the members of a set, the fields of a hash, the members of a sorted set.
//! - `mix(d, data)`: `d = SHA1(d ^ SHA1(data))`. It feeds the accumulator back, so it keeps
//!   order: list elements, a stream's entries, the parts of one element.
//!
//! A value's digest (DIGEST-VALUE, and the inner part of DIGEST) starts from the accumulator it
//! is given and mixes the type code as a big-endian u32 (Redis's `htonl(o->type)`), then:
//! - string: mix the value bytes (an int-encoded string is decoded to its digits, which are
//!   the bytes rockslot stores; HyperLogLogs are strings);
//! - list: mix each element from head to tail;
//! - set: xor each member (an intset member as its decimal text);
//! - hash: per field, a fresh accumulator mixes the field then the value and is xored in;
//! - sorted set: per member, a fresh accumulator mixes the member then the score as `%.17g`
//!   text (Redis 7.0; 7.2 switched to a shorter form) and is xored in;
//! - stream: per entry in ID order, mix `"<ms>.<seq>"`, then each field and each value. Consumer
//!   groups, the last ID and other metadata do not take part.
//!
//! and finally, if the key has an expire time, xors `"!!expire!!"` (whatever the time is).
//!
//! DIGEST starts from 20 zero bytes. For every non-empty database, in index order, it mixes the
//! index as a big-endian u32, then for every key xors in a fresh accumulator that mixed the key
//! name and then took the value's digest. An empty dataset is therefore 40 zeros. DIGEST-VALUE
//! answers one status line per key; a missing key gives 40 zeros.
//!
//! Like Redis's `dictFind`, both read keys without expiring them: a key past its expire time
//! that has not been deleted yet still counts. Collections are read page by page through their
//! stores, so memory stays bounded by a page, not by a value or a database. Element-bodied
//! collections are read in storage order, which differs from Redis's hash-table order; the
//! unordered types are xor sums, so the order does not change the result.

use bytes::Bytes;
use engine::{Kind, Meta, Order};
use formats::resp::{format_double, Reply};
use sha1::{Digest as _, Sha1};

use crate::commands::hash::store::{self as hash, Hash};
use crate::commands::keys::WALK_CHUNK;
use crate::commands::list::store::{End, List};
use crate::commands::set::value as set;
use crate::commands::stream::id::StreamId;
use crate::commands::stream::store::{self as stream, Stream};
use crate::commands::zset::store::{self as zset, ZSet};
use crate::error::CommandError;
use crate::server::Ctx;

/// A digest accumulator, and a digest.
type Digest = [u8; 20];

/// What Redis xors into a value's digest when the key has an expire time.
const EXPIRE_MARK: &[u8] = b"!!expire!!";

/// DEBUG DIGEST: the whole dataset as 40 hex digits.
pub fn dataset_reply(ctx: &mut Ctx) -> Result<Reply, CommandError> {
    let saved_db = ctx.client.db;
    let result = dataset(ctx);
    ctx.client.db = saved_db;
    Ok(Reply::Simple(hex(&result?).into()))
}

/// DEBUG DIGEST-VALUE key...: one status line per key, in the current database.
pub fn values_reply(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Reply, CommandError> {
    let db = ctx.db();
    let mut lines = Vec::with_capacity(keys.len());
    for key in keys {
        let mut digest = Digest::default();
        if let Some(meta) = ctx.txn.get(db, key)?.cloned() {
            value_digest(ctx, key, meta, &mut digest)?;
        }
        lines.push(Reply::Simple(hex(&digest).into()));
    }
    Ok(Reply::Array(lines))
}

/// Redis's `computeDatasetDigest`. Switches the client's database to each one in turn (the
/// stores read the current database); the caller restores it.
fn dataset(ctx: &mut Ctx) -> Result<Digest, CommandError> {
    let mut total = Digest::default();
    for db in 0..ctx.server.engine.databases() {
        ctx.client.db = db;
        let mut seen_key = false;
        let mut position = Vec::new();
        loop {
            let (items, next) = ctx.txn.scan(db, &position, WALK_CHUNK)?;
            for item in items {
                if !seen_key {
                    // Redis mixes the index of every database that holds keys, before its keys.
                    mix(&mut total, &(db as u32).to_be_bytes());
                    seen_key = true;
                }
                let mut digest = Digest::default();
                mix(&mut digest, &item.key);
                value_digest(ctx, &item.key, item.meta, &mut digest)?;
                xor(&mut total, &digest);
            }
            match next {
                Some(next) => position = next,
                None => break,
            }
        }
    }
    Ok(total)
}

/// Redis's `xorObjectDigest`: mixes the value of `key` in the current database into `digest`.
fn value_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    mix(digest, &u32::from(meta.kind as u8).to_be_bytes());
    let has_expire = meta.expire_at_ms != 0;
    match meta.kind {
        Kind::String => mix(digest, &meta.body),
        Kind::List => list_digest(ctx, key, meta, digest)?,
        Kind::Set => set_digest(ctx, key, &meta, digest)?,
        Kind::Hash => hash_digest(ctx, key, meta, digest)?,
        Kind::ZSet => zset_digest(ctx, key, meta, digest)?,
        Kind::Stream => stream_digest(ctx, key, meta, digest)?,
    }
    if has_expire {
        xor(digest, EXPIRE_MARK);
    }
    Ok(())
}

/// Elements from head to tail, each mixed.
fn list_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    let Some(list) = List::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    list.walk(ctx, 0, list.len(), End::Left, |_, _, element| {
        mix(digest, &element);
        Ok(true)
    })
}

/// Members, each xored.
fn set_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: &Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    set::for_each_member(ctx, key, meta, |member| {
        xor(digest, member);
        Ok::<(), CommandError>(())
    })
}

/// Per field: mix(field), mix(value) on a fresh accumulator, then for a field with an expire
/// time (Redis 7.4) the marker `!!hexpire!!` xored into it (its presence, not its value), and
/// the result xored in.
fn hash_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    let Some(hash) = Hash::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = hash.page_entries(ctx, after.as_deref(), hash::PAGE)?;
        let done = page.len() < hash::PAGE;
        for entry in &page {
            let mut element = element_digest(&entry.field, &entry.value);
            if entry.expire_ms != 0 {
                xor(&mut element, b"!!hexpire!!");
            }
            xor(digest, &element);
        }
        match page.into_iter().last() {
            Some(last) if !done => after = Some(last.field),
            _ => return Ok(()),
        }
    }
}

/// Per member: mix(member), mix(score as `%.17g`) on a fresh accumulator, xored in.
fn zset_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    let Some(set) = ZSet::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    let mut after: Option<Vec<u8>> = None;
    loop {
        // An inline set comes back whole from its first page.
        let page = set.page_by_member(ctx, after.as_deref(), zset::PAGE)?;
        let done = set.is_inline() || page.len() < zset::PAGE;
        for (member, score) in &page {
            xor(
                digest,
                &element_digest(member, format_double(*score).as_bytes()),
            );
        }
        match page.into_iter().last() {
            Some((last, _)) if !done => after = Some(last),
            _ => return Ok(()),
        }
    }
}

/// Entries in ID order: mix("ms.seq"), then mix each field and each value.
fn stream_digest(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    digest: &mut Digest,
) -> Result<(), CommandError> {
    let Some(stream) = Stream::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    let mut from = StreamId::ZERO;
    loop {
        let page = stream.range(ctx, from, StreamId::MAX, Order::Ascending, stream::PAGE)?;
        let done = page.len() < stream::PAGE;
        for entry in &page {
            mix(
                digest,
                format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes(),
            );
            for (field, value) in &entry.pairs {
                mix(digest, field);
                mix(digest, value);
            }
        }
        match page.last().and_then(|entry| entry.id.next()) {
            Some(next) if !done => from = next,
            _ => return Ok(()),
        }
    }
}

/// The digest of one hash field or sorted-set member: two parts mixed into zeros.
fn element_digest(first: &[u8], second: &[u8]) -> Digest {
    let mut digest = Digest::default();
    mix(&mut digest, first);
    mix(&mut digest, second);
    digest
}

/// Redis's `xorDigest`: `digest ^= SHA1(data)`.
fn xor(digest: &mut Digest, data: &[u8]) {
    let hash = Sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// Redis's `mixDigest`: `digest = SHA1(digest ^ SHA1(data))`.
fn mix(digest: &mut Digest, data: &[u8]) {
    xor(digest, data);
    *digest = Sha1::digest(&digest[..]).into();
}

/// Lower-case hex, as Redis prints digests.
fn hex(digest: &Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string value's digest alone, as `value_digest` computes it.
    fn string_value(value: &[u8], expire: bool) -> Digest {
        let mut digest = Digest::default();
        mix(&mut digest, &0u32.to_be_bytes());
        mix(&mut digest, value);
        if expire {
            xor(&mut digest, EXPIRE_MARK);
        }
        digest
    }

    #[test]
    fn sorted_set_member_digest_matches_redis() {
        // DEBUG DIGEST-VALUE z after ZADD z 0.1 a on redis-server 7.0.15.
        let mut digest = Digest::default();
        mix(&mut digest, &3u32.to_be_bytes());
        xor(
            &mut digest,
            &element_digest(b"a", format_double(0.1).as_bytes()),
        );
        assert_eq!(hex(&digest), "b07654932c32238dbd9b8626f0dc40f18d973527");
    }

    #[test]
    fn xor_is_order_independent_and_mix_is_not() {
        let (mut ab, mut ba) = (Digest::default(), Digest::default());
        xor(&mut ab, b"a");
        xor(&mut ab, b"b");
        xor(&mut ba, b"b");
        xor(&mut ba, b"a");
        assert_eq!(ab, ba);
        let (mut ab, mut ba) = (Digest::default(), Digest::default());
        mix(&mut ab, b"a");
        mix(&mut ab, b"b");
        mix(&mut ba, b"b");
        mix(&mut ba, b"a");
        assert_ne!(ab, ba);
    }

    #[test]
    fn expire_changes_the_value_digest() {
        assert_ne!(string_value(b"v", false), string_value(b"v", true));
        assert_eq!(hex(&Digest::default()), "0".repeat(40));
    }
}

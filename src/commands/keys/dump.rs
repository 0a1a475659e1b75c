//! DUMP and RESTORE: one value as a self-checking RDB fragment, out and back in.
//!
//! A DUMP payload is the value serialized as in an RDB file (type byte and value, no key, no
//! expire), then the RDB version as two little-endian bytes and the CRC-64/Jones of everything
//! before it ([`formats::rdb::dump`]). Redis 7.0.15 stamps its payloads RDB 10 and writes its
//! in-memory encodings (listpacks, quicklists, intsets); rockslot writes RDB 9 with the plain
//! element-by-element types, which every Redis from 6.0 on restores, whatever its
//! `*-max-listpack-*` settings. Only a stream whose 7.0 metadata a version-9 payload cannot
//! carry (a deleted entry, entries-added above the length, an emptied stream whose first ID is
//! 0-0, a group's entries-read counter that a 7.0 loader would not re-estimate to the same
//! number, "unknown" included) gets version 10 and type 19; Redis 6.2 refuses such a payload ("DUMP payload version or checksum are
//! wrong"), as it refuses every payload Redis 7.0 itself dumps.
//!
//! DUMP writes the value with SAVE's streamed value writer ([`rdb_save::write_value`]), which
//! reads it page by page through the type's store, so a payload has exactly the bytes the key
//! has in a saved file; the payload's version comes from [`rdb_save::payload_version`]. A
//! missing key is nil.
//!
//! A hash whose fields carry expire times (Redis 7.4) is dumped as 7.4 dumps it: version 12,
//! type 25 or 24 (see `hash::rdb`); RESTORE takes such payloads (and only hashes in version 11
//! or 12), skipping fields whose time has passed.
//!
//! RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] follows Redis 7.0's
//! `restoreCommand` step by step, and its errors come in the same order:
//! 1. options, left to right: an unknown word, IDLETIME or FREQ without a value, or IDLETIME
//!    after FREQ (and the reverse) is a syntax error; a value that is not an integer, a negative
//!    IDLETIME or a FREQ outside 0..=255 is refused on the spot;
//! 2. an existing key without REPLACE: `BUSYKEY` (the lookup expires a dead key first);
//! 3. the TTL: an integer, not negative;
//! 4. the footer: a payload shorter than 10 bytes, an RDB version above 10 or a wrong checksum
//!    is "DUMP payload version or checksum are wrong";
//! 5. the value: anything the RDB reader refuses, a type Redis 7.0 does not know, an empty
//!    collection, or duplicate members in a plain set, hash or sorted set is "Bad data format".
//!
//! Then REPLACE deletes the old key; a relative TTL is made absolute from the command time; a
//! deadline already past creates nothing and still replies OK (a replaced key is gone: "del"
//! event, one change). Otherwise the value is built through the type's store inside the
//! command's transaction (so each type gets the encoding its `*-max-*` settings ask for, as
//! Redis's loader converts), the expire is set, and the "restore" event follows the "new" one.
//! IDLETIME and FREQ are validated and dropped: rockslot keeps no LRU clock or LFU counter.
//!
//! Every encoding Redis has put into payloads is accepted, since the RDB reader decodes them
//! all: plain types, zipmap, ziplist (Redis ≤ 6.2), intset, listpack and quicklist (7.0), and
//! streams (types 15 and 19). A type-15 stream is given the metadata Redis 7.0 derives when it
//! loads one: entries-added equal to the length, no deleted entry, the first entry's ID, and
//! each group's entries-read estimated from its last delivered ID.

use bytes::Bytes;
use formats::rdb::dump::{self as payload, DumpError, REDIS_7_0_VERSION};
use formats::rdb::writer::{estimate_entries_read, FIELD_TTL_VERSION};
use formats::rdb::{self, types, Value, WriteError, Writer, WriterOptions};
use formats::resp::Reply;

use crate::commands::args::parse_i64;
use crate::commands::hash::rdb as hash_rdb;
use crate::commands::list::store::{End, List};
use crate::commands::set::value as set;
use crate::commands::stream::id::StreamId;
use crate::commands::stream::store::{self as stream, Consumer, Group, Nack, NodeLimits, Stream};
use crate::commands::zset::store::{AddFlags, ZSet};
use crate::error::{CommandError, CommandResult};
use crate::persistence::rdb_save::{self, SaveError, Target};
use crate::server::{notify, Ctx};
use engine::Meta;

const BUSY_KEY: &str = "BUSYKEY Target key name already exists.";
const BAD_TTL: &str = "ERR Invalid TTL value, must be >= 0";
const BAD_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
const BAD_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
const BAD_FOOTER: &str = "ERR DUMP payload version or checksum are wrong";
const BAD_FORMAT: &str = "ERR Bad data format";

/// DUMP key
pub fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = ctx.lookup_read(key)? else {
        return Ok(Reply::Null);
    };
    let options = WriterOptions {
        version: rdb_save::payload_version(ctx, key, &meta).map_err(save_error)?,
        ..WriterOptions::default()
    };
    let mut writer = Writer::dump(options).map_err(write_error)?;
    rdb_save::write_value(ctx, key, meta, &mut writer, Target::Payload).map_err(save_error)?;
    let mut payload = writer.take_output();
    payload.extend(writer.finish().map_err(write_error)?);
    Ok(Reply::Bulk(Bytes::from(payload)))
}

fn write_error(e: WriteError) -> CommandError {
    CommandError::other(format!("ERR {e}"))
}

/// A store's error as it is; the writer's or the engine's as an ERR reply.
fn save_error(e: SaveError) -> CommandError {
    match e {
        SaveError::Read(e) => e,
        SaveError::Write(e) => write_error(e),
        other => CommandError::other(format!("ERR {other}")),
    }
}

/// RESTORE's options.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    replace: bool,
    absttl: bool,
    idle_s: Option<i64>,
    freq: Option<i64>,
}

impl Options {
    /// Redis's option loop: IDLETIME and FREQ exclude each other (the second one is a syntax
    /// error), and their values are checked as soon as they are read.
    fn parse(args: &[Bytes]) -> Result<Options, CommandError> {
        let mut o = Options::default();
        let mut i = 0;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            match args[i].to_ascii_lowercase().as_slice() {
                b"replace" => o.replace = true,
                b"absttl" => o.absttl = true,
                b"idletime" if has_value && o.freq.is_none() => {
                    let idle = parse_i64(&args[i + 1])?;
                    if idle < 0 {
                        return Err(CommandError::other(BAD_IDLETIME));
                    }
                    o.idle_s = Some(idle);
                    i += 1;
                }
                b"freq" if has_value && o.idle_s.is_none() => {
                    let freq = parse_i64(&args[i + 1])?;
                    if !(0..=255).contains(&freq) {
                        return Err(CommandError::other(BAD_FREQ));
                    }
                    o.freq = Some(freq);
                    i += 1;
                }
                _ => return Err(CommandError::Syntax),
            }
            i += 1;
        }
        Ok(o)
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
pub fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let options = Options::parse(&args[4..])?;
    let key = &args[1];
    if !options.replace && ctx.lookup(key)?.is_some() {
        return Err(CommandError::other(BUSY_KEY));
    }
    let ttl = parse_i64(&args[2])?;
    if ttl < 0 {
        return Err(CommandError::other(BAD_TTL));
    }
    let value = decode(&args[3], ctx.client.replaying)?;
    let dirty = ctx.dirty;
    let replaced = options.replace && ctx.delete(key)?;
    let expire_at_ms = match ttl {
        0 => 0,
        _ if options.absttl => ttl,
        // Redis adds without an overflow check: a huge TTL wraps into the past.
        _ => ttl.wrapping_add(ctx.now_ms),
    };
    if expire_at_ms != 0 && expire_at_ms <= ctx.now_ms {
        if replaced {
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate_as_server_del(key);
        }
        ctx.dirty = dirty + u64::from(replaced);
        return Ok(Reply::ok());
    }
    build(ctx, key, value)?;
    if expire_at_ms != 0 {
        set_expire(ctx, key, expire_at_ms)?;
        if !options.absttl {
            // The TTL is propagated as the absolute deadline it became.
            let mut propagated = args.to_vec();
            propagated[2] = Bytes::from(expire_at_ms.to_string());
            propagated.push(Bytes::from_static(b"ABSTTL"));
            ctx.rewrite_propagated(propagated);
        }
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.dirty = dirty + 1;
    Ok(Reply::ok())
}

/// Checks and decodes a payload, with RESTORE's two error texts.
fn decode(bytes: &[u8], replaying: bool) -> Result<Value, CommandError> {
    let decoded = payload::decode(bytes, FIELD_TTL_VERSION as u16).map_err(|e| match e {
        DumpError::TooShort(_) | DumpError::Version { .. } | DumpError::Checksum { .. } => {
            CommandError::other(BAD_FOOTER)
        }
        DumpError::Value(_) | DumpError::NotOneValue => CommandError::other(BAD_FORMAT),
    })?;
    // Redis 7.0's types and versions, and 7.4's hashes with field TTLs in their version 12. An
    // AOF written by Redis 7.2/7.4 holds RESTOREs of their versions (11, 12) of any type: the
    // AOF loader takes them, as those versions did.
    let hash_ex =
        (types::HASH_METADATA_PRE_GA..=types::HASH_LISTPACK_EX).contains(&decoded.rdb_type);
    if decoded.version > REDIS_7_0_VERSION && !hash_ex && !replaying {
        return Err(CommandError::other(BAD_FOOTER));
    }
    let known = (decoded.rdb_type <= types::STREAM_LISTPACKS_2 || hash_ex)
        && !matches!(decoded.rdb_type, types::MODULE_PRE_GA | types::MODULE_2 | 8);
    if !known || decoded.value.is_empty_collection() || has_duplicates(&decoded) {
        return Err(CommandError::other(BAD_FORMAT));
    }
    Ok(decoded.value)
}

/// Whether a plain (element by element) set, hash or sorted set names an element twice, which
/// Redis's loader refuses. Packed encodings are only checked that deeply with
/// `sanitize-dump-payload yes`, which rockslot does not have.
fn has_duplicates(decoded: &payload::Decoded) -> bool {
    match (&decoded.value, decoded.rdb_type) {
        (Value::Set(members), types::SET) => repeats(members.iter().map(Vec::as_slice)),
        (Value::Hash(fields), types::HASH) => repeats(fields.iter().map(|f| f.field.as_slice())),
        (Value::Zset(members), types::ZSET | types::ZSET_2) => {
            repeats(members.iter().map(|(m, _)| m.as_slice()))
        }
        _ => false,
    }
}

/// Whether `items` (members or fields of one collection) name an element twice.
pub fn repeats<'a>(items: impl ExactSizeIterator<Item = &'a [u8]>) -> bool {
    let len = items.len();
    items.collect::<std::collections::HashSet<_>>().len() != len
}

/// Stores `value` at `key` (which does not exist) through its type's store.
fn build(ctx: &mut Ctx, key: &[u8], value: Value) -> Result<(), CommandError> {
    match value {
        Value::String(bytes) => ctx.put(key, Meta::string(bytes, 0)),
        Value::List(items) => {
            let mut list = List::write_or_create(ctx, key)?;
            for item in items {
                list.push(ctx, End::Right, item)?;
            }
            list.save(ctx, 0)
        }
        Value::Set(members) => {
            let mut built = set::Built::new(set::max_intset_entries(ctx));
            for member in &members {
                built.add(member);
            }
            built.store(ctx, key, 0).map(drop)
        }
        Value::Hash(fields) => hash_rdb::build(ctx, key, fields).map(drop),
        Value::Zset(members) => {
            let limits = ZSet::limits(ctx);
            let longest = members.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
            let mut zset = ZSet::create(ctx, key, limits, members.len() as u64, longest);
            for (member, score) in members {
                zset.add(ctx, limits, score, &member, AddFlags::default())?;
            }
            zset.save(ctx, 0).map(drop)
        }
        Value::Stream(s) => build_stream(ctx, key, *s),
    }
}

/// A stream: entries appended as XADD would (so nodes split where Redis splits them), then the
/// metadata, then each group with its pending entries and consumers.
fn build_stream(ctx: &mut Ctx, key: &[u8], s: rdb::Stream) -> Result<(), CommandError> {
    let limits = NodeLimits::from_config(ctx);
    let mut target = Stream::create(ctx, key);
    let first = s.entries.first().map(|e| e.id);
    for entry in s.entries {
        let pairs: Vec<stream::Pair> = entry
            .fields
            .into_iter()
            .map(|(f, v)| (Bytes::from(f), Bytes::from(v)))
            .collect();
        target.append(ctx, StreamId::from(entry.id), &pairs, limits)?;
    }
    // A type-15 stream has only the length and last ID: Redis 7.0 derives the rest, taking
    // the first ID of an empty one as the greatest ID (what `streamGetEdgeID` finds).
    let greatest = formats::rdb::StreamId::from(StreamId::MAX);
    let meta = s.meta.map(|m| rdb::StreamMeta {
        first_id: m.first_id.or(first).or(Some(greatest)),
        ..m
    });
    if let Some(meta) = meta {
        target.state.last_id = StreamId::from(meta.last_id);
        target.state.first_id = StreamId::from(meta.first_id.unwrap_or_default());
        target.state.max_deleted = StreamId::from(meta.max_deleted_id.unwrap_or_default());
        target.state.entries_added = meta.entries_added.unwrap_or(meta.length);
    }
    for group in s.groups {
        let entries_read = match (group.header.entries_read, meta) {
            (None, Some(m)) if m.entries_added.is_none() => {
                estimate_entries_read(&m, group.header.last_delivered_id)
            }
            (read, _) => read,
        };
        build_group(ctx, &target, group, entries_read)?;
    }
    target.save(ctx, 0)
}

fn build_group(
    ctx: &mut Ctx,
    target: &Stream,
    group: rdb::StreamGroup,
    entries_read: Option<u64>,
) -> Result<(), CommandError> {
    let name = Bytes::from(group.header.name);
    let mut record = Group {
        name: name.clone(),
        last_id: StreamId::from(group.header.last_delivered_id),
        entries_read,
        pending: 0,
        consumers: group.consumers.len() as u64,
    };
    let pel: std::collections::HashMap<rdb::StreamId, rdb::PendingEntry> =
        group.pel.into_iter().map(|p| (p.id, p)).collect();
    for consumer in group.consumers {
        let owner = Bytes::from(consumer.header.name);
        let mut owned = 0;
        for id in consumer.pending {
            // An ID a consumer claims that the group's list lacks is corrupt data to Redis.
            let p = pel
                .get(&id)
                .ok_or_else(|| CommandError::other(BAD_FORMAT))?;
            let nack = Nack {
                id: StreamId::from(id),
                delivery_time: p.delivery_time_ms,
                delivery_count: p.delivery_count,
                consumer: owner.clone(),
            };
            target.put_nack(ctx, &name, &nack, None)?;
            owned += 1;
        }
        record.pending += owned;
        let consumer = Consumer {
            name: owner,
            seen_time: consumer.header.seen_time_ms,
            pending: owned,
        };
        target.put_consumer(ctx, &name, &consumer)?;
    }
    target.put_group(ctx, &record)
}

/// Gives the key just built its deadline.
fn set_expire(ctx: &mut Ctx, key: &[u8], expire_at_ms: i64) -> Result<(), CommandError> {
    let db = ctx.db();
    if let Some(mut meta) = ctx.txn.get(db, key)?.cloned() {
        meta.expire_at_ms = expire_at_ms;
        ctx.txn.put(db, key, meta)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn options_follow_redis_rules() {
        let o = Options::parse(&args(&["REPLACE", "absttl", "IDLETIME", "5"])).unwrap();
        assert_eq!(
            o,
            Options {
                replace: true,
                absttl: true,
                idle_s: Some(5),
                freq: None
            }
        );
        let syntax = |w: &[&str]| matches!(Options::parse(&args(w)), Err(CommandError::Syntax));
        assert!(syntax(&["IDLETIME"]));
        assert!(syntax(&["FREQ", "1", "IDLETIME", "1"]));
        assert!(syntax(&["IDLETIME", "1", "FREQ", "1"]));
        assert!(syntax(&["NX"]));
        assert!(matches!(
            Options::parse(&args(&["FREQ", "256"])),
            Err(CommandError::Other(e)) if e == BAD_FREQ
        ));
        assert!(matches!(
            Options::parse(&args(&["IDLETIME", "x"])),
            Err(CommandError::NotInteger)
        ));
    }
}

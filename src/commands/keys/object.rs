//! OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP: Redis's view of a value's in-memory
//! object, reconstructed from what rockslot stores.
//!
//! rockslot keeps no Redis objects, so each answer is what Redis would report for the same value:
//! - ENCODING of a string follows `tryObjectEncoding`: a value `string2ll` accepts that is at most
//!   20 bytes is "int", else at most 44 bytes (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`) is "embstr", else
//!   "raw". Redis skips that step for values built in place by APPEND on an existing key,
//!   SETRANGE, SETBIT ("raw") and INCRBYFLOAT (never "int"); the stored value does not record how
//!   it was built, so rockslot reports those by content.
//! - REFCOUNT is `i32::MAX` (`OBJ_SHARED_REFCOUNT`) for an integer 0..9999 that Redis would share
//!   (`OBJ_SHARED_INTEGERS`, unless an LRU/LFU policy with a maxmemory limit forbids sharing),
//!   and 1 otherwise.
//! - IDLETIME and FREQ need per-key access times that rockslot does not keep: IDLETIME is 0 and
//!   FREQ is `LFU_INIT_VAL`, the counter of a key never accessed since it was written. Both
//!   refuse the wrong maxmemory policy with Redis's errors.
//!
//! The key lookups count keyspace hits and misses, as Redis's `objectCommandLookup` does.

use bytes::Bytes;
use engine::{Kind, Meta, StringForm};
use formats::resp::Reply;

use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

/// Longest string Redis stores as an "embstr" object.
const EMBSTR_SIZE_LIMIT: usize = 44;
/// Longest string `tryObjectEncoding` tries to read as an integer.
const INT_ENCODING_MAX_LEN: usize = 20;
/// Integers 0..OBJ_SHARED_INTEGERS are shared objects in Redis.
const SHARED_INTEGERS: i64 = 10_000;
/// The refcount Redis reports for shared objects (`OBJ_SHARED_REFCOUNT`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// A new key's LFU counter (`LFU_INIT_VAL`).
const LFU_INIT_VAL: i64 = 5;

const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// The eviction policy families that change OBJECT's answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Lru,
    Lfu,
    Other,
}

fn policy(ctx: &Ctx) -> Policy {
    let name = ctx.server.config.read().get_str("maxmemory-policy");
    if name.ends_with("-lfu") {
        Policy::Lfu
    } else if name.ends_with("-lru") {
        Policy::Lru
    } else {
        Policy::Other
    }
}

/// The encoding Redis's `tryObjectEncoding` gives a string value.
fn string_encoding(value: &[u8]) -> &'static str {
    if value.len() <= INT_ENCODING_MAX_LEN && parse_i64(value).is_ok() {
        "int"
    } else if value.len() <= EMBSTR_SIZE_LIMIT {
        "embstr"
    } else {
        "raw"
    }
}

/// The encoding Redis would report for a value.
///
/// COLLECTIONS: lists are always "quicklist" and streams "stream"
/// in Redis 7.0; hashes, sets and sorted sets depend on element sizes and on their history (Redis
/// never converts back to the compact form), which only the collection code can know. Sets
/// record their encoding in their body (`set::encoding_name`), hashes their form in their body's
/// first byte (`hash::encoding_name`: Redis 7.4's "listpackex" for a small hash with field
/// TTLs), sorted sets likewise
/// (`zset::encoding_name`).
pub(crate) fn value_encoding(_ctx: &Ctx, meta: &Meta) -> &'static str {
    match meta.kind {
        Kind::String => match meta.string_form {
            StringForm::Raw => "raw",
            StringForm::NotInt if meta.body.len() <= EMBSTR_SIZE_LIMIT => "embstr",
            StringForm::NotInt => "raw",
            StringForm::Encoded => string_encoding(&meta.body),
        },
        Kind::List => "quicklist",
        Kind::Stream => "stream",
        Kind::Set => crate::commands::set::encoding_name(meta),
        Kind::Hash => crate::commands::hash::encoding_name(meta),
        Kind::ZSet => crate::commands::zset::encoding_name(meta),
    }
}

pub fn encoding(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(meta) = ctx.lookup_read(&args[2])? else {
        return Ok(Reply::Null);
    };
    Ok(Reply::bulk(value_encoding(ctx, &meta)))
}

pub fn refcount(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(meta) = ctx.lookup_read(&args[2])? else {
        return Ok(Reply::Null);
    };
    let shared_integer = meta.kind == Kind::String
        && string_encoding(&meta.body) == "int"
        && parse_i64(&meta.body).is_ok_and(|v| (0..SHARED_INTEGERS).contains(&v));
    // Redis stops sharing integers when an LRU/LFU policy needs per-object access data and a
    // memory limit makes eviction possible (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`).
    let sharing =
        policy(ctx) == Policy::Other || ctx.server.config.read().get_int("maxmemory") == 0;
    Ok(Reply::Integer(if shared_integer && sharing {
        SHARED_REFCOUNT
    } else {
        1
    }))
}

pub fn freq(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if ctx.lookup_read(&args[2])?.is_none() {
        return Ok(Reply::Null);
    }
    if policy(ctx) != Policy::Lfu {
        return Err(CommandError::other(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
             switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Integer(LFU_INIT_VAL))
}

pub fn idletime(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if ctx.lookup_read(&args[2])?.is_none() {
        return Ok(Reply::Null);
    }
    if policy(ctx) == Policy::Lfu {
        return Err(CommandError::other(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching \
             between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Integer(0))
}

pub fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Array(
        HELP.iter()
            .map(|line| Reply::Simple((*line).into()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings_follow_try_object_encoding() {
        for (value, expected) in [
            (&b"0"[..], "int"),
            (b"-1", "int"),
            (b"9223372036854775807", "int"),
            (b"-9223372036854775808", "int"),
            (b"9223372036854775808", "embstr"),
            (b"12345678901234567890", "embstr"),
            (b"-0", "embstr"),
            (b"01", "embstr"),
            (b"+1", "embstr"),
            (b"1 ", "embstr"),
            (b"1.5", "embstr"),
            (b"", "embstr"),
            (&[b'a'; 44], "embstr"),
            (&[b'a'; 45], "raw"),
        ] {
            assert_eq!(string_encoding(value), expected, "{value:?}");
        }
    }
}

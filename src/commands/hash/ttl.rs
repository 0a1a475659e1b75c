//! Redis 7.4's hash field expiry commands: HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT (set a
//! field's expire time, with NX / XX / GT / LT), HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME (read
//! it) and HPERSIST (remove it), with the replies, errors and events of 7.4's `t_hash.c`.
//!
//! Every one of them takes `FIELDS numfields field [field ...]` and replies with one integer
//! per field, in order: -2 for a field that does not exist (or a missing key), -1 for a field
//! without an expire time (HTTL and HPERSIST), 0 when the NX / XX / GT / LT condition is not
//! met, 1 when the time was set or removed, 2 when the field was deleted because the time given
//! is already past. The checks come in 7.4's order: the key's type first, then the time, the
//! condition word, the `FIELDS` keyword, `numfields`, and whether `numfields` matches the
//! fields given. Times are limited to 2^46 - 1 ms (7.4's `HFE_MAX_ABS_TIME_MSEC`).
//!
//! Events: HEXPIRE and friends raise `hexpire` when they set a time, `hdel` when a past time
//! deleted a field (followed by `del` when that emptied the hash), HPERSIST raises `hpersist`.

use bytes::Bytes;
use formats::resp::Reply;

use super::store::Hash;
use crate::commands::args::parse_i64;
use crate::commands::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hexpire", hexpire),
    ("hpexpire", hpexpire),
    ("hexpireat", hexpireat),
    ("hpexpireat", hpexpireat),
    ("httl", httl),
    ("hpttl", hpttl),
    ("hexpiretime", hexpiretime),
    ("hpexpiretime", hpexpiretime),
    ("hpersist", hpersist),
];

/// The latest expire time a field may get (7.4's `HFE_MAX_ABS_TIME_MSEC`, 2^46 - 1).
pub const MAX_EXPIRE_MS: i64 = (1 << 46) - 1;

/// Per-field replies.
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const CONDITION_NOT_MET: i64 = 0;
const DONE: i64 = 1;
const DELETED: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Milliseconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl Condition {
    fn parse(word: &[u8]) -> Option<Condition> {
        [
            (&b"nx"[..], Condition::Nx),
            (b"xx", Condition::Xx),
            (b"gt", Condition::Gt),
            (b"lt", Condition::Lt),
        ]
        .into_iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|(_, c)| c)
    }

    /// Whether a field whose expire time is `old` (0 = none) may get `new` (7.4's
    /// `hashTypeSetExpiry*`: a field without a TTL counts as an infinite TTL).
    fn allows(self, old: i64, new: i64) -> bool {
        match (self, old) {
            (Condition::Xx | Condition::Gt, 0) => false,
            (_, 0) => true,
            (Condition::Nx, _) => false,
            (Condition::Gt, old) => new > old,
            (Condition::Lt, old) => new < old,
            _ => true,
        }
    }
}

fn hexpire(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, ctx.now_ms, Unit::Seconds)
}

fn hpexpire(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, ctx.now_ms, Unit::Milliseconds)
}

fn hexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, 0, Unit::Seconds)
}

fn hpexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, 0, Unit::Milliseconds)
}

fn httl(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, ctx.now_ms, Unit::Seconds)
}

fn hpttl(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, ctx.now_ms, Unit::Milliseconds)
}

fn hexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, 0, Unit::Seconds)
}

fn hpexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, 0, Unit::Milliseconds)
}

/// Checks `FIELDS numfields field...` starting at `at` and returns the fields.
fn fields<'a>(
    args: &'a [Bytes],
    at: usize,
    count_error: &str,
) -> Result<&'a [Bytes], CommandError> {
    if !args
        .get(at)
        .is_some_and(|word| word.eq_ignore_ascii_case(b"fields"))
    {
        return Err(CommandError::other(
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let count = args
        .get(at + 1)
        .and_then(|n| parse_i64(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| CommandError::other(format!("ERR {count_error}")))?;
    let given = &args[(at + 2).min(args.len())..];
    if usize::try_from(count).ok() != Some(given.len()) {
        return Err(CommandError::other(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(given)
}

fn per_field(replies: impl IntoIterator<Item = i64>) -> Reply {
    Reply::Array(replies.into_iter().map(Reply::Integer).collect())
}

/// H[P]EXPIRE[AT] key time [NX|XX|GT|LT] FIELDS numfields field... (7.4's
/// `hexpireGenericCommand`); `base_ms` is the command time for the relative forms, 0 otherwise.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], base_ms: i64, unit: Unit) -> CommandResult {
    let key = &args[1];
    let name = String::from_utf8_lossy(&args[0]).to_lowercase();
    let hash = Hash::write(ctx, key)?;
    let mut when = parse_i64(&args[2])?;
    if when < 0 {
        return Err(CommandError::other("ERR invalid expire time, must be >= 0"));
    }
    let out_of_range =
        || CommandError::other(format!("ERR invalid expire time in '{name}' command"));
    if unit == Unit::Seconds {
        if when > MAX_EXPIRE_MS / 1000 {
            return Err(out_of_range());
        }
        when *= 1000;
    }
    if when > MAX_EXPIRE_MS - base_ms {
        return Err(out_of_range());
    }
    when += base_ms;
    let condition = Condition::parse(&args[3]).unwrap_or(Condition::Always);
    let at = if condition == Condition::Always { 3 } else { 4 };
    let fields = fields(args, at, "Parameter `numFields` should be greater than 0")?;
    let Some(mut hash) = hash else {
        return Ok(per_field(fields.iter().map(|_| NO_FIELD)));
    };
    let (mut updated, mut deleted) = (0u64, 0u64);
    let mut replies = Vec::with_capacity(fields.len());
    for field in fields {
        let Some(entry) = hash.get_entry(ctx, field)? else {
            replies.push(NO_FIELD);
            continue;
        };
        if !condition.allows(entry.expire_ms, when) {
            replies.push(CONDITION_NOT_MET);
        } else if when <= ctx.now_ms {
            hash.delete(ctx, field)?;
            deleted += 1;
            replies.push(DELETED);
        } else {
            hash.set_expire(ctx, field, when)?;
            updated += 1;
            replies.push(DONE);
        }
    }
    if updated + deleted > 0 {
        let emptied = hash.is_empty();
        hash.save(ctx, updated + deleted)?;
        if emptied {
            ctx.notify_and_del(notify::HASH, "hdel", key, true);
        } else {
            let event = if deleted > 0 { "hdel" } else { "hexpire" };
            ctx.notify(notify::HASH, event, key);
        }
    }
    Ok(per_field(replies))
}

/// H[P]TTL and H[P]EXPIRETIME key FIELDS numfields field... (7.4's `httlGenericCommand`).
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], base_ms: i64, unit: Unit) -> CommandResult {
    let hash = Hash::read(ctx, &args[1])?;
    let fields = fields(args, 2, "Number of fields must be a positive integer")?;
    let Some(hash) = hash else {
        return Ok(per_field(fields.iter().map(|_| NO_FIELD)));
    };
    let mut replies = Vec::with_capacity(fields.len());
    for field in fields {
        replies.push(match hash.get_entry(ctx, field)? {
            None => NO_FIELD,
            Some(entry) if entry.expire_ms == 0 => NO_TTL,
            Some(entry) => match unit {
                Unit::Seconds => (entry.expire_ms + 999 - base_ms) / 1000,
                Unit::Milliseconds => entry.expire_ms - base_ms,
            },
        });
    }
    Ok(per_field(replies))
}

/// HPERSIST key FIELDS numfields field...
fn hpersist(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let hash = Hash::write(ctx, key)?;
    let fields = fields(args, 2, "Number of fields must be a positive integer")?;
    let Some(mut hash) = hash else {
        return Ok(per_field(fields.iter().map(|_| NO_FIELD)));
    };
    let mut changed = false;
    let mut replies = Vec::with_capacity(fields.len());
    for field in fields {
        replies.push(match hash.get_entry(ctx, field)? {
            None => NO_FIELD,
            Some(entry) if entry.expire_ms == 0 => NO_TTL,
            Some(_) => {
                hash.set_expire(ctx, field, 0)?;
                changed = true;
                DONE
            }
        });
    }
    if changed {
        hash.save(ctx, 1)?;
        ctx.notify(notify::HASH, "hpersist", key);
    }
    Ok(per_field(replies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_treat_no_ttl_as_infinite() {
        use Condition::*;
        assert!(Always.allows(0, 5) && Always.allows(9, 5));
        assert!(Nx.allows(0, 5) && !Nx.allows(9, 5));
        assert!(!Xx.allows(0, 5) && Xx.allows(9, 5));
        assert!(!Gt.allows(0, 5) && Gt.allows(4, 5) && !Gt.allows(5, 5));
        assert!(Lt.allows(0, 5) && Lt.allows(6, 5) && !Lt.allows(5, 5));
        assert_eq!(Condition::parse(b"gT"), Some(Gt));
        assert_eq!(Condition::parse(b"FIELDS"), None);
    }
}

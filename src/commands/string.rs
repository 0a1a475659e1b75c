//! String commands: GET, SET (and SETNX / SETEX / PSETEX), GETSET, GETDEL, GETEX, MGET, MSET,
//! MSETNX, APPEND, STRLEN, GETRANGE / SUBSTR, SETRANGE, INCR / DECR / INCRBY / DECRBY,
//! INCRBYFLOAT, and LCS (in [`lcs`]).
//!
//! A string lives in its key's metadata record (`Meta::body`), so a read is one point lookup and
//! a write replaces the record. The rules are Redis 7.0's `t_string.c`: options are checked
//! before numbers, numbers before the key's type (except where Redis looks the key up first),
//! and a write over a key of another type either replaces it (SET, MSET, GETSET after its type
//! check) or fails with WRONGTYPE (APPEND, INCR*, SETRANGE). Commands that modify a string in
//! place keep its expire; commands that store a new value clear it unless KEEPTTL says otherwise.
//! Reads count keyspace hits and misses through `Ctx::get_string`; the lookups Redis makes "for
//! write" use `Ctx::get_string_for_write` / `Ctx::lookup`, which do not.

mod lcs;

use std::sync::atomic::Ordering;

use bytes::Bytes;
use engine::{Kind, Meta, StringForm};
use formats::resp::Reply;

use super::args::{parse_i64, ExpireArg, LongDouble};
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("append", append),
    ("strlen", strlen),
    ("getrange", getrange),
    ("substr", getrange),
    ("setrange", setrange),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("lcs", lcs::lcs),
];

/// The largest string a client may create (`proto-max-bulk-len`).
pub(super) fn max_string_len(ctx: &Ctx) -> i64 {
    ctx.server
        .tunables
        .proto_max_bulk_len
        .load(Ordering::Relaxed)
}

/// Redis's `checkStringLength`: a string may not grow beyond `proto-max-bulk-len`.
fn check_string_length(ctx: &Ctx, size: i64) -> Result<(), CommandError> {
    if size > max_string_len(ctx) {
        return Err(CommandError::StringTooLong);
    }
    Ok(())
}

/// A stored string as a reply, without copying the value.
fn bulk(meta: Meta) -> Reply {
    Reply::Bulk(Bytes::from(meta.body))
}

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    Ok(ctx.get_string(&args[1])?.map_or(Reply::Null, bulk))
}

/// Which of Redis's two users of `parseExtendedStringArgumentsOrReply` is parsing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsFor {
    Set,
    GetEx,
}

/// The options of SET and GETEX.
#[derive(Default)]
struct StringOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireArg, &'a [u8])>,
}

impl<'a> StringOptions<'a> {
    /// Parses with Redis's rules: options are case-insensitive and may repeat, but NX/XX and
    /// the expire styles (EX, PX, EXAT, PXAT, KEEPTTL, PERSIST) exclude each other; anything
    /// else, or an expire option without a value, is a syntax error.
    fn parse(options: &'a [Bytes], command: OptionsFor) -> Result<StringOptions<'a>, CommandError> {
        let set = command == OptionsFor::Set;
        let mut o = StringOptions::default();
        let mut i = 0;
        while i < options.len() {
            let name = &options[i][..];
            let is = |text: &[u8]| name.eq_ignore_ascii_case(text);
            if set && is(b"nx") && !o.xx {
                o.nx = true;
            } else if set && is(b"xx") && !o.nx {
                o.xx = true;
            } else if set && is(b"get") {
                o.get = true;
            } else if set && is(b"keepttl") && o.expire.is_none() {
                o.keep_ttl = true;
            } else if !set && is(b"persist") && o.expire.is_none() {
                o.persist = true;
            } else if let (Some(kind), Some(value)) =
                (ExpireArg::from_name(name), options.get(i + 1))
            {
                if o.keep_ttl || o.persist || o.expire.is_some_and(|(other, _)| other != kind) {
                    return Err(CommandError::Syntax);
                }
                o.expire = Some((kind, value));
                i += 1;
            } else {
                return Err(CommandError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The absolute deadline of the expire option, if any.
    fn deadline_ms(&self, now_ms: i64, command: &str) -> Result<Option<i64>, CommandError> {
        self.expire
            .map(|(kind, value)| kind.deadline_ms(value, now_ms, command))
            .transpose()
    }
}

/// What `set_generic` did.
struct SetOutcome {
    written: bool,
    /// The previous string value, looked up only for SET ... GET.
    previous: Option<Meta>,
}

/// The body of SET, SETNX, SETEX and PSETEX (Redis's `setGenericCommand`), after the options
/// and the deadline have been validated.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    options: &StringOptions,
    deadline_ms: Option<i64>,
) -> Result<SetOutcome, CommandError> {
    let existing = if options.get {
        ctx.get_string(key)?
    } else if options.nx || options.xx || options.keep_ttl {
        ctx.lookup(key)?
    } else {
        None
    };
    let found = existing.is_some();
    if options.nx && found || options.xx && !found {
        return Ok(SetOutcome {
            written: false,
            previous: existing,
        });
    }
    let kept = if options.keep_ttl {
        existing.as_ref().map_or(0, |m| m.expire_at_ms)
    } else {
        0
    };
    ctx.put(
        key,
        Meta::string(value.to_vec(), deadline_ms.unwrap_or(kept)),
    )?;
    ctx.notify(notify::STRING, "set", key);
    if let Some(deadline) = deadline_ms {
        ctx.notify(notify::GENERIC, "expire", key);
        // Relative expiries propagate as an absolute one: SET key value PXAT <ms>.
        ctx.rewrite_propagated(vec![
            Bytes::from_static(b"SET"),
            Bytes::copy_from_slice(key),
            Bytes::copy_from_slice(value),
            Bytes::from_static(b"PXAT"),
            Bytes::from(deadline.to_string()),
        ]);
    }
    Ok(SetOutcome {
        written: true,
        previous: existing,
    })
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() == 3 {
        // The hot path: no options, no lookup.
        ctx.put(&args[1], Meta::string(args[2].to_vec(), 0))?;
        ctx.notify(notify::STRING, "set", &args[1]);
        return Ok(Reply::ok());
    }
    let options = StringOptions::parse(&args[3..], OptionsFor::Set)?;
    let deadline = options.deadline_ms(ctx.now_ms, "set")?;
    let outcome = set_generic(ctx, &args[1], &args[2], &options, deadline)?;
    Ok(if options.get {
        outcome.previous.map_or(Reply::Null, bulk)
    } else if outcome.written {
        Reply::ok()
    } else {
        Reply::Null
    })
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let options = StringOptions {
        nx: true,
        ..StringOptions::default()
    };
    let outcome = set_generic(ctx, &args[1], &args[2], &options, None)?;
    Ok(Reply::Integer(outcome.written as i64))
}

/// SETEX / PSETEX: SET with a relative deadline given before the value.
fn set_with_ttl(ctx: &mut Ctx, args: &[Bytes], unit: ExpireArg, command: &str) -> CommandResult {
    let deadline = unit.deadline_ms(&args[2], ctx.now_ms, command)?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        &StringOptions::default(),
        Some(deadline),
    )?;
    Ok(Reply::ok())
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    set_with_ttl(ctx, args, ExpireArg::Ex, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    set_with_ttl(ctx, args, ExpireArg::Px, "psetex")
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let previous = ctx.get_string(&args[1])?;
    ctx.put(&args[1], Meta::string(args[2].to_vec(), 0))?;
    ctx.notify(notify::STRING, "set", &args[1]);
    Ok(previous.map_or(Reply::Null, bulk))
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(meta) = ctx.get_string(&args[1])? else {
        return Ok(Reply::Null);
    };
    ctx.delete(&args[1])?;
    ctx.notify(notify::GENERIC, "del", &args[1]);
    ctx.rewrite_propagated(vec![Bytes::from_static(b"DEL"), args[1].clone()]);
    Ok(bulk(meta))
}

/// GETEX: the value, then a new deadline (EX / PX / EXAT / PXAT) or none (PERSIST). An absolute
/// deadline already in the past deletes the key, as Redis does.
fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let options = StringOptions::parse(&args[2..], OptionsFor::GetEx)?;
    let Some(meta) = ctx.get_string(key)? else {
        return Ok(Reply::Null);
    };
    let deadline = options.deadline_ms(ctx.now_ms, "getex")?;
    let absolute = matches!(options.expire, Some((ExpireArg::ExAt | ExpireArg::PxAt, _)));
    let value = Bytes::copy_from_slice(&meta.body);
    // Only the deadline changes: the value keeps the form (and so the encoding) it had.
    let with_deadline = |expire_at_ms| Meta {
        expire_at_ms,
        ..meta.clone()
    };
    match deadline {
        // GETEX is never propagated as such: as DEL/UNLINK, PEXPIREAT or PERSIST (Redis 7.0).
        Some(when) if absolute && when <= ctx.now_ms => {
            ctx.delete(key)?;
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate_as_expired(key);
        }
        Some(when) => {
            ctx.put(key, with_deadline(when))?;
            ctx.notify(notify::GENERIC, "expire", key);
            ctx.rewrite_propagated(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                Bytes::from(when.to_string()),
            ]);
        }
        None if options.persist && meta.expire_at_ms != 0 => {
            ctx.put(key, with_deadline(0))?;
            ctx.notify(notify::GENERIC, "persist", key);
            ctx.rewrite_propagated(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
        }
        None => {}
    }
    Ok(Reply::Bulk(value))
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut values = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        values.push(match ctx.lookup_read(key)? {
            Some(meta) if meta.kind == Kind::String => bulk(meta),
            _ => Reply::Null,
        });
    }
    Ok(Reply::Array(values))
}

/// MSET / MSETNX: key-value pairs, all stored with no expire. MSETNX stores nothing if any key
/// exists.
fn mset_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    nx: bool,
    command: &str,
) -> Result<bool, CommandError> {
    if args.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(command.to_string()));
    }
    if nx {
        for key in args[1..].iter().step_by(2) {
            if ctx.lookup(key)?.is_some() {
                return Ok(false);
            }
        }
    }
    for pair in args[1..].chunks_exact(2) {
        ctx.put(&pair[0], Meta::string(pair[1].to_vec(), 0))?;
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    Ok(true)
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    mset_generic(ctx, args, false, "mset")?;
    Ok(Reply::ok())
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(
        mset_generic(ctx, args, true, "msetnx")? as i64
    ))
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (key, tail) = (&args[1], &args[2]);
    let meta = match ctx.get_string_for_write(key)? {
        // A new key takes the argument as is (it already passed the protocol's size limit).
        None => Meta::string(tail.to_vec(), 0),
        Some(mut meta) => {
            check_string_length(ctx, (meta.body.len() + tail.len()) as i64)?;
            meta.body.extend_from_slice(tail);
            meta.string_form = StringForm::Raw;
            meta
        }
    };
    let len = meta.body.len() as i64;
    ctx.put(key, meta)?;
    ctx.notify(notify::STRING, "append", key);
    Ok(Reply::Integer(len))
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(
        ctx.get_string(&args[1])?.map_or(0, |m| m.body.len() as i64),
    ))
}

/// GETRANGE's index rules: negative indexes count from the end; both ends are clamped to the
/// string; an inverted range is empty. Returns the inclusive byte range, if not empty.
fn byte_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end }.max(0).min(len - 1);
    (start <= end).then_some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(meta) = ctx.get_string(&args[1])? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    Ok(match byte_range(start, end, meta.body.len()) {
        Some((first, last)) => Reply::Bulk(Bytes::from(meta.body).slice(first..=last)),
        None => Reply::Bulk(Bytes::new()),
    })
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (key, value) = (&args[1], &args[3]);
    let offset = parse_i64(&args[2])?;
    if offset < 0 {
        return Err(CommandError::other("ERR offset is out of range"));
    }
    let existing = ctx.get_string_for_write(key)?;
    if value.is_empty() {
        // Nothing to write: report the current length and create nothing.
        return Ok(Reply::Integer(existing.map_or(0, |m| m.body.len() as i64)));
    }
    check_string_length(ctx, offset.saturating_add(value.len() as i64))?;
    let mut meta = existing.unwrap_or_else(|| Meta::string(Vec::new(), 0));
    let (start, end) = (offset as usize, offset as usize + value.len());
    if meta.body.len() < end {
        meta.body.resize(end, 0);
    }
    meta.body[start..end].copy_from_slice(value);
    meta.string_form = StringForm::Raw;
    let len = meta.body.len() as i64;
    ctx.put(key, meta)?;
    ctx.notify(notify::STRING, "setrange", key);
    Ok(Reply::Integer(len))
}

/// INCR / DECR / INCRBY / DECRBY: the value must be a strict 64-bit integer; the expire stays.
fn incr_by(ctx: &mut Ctx, key: &[u8], increment: i64) -> CommandResult {
    let (value, expire_at_ms) = match ctx.get_string_for_write(key)? {
        None => (0, 0),
        Some(meta) => (parse_i64(&meta.body)?, meta.expire_at_ms),
    };
    let value = value.checked_add(increment).ok_or(CommandError::Overflow)?;
    ctx.put(
        key,
        Meta::string(value.to_string().into_bytes(), expire_at_ms),
    )?;
    ctx.notify(notify::STRING, "incrby", key);
    Ok(Reply::Integer(value))
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let increment = parse_i64(&args[2])?;
    incr_by(ctx, &args[1], increment)
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let decrement = parse_i64(&args[2])?;
    if decrement == i64::MIN {
        // Negating it would overflow before the value is even read.
        return Err(CommandError::other("ERR decrement would overflow"));
    }
    incr_by(ctx, &args[1], -decrement)
}

/// INCRBYFLOAT in x87 long double arithmetic, stored (and replied) as `%.17Lf` text with the
/// trailing zeros trimmed; the expire stays.
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let existing = ctx.get_string_for_write(key)?;
    let value = match &existing {
        None => LongDouble::ZERO,
        Some(meta) => LongDouble::parse(&meta.body).ok_or(CommandError::NotFloat)?,
    };
    let increment = LongDouble::parse(&args[2]).ok_or(CommandError::NotFloat)?;
    let sum = value
        .checked_add(increment)
        .ok_or_else(|| CommandError::other("ERR increment would produce NaN or Infinity"))?;
    let text = Bytes::from(sum.to_human());
    // Redis builds the result with createStringObject: embstr or raw, never int.
    let mut meta = Meta::string(text.to_vec(), existing.map_or(0, |m| m.expire_at_ms));
    meta.string_form = StringForm::NotInt;
    ctx.put(key, meta)?;
    ctx.notify(notify::STRING, "incrbyfloat", key);
    // The result, not the float arithmetic, is propagated: SET key value KEEPTTL.
    ctx.rewrite_propagated(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(Reply::Bulk(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags an option list sets, in a fixed order ("nx get ex=Ex"), or the error text.
    fn options(text: &str, command: OptionsFor) -> Result<String, String> {
        let args: Vec<Bytes> = text
            .split_whitespace()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let o = StringOptions::parse(&args, command).map_err(|e| e.to_string())?;
        let flags = [
            ("nx", o.nx),
            ("xx", o.xx),
            ("get", o.get),
            ("keepttl", o.keep_ttl),
            ("persist", o.persist),
        ];
        let mut set: Vec<String> = flags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| name.to_string())
            .collect();
        if let Some((kind, value)) = o.expire {
            set.push(format!("{kind:?}={}", String::from_utf8_lossy(value)));
        }
        Ok(set.join(" "))
    }

    #[test]
    fn set_options_like_redis() {
        use OptionsFor::{GetEx, Set};
        assert_eq!(options("nx get", Set).as_deref(), Ok("nx get"));
        assert_eq!(options("NX nx", Set).as_deref(), Ok("nx"));
        assert_eq!(options("ex 10 EX 20", Set).as_deref(), Ok("Ex=20"));
        assert_eq!(options("keepttl xx", Set).as_deref(), Ok("xx keepttl"));
        for bad in [
            "nx xx",
            "xx nx",
            "ex 10 px 10",
            "ex 10 keepttl",
            "keepttl ex 10",
            "persist",
            "ex",
            "foo",
            "exat",
        ] {
            assert_eq!(
                options(bad, Set),
                Err("ERR syntax error".to_string()),
                "{bad}"
            );
        }
        assert_eq!(options("persist", GetEx).as_deref(), Ok("persist"));
        assert_eq!(options("pxat 5", GetEx).as_deref(), Ok("PxAt=5"));
        for bad in [
            "nx",
            "get",
            "keepttl",
            "persist ex 10",
            "ex 10 persist",
            "xx",
        ] {
            assert_eq!(
                options(bad, GetEx),
                Err("ERR syntax error".to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn ranges_like_getrange() {
        assert_eq!(byte_range(0, -1, 11), Some((0, 10)));
        assert_eq!(byte_range(-3, -1, 11), Some((8, 10)));
        assert_eq!(byte_range(-1, -3, 11), None);
        assert_eq!(byte_range(5, 3, 11), None);
        assert_eq!(byte_range(100, 200, 11), None);
        assert_eq!(byte_range(-100, 2, 11), Some((0, 2)));
        assert_eq!(byte_range(0, i64::MAX, 11), Some((0, 10)));
        assert_eq!(byte_range(i64::MIN, -1, 11), Some((0, 10)));
        assert_eq!(byte_range(0, -1, 0), None);
        assert_eq!(byte_range(-1, 0, 0), None);
    }
}

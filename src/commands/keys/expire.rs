//! Expire commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX / XX / GT / LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! A key's deadline is an absolute Unix time in milliseconds kept in its metadata record (0 = no
//! expire); the engine maintains the expire index from it. The rules are Redis 7.0's
//! `expireGenericCommand`: options are checked before the time argument, the time is converted
//! to milliseconds and made absolute with overflow checks ("invalid expire time"), NX / XX / GT /
//! LT compare with the current deadline (no deadline counts as infinite), and a deadline that is
//! not in the future deletes the key at once and still replies 1.

use bytes::Bytes;
use formats::resp::Reply;

use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// The unit of a command's time argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Milliseconds,
}

/// NX / XX / GT / LT, as parsed by Redis's `parseExtendedExpireArgumentsOrReply`.
#[derive(Default, Debug, PartialEq, Eq)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    fn parse(options: &[Bytes]) -> Result<Conditions, CommandError> {
        let mut c = Conditions::default();
        for option in options {
            match option.to_ascii_lowercase().as_slice() {
                b"nx" => c.nx = true,
                b"xx" => c.xx = true,
                b"gt" => c.gt = true,
                b"lt" => c.lt = true,
                _ => {
                    return Err(CommandError::other(format!(
                        "ERR Unsupported option {}",
                        String::from_utf8_lossy(option)
                    )))
                }
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CommandError::other(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CommandError::other(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether a new deadline `when` may replace `current` (0 = none, i.e. infinite).
    fn allow(&self, current: i64, when: i64) -> bool {
        let has = current != 0;
        !(self.nx && has
            || self.xx && !has
            || self.gt && (!has || when <= current)
            || self.lt && has && when >= current)
    }
}

/// The absolute deadline in milliseconds for a time argument, or `None` on overflow.
fn deadline_ms(value: i64, unit: Unit, base_ms: i64) -> Option<i64> {
    let ms = match unit {
        Unit::Seconds => value.checked_mul(1000)?,
        Unit::Milliseconds => value,
    };
    ms.checked_add(base_ms)
}

pub fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let now = ctx.now_ms;
    expire_generic(ctx, args, "expire", now, Unit::Seconds)
}

pub fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let now = ctx.now_ms;
    expire_generic(ctx, args, "pexpire", now, Unit::Milliseconds)
}

pub fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, "expireat", 0, Unit::Seconds)
}

pub fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, "pexpireat", 0, Unit::Milliseconds)
}

/// `key time [NX|XX|GT|LT ...]`; `base_ms` is the command time for relative forms, 0 for the
/// `*AT` forms. `name` is the command name Redis puts in the overflow error.
fn expire_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    name: &str,
    base_ms: i64,
    unit: Unit,
) -> CommandResult {
    let conditions = Conditions::parse(&args[3..])?;
    let value = parse_i64(&args[2])?;
    let when = deadline_ms(value, unit, base_ms)
        .ok_or_else(|| CommandError::InvalidExpire(name.into()))?;
    let key = &args[1];
    let Some(mut meta) = ctx.lookup(key)? else {
        return Ok(Reply::Integer(0));
    };
    if !conditions.allow(meta.expire_at_ms, when) {
        return Ok(Reply::Integer(0));
    }
    // Redis keeps a past deadline only while loading or on a replica (to wait for the primary's
    // DEL); rockslot has neither path through here yet, so the key goes now.
    if when <= ctx.now_ms {
        ctx.delete(key)?;
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate_as_expired(key);
    } else {
        meta.expire_at_ms = when;
        ctx.put(key, meta)?;
        ctx.notify(notify::GENERIC, "expire", key);
        // Propagated as PEXPIREAT with the absolute deadline, the options kept (Redis 7.0).
        let mut propagated = vec![
            Bytes::from_static(b"PEXPIREAT"),
            key.clone(),
            Bytes::from(when.to_string()),
        ];
        propagated.extend_from_slice(&args[3..]);
        ctx.rewrite_propagated(propagated);
    }
    Ok(Reply::Integer(1))
}

pub fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, false, false)
}

pub fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, true, false)
}

pub fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ttl_generic(ctx, args, true, true)
}

/// TTL family: -2 for a missing key, -1 without a deadline, else the remaining time (or the
/// deadline itself with `absolute`), in seconds rounded to nearest or in milliseconds.
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], millis: bool, absolute: bool) -> CommandResult {
    let Some(meta) = ctx.lookup_read(&args[1])? else {
        return Ok(Reply::Integer(-2));
    };
    if !meta.has_expire() {
        return Ok(Reply::Integer(-1));
    }
    let ms = if absolute {
        meta.expire_at_ms
    } else {
        (meta.expire_at_ms - ctx.now_ms).max(0)
    };
    Ok(Reply::Integer(if millis {
        ms
    } else {
        round_to_seconds(ms)
    }))
}

/// Redis's `(ttl+500)/1000`, computed without the overflow C leaves undefined near i64::MAX
/// (Redis 7.0.15 replies with the mathematically exact value there too).
fn round_to_seconds(ms: i64) -> i64 {
    ((ms as i128 + 500) / 1000) as i64
}

pub fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    match ctx.lookup(key)? {
        Some(mut meta) if meta.has_expire() => {
            meta.expire_at_ms = 0;
            ctx.put(key, meta)?;
            ctx.notify(notify::GENERIC, "persist", key);
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(options: &[&str]) -> Result<Conditions, CommandError> {
        let options: Vec<Bytes> = options
            .iter()
            .map(|o| Bytes::copy_from_slice(o.as_bytes()))
            .collect();
        Conditions::parse(&options)
    }

    #[test]
    fn option_errors_match_redis() {
        let text = |o: &[&str]| parse(o).unwrap_err().to_string();
        assert_eq!(
            text(&["nx", "XX"]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            text(&["gt", "nx"]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            text(&["GT", "lt"]),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(text(&["xx", "Foo"]), "ERR Unsupported option Foo");
        assert_eq!(
            parse(&["xx", "gt"]).unwrap(),
            Conditions {
                xx: true,
                gt: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn conditions_compare_with_infinite_when_no_deadline() {
        let c = |o: &[&str]| parse(o).unwrap();
        assert!(c(&[]).allow(0, 5));
        assert!(c(&["nx"]).allow(0, 5) && !c(&["nx"]).allow(9, 5));
        assert!(!c(&["xx"]).allow(0, 5) && c(&["xx"]).allow(9, 5));
        assert!(!c(&["gt"]).allow(0, 5) && !c(&["gt"]).allow(9, 9) && c(&["gt"]).allow(9, 10));
        assert!(c(&["lt"]).allow(0, 5) && !c(&["lt"]).allow(9, 9) && c(&["lt"]).allow(9, 8));
        assert!(!c(&["xx", "gt"]).allow(0, 5) && c(&["xx", "lt"]).allow(9, -1));
    }

    #[test]
    fn deadlines_detect_overflow() {
        assert_eq!(deadline_ms(10, Unit::Seconds, 1_000), Some(11_000));
        assert_eq!(deadline_ms(-10, Unit::Milliseconds, 1_000), Some(990));
        assert_eq!(deadline_ms(i64::MAX / 1000 + 1, Unit::Seconds, 0), None);
        assert_eq!(deadline_ms(i64::MIN / 1000 - 1, Unit::Seconds, 0), None);
        assert_eq!(deadline_ms(i64::MAX, Unit::Milliseconds, 0), Some(i64::MAX));
        assert_eq!(deadline_ms(i64::MAX, Unit::Milliseconds, 1), None);
    }

    #[test]
    fn seconds_round_like_redis() {
        assert_eq!(round_to_seconds(1499), 1);
        assert_eq!(round_to_seconds(1500), 2);
        assert_eq!(round_to_seconds(0), 0);
        assert_eq!(round_to_seconds(i64::MAX), 9_223_372_036_854_776);
    }
}

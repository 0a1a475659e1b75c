//! Argument parsing shared by every command family, with Redis's exact acceptance rules:
//! integers (`string2ll`), floats (`strtod` / `strtold`, see [`float`]) and the SET-style expire
//! arguments (EX / PX / EXAT / PXAT).

mod bignum;
mod float;

pub use float::LongDouble;

use bytes::Bytes;

use crate::error::CommandError;

/// Parses an integer the way Redis's `string2ll` does: no spaces, no `+`, no leading zeros.
pub fn parse_i64(arg: &[u8]) -> Result<i64, CommandError> {
    formats::text::string2ll(arg).ok_or(CommandError::NotInteger)
}

/// Parses a double the way Redis's `getDoubleFromObject` does (`strtod` over the whole text):
/// "inf" and hexadecimal accepted; NaN, spaces, overflow and underflow to zero rejected.
pub fn parse_f64(arg: &[u8]) -> Result<f64, CommandError> {
    float::strtod(arg).ok_or(CommandError::NotFloat)
}

/// A SET-style expire option: EX / PX are relative to the command time, EXAT / PXAT absolute;
/// EX / EXAT count seconds, PX / PXAT milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireArg {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireArg {
    /// Recognises an option name, case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<ExpireArg> {
        [
            (&b"ex"[..], ExpireArg::Ex),
            (b"px", ExpireArg::Px),
            (b"exat", ExpireArg::ExAt),
            (b"pxat", ExpireArg::PxAt),
        ]
        .into_iter()
        .find_map(|(text, arg)| name.eq_ignore_ascii_case(text).then_some(arg))
    }

    /// Converts the option's argument into an absolute Unix time in milliseconds, with Redis's
    /// `getExpireMillisecondsOrReply` rules: the value must be a positive integer, and neither
    /// the unit conversion nor adding `now_ms` may overflow ("invalid expire time in '<command>'
    /// command").
    pub fn deadline_ms(self, arg: &[u8], now_ms: i64, command: &str) -> Result<i64, CommandError> {
        let value = parse_i64(arg)?;
        let invalid = || CommandError::InvalidExpire(command.to_string());
        let seconds = matches!(self, ExpireArg::Ex | ExpireArg::ExAt);
        if value <= 0 || seconds && value > i64::MAX / 1000 {
            return Err(invalid());
        }
        let ms = if seconds { value * 1000 } else { value };
        match self {
            ExpireArg::Ex | ExpireArg::Px => ms.checked_add(now_ms).ok_or_else(invalid),
            ExpireArg::ExAt | ExpireArg::PxAt => Ok(ms),
        }
    }
}

/// An integer of at least `min`, else the error `message` (Redis's getRangeLongFromObjectOrReply
/// with a message: a non-integer gets the same message).
pub fn parse_at_least(arg: &[u8], min: i64, message: &str) -> Result<u64, CommandError> {
    parse_i64(arg)
        .ok()
        .filter(|&v| v >= min)
        .map(|v| v.unsigned_abs())
        .ok_or_else(|| CommandError::other(message))
}

/// `numkeys key [key ...] <side> [COUNT count]` starting at `args[numkeys_at]` (LMPOP, BLMPOP,
/// ZMPOP, BZMPOP), with Redis's errors: the positions of the keys, the side word as `side` reads
/// it (LEFT|RIGHT, MIN|MAX; a syntax error when it reads nothing), and the count (1 by default).
pub fn parse_mpop<W>(
    args: &[Bytes],
    numkeys_at: usize,
    side: impl Fn(&[u8]) -> Option<W>,
) -> Result<(std::ops::Range<usize>, W, u64), CommandError> {
    let numkeys = parse_at_least(&args[numkeys_at], 1, "ERR numkeys should be greater than 0")?;
    // The side word must be inside the arguments.
    let side_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_at + 1))
        .filter(|&at| at < args.len())
        .ok_or(CommandError::Syntax)?;
    let side = side(&args[side_at]).ok_or(CommandError::Syntax)?;
    let mut count: Option<u64> = None;
    for pair in args[side_at + 1..].chunks(2) {
        match pair {
            [option, value] if count.is_none() && option.eq_ignore_ascii_case(b"count") => {
                count = Some(parse_at_least(
                    value,
                    1,
                    "ERR count should be greater than 0",
                )?);
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok((numkeys_at + 1..side_at, side, count.unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_string2ll() {
        // The syntax itself is tested with `formats::text::string2ll`; this is the error mapping.
        assert_eq!(parse_i64(b"-42").unwrap(), -42);
        assert!(matches!(parse_i64(b"01"), Err(CommandError::NotInteger)));
    }

    #[test]
    fn expire_arguments_like_set() {
        let now = 1_700_000_000_000;
        assert_eq!(ExpireArg::from_name(b"pXaT"), Some(ExpireArg::PxAt));
        assert_eq!(ExpireArg::from_name(b"e"), None);
        assert_eq!(
            ExpireArg::Ex.deadline_ms(b"10", now, "set").unwrap(),
            now + 10_000
        );
        assert_eq!(
            ExpireArg::Px.deadline_ms(b"10", now, "set").unwrap(),
            now + 10
        );
        assert_eq!(
            ExpireArg::ExAt
                .deadline_ms(b"9223372036854775", now, "set")
                .unwrap(),
            9_223_372_036_854_775_000
        );
        assert_eq!(ExpireArg::PxAt.deadline_ms(b"1", now, "set").unwrap(), 1);
        let err = |arg: ExpireArg, text: &[u8]| {
            arg.deadline_ms(text, now, "set").unwrap_err().to_string()
        };
        assert_eq!(
            err(ExpireArg::Ex, b"0"),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(ExpireArg::Px, b"-1"),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(ExpireArg::ExAt, b"9223372036854776"),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(ExpireArg::Ex, b"9223372036854775"),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(ExpireArg::Px, b"9223372036854775000"),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(ExpireArg::Ex, b"1.5"),
            "ERR value is not an integer or out of range"
        );
    }
}

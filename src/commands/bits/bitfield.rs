//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits (unsigned up to 63, so
//! every value fits a RESP integer) at arbitrary bit offsets of a string.
//!
//! All operations are parsed (and every argument error reported) before any is executed; then
//! they run in order against one buffer, so a GET sees earlier SETs of the same command. A
//! command made only of GETs is a read; anything else creates the key if needed and grows the
//! string to the highest bit written, even when OVERFLOW FAIL then refuses every write. The
//! overflow arithmetic is Redis 7.0's `checkSignedBitfieldOverflow` /
//! `checkUnsignedBitfieldOverflow`, including its wrap-around rules, and the dirty count is its
//! `changes`: one per SET / INCRBY that changed the field or ran on a grown string.

use bytes::Bytes;
use engine::{Meta, StringForm};
use formats::resp::Reply;

use super::parse_bit_offset;
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// `i<bits>` or `u<bits>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    fn parse(arg: &[u8]) -> Result<FieldType, CommandError> {
        let invalid = || {
            CommandError::other(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            )
        };
        let signed = match arg.first() {
            Some(b'i') => true,
            Some(b'u') => false,
            _ => return Err(invalid()),
        };
        let bits = parse_i64(&arg[1..]).map_err(|_| invalid())?;
        if bits < 1 || bits > if signed { 64 } else { 63 } {
            return Err(invalid());
        }
        Ok(FieldType {
            signed,
            bits: bits as u32,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    action: Action,
    field: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses every subcommand, in Redis's order of checks.
fn parse_ops(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<Op>, CommandError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let name = &args[j][..];
        let is = |text: &[u8]| name.eq_ignore_ascii_case(text);
        let has_value = if is(b"get") && remaining >= 2 {
            false
        } else if (is(b"set") || is(b"incrby")) && remaining >= 3 {
            true
        } else if is(b"overflow") && remaining >= 1 {
            let kind = &args[j + 1][..];
            overflow = if kind.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(CommandError::other("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let field = FieldType::parse(&args[j + 1])?;
        let offset = parse_bit_offset(ctx, &args[j + 2], Some(field.bits))?;
        let action = if !has_value {
            Action::Get
        } else if is(b"set") {
            Action::Set(parse_i64(&args[j + 3])?)
        } else {
            Action::IncrBy(parse_i64(&args[j + 3])?)
        };
        ops.push(Op {
            action,
            field,
            offset,
            overflow,
        });
        j += if has_value { 4 } else { 3 };
    }
    Ok(ops)
}

/// The `bits`-wide unsigned field at bit `offset` (zero-padded beyond the end).
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0, |value, i| {
        value << 1 | super::get_bit(bytes, offset + i) as u64
    })
}

/// The field as a two's-complement signed integer.
fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let value = get_unsigned(bytes, offset, bits);
    if bits < 64 && value >> (bits - 1) & 1 == 1 {
        (value | u64::MAX << bits) as i64
    } else {
        value as i64
    }
}

/// Stores the low `bits` bits of `value`; the field lies inside `bytes`.
fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let bit = value >> (bits as u64 - 1 - i) & 1;
        let position = offset + i;
        let mask = 0x80u8 >> (position & 7);
        let byte = &mut bytes[(position >> 3) as usize];
        *byte = if bit == 1 {
            *byte | mask
        } else {
            *byte & !mask
        };
    }
}

/// `value + increment` stored in an unsigned field of `bits` bits, or `None` when the overflow
/// policy is FAIL and the result does not fit. SET passes the new value with no increment.
fn fit_unsigned(value: u64, increment: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_increment = max.wrapping_sub(value) as i64;
    let min_increment = 0u64.wrapping_sub(value) as i64;
    let wrapped = || value.wrapping_add(increment as u64) & max;
    let limit = if value > max || increment > 0 && increment > max_increment {
        max
    } else if increment < 0 && increment < min_increment {
        0
    } else {
        return Some(value.wrapping_add(increment as u64));
    };
    match overflow {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// The signed counterpart of [`fit_unsigned`].
fn fit_signed(value: i64, increment: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    // As in Redis these may wrap; they are only used where the range checks make them exact.
    let max_increment = (max as u64).wrapping_sub(value as u64) as i64;
    let min_increment = min.wrapping_sub(value);
    let wrapped = || {
        let sum = (value as u64).wrapping_add(increment as u64);
        if bits == 64 {
            sum as i64
        } else if sum >> (bits - 1) & 1 == 1 {
            (sum | u64::MAX << bits) as i64
        } else {
            (sum & !(u64::MAX << bits)) as i64
        }
    };
    let limit = if value > max
        || bits != 64 && increment > max_increment
        || value >= 0 && increment > 0 && increment > max_increment
    {
        max
    } else if value < min
        || bits != 64 && increment < min_increment
        || value < 0 && increment < 0 && increment < min_increment
    {
        min
    } else {
        return Some(value.wrapping_add(increment));
    };
    match overflow {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// Runs one SET (`increment` false) or INCRBY on `bytes`: the value to reply (the previous one
/// for SET, the new one for INCRBY) and whether the field changed, or `None` when OVERFLOW FAIL
/// refuses the write.
fn write_field(bytes: &mut [u8], op: &Op, value: i64, increment: bool) -> Option<(i64, bool)> {
    let FieldType { signed, bits } = op.field;
    let (reply, old, new) = if signed {
        let old = get_signed(bytes, op.offset, bits);
        if increment {
            let new = fit_signed(old, value, bits, op.overflow)?;
            (new, old as u64, new as u64)
        } else {
            let new = fit_signed(value, 0, bits, op.overflow)?;
            (old, old as u64, new as u64)
        }
    } else {
        let old = get_unsigned(bytes, op.offset, bits);
        if increment {
            let new = fit_unsigned(old, value, bits, op.overflow)?;
            (new as i64, old, new)
        } else {
            let new = fit_unsigned(value as u64, 0, bits, op.overflow)?;
            (old as i64, old, new)
        }
    };
    set_field(bytes, op.offset, bits, new);
    Some((reply, old != new))
}

/// The value a GET reads.
fn read_field(bytes: &[u8], op: &Op) -> Reply {
    let FieldType { signed, bits } = op.field;
    Reply::Integer(if signed {
        get_signed(bytes, op.offset, bits)
    } else {
        get_unsigned(bytes, op.offset, bits) as i64
    })
}

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], read_only_command: bool) -> CommandResult {
    let key = &args[1];
    let ops = parse_ops(ctx, args)?;
    if ops.iter().all(|op| op.action == Action::Get) {
        let value = ctx.get_string(key)?.map(|m| m.body).unwrap_or_default();
        return Ok(Reply::Array(
            ops.iter().map(|op| read_field(&value, op)).collect(),
        ));
    }
    if read_only_command {
        return Err(CommandError::other(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let highest_bit = ops
        .iter()
        .filter(|op| op.action != Action::Get)
        .map(|op| op.offset + op.field.bits as u64 - 1)
        .max()
        .unwrap_or(0);
    let existing = ctx.get_string_for_write(key)?;
    let created = existing.is_none();
    let mut meta = existing.unwrap_or_else(|| Meta::string(Vec::new(), 0));
    let needed = (highest_bit >> 3) as usize + 1;
    let grown = meta.body.len() < needed;
    if grown {
        meta.body.resize(needed, 0);
    }
    let mut changes = 0u64;
    let mut replies = Vec::with_capacity(ops.len());
    for op in &ops {
        let (value, increment) = match op.action {
            Action::Get => {
                replies.push(read_field(&meta.body, op));
                continue;
            }
            Action::Set(value) => (value, false),
            Action::IncrBy(value) => (value, true),
        };
        replies.push(match write_field(&mut meta.body, op, value, increment) {
            None => Reply::Null,
            Some((reply, changed)) => {
                if created || grown || changed {
                    changes += 1;
                }
                Reply::Integer(reply)
            }
        });
    }
    // A writing BITFIELD leaves the value in Redis's "raw" encoding even when nothing changed.
    if created || grown || changes > 0 || meta.string_form != StringForm::Raw {
        // Redis counts `changes`, not the write itself: a key created only to refuse every
        // write (OVERFLOW FAIL) exists afterwards but is not a change.
        meta.string_form = StringForm::Raw;
        let dirty_before = ctx.dirty;
        ctx.put(key, meta)?;
        ctx.dirty = dirty_before + changes;
    }
    if changes > 0 {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(Reply::Array(replies))
}

pub fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    bitfield_generic(ctx, args, false)
}

pub fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(
            FieldType::parse(b"i64").unwrap(),
            FieldType {
                signed: true,
                bits: 64
            }
        );
        assert_eq!(
            FieldType::parse(b"u63").unwrap(),
            FieldType {
                signed: false,
                bits: 63
            }
        );
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"U8",
            b"x8",
            b"i",
            b"",
            b"i08",
            b"u-1",
        ] {
            assert!(FieldType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fields_round_trip() {
        let mut bytes = vec![0u8; 3];
        set_field(&mut bytes, 7, 5, 23);
        assert_eq!(bytes, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&bytes, 7, 5), 23);
        assert_eq!(get_signed(&bytes, 7, 5), 23 - 32);
        assert_eq!(get_unsigned(&bytes, 20, 8), 0); // past the end reads zeros
        set_field(&mut bytes, 0, 8, u64::MAX);
        assert_eq!(get_signed(&bytes, 0, 8), -1);
        let mut wide = vec![0u8; 9];
        set_field(&mut wide, 3, 64, 0x8000_0000_0000_0001);
        assert_eq!(get_signed(&wide, 3, 64), i64::MIN + 1);
    }

    /// Expected values are Redis 7.0.15's BITFIELD replies.
    #[test]
    fn overflow_like_redis() {
        use Overflow::{Fail, Sat, Wrap};
        assert_eq!(fit_signed(127, 1, 8, Wrap), Some(-128));
        assert_eq!(fit_signed(-128, -200, 8, Sat), Some(-128));
        assert_eq!(fit_signed(-128, -1, 8, Fail), None);
        assert_eq!(fit_signed(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(fit_signed(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(fit_signed(i64::MAX, i64::MIN, 64, Sat), Some(-1));
        assert_eq!(fit_signed(-1, -i64::MAX, 64, Wrap), Some(i64::MIN));
        assert_eq!(fit_signed(i64::MIN, -i64::MAX, 64, Wrap), Some(1));
        assert_eq!(fit_signed(-9, 0, 4, Sat), Some(-8));
        assert_eq!(fit_signed(-9, 0, 4, Fail), None);
        assert_eq!(fit_signed(7, 0, 4, Fail), Some(7));
        assert_eq!(fit_unsigned(0, 300, 8, Sat), Some(255));
        assert_eq!(fit_unsigned(255, 1, 8, Fail), None);
        assert_eq!(fit_unsigned(256, 0, 8, Wrap), Some(0));
        assert_eq!(fit_unsigned(16, 0, 4, Fail), None);
        assert_eq!(fit_unsigned(16, 0, 4, Sat), Some(15));
        assert_eq!(fit_unsigned(u64::MAX, 0, 63, Sat), Some(i64::MAX as u64));
        assert_eq!(fit_unsigned(3, -5, 8, Sat), Some(0));
        assert_eq!(fit_unsigned(3, -5, 8, Wrap), Some(254));
    }
}

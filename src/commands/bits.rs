//! Bitmap commands over string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, and BITFIELD /
//! BITFIELD_RO (in [`bitfield`]).
//!
//! Bit 0 is the most significant bit of the first byte, and a string reads as if padded with
//! zero bytes forever. Writers grow the string with zero bytes up to the highest bit they touch,
//! limited like Redis by `proto-max-bulk-len` through the bit offset. The argument order, the
//! point where the key is looked up, and the range arithmetic of BITCOUNT / BITPOS (negative
//! indexes, BYTE / BIT units, BITPOS's "end given" rule) follow Redis 7.0's `bitops.c`.

mod bitfield;

use bytes::Bytes;
use engine::{Kind, Meta, StringForm};
use formats::resp::Reply;

use super::args::parse_i64;
use super::string::max_string_len;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield::bitfield),
    ("bitfield_ro", bitfield::bitfield_ro),
];

fn offset_error() -> CommandError {
    CommandError::other("ERR bit offset is not an integer or out of range")
}

/// Parses a bit offset like Redis's `getBitOffsetFromArgument`: a non-negative integer whose
/// byte lies below `proto-max-bulk-len`. With `field_bits` (BITFIELD), `#N` means N fields of
/// that width; the multiplication wraps as it does in C.
fn parse_bit_offset(ctx: &Ctx, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CommandError> {
    let (digits, scale) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .map_err(|_| offset_error())?
        .wrapping_mul(scale);
    if offset < 0 || offset >> 3 >= max_string_len(ctx) {
        return Err(offset_error());
    }
    Ok(offset as u64)
}

/// The bit at `offset` (zero beyond the end).
fn get_bit(bytes: &[u8], offset: u64) -> bool {
    bytes
        .get((offset >> 3) as usize)
        .is_some_and(|byte| byte & (0x80 >> (offset & 7)) != 0)
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let offset = parse_bit_offset(ctx, &args[2], None)?;
    let on = match parse_i64(&args[3]) {
        Ok(value @ (0 | 1)) => value == 1,
        _ => {
            return Err(CommandError::other(
                "ERR bit is not an integer or out of range",
            ))
        }
    };
    let mut meta = ctx
        .get_string_for_write(key)?
        .unwrap_or_else(|| Meta::string(Vec::new(), 0));
    let byte = (offset >> 3) as usize;
    // A new key counts as grown from nothing.
    let grown = meta.body.len() <= byte;
    if grown {
        meta.body.resize(byte + 1, 0);
    }
    let mask = 0x80u8 >> (offset & 7);
    let was = meta.body[byte] & mask != 0;
    // Like Redis, a bit that already had the value is no change (unless the string grew).
    if grown || was != on {
        if on {
            meta.body[byte] |= mask;
        } else {
            meta.body[byte] &= !mask;
        }
        meta.string_form = StringForm::Raw;
        ctx.put(key, meta)?;
        ctx.notify(notify::STRING, "setbit", key);
    } else if meta.string_form != StringForm::Raw {
        // No change, but Redis has unshared the value into its "raw" encoding all the same,
        // without signalling the key (a WATCH on it survives).
        meta.string_form = StringForm::Raw;
        let db = ctx.db();
        ctx.txn.put_unsignalled(db, key, meta)?;
    }
    Ok(Reply::Integer(was as i64))
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let offset = parse_bit_offset(ctx, &args[2], None)?;
    let bit = ctx
        .get_string(&args[1])?
        .is_some_and(|m| get_bit(&m.body, offset));
    Ok(Reply::Integer(bit as i64))
}

/// Parses the BYTE / BIT unit of BITCOUNT and BITPOS; true for BIT.
fn parse_unit(arg: &[u8]) -> Result<bool, CommandError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CommandError::Syntax)
    }
}

/// Redis's range normalisation for BITCOUNT and BITPOS over a string of `len` bytes: negative
/// indexes count from the end, then both ends are clamped to the string. Returns the inclusive
/// range in bits, or `None` when it is empty.
fn bit_range(start: i64, end: i64, len: usize, in_bits: bool) -> Option<(u64, u64)> {
    let total = len as i64 * if in_bits { 8 } else { 1 };
    let start = if start < 0 { start + total } else { start }.max(0);
    let end = if end < 0 { end + total } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    Some(if in_bits {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    })
}

/// Mask of the bits of a byte at or after bit `from` (0 = most significant) of that byte.
fn tail_mask(from: u64) -> u8 {
    0xff >> (from & 7)
}

/// Mask of the bits of a byte at or before bit `to` of that byte.
fn head_mask(to: u64) -> u8 {
    0xff << (7 - (to & 7))
}

/// Number of set bits in the inclusive bit range `first..=last`, which lies inside `bytes`.
fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    if first_byte == last_byte {
        return (bytes[first_byte] & tail_mask(first) & head_mask(last)).count_ones() as u64;
    }
    let edges = (bytes[first_byte] & tail_mask(first)).count_ones()
        + (bytes[last_byte] & head_mask(last)).count_ones();
    edges as u64 + popcount(&bytes[first_byte + 1..last_byte])
}

fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum();
    words
        .map(|w| {
            u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones() as u64
        })
        .sum::<u64>()
        + tail
}

/// Position of the first bit equal to `bit` in the inclusive bit range `first..=last`, which lies
/// inside `bytes`.
fn find_bit(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    // Bytes where no bit can match are skipped a word at a time.
    let skip = if bit { 0x00 } else { 0xff };
    let matches_in = |index: usize, mask: u8| {
        let byte = (if bit { bytes[index] } else { !bytes[index] }) & mask;
        (byte != 0).then(|| index as u64 * 8 + byte.leading_zeros() as u64)
    };
    let first_mask = tail_mask(first)
        & if first_byte == last_byte {
            head_mask(last)
        } else {
            0xff
        };
    if let Some(found) = matches_in(first_byte, first_mask) {
        return Some(found);
    }
    if first_byte == last_byte {
        return None;
    }
    let mut index = first_byte + 1;
    let word_skip = u64::from_ne_bytes([skip; 8]);
    while index + 8 <= last_byte {
        let w = &bytes[index..index + 8];
        if u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) != word_skip {
            break;
        }
        index += 8;
    }
    while index < last_byte {
        if let Some(found) = matches_in(index, 0xff) {
            return Some(found);
        }
        index += 1;
    }
    matches_in(last_byte, head_mask(last))
}

/// BITCOUNT key [start end [BYTE|BIT]]: Redis 7.0 looks the key up before reading the range.
fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let Some(meta) = ctx.get_string(&args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let range = match args.len() {
        2 => bit_range(0, -1, meta.body.len(), false),
        4 | 5 => {
            let start = parse_i64(&args[2])?;
            let end = parse_i64(&args[3])?;
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            let in_bits = args.len() == 5 && parse_unit(&args[4])?;
            bit_range(start, end, meta.body.len(), in_bits)
        }
        _ => return Err(CommandError::Syntax),
    };
    Ok(Reply::Integer(
        range.map_or(0, |(first, last)| count_ones(&meta.body, first, last)) as i64,
    ))
}

/// BITPOS key bit [start [end [BYTE|BIT]]]. A missing key is all zeros. Looking for a 0 without
/// an explicit end treats the string as zero-padded (the answer may be the first bit past it);
/// with an explicit end the search stays inside the range.
fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let bit = match parse_i64(&args[2])? {
        value @ (0 | 1) => value == 1,
        _ => return Err(CommandError::other("ERR The bit argument must be 1 or 0.")),
    };
    let Some(meta) = ctx.get_string(&args[1])? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let (start, end, end_given, in_bits) = match args.len() {
        3 => (0, -1, false, false),
        4..=6 => {
            let start = parse_i64(&args[3])?;
            let in_bits = args.len() == 6 && parse_unit(&args[5])?;
            match args.get(4) {
                Some(end) => (start, parse_i64(end)?, true, in_bits),
                None => (start, -1, false, in_bits),
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    let Some((first, last)) = bit_range(start, end, meta.body.len(), in_bits) else {
        return Ok(Reply::Integer(-1));
    };
    let position = match find_bit(&meta.body, bit, first, last) {
        Some(position) => position as i64,
        None if bit || end_given => -1,
        None => last as i64 + 1,
    };
    Ok(Reply::Integer(position))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The BITOP result over `sources`, each zero-padded to the longest.
fn combine(op: BitOp, sources: &[Vec<u8>]) -> Vec<u8> {
    let longest = sources.iter().map(Vec::len).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut out = first.clone();
    out.resize(longest, 0);
    if op == BitOp::Not {
        out.iter_mut().for_each(|b| *b = !*b);
        return out;
    }
    for source in rest {
        let pairs = out.iter_mut().zip(source);
        match op {
            BitOp::And => {
                pairs.for_each(|(o, s)| *o &= s);
                out[source.len()..].fill(0);
            }
            BitOp::Or => pairs.for_each(|(o, s)| *o |= s),
            BitOp::Xor => pairs.for_each(|(o, s)| *o ^= s),
            BitOp::Not => {}
        }
    }
    out
}

/// BITOP AND|OR|XOR|NOT destkey key...: missing sources are empty strings; the result replaces
/// the destination (any type, no expire) or deletes it when empty. Replies with its length.
fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let op = match args[1].to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return Err(CommandError::Syntax),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CommandError::other(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(match ctx.lookup_read(key)? {
            None => Vec::new(),
            Some(meta) if meta.kind == Kind::String => meta.body,
            Some(_) => return Err(CommandError::WrongType),
        });
    }
    let result = combine(op, &sources);
    let len = result.len() as i64;
    if result.is_empty() {
        if ctx.delete(&args[2])? {
            ctx.notify(notify::GENERIC, "del", &args[2]);
        }
    } else {
        // Redis builds the destination as a raw string object, whatever its content.
        let mut meta = Meta::string(result, 0);
        meta.string_form = StringForm::Raw;
        ctx.put(&args[2], meta)?;
        ctx.notify(notify::STRING, "set", &args[2]);
    }
    Ok(Reply::Integer(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(bit_range(0, -1, 3, false), Some((0, 23)));
        assert_eq!(bit_range(1, 1, 6, false), Some((8, 15)));
        assert_eq!(bit_range(5, 30, 6, true), Some((5, 30)));
        assert_eq!(bit_range(-3, -1, 6, false), Some((24, 47)));
        assert_eq!(bit_range(-100, 100, 6, false), Some((0, 47)));
        assert_eq!(bit_range(1, 0, 6, true), None);
        assert_eq!(bit_range(0, -1, 0, false), None);
        assert_eq!(bit_range(i64::MIN, i64::MAX, 6, true), Some((0, 47)));
        assert_eq!(bit_range(100, -1, 3, false), None);
    }

    #[test]
    fn counts_bits() {
        let foobar = b"foobar";
        assert_eq!(count_ones(foobar, 0, 47), 26);
        assert_eq!(count_ones(foobar, 8, 15), 6);
        assert_eq!(count_ones(foobar, 5, 30), 17);
        assert_eq!(count_ones(foobar, 24, 47), 10);
        assert_eq!(count_ones(foobar, 0, 0), 0);
        assert_eq!(count_ones(foobar, 2, 46), 25);
        let long: Vec<u8> = (0..100u8).collect();
        let expected: u64 = long.iter().map(|b| b.count_ones() as u64).sum();
        assert_eq!(count_ones(&long, 0, 799), expected);
    }

    #[test]
    fn finds_bits() {
        assert_eq!(find_bit(b"\xff\xf0\x00", false, 0, 23), Some(12));
        assert_eq!(find_bit(b"\xff\xf0\x00", true, 16, 23), None);
        assert_eq!(find_bit(b"\x00\x01\x80", true, 0, 14), None);
        assert_eq!(find_bit(b"\x00\x01\x80", true, 0, 15), Some(15));
        assert_eq!(find_bit(b"\x00\x01\x80", true, 17, 23), None);
        assert_eq!(find_bit(b"\x00\x01\x80", false, 16, 23), Some(17));
        assert_eq!(find_bit(b"\xff\xff\xff", false, 7, 15), None);
        let mut long = vec![0u8; 100];
        long[77] = 0x10;
        assert_eq!(find_bit(&long, true, 3, 799), Some(77 * 8 + 3));
        assert_eq!(find_bit(&long, true, 77 * 8 + 4, 799), None);
        let ones = vec![0xffu8; 100];
        assert_eq!(find_bit(&ones, false, 0, 799), None);
    }

    #[test]
    fn combines_like_bitop() {
        let a = b"\xff\x0f".to_vec();
        let b = b"\xf0".to_vec();
        assert_eq!(combine(BitOp::And, &[a.clone(), b.clone()]), b"\xf0\x00");
        assert_eq!(combine(BitOp::Or, &[a.clone(), b.clone()]), b"\xff\x0f");
        assert_eq!(combine(BitOp::Xor, &[a.clone(), b.clone()]), b"\x0f\x0f");
        assert_eq!(combine(BitOp::Not, std::slice::from_ref(&a)), b"\x00\xf0");
        assert_eq!(combine(BitOp::And, &[a, Vec::new()]), b"\x00\x00");
        assert!(combine(BitOp::Or, &[Vec::new(), Vec::new()]).is_empty());
    }
}

//! The sparse representation: a run-length encoding of the registers after the header, with
//! Redis's three opcodes (`hyperloglog.c`):
//! - ZERO `00xxxxxx`: 1 to 64 registers set to 0;
//! - XZERO `01xxxxxx yyyyyyyy`: 1 to 16384 registers set to 0 (14-bit length, high bits first);
//! - VAL `1vvvvvxx`: 1 to 4 registers set to a value from 1 to 32.
//!
//! [`set`] is `hllSparseSet` step by step: it finds the opcode covering a register, rewrites it
//! in place (splitting it into at most three opcodes), merges equal adjacent VAL opcodes, and
//! asks for promotion to the dense form when the value does not fit a VAL opcode or the string
//! would outgrow `hll-sparse-max-bytes`. The decoders behave as Redis's on corrupt input too:
//! an XZERO cut short by the end of the string reads its second byte as the terminator's zero,
//! and a representation is valid only if its opcodes cover exactly 16384 registers, none of
//! them reaching past the last one (see [`walk`]).
//!
//! One behaviour of Redis is out of reach: splitting such a cut-short XZERO makes Redis write
//! the last byte of the new opcodes just past the string's end, where its later reads of the
//! string (in the same or another command) find that byte instead of the terminator. A stored
//! string has no byte past its end, so rockslot reads zero there.

use super::dense::{self, Histogram, REGISTERS};
use super::value::HEADER;

const ZERO_MAX_LEN: usize = 64;
const VAL_MAX_LEN: usize = 4;
const XZERO_MAX_LEN: usize = 16384;
const VAL_MAX_VALUE: u8 = 32;
const XZERO_BIT: u8 = 0x40;
const VAL_BIT: u8 = 0x80;

/// One decoded opcode: how many registers it covers and with which value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Zero(usize),
    XZero(usize),
    Val { value: u8, len: usize },
}

impl Op {
    /// Registers covered.
    fn span(self) -> usize {
        match self {
            Op::Zero(len) | Op::XZero(len) | Op::Val { len, .. } => len,
        }
    }
}

fn is_xzero(byte: u8) -> bool {
    byte & 0xc0 == XZERO_BIT
}

fn is_zero(byte: u8) -> bool {
    byte & 0xc0 == 0
}

fn is_val(byte: u8) -> bool {
    byte & VAL_BIT != 0
}

fn val_value(byte: u8) -> u8 {
    ((byte >> 2) & 0x1f) + 1
}

fn val_len(byte: u8) -> usize {
    usize::from(byte & 0x3) + 1
}

/// The VAL opcode for `len` (1..=4) registers of `value` (1..=32).
fn val(value: u8, len: usize) -> u8 {
    ((value - 1) << 2) | (len as u8 - 1) | VAL_BIT
}

/// The opcode at `bytes[p]` and its size in bytes.
fn decode(bytes: &[u8], p: usize) -> (Op, usize) {
    let byte = bytes[p];
    if is_zero(byte) {
        (Op::Zero(usize::from(byte & 0x3f) + 1), 1)
    } else if is_val(byte) {
        (
            Op::Val {
                value: val_value(byte),
                len: val_len(byte),
            },
            1,
        )
    } else {
        let low = usize::from(bytes.get(p + 1).copied().unwrap_or(0));
        ((Op::XZero(((usize::from(byte & 0x3f) << 8) | low) + 1)), 2)
    }
}

/// The opcodes of a sparse register area, in order.
pub fn ops(area: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = 0;
    std::iter::from_fn(move || {
        (p < area.len()).then(|| {
            let (op, size) = decode(area, p);
            p += size;
            op
        })
    })
}

/// Appends the opcodes for a run of `len` zero registers, as `hllSparseSet` writes it.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq.extend_from_slice(&[(l >> 8) as u8 | XZERO_BIT, (l & 0xff) as u8]);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// The opcodes of an all-zero register area (`createHLLObject`).
pub fn empty() -> Vec<u8> {
    let mut area = Vec::new();
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        let l = run - 1;
        area.extend_from_slice(&[(l >> 8) as u8 | XZERO_BIT, (l & 0xff) as u8]);
        left -= run;
    }
    area
}

/// What [`set`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The register already held at least the value.
    Unchanged,
    /// The register was raised (the cached cardinality must be invalidated).
    Updated,
    /// The string must become dense before the register can be raised; it is unchanged.
    Promote,
    /// The opcodes do not cover the register.
    Corrupt,
}

/// `hllSparseSet` on `hll` (header included): raises register `index` to `count`.
pub fn set(hll: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Outcome {
    if count > VAL_MAX_VALUE {
        return Outcome::Promote;
    }
    // Step 1: find the opcode covering the register.
    let end = hll.len();
    let mut p = HEADER;
    let mut first = 0;
    let mut span = 0;
    let mut prev = None;
    while p < end {
        let (op, size) = decode(hll, p);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += size;
        first += span;
    }
    if span == 0 || p >= end {
        return Outcome::Corrupt;
    }
    let (op, size) = decode(hll, p);
    // Step 2: the trivial in-place updates.
    match op {
        Op::Val { value, .. } if value >= count => return Outcome::Unchanged,
        Op::Val { len: 1, .. } | Op::Zero(1) => {
            hll[p] = val(count, 1);
            merge_adjacent(hll, prev);
            return Outcome::Updated;
        }
        _ => {}
    }
    // The general case: split the opcode around the register.
    let last = first + span - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Val { value: current, .. } => {
            if index != first {
                seq.push(val(current, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(current, last - index));
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
    }
    // Step 3: substitute the new sequence for the old opcode.
    let new_len = (end + seq.len()).saturating_sub(size);
    if new_len > end && new_len as u64 > max_bytes {
        return Outcome::Promote;
    }
    // An XZERO cut short by the end of the string loses its missing byte's share.
    let old_end = (p + size).min(end);
    hll.splice(p..old_end, seq);
    hll.truncate(new_len);
    merge_adjacent(hll, prev);
    Outcome::Updated
}

/// Step 4 of `hllSparseSet`: merges equal adjacent VAL opcodes among the (at most) five
/// opcodes starting at `prev` (or the first opcode).
fn merge_adjacent(hll: &mut Vec<u8>, prev: Option<usize>) {
    let mut p = prev.unwrap_or(HEADER);
    let mut scan = 5;
    while p < hll.len() && scan > 0 {
        scan -= 1;
        let byte = hll[p];
        if is_xzero(byte) {
            p += 2;
            continue;
        }
        if is_zero(byte) {
            p += 1;
            continue;
        }
        if let Some(&next) = hll.get(p + 1) {
            if is_val(next) && val_value(byte) == val_value(next) {
                let len = val_len(byte) + val_len(next);
                if len <= VAL_MAX_LEN {
                    hll[p + 1] = val(val_value(byte), len);
                    hll.remove(p);
                    // Try the merged opcode against its right neighbour too.
                    continue;
                }
            }
        }
        p += 1;
    }
}

/// Walks the opcodes of a register area with the index of each one's first register, as the
/// readers of `hyperloglog.c` do since the fix for CVE-2025-32023 (which Debian's 7.0.15 has):
/// an opcode reaching past the last register stops the walk and makes the area invalid, and so
/// does a total other than 16384.
fn walk(area: &[u8], mut visit: impl FnMut(usize, Op)) -> bool {
    let mut index = 0;
    for op in ops(area) {
        if index + op.span() > REGISTERS {
            return false;
        }
        visit(index, op);
        index += op.span();
    }
    index == REGISTERS
}

/// `hllSparseToDense` on the register area: the packed dense registers, or `None` if the area
/// is invalid.
pub fn to_dense(area: &[u8]) -> Option<Vec<u8>> {
    let mut registers = vec![0u8; dense::BYTES];
    let valid = walk(area, |first, op| {
        if let Op::Val { value, len } = op {
            for index in first..first + len {
                dense::set(&mut registers, index, value);
            }
        }
    });
    valid.then_some(registers)
}

/// `hllSparseRegHisto`: the histogram, and whether the area is valid.
pub fn histogram(area: &[u8]) -> (Histogram, bool) {
    let mut histogram = [0; dense::HISTOGRAM];
    let valid = walk(area, |_, op| match op {
        Op::Zero(len) | Op::XZero(len) => histogram[0] += len as u64,
        Op::Val { value, len } => histogram[usize::from(value)] += len as u64,
    });
    (histogram, valid)
}

/// The sparse half of `hllMerge`: raises `max[i]` to each register; false if the area is
/// invalid.
pub fn merge_into(area: &[u8], max: &mut [u8]) -> bool {
    walk(area, |first, op| {
        if let Op::Val { value, len } = op {
            for slot in &mut max[first..first + len] {
                *slot = (*slot).max(value);
            }
        }
    })
}

/// PFDEBUG DECODE's text: `z:<len>`, `Z:<len>` and `v:<value>,<len>` separated by spaces.
pub fn describe(area: &[u8]) -> String {
    let words: Vec<String> = ops(area)
        .map(|op| match op {
            Op::Zero(len) => format!("z:{len}"),
            Op::XZero(len) => format!("Z:{len}"),
            Op::Val { value, len } => format!("v:{value},{len}"),
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hll(area: &[u8]) -> Vec<u8> {
        let mut bytes = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        bytes.extend_from_slice(area);
        bytes
    }

    #[test]
    fn empty_is_one_xzero() {
        assert_eq!(empty(), vec![0x7f, 0xff]);
        assert_eq!(describe(&empty()), "Z:16384");
    }

    #[test]
    fn set_splits_and_merges_like_redis() {
        // Redis: PFADD of "a" (register 12711, run 2) to an empty HLL gives "Z:12711 v:2,1
        // Z:3672"; then registers 12712 and 12713 at 2 merge into one VAL opcode.
        let mut bytes = hll(&empty());
        assert_eq!(set(&mut bytes, 12711, 2, 3000), Outcome::Updated);
        assert_eq!(describe(&bytes[HEADER..]), "Z:12711 v:2,1 Z:3672");
        assert_eq!(set(&mut bytes, 12713, 2, 3000), Outcome::Updated);
        assert_eq!(describe(&bytes[HEADER..]), "Z:12711 v:2,1 z:1 v:2,1 Z:3670");
        assert_eq!(set(&mut bytes, 12712, 2, 3000), Outcome::Updated);
        assert_eq!(describe(&bytes[HEADER..]), "Z:12711 v:2,3 Z:3670");
        assert_eq!(set(&mut bytes, 12712, 1, 3000), Outcome::Unchanged);
        assert_eq!(set(&mut bytes, 12712, 3, 3000), Outcome::Updated);
        assert_eq!(
            describe(&bytes[HEADER..]),
            "Z:12711 v:2,1 v:3,1 v:2,1 Z:3670"
        );
        assert_eq!(set(&mut bytes, 0, 33, 3000), Outcome::Promote);
        // Growing past the limit promotes and leaves the string as it was.
        let before = bytes.clone();
        let limit = bytes.len() as u64;
        assert_eq!(set(&mut bytes, 100, 1, limit), Outcome::Promote);
        assert_eq!(bytes, before);
        let (histogram, valid) = histogram(&bytes[HEADER..]);
        assert!(valid);
        assert_eq!((histogram[0], histogram[2], histogram[3]), (16381, 2, 1));
        let registers = to_dense(&bytes[HEADER..]).expect("valid");
        assert_eq!(dense::get(&registers, 12712), 3);
        assert_eq!(dense::get(&registers, 12713), 2);
    }

    #[test]
    fn corrupt_areas_are_detected() {
        // Covers 16385 registers, with a ZERO or a VAL past the end (Redis: INVALIDOBJ).
        for area in [[0x7f, 0xff, 0x00], [0x7f, 0xff, 0x80]] {
            assert!(!histogram(&area).1);
            assert_eq!(to_dense(&area), None);
            assert!(!merge_into(&area, &mut [0; REGISTERS]));
        }
        // Nothing covers the register.
        assert_eq!(set(&mut hll(&[0x00]), 5, 1, 3000), Outcome::Corrupt);
        assert_eq!(set(&mut hll(&[]), 0, 1, 3000), Outcome::Corrupt);
    }
}

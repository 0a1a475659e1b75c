//! A HyperLogLog as the string Redis stores: a 16-byte header ("HYLL", the encoding byte, three
//! unused bytes, the cached cardinality as a little-endian u64 whose top bit marks it stale)
//! followed by the registers, dense or sparse. The operations here are `hyperloglog.c`'s
//! object-level ones (`hllAdd`, `hllSparseToDense`, `hllMerge`, `hllCount`, ...) on that string.

use super::dense::{self, Histogram, REGISTERS};
use super::{estimate, hash, sparse};

pub const HEADER: usize = 16;
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const ENCODING_AT: usize = 4;
const CARD: std::ops::Range<usize> = 8..16;
/// The length of every dense HLL.
pub const DENSE_SIZE: usize = HEADER + dense::BYTES;

/// The representation is invalid (sparse opcodes that do not cover the registers).
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// The content checks of `isHLLObjectOrReply`: the magic, a known encoding, and the exact
/// length for a dense HLL.
pub fn is_valid(hll: &[u8]) -> bool {
    hll.len() >= HEADER
        && hll.starts_with(b"HYLL")
        && hll[ENCODING_AT] <= SPARSE
        && (hll[ENCODING_AT] != DENSE || hll.len() == DENSE_SIZE)
}

/// `createHLLObject`: an empty sparse HLL with a zero (valid) cached cardinality.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = b"HYLL".to_vec();
    hll.push(SPARSE);
    hll.resize(HEADER, 0);
    hll.extend_from_slice(&sparse::empty());
    hll
}

pub fn is_dense(hll: &[u8]) -> bool {
    hll[ENCODING_AT] == DENSE
}

/// The cached cardinality, if it is valid.
pub fn cached(hll: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(hll[CARD].try_into().unwrap_or_default());
    (card >> 63 == 0).then_some(card)
}

pub fn set_cached(hll: &mut [u8], card: u64) {
    hll[CARD].copy_from_slice(&card.to_le_bytes());
}

/// `HLL_INVALIDATE_CACHE`.
pub fn invalidate(hll: &mut [u8]) {
    hll[CARD.end - 1] |= 0x80;
}

/// `hllSparseToDense`: converts a sparse HLL (the header is kept, encoding aside). Returns
/// whether it converted.
pub fn make_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if is_dense(hll) {
        return Ok(false);
    }
    let registers = sparse::to_dense(&hll[HEADER..]).ok_or(Corrupt)?;
    hll.truncate(HEADER);
    hll[ENCODING_AT] = DENSE;
    hll.extend_from_slice(&registers);
    Ok(true)
}

/// Raises register `index` to `count` in either encoding (`hllDenseSet` / `hllSparseSet`,
/// promoting to dense as needed). Returns whether the register changed.
pub fn set(hll: &mut Vec<u8>, index: usize, count: u8, max_sparse: u64) -> Result<bool, Corrupt> {
    if is_dense(hll) {
        return Ok(dense::raise(&mut hll[HEADER..], index, count));
    }
    match sparse::set(hll, index, count, max_sparse) {
        sparse::Outcome::Unchanged => Ok(false),
        sparse::Outcome::Updated => {
            invalidate(hll);
            Ok(true)
        }
        sparse::Outcome::Promote => {
            make_dense(hll)?;
            Ok(dense::raise(&mut hll[HEADER..], index, count))
        }
        sparse::Outcome::Corrupt => Err(Corrupt),
    }
}

/// `hllAdd`: hashes `element` into its register.
pub fn add(hll: &mut Vec<u8>, element: &[u8], max_sparse: u64) -> Result<bool, Corrupt> {
    let (index, count) = hash::pattern(element);
    set(hll, index, count, max_sparse)
}

/// `hllMerge`: raises each of `max`'s 16384 registers to this HLL's.
pub fn merge_into(hll: &[u8], max: &mut [u8]) -> Result<(), Corrupt> {
    if is_dense(hll) {
        for (index, slot) in max.iter_mut().enumerate().take(REGISTERS) {
            *slot = (*slot).max(dense::get(&hll[HEADER..], index));
        }
        Ok(())
    } else if sparse::merge_into(&hll[HEADER..], max) {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// `hllCount`: the estimated cardinality, ignoring the cache.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let histogram: Histogram = if is_dense(hll) {
        dense::histogram(&hll[HEADER..])
    } else {
        match sparse::histogram(&hll[HEADER..]) {
            (histogram, true) => histogram,
            (_, false) => return Err(Corrupt),
        }
    };
    Ok(estimate::cardinality(&histogram))
}

/// PFDEBUG GETREG's view: every register of a dense HLL.
pub fn registers(hll: &[u8]) -> impl Iterator<Item = u8> + '_ {
    (0..REGISTERS).map(|index| dense::get(&hll[HEADER..], index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hll_is_redis_bytes() {
        // Redis: PFMERGE d (no sources) stores these bytes, with the cache invalidated.
        let mut hll = new_sparse();
        invalidate(&mut hll);
        assert_eq!(hll, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff");
        assert!(is_valid(&hll));
        assert_eq!(cached(&hll), None);
    }

    #[test]
    fn pfadd_abc_matches_redis() {
        // Redis 7.0.15: PFADD a x y z; GET a.
        let mut hll = new_sparse();
        for element in [&b"x"[..], b"y", b"z"] {
            assert_eq!(add(&mut hll, element, 3000), Ok(true));
        }
        assert_eq!(
            hll,
            b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x61\x84\x80\x58\xcd\x88\x45\xa0\x84\x08"
        );
        assert_eq!(count(&hll), Ok(3));
        assert_eq!(
            sparse::describe(&hll[HEADER..]),
            "Z:8581 v:1,1 Z:6350 v:3,1 Z:1441 v:2,1 z:9"
        );
    }

    #[test]
    fn validity_rules() {
        assert!(!is_valid(b"HYLL"));
        assert!(!is_valid(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0"));
        assert!(is_valid(b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0"));
        assert!(!is_valid(b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0"));
        let mut dense = new_sparse();
        assert_eq!(make_dense(&mut dense), Ok(true));
        assert_eq!(dense.len(), DENSE_SIZE);
        assert!(is_valid(&dense));
        assert_eq!(make_dense(&mut dense), Ok(false));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        make_dense(&mut dense).expect("valid");
        for i in 0..2000u32 {
            let element = i.to_le_bytes();
            let a = add(&mut sparse, &element, u64::MAX).expect("valid");
            let b = add(&mut dense, &element, u64::MAX).expect("valid");
            assert_eq!(a, b, "element {i}");
        }
        assert!(!is_dense(&sparse));
        assert_eq!(count(&sparse), count(&dense));
        let mut max = vec![0; REGISTERS];
        merge_into(&sparse, &mut max).expect("valid");
        assert!(max
            .iter()
            .enumerate()
            .all(|(i, &v)| v == dense::get(&dense[HEADER..], i)));
    }

    #[test]
    fn bulk_adds_match_redis() {
        // Redis 7.0.15, default hll-sparse-max-bytes (3000): PFADD big e0 .. e<n-1>, then
        // PFCOUNT, PFDEBUG ENCODING and STRLEN.
        let cases = [
            (100, 100, false, 285),
            (1000, 1008, false, 1906),
            (5000, 4968, true, DENSE_SIZE),
            (50000, 49978, true, DENSE_SIZE),
        ];
        for (n, card, dense, len) in cases {
            let mut hll = new_sparse();
            for i in 0..n {
                add(&mut hll, format!("e{i}").as_bytes(), 3000).expect("valid");
            }
            assert_eq!(
                (count(&hll), is_dense(&hll), hll.len()),
                (Ok(card), dense, len),
                "{n}"
            );
        }
    }
}

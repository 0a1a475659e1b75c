//! HyperLogLog commands over the shared key space: PFADD, PFCOUNT (one key, which writes the
//! cached cardinality back, and several), PFMERGE, PFDEBUG, and GET of the HLL strings, which
//! must be Redis's bytes exactly (header, cache, sparse opcodes, dense registers).
//!
//! Elements come from pools of different sizes: a few letters (registers collide, PFADD often
//! answers 0), a few hundred names, and bulk PFADDs of hundreds to thousands of distinct
//! elements, which grow sparse HLLs past `hll-sparse-max-bytes` (left at its default: a limit set
//! here would outlive the sequence; `handwritten_hll` varies it) and turn them dense.
//! Hand-made strings put valid and corrupt HLLs under the keys: a bad magic, an unknown
//! encoding, a dense string of the wrong length, sparse opcodes that cover too few or too many
//! registers, random opcodes, dense registers of any 6-bit value, stale and valid caches; APPEND
//! and SETRANGE corrupt real HLLs; lists and plain strings give both WRONGTYPE texts. One kind
//! of corruption is left out on purpose (see [`complete_opcodes`]).

use proptest::prelude::*;
use proptest::sample::select;

use super::{key, keys, value, with, word, GenCtx};
use crate::differential::{cmd, Cmd};

/// Bytes of the dense register area (16384 registers of 6 bits).
const DENSE_BYTES: usize = 12288;

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        10 => (key(), elements()).prop_map(|(k, e)| with(cmd!["PFADD", k], e)),
        1 => key().prop_map(|k| cmd!["PFADD", k]),
        2 => (key(), bulk()).prop_map(|(k, e)| with(cmd!["PFADD", k], e)),
        6 => key().prop_map(|k| cmd!["PFCOUNT", k]),
        3 => keys(2..=3).prop_map(|ks| with(cmd!["PFCOUNT"], ks)),
        3 => (key(), keys(0..=3)).prop_map(|(d, ks)| with(cmd!["PFMERGE", d], ks)),
        5 => key().prop_map(|k| cmd!["GET", k]),
        3 => (pfdebug_sub(), key()).prop_map(|(s, k)| cmd!["PFDEBUG", s, k]),
        2 => (key(), hll_string()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        // Whole opcodes only: see `complete_opcodes`.
        1 => (key(), word(&["\u{0}", "\u{1}\u{2}", "\u{7f}\u{1}", "abcdefgh", "\u{80}"]))
            .prop_map(|(k, v)| cmd!["APPEND", k, v]),
        1 => (key(), word(&["3", "4", "8", "15", "100"]), word(&["\u{0}", "\u{1}", "\u{80}"]))
            .prop_map(|(k, o, v)| cmd!["SETRANGE", k, o, v]),
        1 => key().prop_map(|k| cmd!["OBJECT", "ENCODING", k]),
        1 => key().prop_map(|k| cmd!["LPUSH", k, "x"]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
        // Changes in place keep the expire.
        1 => key().prop_map(|k| cmd!["EXPIRE", k, "1000"]),
        1 => key().prop_map(|k| cmd!["TTL", k]),
    ]
    .boxed()
}

/// One to a few elements from a small pool (many repeats) or a larger one.
fn elements() -> BoxedStrategy<Vec<Vec<u8>>> {
    let small = select(&["a", "b", "c", "d", "e", "foo", "bar", "", "1", "-1"][..])
        .prop_map(|w| w.as_bytes().to_vec());
    let names = (0u32..400).prop_map(|i| format!("user:{i}").into_bytes());
    let element = prop_oneof![1 => small, 2 => names];
    prop::collection::vec(element, 1..=8).boxed()
}

/// Hundreds to thousands of distinct elements from a window of a large numbered pool.
fn bulk() -> BoxedStrategy<Vec<Vec<u8>>> {
    (select(&[50usize, 200, 800, 2000, 5000][..]), 0usize..20_000)
        .prop_map(|(count, start)| {
            (start..start + count)
                .map(|i| format!("e{i}").into_bytes())
                .collect()
        })
        .boxed()
}

/// PFDEBUG subcommands, mostly the cheap ones (GETREG replies 16384 integers).
fn pfdebug_sub() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => word(&["ENCODING", "encoding", "DECODE", "TODENSE"]),
        1 => word(&["GETREG", "nosuch"]),
    ]
    .boxed()
}

/// A 16-byte header: magic, encoding byte, unused bytes, and a cache valid or stale.
fn header(magic: &[u8], encoding: u8, card: [u8; 8]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.push(encoding);
    bytes.extend_from_slice(&[0, 0, 0]);
    bytes.extend_from_slice(&card);
    bytes
}

/// Dense registers from a seed (a simple LCG: every byte value shows up).
fn dense_registers(seed: u64, mask: u8) -> Vec<u8> {
    let mut state = seed | 1;
    (0..DENSE_BYTES)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8 & mask
        })
        .collect()
}

/// Strings that are, or almost are, HLLs.
fn hll_string() -> BoxedStrategy<Vec<u8>> {
    let stale = [0, 0, 0, 0, 0, 0, 0, 0x80];
    let cached = [5, 0, 0, 0, 0, 0, 0, 0];
    let card = select(vec![stale, cached]);
    prop_oneof![
        // Valid sparse HLLs: all zeros, and a few VAL opcodes between zero runs.
        2 => card.clone().prop_map(|c| {
            let mut s = header(b"HYLL", 1, c);
            s.extend_from_slice(&[0x7f, 0xff]);
            s
        }),
        2 => (card.clone(), select(vec![0x80u8, 0x84, 0x8b, 0xfc, 0xff]))
            .prop_map(|(c, val)| {
                let mut s = header(b"HYLL", 1, c);
                // XZERO:100, VAL, XZERO:16384-100-len.
                let len = usize::from(val & 3) + 1;
                let rest = 16384 - 100 - len - 1;
                s.extend_from_slice(&[0x40, 99, val, 0x40 | (rest >> 8) as u8, rest as u8]);
                s
            }),
        // Sparse opcodes covering too few or too many registers, or random ones.
        2 => (card.clone(), prop::collection::vec(any::<u8>(), 0..24)).prop_map(|(c, ops)| {
            let mut s = header(b"HYLL", 1, c);
            s.extend_from_slice(&complete_opcodes(ops));
            s
        }),
        1 => card.clone().prop_map(|c| {
            let mut s = header(b"HYLL", 1, c);
            s.extend_from_slice(&[0x7f, 0xff, 0x00]);
            s
        }),
        1 => card.clone().prop_map(|c| {
            let mut s = header(b"HYLL", 1, c);
            s.extend_from_slice(&[0x7f, 0xfd, 0x80]);
            s
        }),
        // Dense: any 6-bit registers (the mask 0xff also sets values above 51), stale cache.
        2 => (card.clone(), any::<u64>(), select(vec![0x00u8, 0x11, 0x3f, 0xff]))
            .prop_map(|(c, seed, mask)| {
                let mut s = header(b"HYLL", 0, c);
                s.extend(dense_registers(seed, mask));
                s
            }),
        // Not HLLs: short, bad magic, unknown encoding, dense of the wrong length.
        1 => select(vec![
            b"HYLL".to_vec(),
            header(b"HYLX", 1, [0; 8]),
            header(b"HYLL", 2, [0; 8]),
            header(b"HYLL", 0, [0; 8]),
            header(b"hyll", 1, [0; 8]),
        ]),
    ]
    .boxed()
}

/// Random sparse opcodes, with a final XZERO (`01xxxxxx yyyyyyyy`) that lacks its second byte
/// completed by a zero. Redis reads that missing byte from the sds terminator, and once a PFADD
/// splits such an opcode it writes past the string's end, into memory later commands read but
/// no stored string can hold: a difference no port can reproduce, so it is not generated.
fn complete_opcodes(mut ops: Vec<u8>) -> Vec<u8> {
    let mut p = 0;
    while p < ops.len() {
        p += if ops[p] & 0xc0 == 0x40 { 2 } else { 1 };
    }
    if p > ops.len() {
        ops.push(0);
    }
    ops
}

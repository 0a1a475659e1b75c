//! Bitmap commands over the same keys string commands write: SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO, plus SET/APPEND/GET so bits meet arbitrary bytes.

use proptest::prelude::*;

use super::{index, integer, key, keys, value, with, word, words, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        5 => (key(), bit_offset(), word(&["0", "1", "1", "2"]))
            .prop_map(|(k, o, b)| cmd!["SETBIT", k, o, b]),
        3 => (key(), bit_offset()).prop_map(|(k, o)| cmd!["GETBIT", k, o]),
        3 => (key(), range_options(2)).prop_map(|(k, o)| with(cmd!["BITCOUNT", k], o)),
        3 => (key(), word(&["0", "1", "1", "2"]), range_options(2))
            .prop_map(|(k, b, o)| with(cmd!["BITPOS", k, b], o)),
        3 => bitop(),
        3 => (key(), prop::collection::vec(bitfield_op(true), 1..=4))
            .prop_map(|(k, ops)| with(cmd!["BITFIELD", k], ops.concat())),
        2 => (key(), prop::collection::vec(bitfield_op(false), 1..=3))
            .prop_map(|(k, ops)| with(cmd!["BITFIELD_RO", k], ops.concat())),
        2 => (key(), bytes()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => (key(), bytes()).prop_map(|(k, v)| cmd!["APPEND", k, v]),
        2 => key().prop_map(|k| cmd!["GET", k]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
    ]
    .boxed()
}

/// Bit offsets: mostly inside the first few bytes, some further out, some invalid. The largest
/// valid offset (2^32-1) would allocate 512 MB on both servers, so it is left out.
fn bit_offset() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => (0u32..48).prop_map(|o| o.to_string().into_bytes()),
        1 => word(&["100", "1000", "8191", "-1", "4294967296", "abc"]),
    ]
    .boxed()
}

/// `[start end [BYTE|BIT]]` with the occasional malformed tail.
fn range_options(max_numbers: usize) -> BoxedStrategy<Vec<Vec<u8>>> {
    let numbers = prop::collection::vec(index(), 0..=max_numbers);
    let unit = prop::option::weighted(0.4, word(&["BYTE", "BIT", "bit", "WORD"]));
    (numbers, unit)
        .prop_map(|(mut args, unit)| {
            args.extend(unit);
            args
        })
        .boxed()
}

fn bitop() -> BoxedStrategy<Cmd> {
    prop_oneof![
        4 => (word(&["AND", "OR", "XOR"]), key(), keys(1..=3))
            .prop_map(|(op, dest, srcs)| with(cmd!["BITOP", op, dest], srcs)),
        2 => (key(), keys(1..=2)).prop_map(|(dest, srcs)| with(cmd!["BITOP", "NOT", dest], srcs)),
        1 => (key(), key()).prop_map(|(dest, src)| cmd!["BITOP", "NAND", dest, src]),
    ]
    .boxed()
}

/// One BITFIELD subcommand; with `writes` false only what BITFIELD_RO accepts, plus a rare SET
/// that BITFIELD_RO must reject.
fn bitfield_op(writes: bool) -> BoxedStrategy<Vec<Vec<u8>>> {
    let get = (field_type(), field_offset()).prop_map(|(t, o)| vec![b"GET".to_vec(), t, o]);
    let set = (field_type(), field_offset(), integer())
        .prop_map(|(t, o, v)| vec![b"SET".to_vec(), t, o, v]);
    if !writes {
        return prop_oneof![8 => get, 1 => set].boxed();
    }
    let incrby = (field_type(), field_offset(), integer())
        .prop_map(|(t, o, v)| vec![b"INCRBY".to_vec(), t, o, v]);
    let overflow =
        word(&["WRAP", "SAT", "FAIL", "BOGUS"]).prop_map(|w| vec![b"OVERFLOW".to_vec(), w]);
    prop_oneof![3 => get, 3 => set, 3 => incrby, 2 => overflow, 1 => words(&["GET", "i8"], 2)]
        .boxed()
}

fn field_type() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "i1", "i4", "i8", "i16", "i32", "i63", "i64", "u1", "u3", "u8", "u16", "u32", "u63", "u64",
        "x8",
    ])
}

/// Bit offsets or `#N` field-index offsets, kept small.
fn field_offset() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => (0u32..40).prop_map(|o| o.to_string().into_bytes()),
        2 => (0u32..6).prop_map(|o| format!("#{o}").into_bytes()),
        1 => word(&["-1", "#-1", "abc", "1000"]),
    ]
    .boxed()
}

/// Values with many set bits as well as ordinary strings.
fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        2 => value(),
        1 => prop::collection::vec(prop::sample::select(vec![0u8, 0xff, 0x0f, 0x80, 0x01]), 0..6),
    ]
    .boxed()
}

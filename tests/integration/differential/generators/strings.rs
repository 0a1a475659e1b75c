//! String commands: SET and its options, the GET family, MSET/MGET, ranges, counters, LCS.

use proptest::prelude::*;
use proptest::sample::select;

use super::{index, integer, key, keys, rel_millis, rel_seconds, value, with, word, words, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        6 => (key(), value(), set_options(ctx)).prop_map(|(k, v, o)| with(cmd!["SET", k, v], o)),
        4 => key().prop_map(|k| cmd!["GET", k]),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["GETSET", k, v]),
        1 => key().prop_map(|k| cmd!["GETDEL", k]),
        2 => (key(), getex_options(ctx)).prop_map(|(k, o)| with(cmd!["GETEX", k], o)),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SETNX", k, v]),
        1 => (key(), rel_seconds(), value()).prop_map(|(k, t, v)| cmd!["SETEX", k, t, v]),
        1 => (key(), rel_millis(), value()).prop_map(|(k, t, v)| cmd!["PSETEX", k, t, v]),
        2 => (word(&["MSET", "MSETNX"]), pairs()).prop_map(|(c, kv)| with(cmd![c], kv)),
        2 => keys(1..=4).prop_map(|ks| with(cmd!["MGET"], ks)),
        3 => (key(), value()).prop_map(|(k, v)| cmd!["APPEND", k, v]),
        1 => key().prop_map(|k| cmd!["STRLEN", k]),
        2 => (key(), offset(), value()).prop_map(|(k, o, v)| cmd!["SETRANGE", k, o, v]),
        2 => (word(&["GETRANGE", "SUBSTR"]), key(), index(), index())
            .prop_map(|(c, k, s, e)| cmd![c, k, s, e]),
        3 => (word(&["INCR", "DECR"]), key()).prop_map(|(c, k)| cmd![c, k]),
        2 => (word(&["INCRBY", "DECRBY"]), key(), integer()).prop_map(|(c, k, n)| cmd![c, k, n]),
        2 => (key(), float_increment()).prop_map(|(k, n)| cmd!["INCRBYFLOAT", k, n]),
        1 => (key(), key(), lcs_options()).prop_map(|(a, b, o)| with(cmd!["LCS", a, b], o)),
    ]
    .boxed()
}

/// Either a well-formed SET option list or a soup of option words (which must fail alike).
fn set_options(ctx: &GenCtx) -> BoxedStrategy<Vec<Vec<u8>>> {
    let condition = prop::option::of(word(&["NX", "XX"]));
    let get = any::<bool>();
    let expiry = prop::option::of(expiry(ctx, false));
    let well_formed = (condition, get, expiry).prop_map(|(condition, get, expiry)| {
        let mut args: Vec<Vec<u8>> = condition.into_iter().collect();
        if get {
            args.push(b"GET".to_vec());
        }
        args.extend(expiry.unwrap_or_default());
        args
    });
    prop_oneof![
        8 => well_formed,
        1 => words(&["NX", "XX", "GET", "KEEPTTL", "EX", "PX", "PERSIST", "100"], 3),
    ]
    .boxed()
}

/// Expiry options; `past` allows absolute times in the past (see [`GenCtx::abs_seconds`]).
fn expiry(ctx: &GenCtx, past: bool) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        rel_seconds().prop_map(|t| vec![b"EX".to_vec(), t]),
        rel_millis().prop_map(|t| vec![b"PX".to_vec(), t]),
        ctx.abs_seconds(past)
            .prop_map(|t| vec![b"EXAT".to_vec(), t]),
        ctx.abs_millis(past).prop_map(|t| vec![b"PXAT".to_vec(), t]),
        Just(vec![b"KEEPTTL".to_vec()]),
    ]
    .boxed()
}

fn getex_options(ctx: &GenCtx) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        2 => Just(Vec::new()),
        3 => expiry(ctx, true).prop_filter("KEEPTTL is not a GETEX option", |o| o[0] != b"KEEPTTL"),
        1 => Just(vec![b"PERSIST".to_vec()]),
        1 => words(&["EX", "PERSIST", "KEEPTTL", "100"], 3),
    ]
    .boxed()
}

fn pairs() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        8 => prop::collection::vec((key(), value()), 1..=3)
            .prop_map(|kvs| kvs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        // An odd argument count is an arity error.
        1 => key().prop_map(|k| vec![k]),
    ]
    .boxed()
}

/// SETRANGE offsets: small, a gap past the end, and invalid. Large offsets would make both
/// servers allocate the padding, so they stay modest.
fn offset() -> BoxedStrategy<Vec<u8>> {
    word(&["0", "1", "3", "7", "20", "100", "-1", "abc", "536870912"])
}

/// Increments exact in binary floating point, so results do not depend on the precision of the
/// arithmetic; the hand-written test covers decimal fractions.
fn float_increment() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "1", "-1", "0.5", "2.25", "-0.125", "10", "1e2", "1.5e1", "abc", "inf", "-inf", "",
    ])
}

fn lcs_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let flags = words(&["LEN", "IDX", "WITHMATCHLEN"], 2);
    let min_len = prop::option::of(select(vec!["0", "1", "2", "x"]));
    (flags, min_len)
        .prop_map(|(mut flags, min_len)| {
            if let Some(n) = min_len {
                flags.extend([b"MINMATCHLEN".to_vec(), n.as_bytes().to_vec()]);
            }
            flags
        })
        .boxed()
}

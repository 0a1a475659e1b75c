//! Hash commands over the shared key space, with a few string and keyspace commands on the same
//! keys (WRONGTYPE, RENAME / COPY of hashes).
//!
//! Fields come from a small pool so that writes collide; values include ones longer than
//! `hash-max-listpack-value` (64) and a long field, which convert a hash to Redis's hash table.
//! A converted hash replies in hash-table order, which the generator cannot predict, so HGETALL,
//! HKEYS, HVALS and HRANDFIELD with a count covering the whole hash are compared unordered; the
//! hand-written tests check the listpack (insertion) order exactly. HRANDFIELD is otherwise only
//! drawn where its reply is deterministic: counts of 0, the whole hash, or invalid ones.
//! OBJECT ENCODING is left to the hand-written test: in the `mixed` run it would also meet
//! strings built by APPEND / SETRANGE / SETBIT, whose "raw" encoding rockslot does not record.

use proptest::prelude::*;

use super::{integer, key, value, with, word, GenCtx};
use crate::differential::{cmd, Check, Cmd};

/// A field longer than `hash-max-listpack-value`.
const LONG_FIELD: &str =
    "a-field-name-that-is-longer-than-sixty-four-bytes-so-it-converts-the-hash";

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        6 => (word(&["HSET", "HMSET"]), key(), pairs()).prop_map(|(c, k, p)| with(cmd![c, k], p)),
        2 => (key(), field(), hash_value()).prop_map(|(k, f, v)| cmd!["HSETNX", k, f, v]),
        4 => (key(), field()).prop_map(|(k, f)| cmd!["HGET", k, f]),
        2 => (key(), fields(1..=3)).prop_map(|(k, f)| with(cmd!["HMGET", k], f)),
        3 => (key(), fields(1..=3)).prop_map(|(k, f)| with(cmd!["HDEL", k], f)),
        2 => key().prop_map(|k| cmd!["HLEN", k]),
        1 => (key(), field()).prop_map(|(k, f)| cmd!["HEXISTS", k, f]),
        1 => (key(), field()).prop_map(|(k, f)| cmd!["HSTRLEN", k, f]),
        2 => key().prop_map(|k| cmd!["HGETALL", k].checked(Check::UnorderedPairs)),
        1 => (word(&["HKEYS", "HVALS"]), key())
            .prop_map(|(c, k)| cmd![c, k].checked(Check::Unordered)),
        3 => (key(), field(), integer()).prop_map(|(k, f, n)| cmd!["HINCRBY", k, f, n]),
        2 => (key(), field(), float_increment())
            .prop_map(|(k, f, n)| cmd!["HINCRBYFLOAT", k, f, n]),
        2 => (key(), word(&["0", "0", "x"]), scan_options())
            .prop_map(|(k, c, o)| with(cmd!["HSCAN", k, c], o)),
        2 => (key(), hrandfield_options()).prop_map(|(k, (o, check))| {
            with(cmd!["HRANDFIELD", k], o).checked(check)
        }),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["GET", k]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["RENAME", a, b]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["COPY", a, b, "REPLACE"]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
    ]
    .boxed()
}

fn field() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => word(&["a", "b", "c", "f1", "f2", "n", ""]),
        1 => Just(LONG_FIELD.as_bytes().to_vec()),
    ]
    .boxed()
}

fn fields(count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(field(), count).boxed()
}

/// Values: the shared string values (one is past 64 bytes), numbers, and the exact listpack
/// value limit and one byte past it.
fn hash_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => value(),
        2 => word(&["0", "5", "-3", "2.5", "1e3", "9223372036854775807"]),
        1 => prop_oneof![Just(vec![b'v'; 64]), Just(vec![b'v'; 65])],
    ]
    .boxed()
}

fn pairs() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        8 => prop::collection::vec((field(), hash_value()), 1..=3)
            .prop_map(|fvs| fvs.into_iter().flat_map(|(f, v)| [f, v]).collect()),
        // An odd argument count is an arity error.
        1 => field().prop_map(|f| vec![f]),
    ]
    .boxed()
}

/// Increments exact in binary floating point (see the strings generator), and invalid ones.
fn float_increment() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "1", "-1", "0.5", "2.25", "-0.125", "10", "1e2", "abc", "inf", "-inf", "",
    ])
}

fn scan_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        3 => Just(Vec::new()),
        2 => word(&["*", "f*", "?", "[ab]", "z*"]).prop_map(|p| vec![b"MATCH".to_vec(), p]),
        2 => word(&["1", "2", "100", "0", "-1", "x"]).prop_map(|n| vec![b"COUNT".to_vec(), n]),
        1 => word(&["TYPE", "NOVALUES", "MATCH"]).prop_map(|w| vec![w]),
    ]
    .boxed()
}

/// HRANDFIELD arguments whose reply does not depend on chance, and how to compare it.
fn hrandfield_options() -> BoxedStrategy<(Vec<Vec<u8>>, Check)> {
    let count = word(&[
        "0",
        "100",
        "9223372036854775807",
        "-9223372036854775807",
        "-9223372036854775808",
        "abc",
    ]);
    let flag = prop_oneof![
        3 => Just(None),
        3 => Just(Some(b"WITHVALUES".to_vec())),
        1 => Just(Some(b"withvalues".to_vec())),
        1 => Just(Some(b"WITHSCORES".to_vec())),
    ];
    (count, flag)
        .prop_filter(
            "a huge negative count without WITHVALUES would draw billions of fields",
            |(count, flag)| !(count.as_slice() == b"-9223372036854775807" && flag.is_none()),
        )
        .prop_map(|(count, flag)| {
            let check = if flag.is_some() {
                Check::UnorderedPairs
            } else {
                Check::Unordered
            };
            let mut args = vec![count];
            args.extend(flag);
            (args, check)
        })
        .boxed()
}

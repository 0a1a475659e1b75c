//! Set commands over the shared key space, with a few string commands on the same keys
//! (WRONGTYPE, and sets replaced by strings).
//!
//! Members come from a small pool mixing integers (intset members) with strings and numbers
//! `string2ll` rejects, so sets are created in both encodings and intsets convert; an occasional
//! SADD of more than `set-max-intset-entries` integers converts by size. A hashtable-encoded set
//! replies in Redis's hash-table order, which the generator cannot predict, so replies listing
//! members are compared unordered (OBJECT ENCODING checks the encodings exactly). The random
//! commands are only drawn where their reply is deterministic: SPOP and SRANDMEMBER counts of 0,
//! counts covering the whole set, and invalid counts.

use proptest::prelude::*;

use super::{element_scan_options, key, keys, value, with, word, words, GenCtx};
use crate::differential::{cmd, Check, Cmd};

/// More members than `set-max-intset-entries` (512).
const BIG: i64 = 520;

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        8 => (key(), members(1..=4)).prop_map(|(k, m)| with(cmd!["SADD", k], m)),
        1 => key().prop_map(|k| {
            with(cmd!["SADD", k], (0..BIG).map(|i| i.to_string().into_bytes()).collect())
        }),
        4 => (key(), members(1..=3)).prop_map(|(k, m)| with(cmd!["SREM", k], m)),
        2 => key().prop_map(|k| cmd!["SCARD", k]),
        2 => (key(), member()).prop_map(|(k, m)| cmd!["SISMEMBER", k, m]),
        2 => (key(), members(1..=3)).prop_map(|(k, m)| with(cmd!["SMISMEMBER", k], m)),
        3 => key().prop_map(|k| cmd!["SMEMBERS", k].checked(Check::Unordered)),
        2 => (key(), key(), member()).prop_map(|(s, d, m)| cmd!["SMOVE", s, d, m]),
        3 => (word(&["SINTER", "SUNION", "SDIFF"]), keys(1..=3))
            .prop_map(|(c, ks)| with(cmd![c], ks).checked(Check::Unordered)),
        3 => (word(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key(), keys(1..=3))
            .prop_map(|(c, d, ks)| with(cmd![c, d], ks)),
        2 => sintercard(),
        2 => (key(), word(&["0", "0", "0", "x"]), element_scan_options(&["*", "1*", "[ab]", "-*", "x"]))
            .prop_map(|(k, c, o)| with(cmd!["SSCAN", k, c], o)),
        2 => (word(&["SPOP", "SRANDMEMBER"]), key(), whole_counts())
            .prop_map(|(c, k, n)| cmd![c, k, n].checked(Check::Unordered)),
        2 => key().prop_map(|k| cmd!["OBJECT", "ENCODING", k]),
        // Strings on the same keys: WRONGTYPE both ways, and sets replaced by SET.
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["GET", k]),
        1 => key().prop_map(|k| cmd!["TYPE", k]),
    ]
    .boxed()
}

/// Integers (some at the edges of i64) and members an intset cannot hold.
fn member() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "1",
        "2",
        "3",
        "-7",
        "42",
        "9223372036854775807",
        "-9223372036854775808",
        "a",
        "b",
        "x",
        "",
        "01",
        "1.5",
        "9223372036854775808",
    ])
}

fn members(count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(member(), count).boxed()
}

/// SPOP / SRANDMEMBER counts with a deterministic reply: none, more than any set holds, or
/// invalid for both (other negative counts are valid for SRANDMEMBER, but random).
fn whole_counts() -> BoxedStrategy<Vec<u8>> {
    word(&["0", "1000", "x", "1.5", "-9223372036854775808"])
}

/// SINTERCARD numkeys key... [LIMIT n], with numkeys sometimes wrong and odd LIMIT arguments.
fn sintercard() -> BoxedStrategy<Cmd> {
    let numkeys = prop_oneof![
        6 => Just(None),
        1 => word(&["0", "-1", "x", "5"]).prop_map(Some),
    ];
    let limit = prop_oneof![
        3 => Just(Vec::new()),
        3 => word(&["0", "1", "2", "-1", "x"]).prop_map(|n| vec![b"LIMIT".to_vec(), n]),
        1 => words(&["LIMIT", "FOO", "1"], 2),
    ];
    (numkeys, keys(1..=3), limit)
        .prop_map(|(numkeys, ks, limit)| {
            let n = numkeys.unwrap_or_else(|| ks.len().to_string().into_bytes());
            with(with(cmd!["SINTERCARD", n], ks), limit)
        })
        .boxed()
}

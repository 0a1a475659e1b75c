//! Sorted set commands over the shared key space, with a few set and string commands on the
//! same keys (sets are valid inputs of ZUNION / ZINTER / ZDIFF; strings are WRONGTYPE).
//!
//! Members come from a small pool mixing integers, floats, strings, the empty string and members
//! of exactly 64 and 65 bytes (the second one converts a listpack), and an occasional ZADD of 130
//! members converts by size. Scores repeat a lot (equal scores order by member) and include
//! -0, ±inf, exponents, hexadecimal and invalid texts. Range bounds, LIMIT arguments, weights
//! and option words mix valid and invalid values and conflicting combinations.
//!
//! Lexicographical ranges are only meaningful on a set whose scores are all equal: Redis's
//! answer for mixed scores depends on its skiplist's random levels. They therefore go to one
//! key of their own, [`LEX`], which only ever gets members with score 0 (ZADD 0, removals,
//! pops and ZRANGESTORE from itself). ZRANDMEMBER is drawn only in deterministic forms: count
//! 0, a count larger than any set (the whole set, highest score first), and invalid counts.

use proptest::prelude::*;

use super::{element_scan_options, index, key, keys, value, with, word, words, GenCtx};
use crate::differential::{cmd, Cmd};

/// The key of the equal-score set the lexicographical commands use.
const LEX: &str = "zlex";

/// More members than `zset-max-listpack-entries` (128).
const BIG: usize = 130;

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        10 => zadd(),
        1 => key().prop_map(|k| {
            let mut args = Vec::new();
            for i in 0..BIG {
                args.push(((i % 7) as i64 - 3).to_string().into_bytes());
                args.push(format!("big{i}").into_bytes());
            }
            with(cmd!["ZADD", k], args)
        }),
        3 => (key(), score(), member()).prop_map(|(k, s, m)| cmd!["ZINCRBY", k, s, m]),
        4 => (key(), members(1..=3)).prop_map(|(k, m)| with(cmd!["ZREM", k], m)),
        2 => key().prop_map(|k| cmd!["ZCARD", k]),
        2 => (key(), member()).prop_map(|(k, m)| cmd!["ZSCORE", k, m]),
        2 => (key(), members(1..=3)).prop_map(|(k, m)| with(cmd!["ZMSCORE", k], m)),
        3 => (word(&["ZRANK", "ZREVRANK"]), key(), member())
            .prop_map(|(c, k, m)| cmd![c, k, m]),
        6 => zrange(),
        3 => (word(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), key(), bound(), bound(), options())
            .prop_map(|(c, k, a, b, o)| with(cmd![c, k, a, b], o)),
        2 => (key(), index(), index(), words(&["WITHSCORES", "LIMIT", "1"], 2))
            .prop_map(|(k, a, b, o)| with(cmd!["ZREVRANGE", k, a, b], o)),
        2 => (key(), bound(), bound()).prop_map(|(k, a, b)| cmd!["ZCOUNT", k, a, b]),
        2 => (key(), index(), index()).prop_map(|(k, a, b)| cmd!["ZREMRANGEBYRANK", k, a, b]),
        2 => (key(), bound(), bound()).prop_map(|(k, a, b)| cmd!["ZREMRANGEBYSCORE", k, a, b]),
        3 => (word(&["ZPOPMIN", "ZPOPMAX"]), key(), prop::option::of(count()))
            .prop_map(|(c, k, n)| with(cmd![c, k], n.into_iter().collect())),
        2 => zmpop(),
        2 => (key(), word(&["0", "100000", "x", "-9223372036854775808", "4611686018427387904"]),
              prop::option::of(word(&["WITHSCORES", "withscores", "FOO"])))
            .prop_map(|(k, n, w)| with(cmd!["ZRANDMEMBER", k, n], w.into_iter().collect())),
        5 => algebra(),
        2 => zintercard(),
        2 => (key(), word(&["0", "0", "0", "x"]), element_scan_options(&["*", "m*", "[ab]", "big1*", "x"]))
            .prop_map(|(k, c, o)| with(cmd!["ZSCAN", k, c], o)),
        6 => lex(),
        2 => key().prop_map(|k| cmd!["OBJECT", "ENCODING", k]),
        // Plain sets as inputs of the algebra, and strings on the same keys.
        2 => (key(), members(1..=3)).prop_map(|(k, m)| with(cmd!["SADD", k], m)),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["TYPE", k]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
    ]
    .boxed()
}

/// Members: integers, floats, strings, the empty member, and 64 / 65-byte members.
fn member() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "a",
        "b",
        "c",
        "m1",
        "m2",
        "m10",
        "1",
        "2",
        "-3",
        "1.5",
        "",
        "x y",
        "\u{0}z",
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL",
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLM",
    ])
}

fn members(count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(member(), count).boxed()
}

/// Scores, many equal, the special values and a few invalid texts.
fn score() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["0", "1", "1", "2", "-1", "3", "1.5", "-0", "0.1"]),
        3 => word(&[
            "inf", "-inf", "+inf", "1e3", "-2.5e-3", "1e308", "4503599627370497", "0x10",
            "123456789.123", "-9223372036854775808",
        ]),
        1 => word(&["nan", "abc", "", "1 ", "(1"]),
    ]
    .boxed()
}

/// Score range bounds: inclusive, exclusive, infinite and invalid. An out-of-range bound like
/// `1e400` is left to the hand-written tests: Redis's strtod leaves `errno` at ERANGE, and its
/// SORT reads that stale `errno` later, so in `mixed` sequences it would fail an unrelated SORT.
fn bound() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "-inf", "+inf", "inf", "0", "1", "(1", "2", "(2", "1.5", "-1", "(-inf", "(inf", "3", "-0",
        "(0", "abc", "(", "", "nan",
    ])
}

fn count() -> BoxedStrategy<Vec<u8>> {
    word(&["0", "1", "2", "5", "200", "-1", "x"])
}

/// WITHSCORES / LIMIT options for the score and lex ranges, sometimes broken.
fn options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let limit = prop_oneof![
        4 => Just(Vec::new()),
        4 => (word(&["0", "1", "2", "-1", "x"]), word(&["-1", "0", "1", "3", "-5", "x"]))
            .prop_map(|(o, c)| vec![b"LIMIT".to_vec(), o, c]),
        1 => Just(vec![b"LIMIT".to_vec(), b"1".to_vec()]),
    ];
    let scores = prop_oneof![3 => Just(false), 2 => Just(true)];
    let junk = prop_oneof![8 => Just(None), 1 => word(&["FOO", "REV", "BYSCORE"]).prop_map(Some)];
    (limit, scores, junk)
        .prop_map(|(limit, scores, junk)| {
            let mut args = Vec::new();
            if scores {
                args.push(b"WITHSCORES".to_vec());
            }
            args.extend(limit);
            args.extend(junk);
            args
        })
        .boxed()
}

fn zadd() -> BoxedStrategy<Cmd> {
    let flags = prop_oneof![
        4 => Just(Vec::new()),
        4 => words(&["NX", "XX", "GT", "LT", "CH", "INCR"], 1),
        2 => words(&["NX", "XX", "GT", "LT", "CH", "INCR", "ch"], 3),
    ];
    let pairs = prop::collection::vec((score(), member()), 1..=4);
    let broken = prop_oneof![12 => Just(None), 1 => member().prop_map(Some)];
    (key(), flags, pairs, broken)
        .prop_map(|(k, flags, pairs, broken)| {
            let mut args = flags;
            for (s, m) in pairs {
                args.push(s);
                args.push(m);
            }
            args.extend(broken);
            with(cmd!["ZADD", k], args)
        })
        .boxed()
}

/// ZRANGE and ZRANGESTORE with rank or score ranges and their options.
fn zrange() -> BoxedStrategy<Cmd> {
    let by_rank = (
        index(),
        index(),
        words(&["REV", "WITHSCORES", "LIMIT", "0", "-1"], 3),
    )
        .prop_map(|(a, b, o)| {
            let mut args = vec![a, b];
            args.extend(o);
            args
        });
    let by_score = (bound(), bound(), prop::bool::ANY, options()).prop_map(|(a, b, rev, o)| {
        let mut args = vec![a, b, b"BYSCORE".to_vec()];
        if rev {
            args.push(b"REV".to_vec());
        }
        args.extend(o);
        args
    });
    let range = prop_oneof![by_rank, by_score];
    let store = prop::option::of(key());
    (store, key(), range)
        .prop_map(|(store, k, range)| match store {
            Some(dst) => with(
                cmd!["ZRANGESTORE", dst, k],
                range
                    .into_iter()
                    .filter(|a| a.as_slice() != b"WITHSCORES")
                    .collect(),
            ),
            None => with(cmd!["ZRANGE", k], range),
        })
        .boxed()
}

fn zmpop() -> BoxedStrategy<Cmd> {
    let numkeys = prop_oneof![6 => Just(None), 1 => word(&["0", "-1", "x", "5"]).prop_map(Some)];
    let count = prop_oneof![
        3 => Just(Vec::new()),
        3 => count().prop_map(|n| vec![b"COUNT".to_vec(), n]),
        1 => words(&["COUNT", "1", "FOO"], 3),
    ];
    (
        numkeys,
        keys(1..=3),
        word(&["MIN", "MAX", "max", "MID"]),
        count,
    )
        .prop_map(|(numkeys, ks, side, count)| {
            let n = numkeys.unwrap_or_else(|| ks.len().to_string().into_bytes());
            let mut args = ks;
            args.push(side);
            args.extend(count);
            with(cmd!["ZMPOP", n], args)
        })
        .boxed()
}

/// ZUNION / ZINTER / ZDIFF and their *STORE variants, with WEIGHTS, AGGREGATE and WITHSCORES.
fn algebra() -> BoxedStrategy<Cmd> {
    let numkeys = prop_oneof![8 => Just(None), 1 => word(&["0", "-1", "x", "9"]).prop_map(Some)];
    let weights = prop_oneof![
        3 => Just(None),
        2 => prop::collection::vec(word(&["1", "2", "0.5", "-1", "0", "inf", "1e308"]), 1..=3)
            .prop_map(Some),
        1 => prop::collection::vec(word(&["1", "x", "nan"]), 1..=3).prop_map(Some),
    ];
    let aggregate = prop::option::of(word(&["SUM", "MIN", "MAX", "max", "AVG"]));
    let with_scores = prop_oneof![1 => Just(false), 1 => Just(true)];
    (
        word(&[
            "ZUNION",
            "ZINTER",
            "ZDIFF",
            "ZUNIONSTORE",
            "ZINTERSTORE",
            "ZDIFFSTORE",
        ]),
        key(),
        numkeys,
        keys(1..=3),
        weights,
        aggregate,
        with_scores,
    )
        .prop_map(|(c, dst, numkeys, ks, weights, aggregate, with_scores)| {
            let store = c.ends_with(b"STORE");
            let mut cmd = cmd![c];
            if store {
                cmd.args.push(dst);
            }
            cmd.args
                .push(numkeys.unwrap_or_else(|| ks.len().to_string().into_bytes()));
            cmd.args.extend(ks);
            if let Some(weights) = weights {
                cmd.args.push(b"WEIGHTS".to_vec());
                cmd.args.extend(weights);
            }
            if let Some(aggregate) = aggregate {
                cmd.args.extend([b"AGGREGATE".to_vec(), aggregate]);
            }
            if with_scores {
                cmd.args.push(b"WITHSCORES".to_vec());
            }
            cmd
        })
        .boxed()
}

/// ZINTERCARD numkeys key... [LIMIT n].
fn zintercard() -> BoxedStrategy<Cmd> {
    let numkeys = prop_oneof![6 => Just(None), 1 => word(&["0", "-1", "x", "5"]).prop_map(Some)];
    let limit = prop_oneof![
        3 => Just(Vec::new()),
        3 => word(&["0", "1", "2", "-1", "x"]).prop_map(|n| vec![b"LIMIT".to_vec(), n]),
        1 => words(&["LIMIT", "FOO", "1"], 2),
    ];
    (numkeys, keys(1..=3), limit)
        .prop_map(|(numkeys, ks, limit)| {
            let n = numkeys.unwrap_or_else(|| ks.len().to_string().into_bytes());
            with(with(cmd!["ZINTERCARD", n], ks), limit)
        })
        .boxed()
}

/// Lexicographical members and bounds for [`LEX`].
fn lex_member() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "a",
        "aa",
        "ab",
        "b",
        "ba",
        "c",
        "m",
        "z",
        "",
        "A",
        "0",
        "1",
        "10",
        "\u{0}",
        "\u{7f}",
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLM",
    ])
}

fn lex_bound() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "-", "+", "[a", "(a", "[b", "(b", "[aa", "(ba", "[", "(", "[z", "(m", "[\u{0}", "a", "+x",
        "-",
    ])
}

/// Commands on [`LEX`]: equal scores only, the lexicographical commands, and the others that
/// keep it so.
fn lex() -> BoxedStrategy<Cmd> {
    let big = Just(()).prop_map(|_| {
        let mut args = Vec::new();
        for i in 0..BIG {
            args.push(b"0".to_vec());
            args.push(format!("lex{i:03}").into_bytes());
        }
        with(cmd!["ZADD", LEX], args)
    });
    prop_oneof![
        6 => prop::collection::vec(lex_member(), 1..=4).prop_map(|ms| {
            let mut args = Vec::new();
            for m in ms {
                args.push(b"0".to_vec());
                args.push(m);
            }
            with(cmd!["ZADD", LEX], args)
        }),
        1 => big,
        2 => prop::collection::vec(lex_member(), 1..=3)
            .prop_map(|ms| with(cmd!["ZREM", LEX], ms)),
        5 => (word(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), lex_bound(), lex_bound(), options())
            .prop_map(|(c, a, b, o)| with(cmd![c, LEX, a, b], o)),
        3 => (lex_bound(), lex_bound(), prop::bool::ANY, options(), prop::bool::ANY).prop_map(
            |(a, b, rev, o, store)| {
                let mut args = vec![a, b, b"BYLEX".to_vec()];
                if rev {
                    args.push(b"REV".to_vec());
                }
                args.extend(o);
                if store {
                    with(cmd!["ZRANGESTORE", LEX, LEX], args)
                } else {
                    with(cmd!["ZRANGE", LEX], args)
                }
            }
        ),
        2 => (lex_bound(), lex_bound()).prop_map(|(a, b)| cmd!["ZLEXCOUNT", LEX, a, b]),
        2 => (lex_bound(), lex_bound()).prop_map(|(a, b)| cmd!["ZREMRANGEBYLEX", LEX, a, b]),
        1 => (word(&["ZPOPMIN", "ZPOPMAX"]), count()).prop_map(|(c, n)| cmd![c, LEX, n]),
        1 => (index(), index()).prop_map(|(a, b)| cmd!["ZRANGE", LEX, a, b]),
        1 => Just(cmd!["OBJECT", "ENCODING", LEX]),
        1 => Just(cmd!["ZCARD", LEX]),
    ]
    .boxed()
}

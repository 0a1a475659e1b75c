//! List commands over the shared key space, with a few string and keyspace commands on the same
//! keys (WRONGTYPE, RENAME / COPY of lists, LMOVE between keys of different types).
//!
//! Elements come from a small pool so that LREM, LPOS and LINSERT find their pivots and
//! matches; indexes are small and mostly in range, with the i64 edges and non-numbers mixed in.
//! Every list reply is ordered, so everything is compared exactly.

use proptest::prelude::*;

use super::{index, integer, key, keys, value, with, word, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        6 => (word(&["LPUSH", "RPUSH"]), key(), elements(1..=4))
            .prop_map(|(c, k, e)| with(cmd![c, k], e)),
        2 => (word(&["LPUSHX", "RPUSHX"]), key(), elements(1..=2))
            .prop_map(|(c, k, e)| with(cmd![c, k], e)),
        3 => (word(&["LPOP", "RPOP"]), key(), pop_count())
            .prop_map(|(c, k, n)| with(cmd![c, k], n)),
        2 => key().prop_map(|k| cmd!["LLEN", k]),
        4 => (key(), index(), index()).prop_map(|(k, a, b)| cmd!["LRANGE", k, a, b]),
        2 => (key(), index()).prop_map(|(k, i)| cmd!["LINDEX", k, i]),
        2 => (key(), index(), element()).prop_map(|(k, i, e)| cmd!["LSET", k, i, e]),
        2 => (key(), index(), index()).prop_map(|(k, a, b)| cmd!["LTRIM", k, a, b]),
        3 => (key(), lrem_count(), element()).prop_map(|(k, n, e)| cmd!["LREM", k, n, e]),
        3 => (key(), word(&["BEFORE", "after", "AFTER", "middle"]), element(), element())
            .prop_map(|(k, w, p, e)| cmd!["LINSERT", k, w, p, e]),
        3 => (key(), element(), lpos_options()).prop_map(|(k, e, o)| with(cmd!["LPOS", k, e], o)),
        2 => (key(), key(), end_word(), end_word())
            .prop_map(|(a, b, f, t)| cmd!["LMOVE", a, b, f, t]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["RPOPLPUSH", a, b]),
        2 => lmpop().prop_map(|args| with(cmd!["LMPOP"], args)),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["GET", k]),
        1 => key().prop_map(|k| cmd!["TYPE", k]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["RENAME", a, b]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["COPY", a, b, "REPLACE"]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
    ]
    .boxed()
}

fn element() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["a", "b", "c", "1", "2", ""]),
        1 => value(),
    ]
    .boxed()
}

fn elements(count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(element(), count).boxed()
}

fn end_word() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["LEFT", "RIGHT", "left", "Right"]),
        1 => word(&["UP", ""]),
    ]
    .boxed()
}

/// LPOP / RPOP's optional count, with an extra argument now and then (an arity error).
fn pop_count() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        4 => Just(Vec::new()),
        4 => word(&["0", "1", "2", "3", "100", "-1", "x"]).prop_map(|n| vec![n]),
        1 => Just(vec![b"1".to_vec(), b"2".to_vec()]),
    ]
    .boxed()
}

fn lrem_count() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => word(&["0", "1", "2", "-1", "-2"]),
        1 => integer(),
    ]
    .boxed()
}

/// LPOS options: RANK, COUNT and MAXLEN with valid and invalid values, and stray words.
fn lpos_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let option = prop_oneof![
        3 => word(&["1", "2", "-1", "-2", "0", "-9223372036854775808", "x"])
            .prop_map(|n| vec![b"RANK".to_vec(), n]),
        3 => word(&["0", "1", "2", "-1", "x"]).prop_map(|n| vec![b"COUNT".to_vec(), n]),
        2 => word(&["0", "1", "3", "-1"]).prop_map(|n| vec![b"MAXLEN".to_vec(), n]),
        1 => word(&["RANK", "FOO"]).prop_map(|w| vec![w]),
    ];
    prop::collection::vec(option, 0..=3)
        .prop_map(|options| options.concat())
        .boxed()
}

/// LMPOP arguments: numkeys (sometimes wrong), keys, an end, and an optional COUNT.
fn lmpop() -> BoxedStrategy<Vec<Vec<u8>>> {
    let count = prop_oneof![
        3 => Just(Vec::new()),
        3 => word(&["1", "2", "100", "0", "-1", "x"]).prop_map(|n| vec![b"COUNT".to_vec(), n]),
        1 => Just(vec![b"COUNT".to_vec(), b"1".to_vec(), b"COUNT".to_vec(), b"1".to_vec()]),
        1 => Just(vec![b"COUNT".to_vec()]),
    ];
    let numkeys_offset = prop_oneof![8 => Just(0i64), 1 => Just(1), 1 => Just(-1)];
    (keys(1..=3), numkeys_offset, end_word(), count)
        .prop_map(|(keys, offset, end, count)| {
            let numkeys = keys.len() as i64 + offset;
            let mut args = vec![numkeys.to_string().into_bytes()];
            args.extend(keys);
            args.push(end);
            args.extend(count);
            args
        })
        .boxed()
}

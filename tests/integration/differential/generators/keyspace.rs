//! Keyspace commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, MOVE, SELECT,
//! KEYS, SCAN and DBSIZE, with TTLs riding along on renamed, copied and moved keys.

use proptest::prelude::*;

use super::{key, keys, value, with, word, words, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        5 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        2 => key().prop_map(|k| cmd!["GET", k]),
        2 => (word(&["DEL", "UNLINK", "EXISTS", "TOUCH"]), keys(1..=3))
            .prop_map(|(c, ks)| with(cmd![c], ks)),
        2 => key().prop_map(|k| cmd!["TYPE", k]),
        3 => (word(&["RENAME", "RENAMENX"]), key(), key()).prop_map(|(c, a, b)| cmd![c, a, b]),
        3 => (key(), key(), copy_options()).prop_map(|(a, b, o)| with(cmd!["COPY", a, b], o)),
        2 => (key(), db()).prop_map(|(k, db)| cmd!["MOVE", k, db]),
        1 => db().prop_map(|db| cmd!["SELECT", db]),
        2 => pattern().prop_map(|p| cmd!["KEYS", p]),
        2 => scan_options().prop_map(|o| with(cmd!["SCAN", "0"], o)),
        1 => Just(cmd!["DBSIZE"]),
        2 => (key(), ctx.abs_millis(true)).prop_map(|(k, t)| cmd!["PEXPIREAT", k, t]),
        2 => key().prop_map(|k| cmd!["PEXPIRETIME", k]),
        1 => key().prop_map(|k| cmd!["PERSIST", k]),
    ]
    .boxed()
}

/// Databases 0 and 1 mostly; 16 is out of range for the default `databases 16`.
fn db() -> BoxedStrategy<Vec<u8>> {
    word(&["0", "1", "1", "16", "-1", "x"])
}

fn copy_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let target_db = prop::option::of(db().prop_map(|db| vec![b"DB".to_vec(), db]));
    prop_oneof![
        6 => (target_db, any::<bool>()).prop_map(|(db, replace)| {
            let mut args = db.unwrap_or_default();
            if replace {
                args.push(b"REPLACE".to_vec());
            }
            args
        }),
        1 => words(&["DB", "REPLACE", "0"], 2),
    ]
    .boxed()
}

fn pattern() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "*", "k*", "k[0-2]", "*1", "?1", "k[!0]*", "k[^1-3]", "nomatch", "\\k*", "k?", "",
    ])
}

fn scan_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let pattern = prop::option::of(pattern().prop_map(|p| vec![b"MATCH".to_vec(), p]));
    let count = prop::option::of(
        word(&["1", "2", "10", "0", "x"]).prop_map(|c| vec![b"COUNT".to_vec(), c]),
    );
    let kind =
        prop::option::of(word(&["string", "list", "none"]).prop_map(|t| vec![b"TYPE".to_vec(), t]));
    (pattern, count, kind)
        .prop_map(|(p, c, t)| [p, c, t].into_iter().flatten().flatten().collect())
        .boxed()
}

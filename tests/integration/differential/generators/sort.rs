//! SORT and SORT_RO over lists, sets and sorted sets, with the weight and GET keys their
//! patterns point at.
//!
//! The sorted values live on their own keys, named after their type (`l*` lists, `s*` sets, `z*`
//! sorted sets), so the generator knows what each SORT reads even in the `mixed` run; a string
//! key and a missing key cover WRONGTYPE and the empty case. Elements come from a pool of
//! numbers, words, numbers `strtod` refuses, and (in lists) strings that differ only after a NUL
//! byte, which `strcoll` does not see. Weights are strings `w_<element>` and hash fields
//! `h_<element>->f` / `->g`, mostly numeric, sometimes not (the conversion error), sometimes of
//! the wrong type.
//!
//! No value overflows or underflows `strtod`: Redis's SORT tests `errno == ERANGE` without
//! clearing `errno` first, so after any out-of-range number (in any command of any client) its
//! numeric SORTs keep failing until something else resets `errno`, a state no other server can
//! reproduce. The first failure itself is compared in the hand-written tests.
//!
//! Redis reads sets, and sorted sets when it sorts them, in hash-table order. Where that order
//! shows (an unsorted set, or ALPHA weights from a BY pattern on a set or sorted set, whose ties
//! keep the input order), the reply is compared unordered and the command gets neither LIMIT
//! nor STORE, which would make the chosen elements themselves arbitrary. Everything else,
//! including ties on lists (Redis's merge sort and partial quicksort are ported), is exact.

use proptest::prelude::*;
use proptest::sample::select;

use super::{with, word, GenCtx};
use crate::differential::{cmd, Check, Cmd};

const LISTS: &[&str] = &["l0", "l1"];
const SETS: &[&str] = &["s0", "s1"];
const ZSETS: &[&str] = &["z0", "z1"];
/// SORT's sources: the typed keys, a string and a missing key.
const SOURCES: &[&str] = &["l0", "l1", "s0", "s1", "z0", "z1", "str", "none"];
const DESTINATIONS: &[&str] = &["d0", "d1", "l1"];

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        4 => (word(&["RPUSH", "LPUSH"]), word(LISTS), prop::collection::vec(list_element(), 1..=5))
            .prop_map(|(c, k, e)| with(cmd![c, k], e)),
        3 => (word(SETS), prop::collection::vec(element(), 1..=5))
            .prop_map(|(k, e)| with(cmd!["SADD", k], e)),
        3 => (word(ZSETS), prop::collection::vec((score(), element()), 1..=4)).prop_map(
            |(k, pairs)| with(cmd!["ZADD", k], pairs.into_iter().flat_map(|(s, e)| [s, e]).collect())
        ),
        4 => (list_element(), weight()).prop_map(|(e, w)| cmd!["SET", [b"w_", &e[..]].concat(), w]),
        3 => (list_element(), weight(), weight())
            .prop_map(|(e, f, g)| cmd!["HSET", [b"h_", &e[..]].concat(), "f", f, "g", g]),
        1 => list_element().prop_map(|e| cmd!["HSET", [b"w_", &e[..]].concat(), "f", "1"]),
        1 => list_element().prop_map(|e| cmd!["SET", [b"h_", &e[..]].concat(), "1"]),
        1 => Just(cmd!["SET", "str", "1"]),
        12 => sort(),
        2 => word(DESTINATIONS).prop_map(|d| cmd!["LRANGE", d, "0", "-1"]),
        1 => word(DESTINATIONS).prop_map(|d| cmd!["TYPE", d]),
        1 => word(DESTINATIONS).prop_map(|d| cmd!["TTL", d]),
        1 => word(DESTINATIONS).prop_map(|d| cmd!["EXPIRE", d, "1000"]),
        1 => word(ZSETS).prop_map(|k| cmd!["OBJECT", "ENCODING", k]),
        1 => word(SOURCES).prop_map(|k| cmd!["DEL", k]),
    ]
    .boxed()
}

/// Set and sorted-set members: numbers (some `strtod` refuses), words, non-ASCII bytes.
fn element() -> BoxedStrategy<Vec<u8>> {
    select(vec![
        &b"a"[..],
        b"b",
        b"c",
        b"B",
        b"1",
        b"2",
        b"10",
        b"-1",
        b"1.5",
        b" 3",
        b"",
        b"inf",
        b"nan",
        b"\xc3\xa9",
        b"\xff",
    ])
    .prop_map(<[u8]>::to_vec)
    .boxed()
}

/// List elements: the same, plus strings equal up to a NUL byte.
fn list_element() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => element(),
        1 => select(vec![&b"a\0b"[..], b"a\0c", b"a"]).prop_map(<[u8]>::to_vec),
    ]
    .boxed()
}

fn score() -> BoxedStrategy<Vec<u8>> {
    word(&["0", "1", "2", "-1", "1.5", "3", "inf"])
}

/// Weights: mostly numbers, sometimes text, empty, or numbers `strtod` refuses.
fn weight() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["1", "2", "3", "-3", "1.5", "10", "0", "-0", " 4", "1e2", "0x10", "inf"]),
        2 => word(&["a", "b", "B", "", "\u{e9}"]),
        1 => word(&["abc", "nan", "4 ", "  ", "3\u{0}x"]),
    ]
    .boxed()
}

/// BY patterns: weight strings and hash fields, constants ("do not sort"), and oddities.
fn by_pattern() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => word(&["w_*", "h_*->f", "h_*->g"]),
        3 => word(&["nosort", "#"]),
        1 => word(&["*", "w_*->", "h_*->x", "w_\u{0}*"]),
    ]
    .boxed()
}

fn get_pattern() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => word(&["#", "w_*", "h_*->f", "h_*->g"]),
        1 => word(&["nokey", "*", "h_*->", "h_*->x"]),
    ]
    .boxed()
}

fn limit() -> BoxedStrategy<Vec<Vec<u8>>> {
    let bound = prop_oneof![
        6 => word(&["0", "1", "2", "3", "-1", "10"]),
        1 => word(&["x", "9223372036854775807", "-9223372036854775808", "1.5"]),
    ];
    (bound.clone(), bound)
        .prop_map(|(a, b)| vec![b"LIMIT".to_vec(), a, b])
        .boxed()
}

/// One SORT / SORT_RO with its options in any order.
fn sort() -> BoxedStrategy<Cmd> {
    let parts = (
        word(&["SORT", "SORT", "SORT_RO"]),
        word(SOURCES),
        prop::option::of(by_pattern()),
        prop::option::of(limit()),
        prop::collection::vec(get_pattern(), 0..=2),
        prop::option::of(word(&["ASC", "DESC", "desc"])),
        any::<bool>(),
        prop::option::weighted(0.3, word(DESTINATIONS)),
        prop::option::weighted(0.05, word(&["FOO", "LIMIT", "BY", "STORE"])),
    );
    (parts, any::<prop::sample::Index>())
        .prop_map(
            |((command, source, by, limit, gets, order, alpha, store, junk), seed)| {
                let kind = source.first().copied().unwrap_or_default();
                let by_weights = by
                    .as_ref()
                    .is_some_and(|p| !p.contains(&0) && p.contains(&b'*'));
                // Where Redis's hash-table order shows, compare unordered and keep the choice of
                // elements deterministic (no LIMIT, no STORE).
                let arbitrary = (kind == b's' && by.is_some() && !by_weights && store.is_none())
                    || (matches!(kind, b's' | b'z') && alpha && by_weights);
                let (limit, store) = if arbitrary {
                    (None, None)
                } else {
                    (limit, store)
                };
                let mut clauses: Vec<Vec<Vec<u8>>> = Vec::new();
                clauses.extend(by.map(|p| vec![b"BY".to_vec(), p]));
                clauses.extend(limit);
                clauses.extend(gets.into_iter().map(|p| vec![b"GET".to_vec(), p]));
                clauses.extend(order.map(|o| vec![o]));
                if alpha {
                    clauses.push(vec![b"ALPHA".to_vec()]);
                }
                clauses.extend(store.map(|d| vec![b"STORE".to_vec(), d]));
                // A deterministic shuffle from the drawn index (Redis accepts options in any order).
                let n = clauses.len();
                if n > 1 {
                    let shift = seed.index(n);
                    clauses.rotate_left(shift);
                }
                // A stray word goes last, where it cannot take the next clause as its argument.
                clauses.extend(junk.map(|j| vec![j]));
                let cmd = with(cmd![command, source], clauses.concat());
                if arbitrary {
                    cmd.checked(Check::Unordered)
                } else {
                    cmd
                }
            },
        )
        .boxed()
}

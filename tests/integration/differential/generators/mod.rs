//! Command generators for the generated differential tests, one module per area.
//!
//! Every generator draws keys from the same small key space ([`KEYS`]) so that commands collide:
//! a SETBIT lands on a key an APPEND just grew, a RENAME moves a key with a TTL, an INCR meets a
//! value that is not a number. Argument pools mix valid values with the invalid ones Redis must
//! reject, so error replies are compared as well. Expiry times are either relative (at least 100
//! seconds, so nothing expires while a sequence runs, or non-positive, which deletes at once) or
//! absolute and days away from any relative one, so NX/XX/GT/LT decisions are the same on both
//! servers even though they run each command a moment apart.
//!
//! Adding an area (lists, hashes, ...) means adding a module with a `command` function here and
//! one name in the `generated_tests!` list of `differential::generated`.

pub mod bitmaps;
pub mod digest;
pub mod expire;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod keyspace;
pub mod lists;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod transactions;
pub mod zsets;

use proptest::prelude::*;
use proptest::sample::select;

use super::Cmd;
use crate::support::now_ms;

/// The shared key space; small on purpose.
pub const KEYS: &[&str] = &["k0", "k1", "k2", "k3", "k4"];

/// Inputs a generator needs that are fixed for a whole test run.
#[derive(Debug, Clone)]
pub struct GenCtx {
    /// A whole second about 30 days from now: absolute expiry times are built from it.
    pub future_s: i64,
}

impl GenCtx {
    pub fn now() -> GenCtx {
        GenCtx {
            future_s: now_ms() / 1000 + 30 * 24 * 3600,
        }
    }

    /// EXPIREAT / EXAT arguments: far future, invalid, and with `past` also past times.
    ///
    /// SET ... EXAT/PXAT with a past time leaves Redis 7.0 holding a logically expired key until
    /// something touches it or the active expire cycle finds it, and DBSIZE counts it until
    /// then: a race no comparison can settle. SET therefore only gets future times; the
    /// EXPIRE family and GETEX delete at once on a past time, so they get past ones too.
    pub fn abs_seconds(&self, past: bool) -> BoxedStrategy<Vec<u8>> {
        let f = self.future_s;
        let future = [f, f + 3600, f + 7200];
        // The epoch's first moments and a day in 2001.
        let past = if past {
            &["1", "0", "1000000000"][..]
        } else {
            &[]
        };
        absolute_times(&future, past, &["-5", "abc", "9223372036854775807"])
    }

    /// PEXPIREAT / PXAT arguments: like [`GenCtx::abs_seconds`], with millisecond parts.
    pub fn abs_millis(&self, past: bool) -> BoxedStrategy<Vec<u8>> {
        let f = self.future_s * 1000;
        let future = [f + 123, f + 3_600_007, f + 7_200_000];
        // The epoch's first moments and a day in 2023.
        let past = if past {
            &["1", "0", "1700000000000"][..]
        } else {
            &[]
        };
        absolute_times(&future, past, &["-5", "1.5", "9223372036854775807"])
    }
}

fn absolute_times(
    future: &[i64],
    past: &[&str],
    invalid: &'static [&'static str],
) -> BoxedStrategy<Vec<u8>> {
    let mut pool: Vec<String> = future.iter().map(i64::to_string).collect();
    pool.extend(past.iter().map(|t| t.to_string()));
    prop_oneof![
        6 => select(pool).prop_map(String::into_bytes),
        1 => word(invalid),
    ]
    .boxed()
}

/// Appends `extra` arguments to a command.
pub fn with(mut cmd: Cmd, extra: Vec<Vec<u8>>) -> Cmd {
    cmd.args.extend(extra);
    cmd
}

pub fn word(words: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    select(words).prop_map(|w| w.as_bytes().to_vec()).boxed()
}

/// Zero to `max` option words, repeats and conflicts included (those must fail alike).
pub fn words(words: &'static [&'static str], max: usize) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(word(words), 0..=max).boxed()
}

pub fn key() -> BoxedStrategy<Vec<u8>> {
    word(KEYS)
}

pub fn keys(count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(key(), count).boxed()
}

/// String values: numbers at the edges of i64 and of float parsing, binary bytes, a value past
/// the 44-byte embedded-string size, and short random strings.
pub fn value() -> BoxedStrategy<Vec<u8>> {
    const INTERESTING: &[&str] = &[
        "",
        "0",
        "1",
        "-1",
        "10",
        "42",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "1.5",
        "-0.25",
        "1e3",
        "abc",
        " 1",
        "01",
        "inf",
        "hello world",
        "\u{0}\u{7f}",
        "the quick brown fox jumps over the lazy dog, twice over: the quick brown fox",
    ];
    prop_oneof![
        3 => word(INTERESTING),
        2 => prop::collection::vec(select(b"ab01 \x00\xff".to_vec()), 0..12),
    ]
    .boxed()
}

/// Integer arguments, valid and not.
pub fn integer() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "0",
        "1",
        "-1",
        "7",
        "-100",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "abc",
        "1.5",
        "",
    ])
}

/// Small indexes for ranges (GETRANGE, BITCOUNT, BITPOS), negative ones included.
pub fn index() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => (-12i64..12).prop_map(|i| i.to_string().into_bytes()),
        1 => word(&["100", "-100", "9223372036854775807", "-9223372036854775808", "x"]),
    ]
    .boxed()
}

/// EXPIRE / EX arguments: long enough that nothing expires during a sequence, or non-positive.
pub fn rel_seconds() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "100",
        "1000",
        "100000",
        "0",
        "-1",
        "abc",
        "9223372036854775807",
        "9223372036854",
    ])
}

/// PEXPIRE / PX arguments.
pub fn rel_millis() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "100000",
        "1000000",
        "100000000",
        "0",
        "-1",
        "abc",
        "9223372036854775807",
    ])
}

/// EXPIRE-family condition flags, conflicting combinations included. GT and LT only go with
/// absolute times: two relative expiries of the same length (EXPIRE k 100, then EXPIRE k 100 GT)
/// differ by however many milliseconds passed between them, which is 0 on one server and 1 on
/// the other often enough to make the comparison flaky.
pub fn expire_conditions(absolute: bool) -> BoxedStrategy<Vec<Vec<u8>>> {
    let (single, pairs): (&'static [&'static str], &'static [&'static str]) = if absolute {
        (&["NX", "XX", "GT", "LT"], &["NX", "XX", "GT", "LT", "FOO"])
    } else {
        (&["NX", "XX"], &["NX", "XX", "FOO"])
    };
    prop_oneof![
        3 => Just(Vec::new()),
        3 => words(single, 1),
        // Mostly conflicting pairs, which must be rejected alike.
        1 => prop::collection::vec(word(pairs), 2),
    ]
    .boxed()
}

/// HSCAN/SSCAN/ZSCAN options after `key cursor`: COUNT (valid and invalid), MATCH with one of
/// `patterns`, and an option these commands do not take.
pub fn element_scan_options(patterns: &'static [&'static str]) -> BoxedStrategy<Vec<Vec<u8>>> {
    let count = prop::option::of(word(&["1", "2", "10", "0", "x"]));
    let pattern = prop::option::of(word(patterns));
    let junk = prop::option::of(word(&["TYPE", "NOVALUE"]));
    (count, pattern, junk)
        .prop_map(|(count, pattern, junk)| {
            let mut args = Vec::new();
            if let Some(n) = count {
                args.extend([b"COUNT".to_vec(), n]);
            }
            if let Some(p) = pattern {
                args.extend([b"MATCH".to_vec(), p]);
            }
            args.extend(junk);
            args
        })
        .boxed()
}

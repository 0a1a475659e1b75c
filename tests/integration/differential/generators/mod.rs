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
pub mod expire;
pub mod keyspace;
pub mod strings;

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

    /// EXPIREAT / EXAT arguments: far future, past, zero and invalid.
    pub fn abs_seconds(&self) -> BoxedStrategy<Vec<u8>> {
        let f = self.future_s;
        let pool = [f, f + 3600, f + 7200, 1, 0, 1_000_000_000]
            .map(|t| t.to_string())
            .to_vec();
        prop_oneof![
            6 => select(pool),
            1 => select(vec!["-5".to_string(), "abc".to_string(), "9223372036854775807".to_string()]),
        ]
        .prop_map(String::into_bytes)
        .boxed()
    }

    /// PEXPIREAT / PXAT arguments: like [`GenCtx::abs_seconds`], with millisecond parts.
    pub fn abs_millis(&self) -> BoxedStrategy<Vec<u8>> {
        let f = self.future_s * 1000;
        let pool = [f + 123, f + 3_600_007, f + 7_200_000, 1, 0, 1_700_000_000_000]
            .map(|t| t.to_string())
            .to_vec();
        prop_oneof![
            6 => select(pool),
            1 => select(vec!["-5".to_string(), "1.5".to_string(), "9223372036854775807".to_string()]),
        ]
        .prop_map(String::into_bytes)
        .boxed()
    }
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
    word(&["100", "1000", "100000", "0", "-1", "abc", "9223372036854775807", "9223372036854"])
}

/// PEXPIRE / PX arguments.
pub fn rel_millis() -> BoxedStrategy<Vec<u8>> {
    word(&["100000", "1000000", "100000000", "0", "-1", "abc", "9223372036854775807"])
}

/// EXPIRE-family condition flags, conflicting combinations included.
pub fn expire_conditions() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => words(&["NX", "XX", "GT", "LT"], 1),
        1 => words(&["NX", "XX", "GT", "LT", "FOO"], 2),
    ]
    .boxed()
}

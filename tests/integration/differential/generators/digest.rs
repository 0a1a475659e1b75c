//! DEBUG DIGEST and DEBUG DIGEST-VALUE, drawn among the other areas' commands in the `mixed`
//! test: a whole-dataset or per-value fingerprint at any point of a sequence (inside MULTI too,
//! where EXEC's reply carries it), so a value that differs without any compared reply showing
//! it still fails the sequence. Every generated sequence also ends with a DEBUG DIGEST (see
//! `differential::generated`).

use proptest::prelude::*;

use super::{keys, with};
use crate::differential::{cmd, Cmd};

pub fn command() -> BoxedStrategy<Cmd> {
    prop_oneof![
        1 => Just(cmd!["DEBUG", "DIGEST"]),
        // Zero keys is an empty array; missing keys are 40 zeros.
        3 => keys(0..=3).prop_map(|ks| with(cmd!["DEBUG", "DIGEST-VALUE"], ks)),
    ]
    .boxed()
}

//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, PERSIST, TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, and the string commands that set or keep TTLs.

use proptest::prelude::*;

use super::{expire_conditions, key, keys, rel_millis, rel_seconds, value, with, word, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        2 => (key(), value(), rel_seconds()).prop_map(|(k, v, t)| cmd!["SET", k, v, "EX", t]),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v, "KEEPTTL"]),
        1 => (key(), rel_seconds(), value()).prop_map(|(k, t, v)| cmd!["SETEX", k, t, v]),
        4 => (key(), rel_seconds(), expire_conditions(false))
            .prop_map(|(k, t, o)| with(cmd!["EXPIRE", k, t], o)),
        3 => (key(), rel_millis(), expire_conditions(false))
            .prop_map(|(k, t, o)| with(cmd!["PEXPIRE", k, t], o)),
        3 => (key(), ctx.abs_seconds(true), expire_conditions(true))
            .prop_map(|(k, t, o)| with(cmd!["EXPIREAT", k, t], o)),
        3 => (key(), ctx.abs_millis(true), expire_conditions(true))
            .prop_map(|(k, t, o)| with(cmd!["PEXPIREAT", k, t], o)),
        2 => key().prop_map(|k| cmd!["PERSIST", k]),
        4 => (word(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), key()).prop_map(|(c, k)| cmd![c, k]),
        2 => (key(), ctx.abs_millis(true)).prop_map(|(k, t)| cmd!["GETEX", k, "PXAT", t]),
        1 => key().prop_map(|k| cmd!["GETEX", k, "PERSIST"]),
        2 => key().prop_map(|k| cmd!["GET", k]),
        1 => keys(1..=2).prop_map(|ks| with(cmd!["EXISTS"], ks)),
        1 => key().prop_map(|k| cmd!["DEL", k]),
        1 => (key(), key()).prop_map(|(a, b)| cmd!["RENAME", a, b]),
    ]
    .boxed()
}

//! MULTI/EXEC/DISCARD/WATCH/UNWATCH drawn among string, bitmap and list commands on the shared
//! keys, so sequences hold transactions of every shape: queued commands with runtime errors,
//! queueing errors (unknown command, wrong arity) that make EXEC abort, nested MULTI, EXEC and
//! DISCARD without MULTI, WATCH inside MULTI, EXEC with arguments, blocking commands inside
//! MULTI, and watched keys changed by the client itself before its EXEC (Redis fails that
//! EXEC too). The other areas' commands are drawn only where their replies are fully ordered,
//! because EXEC nests them in its own reply.

use proptest::prelude::*;

use super::{bitmaps, keys, lists, strings, with, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        4 => Just(cmd!["MULTI"]),
        4 => Just(cmd!["EXEC"]),
        1 => Just(cmd!["DISCARD"]),
        2 => keys(1..=2).prop_map(|ks| with(cmd!["WATCH"], ks)),
        1 => Just(cmd!["UNWATCH"]),
        1 => Just(cmd!["EXEC", "now"]),
        1 => Just(cmd!["DISCARD", "now"]),
        1 => Just(cmd!["NOSUCHCOMMAND", "k0"]),
        1 => Just(cmd!["GET"]),
        // A short timeout: outside MULTI on missing keys it blocks briefly and answers null.
        1 => keys(1..=2).prop_map(|mut ks| {
            ks.push(b"0.01".to_vec());
            with(cmd!["BLPOP"], ks)
        }),
        1 => Just(cmd!["SELECT", "1"]),
        1 => Just(cmd!["SELECT", "0"]),
        8 => strings::command(ctx),
        3 => bitmaps::command(ctx),
        6 => lists::command(ctx),
    ]
    .boxed()
}

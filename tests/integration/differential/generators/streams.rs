//! Stream commands over the shared key space: XADD with every ID form and trimming option,
//! XRANGE / XREVRANGE, XLEN, XDEL, XTRIM, XSETID, XREAD, the consumer-group commands (XGROUP,
//! XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM), XINFO, and TYPE / DEL / EXISTS / OBJECT
//! ENCODING, with lists and strings on the same keys for the WRONGTYPE replies.
//!
//! IDs come from pools of valid, incomplete (`5`, which XADD reads as `5-0` and the range
//! commands as `5-0` or `5-max`), exclusive (`(5-0`) and invalid texts, and from the `ms-*`
//! form. Group and consumer names come from tiny pools so that the group commands meet each
//! other's groups, and consumers, and the PELs XREADGROUP and XCLAIM fill.
//!
//! A step is usually one command. Two kinds of step are several:
//! - A bare `*` ID takes the server's clock, so it is only drawn right after an
//!   `XADD key 99999999999999-* ...`: either that XADD succeeds and the top ID is far in the
//!   future, or it fails because the top ID is already larger (or the key is not a stream); in
//!   every case `*` continues from an ID no clock reaches.
//! - A bulk of 50 to 300 XADDs with increasing explicit IDs fills Redis's listpack nodes past
//!   `stream-node-max-entries` (100) or, with longer values, `stream-node-max-bytes` (4096), so
//!   that `~` trimming, which only drops whole nodes, and XINFO STREAM's `radix-tree-keys` and
//!   `radix-tree-nodes` see several nodes.
//!
//! Times: pending entries remember when they were delivered and consumers when they were last
//! seen, so XPENDING's extended form (the idle column), XINFO CONSUMERS (`idle`) and XINFO
//! STREAM FULL (`seen-time`, `delivery-time`) are compared with [`Check::StreamTimes`], which
//! lets those integers alone differ by a few seconds. Everything decided by an idle time (the
//! min-idle-time of XCLAIM and XAUTOCLAIM, XPENDING's IDLE filter) uses thresholds far from any
//! idle time a sequence can produce: 0, one hour and about three years, against entries just
//! delivered (idle below a few seconds) or backdated by XCLAIM's IDLE and TIME by a day, 30
//! days, 115 days or 56 years.
//!
//! XREAD and XREADGROUP never BLOCK here (the multi-client scenarios do that); XREAD with `$`
//! without BLOCK reads nothing and replies nil.

use proptest::prelude::*;
use proptest::sample::select;

use super::{key, keys, value, with, word, words, GenCtx, KEYS};
use crate::differential::{cmd, Check, Cmd};

/// An ID above any clock: `*` after it continues from it instead of from the time.
const FAR_MS: &str = "99999999999999";

/// Steps of one command, steps of several (see the module documentation).
pub fn command(ctx: &GenCtx) -> BoxedStrategy<Vec<Cmd>> {
    prop_oneof![
        40 => single(ctx).prop_map(|c| vec![c]),
        3 => star_xadd(),
        1 => bulk(),
    ]
    .boxed()
}

fn single(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        12 => xadd(),
        8 => xrange(),
        2 => skey().prop_map(|k| cmd!["XLEN", k]),
        3 => (skey(), prop::collection::vec(range_id(), 0..=4))
            .prop_map(|(k, ids)| with(cmd!["XDEL", k], ids)),
        3 => (skey(), trim()).prop_map(|(k, t)| with(cmd!["XTRIM", k], t)),
        2 => xsetid(),
        4 => xread(),
        14 => xgroup(),
        8 => xreadgroup(),
        3 => (gkey(), group(), prop::collection::vec(range_id(), 1..=3))
            .prop_map(|(k, g, ids)| with(cmd!["XACK", k, g], ids)),
        6 => xpending(),
        5 => xclaim(ctx),
        4 => xautoclaim(),
        6 => xinfo(),
        1 => key().prop_map(|k| cmd!["TYPE", k]),
        1 => key().prop_map(|k| cmd!["OBJECT", "ENCODING", k]),
        1 => keys(1..=2).prop_map(|ks| with(cmd!["EXISTS"], ks)),
        1 => key().prop_map(|k| cmd!["DEL", k]),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["LPUSH", k, "x"]),
    ]
    .boxed()
}

/// A key of the shared space, `k0` and `k1` more often than the others, so that streams,
/// their groups and their consumers meet.
fn skey() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![4 => Just(KEYS[0]), 2 => Just(KEYS[1]), 2 => select(KEYS)]
        .prop_map(|k| k.as_bytes().to_vec())
        .boxed()
}

/// The key of a consumer-group command: mostly `k0`, where the groups are.
fn gkey() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![6 => Just(KEYS[0]), 1 => Just(KEYS[1]), 1 => select(KEYS)]
        .prop_map(|k| k.as_bytes().to_vec())
        .boxed()
}

fn group() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![8 => Just("g1"), 2 => Just("g2"), 1 => select(&["G", ""][..])]
        .prop_map(|g| g.as_bytes().to_vec())
        .boxed()
}

fn consumer() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![8 => word(&["c1", "c2", "c3"]), 1 => word(&["", "C1"])].boxed()
}

/// Small counts, and the invalid ones.
fn count() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => word(&["1", "2", "3", "10", "1000"]),
        1 => word(&["0", "-1", "x", "9223372036854775808"]),
    ]
    .boxed()
}

/// IDs for XADD: complete, incomplete (`5` is `5-0`), `ms-*`, the extremes and invalid texts.
/// Never a bare `*`: see [`star_xadd`].
fn new_id() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => (1u64..60, 0u64..4).prop_map(|(ms, seq)| format!("{ms}-{seq}").into_bytes()),
        4 => (1u64..60).prop_map(|ms| format!("{ms}-*").into_bytes()),
        2 => (1u64..60).prop_map(|ms| ms.to_string().into_bytes()),
        1 => word(&[
            "0-0", "0-1", "0-*", "99999999999999-*", "99999999999999-0",
            "18446744073709551615-18446744073709551614", "18446744073709551615-*",
        ]),
        1 => word(&["-1", "1-", "1-x", "x-1", "", "1.5", "18446744073709551616-0", "*-1", "**"]),
    ]
    .boxed()
}

/// IDs for ranges, XDEL, XACK, XCLAIM and thresholds: mostly ones that exist in some stream
/// of a sequence, plus the extremes, incomplete and invalid ones.
fn range_id() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => (1u64..60, 0u64..4).prop_map(|(ms, seq)| format!("{ms}-{seq}").into_bytes()),
        2 => (1u64..60).prop_map(|ms| ms.to_string().into_bytes()),
        2 => bulk_id(),
        1 => word(&["0", "0-0", "0-1", "99999999999999-0", "99999999999999-1", "99999999999999",
            "18446744073709551615-18446744073709551615", "18446744073709551615"]),
        1 => word(&["-1", "1-", "x", "", "1-x", "*", "-", "+", "$", ">", "(1-0"]),
    ]
    .boxed()
}

/// An ID the bulk steps write (see [`bulk`]).
fn bulk_id() -> BoxedStrategy<Vec<u8>> {
    (select(&[1000u64, 50000][..]), 0u64..320, 0u64..2)
        .prop_map(|(base, i, seq)| format!("{}-{seq}", base + i).into_bytes())
        .boxed()
}

/// Range bounds: `-`, `+`, IDs, exclusive IDs, and invalid ones.
fn bound() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => word(&["-", "+"]),
        4 => range_id(),
        2 => range_id().prop_map(|id| [b"(".as_slice(), &id].concat()),
        1 => word(&["(18446744073709551615-18446744073709551615", "(0-0", "(-", "(+", "(", "((1"]),
    ]
    .boxed()
}

/// Field / value pairs, sometimes an odd number of words.
fn fields() -> BoxedStrategy<Vec<Vec<u8>>> {
    let pair = (word(&["f", "f", "g", "h", "", "1"]), value()).prop_map(|(f, v)| vec![f, v]);
    prop_oneof![
        12 => prop::collection::vec(pair, 1..=3).prop_map(|ps| ps.concat()),
        1 => word(&["f", "a b"]).prop_map(|f| vec![f]),
        1 => Just(Vec::new()),
    ]
    .boxed()
}

/// MAXLEN / MINID trimming for XADD and XTRIM: exact (`=` or nothing), approximate (`~`),
/// LIMIT (valid only with `~`), and broken combinations.
fn trim() -> BoxedStrategy<Vec<Vec<u8>>> {
    let maxlen = word(&["0", "1", "2", "5", "10", "99", "100", "150", "-1", "x"]);
    let strategy = prop_oneof![
        3 => (word(&["MAXLEN", "maxlen"]), maxlen),
        2 => (Just(b"MINID".to_vec()), range_id()),
    ];
    let exactness = prop_oneof![3 => Just(None), 2 => word(&["=", "~"]).prop_map(Some)];
    let limit = prop_oneof![
        4 => Just(Vec::new()),
        2 => word(&["0", "1", "10", "100", "-1", "x"]).prop_map(|n| vec![b"LIMIT".to_vec(), n]),
    ];
    prop_oneof![
        10 => (strategy, exactness, limit).prop_map(|((s, t), e, l)| {
            let mut args = vec![s];
            args.extend(e);
            args.push(t);
            args.extend(l);
            args
        }),
        1 => words(&["MAXLEN", "MINID", "~", "=", "LIMIT", "5", "FOO"], 4),
    ]
    .boxed()
}

/// XADD key [NOMKSTREAM] [trim] id field value ..., options in either order.
fn xadd() -> BoxedStrategy<Cmd> {
    let options = prop_oneof![
        6 => Just(Vec::new()),
        2 => Just(vec![b"NOMKSTREAM".to_vec()]),
        3 => trim(),
        1 => trim().prop_map(|mut t| {
            t.insert(0, b"NOMKSTREAM".to_vec());
            t
        }),
        1 => trim().prop_map(|mut t| {
            t.push(b"nomkstream".to_vec());
            t
        }),
    ];
    (skey(), options, new_id(), fields())
        .prop_map(|(k, options, id, fields)| {
            let mut args = options;
            args.push(id);
            args.extend(fields);
            with(cmd!["XADD", k], args)
        })
        .boxed()
}

/// `XADD key 99999999999999-* ...` and then XADDs with a bare `*` (see the module docs).
fn star_xadd() -> BoxedStrategy<Vec<Cmd>> {
    let options =
        prop_oneof![4 => Just(Vec::new()), 1 => trim(), 1 => Just(vec![b"NOMKSTREAM".to_vec()])];
    (skey(), prop::collection::vec((options, fields()), 1..=3))
        .prop_map(|(k, adds)| {
            let far = format!("{FAR_MS}-*");
            let mut cmds = vec![cmd!["XADD", k, far, "far", "1"]];
            for (options, fields) in adds {
                let mut args = options;
                args.push(b"*".to_vec());
                args.extend(fields);
                cmds.push(with(cmd!["XADD", k], args));
            }
            cmds
        })
        .boxed()
}

/// 50 to 300 XADDs with increasing IDs from a base above the small IDs of [`new_id`]: one new
/// millisecond per entry or one millisecond with growing sequence numbers; the same field
/// names as the node's master entry or changing ones; short values, or values long enough
/// that the 4096-byte node limit comes first; sometimes trimming on every XADD. Most bulks
/// start with a DEL of the key, since a key whose top ID is larger (or that is not a stream)
/// would refuse them all.
fn bulk() -> BoxedStrategy<Vec<Cmd>> {
    let shape = (
        select(&[50usize, 99, 100, 101, 150, 201, 300][..]),
        select(&[1000u64, 50000][..]),
        prop::bool::ANY,
        select(&[0usize, 1, 3][..]),
        select(&[1usize, 20, 150][..]),
    );
    let trimming = prop_oneof![
        3 => Just(Vec::new()),
        1 => word(&["120", "30", "250"])
            .prop_map(|n| vec![b"MAXLEN".to_vec(), b"~".to_vec(), n]),
        1 => Just(vec![b"MAXLEN".to_vec(), b"~".to_vec(), b"50".to_vec(), b"LIMIT".to_vec(),
            b"100".to_vec()]),
    ];
    (skey(), shape, trimming)
        .prop_map(
            |(k, (n, base, same_ms, field_kinds, value_len), trimming)| {
                (0..n)
                    .map(|i| {
                        let id = if same_ms {
                            format!("{base}-{}", i + 1)
                        } else {
                            format!("{}-0", base + i as u64)
                        };
                        let field = match field_kinds {
                            0 => "f".to_string(),
                            kinds => format!("f{}", i % (kinds + 1)),
                        };
                        let value = format!("{i:0>value_len$}");
                        let mut args = trimming.clone();
                        args.extend([id.into_bytes(), field.into_bytes(), value.into_bytes()]);
                        with(cmd!["XADD", k], args)
                    })
                    .collect()
            },
        )
        .boxed()
}

/// XRANGE / XREVRANGE key a b [COUNT n], sometimes broken.
fn xrange() -> BoxedStrategy<Cmd> {
    let tail = prop_oneof![
        4 => Just(Vec::new()),
        3 => count().prop_map(|n| vec![b"COUNT".to_vec(), n]),
        1 => words(&["COUNT", "1", "LIMIT"], 3),
    ];
    (
        word(&["XRANGE", "XREVRANGE"]),
        skey(),
        bound(),
        bound(),
        tail,
    )
        .prop_map(|(c, k, a, b, tail)| with(cmd![c, k, a, b], tail))
        .boxed()
}

/// XSETID key id [ENTRIESADDED n] [MAXDELETEDID id].
fn xsetid() -> BoxedStrategy<Cmd> {
    let added = prop::option::of(word(&["0", "1", "5", "100", "1000", "-1", "x"]));
    let maxdel = prop::option::of(range_id());
    let junk =
        prop_oneof![8 => Just(Vec::new()), 1 => words(&["ENTRIESADDED", "MAXDELETEDID", "FOO"], 2)];
    let id = prop_oneof![4 => range_id(), 1 => new_id()];
    (skey(), id, added, maxdel, junk)
        .prop_map(|(k, id, added, maxdel, junk)| {
            let mut args = vec![id];
            if let Some(n) = added {
                args.extend([b"ENTRIESADDED".to_vec(), n]);
            }
            if let Some(m) = maxdel {
                args.extend([b"MAXDELETEDID".to_vec(), m]);
            }
            args.extend(junk);
            with(cmd!["XSETID", k], args)
        })
        .boxed()
}

/// `STREAMS k1 .. id1 ..`, with `last` among the IDs (`$` for XREAD, `>` for XREADGROUP), and
/// sometimes one ID too few or too many.
fn streams(last: &'static str, key: fn() -> BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<Vec<u8>>> {
    let id =
        prop_oneof![3 => Just(last.as_bytes().to_vec()), 2 => word(&["0", "0-0"]), 3 => range_id()];
    let mismatch = prop_oneof![10 => Just(0i8), 1 => Just(-1), 1 => Just(1)];
    let ks = prop_oneof![
        4 => key().prop_map(|k| vec![k]),
        1 => prop::collection::vec(key(), 2..=3),
    ];
    (ks, prop::collection::vec(id, 3), mismatch)
        .prop_map(|(ks, ids, mismatch)| {
            let n = (ks.len() as isize + mismatch as isize).max(0) as usize;
            let mut args = vec![b"STREAMS".to_vec()];
            args.extend(ks);
            args.extend(ids.into_iter().cycle().take(n));
            args
        })
        .boxed()
}

/// XREAD [COUNT n] STREAMS ..., without BLOCK.
fn xread() -> BoxedStrategy<Cmd> {
    let count = prop::option::of(count().prop_map(|n| vec![b"COUNT".to_vec(), n]));
    let junk = prop_oneof![10 => Just(Vec::new()), 1 => words(&["NOACK", "COUNT", "STREAMS"], 1)];
    (count, junk, streams("$", skey))
        .prop_map(|(count, junk, streams)| {
            let mut args = count.unwrap_or_default();
            args.extend(junk);
            args.extend(streams);
            with(cmd!["XREAD"], args)
        })
        .boxed()
}

/// XREADGROUP GROUP g c [COUNT n] [NOACK] STREAMS ..., without BLOCK.
fn xreadgroup() -> BoxedStrategy<Cmd> {
    let count = prop::option::of(count().prop_map(|n| vec![b"COUNT".to_vec(), n]));
    let noack = prop_oneof![4 => Just(false), 1 => Just(true)];
    let junk = prop_oneof![12 => Just(Vec::new()), 1 => words(&["GROUP", "FOO"], 1)];
    (group(), consumer(), count, noack, junk, streams(">", gkey))
        .prop_map(|(g, c, count, noack, junk, streams)| {
            let mut args = vec![b"GROUP".to_vec(), g, c];
            args.extend(count.unwrap_or_default());
            if noack {
                args.push(b"NOACK".to_vec());
            }
            args.extend(junk);
            args.extend(streams);
            with(cmd!["XREADGROUP"], args)
        })
        .boxed()
}

/// The ID of XGROUP CREATE / SETID: `$`, `0` and the usual pool.
fn group_id() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![2 => word(&["$", "0", "0-0"]), 3 => range_id()].boxed()
}

fn entries_read() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        4 => Just(Vec::new()),
        2 => word(&["0", "1", "3", "100", "-1", "-2", "x"])
            .prop_map(|n| vec![b"ENTRIESREAD".to_vec(), n]),
    ]
    .boxed()
}

fn xgroup() -> BoxedStrategy<Cmd> {
    let mkstream = prop_oneof![1 => Just(Vec::new()), 1 => Just(vec![b"MKSTREAM".to_vec()])];
    prop_oneof![
        // Mostly creations that succeed, so that the other group commands find groups.
        10 => (gkey(), group(), word(&["0", "$", "0-0"]))
            .prop_map(|(k, g, id)| cmd!["XGROUP", "CREATE", k, g, id, "MKSTREAM"]),
        4 => (gkey(), group(), group_id(), mkstream, entries_read()).prop_map(
            |(k, g, id, m, e)| with(with(cmd!["XGROUP", "CREATE", k, g, id], m), e)
        ),
        3 => (word(&["CREATECONSUMER", "DELCONSUMER"]), gkey(), group(), consumer())
            .prop_map(|(sub, k, g, c)| cmd!["XGROUP", sub, k, g, c]),
        1 => (gkey(), group()).prop_map(|(k, g)| cmd!["XGROUP", "DESTROY", k, g]),
        2 => (gkey(), group(), group_id(), entries_read())
            .prop_map(|(k, g, id, e)| with(cmd!["XGROUP", "SETID", k, g, id], e)),
        1 => (word(&["CREATE", "SETID", "DESTROY", "CREATECONSUMER", "FOO", "HELP"]), gkey(),
              words(&["g1", "c1", "$", "MKSTREAM"], 3))
            .prop_map(|(sub, k, rest)| with(cmd!["XGROUP", sub, k], rest)),
    ]
    .boxed()
}

/// XPENDING's summary form and its extended form (`[IDLE n] start end count [consumer]`).
fn xpending() -> BoxedStrategy<Cmd> {
    let idle = prop::option::of(word(&["0", "3600000", "100000000000", "-1", "x"]));
    let extended = (
        gkey(),
        group(),
        idle,
        bound(),
        bound(),
        count(),
        prop::option::of(consumer()),
    )
        .prop_map(|(k, g, idle, a, b, n, c)| {
            let mut args = Vec::new();
            if let Some(idle) = idle {
                args.extend([b"IDLE".to_vec(), idle]);
            }
            args.extend([a, b, n]);
            args.extend(c);
            with(cmd!["XPENDING", k, g], args).checked(Check::StreamTimes)
        });
    prop_oneof![
        2 => (gkey(), group()).prop_map(|(k, g)| cmd!["XPENDING", k, g]),
        3 => extended,
    ]
    .boxed()
}

/// Min-idle-time thresholds: see the module documentation.
fn min_idle() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => word(&["0", "3600000", "100000000000"]),
        1 => word(&["-1", "x"]),
    ]
    .boxed()
}

/// XCLAIM key group consumer min-idle id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]. IDLE and TIME backdate the delivery by a day or more, or are in the
/// future or negative (which Redis replaces by now).
fn xclaim(ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    let month_ago = (ctx.future_s - 60 * 24 * 3600) * 1000;
    let future = ctx.future_s * 1000;
    let times = vec![
        month_ago.to_string(),
        "1".to_string(),
        future.to_string(),
        "-5".to_string(),
        "x".to_string(),
    ];
    let option = prop_oneof![
        3 => word(&["86400000", "10000000000", "0", "-5", "9223372036854775807", "x"])
            .prop_map(|ms| vec![b"IDLE".to_vec(), ms]),
        2 => select(times).prop_map(|t| vec![b"TIME".to_vec(), t.into_bytes()]),
        2 => word(&["0", "1", "5", "-1", "x"]).prop_map(|n| vec![b"RETRYCOUNT".to_vec(), n]),
        2 => Just(vec![b"FORCE".to_vec()]),
        2 => Just(vec![b"JUSTID".to_vec()]),
        1 => range_id().prop_map(|id| vec![b"LASTID".to_vec(), id]),
        1 => word(&["FOO", "IDLE"]).prop_map(|w| vec![w]),
    ];
    (
        gkey(),
        group(),
        consumer(),
        min_idle(),
        prop::collection::vec(range_id(), 1..=4),
        prop::collection::vec(option, 0..=3),
    )
        .prop_map(|(k, g, c, idle, ids, options)| {
            with(with(cmd!["XCLAIM", k, g, c, idle], ids), options.concat())
        })
        .boxed()
}

/// XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID].
fn xautoclaim() -> BoxedStrategy<Cmd> {
    let tail = prop_oneof![
        3 => Just(Vec::new()),
        3 => count().prop_map(|n| vec![b"COUNT".to_vec(), n]),
        2 => Just(vec![b"JUSTID".to_vec()]),
        2 => count().prop_map(|n| vec![b"COUNT".to_vec(), n, b"JUSTID".to_vec()]),
        1 => words(&["COUNT", "JUSTID", "5", "FOO"], 3),
    ];
    let start = prop_oneof![3 => word(&["0", "0-0", "-"]), 2 => range_id()];
    (gkey(), group(), consumer(), min_idle(), start, tail)
        .prop_map(|(k, g, c, idle, start, tail)| {
            with(cmd!["XAUTOCLAIM", k, g, c, idle, start], tail)
        })
        .boxed()
}

/// XINFO STREAM [FULL [COUNT n]], GROUPS, CONSUMERS (idle times compared with a tolerance),
/// and malformed forms.
fn xinfo() -> BoxedStrategy<Cmd> {
    let full = prop_oneof![
        2 => Just(vec![b"FULL".to_vec()]),
        2 => word(&["0", "1", "3", "-1", "x"])
            .prop_map(|n| vec![b"FULL".to_vec(), b"COUNT".to_vec(), n]),
        1 => words(&["FULL", "COUNT", "FOO"], 3),
    ];
    prop_oneof![
        3 => skey().prop_map(|k| cmd!["XINFO", "STREAM", k]),
        3 => (skey(), full)
            .prop_map(|(k, f)| with(cmd!["XINFO", "STREAM", k], f).checked(Check::StreamTimes)),
        3 => gkey().prop_map(|k| cmd!["XINFO", "GROUPS", k]),
        3 => (gkey(), group())
            .prop_map(|(k, g)| cmd!["XINFO", "CONSUMERS", k, g].checked(Check::StreamTimes)),
        1 => (word(&["STREAM", "GROUPS", "CONSUMERS", "FOO"]), keys(0..=2))
            .prop_map(|(sub, ks)| with(cmd!["XINFO", sub], ks)),
    ]
    .boxed()
}

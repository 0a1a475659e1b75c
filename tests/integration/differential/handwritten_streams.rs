//! Hand-written stream sequences for what the generator reaches rarely or not at all: a
//! consumer group's `entries-read` and `lag` as entries are deleted, trimmed and the IDs moved
//! (XDEL, XTRIM, XSETID, XGROUP SETID ... ENTRIESREAD), XAUTOCLAIM and XCLAIM meeting deleted
//! entries, XINFO STREAM FULL of a stream with groups, pending entries and consumers (delivery
//! times fixed with XCLAIM TIME; consumers' `seen-time` still compared with a tolerance), the
//! PELs after XGROUP DELCONSUMER, the node limits (`stream-node-max-entries` and
//! `stream-node-max-bytes`) seen through XINFO's radix tree sizes and `~` trimming, keyspace
//! commands on streams with groups, error texts, and the keyspace events of every stream write.
//!
//! Every sequence runs in RESP2 and in RESP3, so the RESP3 types of XINFO, XREAD and XPENDING
//! (maps, nulls) are compared too.

use super::{Check, Cmd, Pair};
use crate::support::server::Flavor;

fn check(lines: &[&str]) {
    Pair::start().check(&parse(lines));
}

/// The replies that show consumer or delivery times are compared with [`Check::StreamTimes`].
fn parse(lines: &[&str]) -> Vec<Cmd> {
    lines
        .iter()
        .map(|line| {
            let cmd = Cmd::parse(line);
            let words: Vec<String> = cmd
                .args
                .iter()
                .take(3)
                .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
                .collect();
            let timed = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["XINFO", "CONSUMERS", ..] => true,
                ["XINFO", "STREAM", ..] => cmd.args.len() > 3,
                // The extended form: more than key and group.
                ["XPENDING", ..] => cmd.args.len() > 3,
                _ => false,
            };
            if timed {
                cmd.checked(Check::StreamTimes)
            } else {
                cmd
            }
        })
        .collect()
}

/// `XADD key <id_of(i)> f <i>` for `i` in `range`.
fn xadds(key: &str, range: std::ops::Range<usize>, id_of: impl Fn(usize) -> String) -> Vec<String> {
    range
        .map(|i| format!("XADD {key} {} f {i}", id_of(i)))
        .collect()
}

fn check_owned(lines: &[String]) {
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    check(&lines);
}

#[test]
fn lag_and_entries_read() {
    check(&[
        "XADD s 1-0 a 1",
        "XADD s 2-0 a 2",
        "XADD s 3-0 a 3",
        "XADD s 4-0 a 4",
        "XADD s 5-0 a 5",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s late $",
        "XGROUP CREATE s mid 2-0",
        "XGROUP CREATE s told 2-0 ENTRIESREAD 2",
        "XINFO GROUPS s",
        "XREADGROUP GROUP g c COUNT 2 STREAMS s >",
        "XINFO GROUPS s",
        // A deletion after the last delivered ID makes the lag unknown ...
        "XDEL s 4-0",
        "XINFO GROUPS s",
        "XREADGROUP GROUP g c COUNT 1 STREAMS s >",
        "XINFO GROUPS s",
        // ... until the group has read past it.
        "XREADGROUP GROUP g c STREAMS s >",
        "XINFO GROUPS s",
        // Deleting the first entry, and trimming.
        "XDEL s 1-0",
        "XINFO GROUPS s",
        "XINFO STREAM s",
        "XTRIM s MAXLEN 1",
        "XINFO GROUPS s",
        "XINFO STREAM s",
        "XADD s 6-0 a 6",
        "XINFO GROUPS s",
        // XSETID moves the last ID, the entries-added counter and the max deleted ID.
        "XSETID s 10-0 ENTRIESADDED 20 MAXDELETEDID 8-0",
        "XINFO STREAM s",
        "XINFO GROUPS s",
        "XADD s 11-0 a 11",
        "XINFO GROUPS s",
        "XREADGROUP GROUP late c STREAMS s >",
        "XINFO GROUPS s",
        "XGROUP SETID s g 0",
        "XINFO GROUPS s",
        "XGROUP SETID s g 6-0 ENTRIESREAD 15",
        "XINFO GROUPS s",
        "XGROUP SETID s g $ ENTRIESREAD 100",
        "XINFO GROUPS s",
        "XGROUP SETID s g $ ENTRIESREAD -1",
        "XINFO GROUPS s",
        "XGROUP SETID s g 0 ENTRIESREAD -2",
        "XGROUP SETID s g 0 ENTRIESREAD x",
        "XSETID s 11-0 ENTRIESADDED 1",
        "XSETID s 11-0 MAXDELETEDID 12-0",
        "XSETID s 11-0 ENTRIESADDED -1",
        "XSETID s 10-0",
        "XSETID s 11-0 ENTRIESADDED 2 MAXDELETEDID 0-0",
        "XINFO STREAM s",
        "XINFO GROUPS s",
        // An empty stream: XSETID may go anywhere, and the groups follow.
        "XTRIM s MAXLEN 0",
        "XINFO GROUPS s",
        "XSETID s 3-0",
        "XINFO STREAM s",
        "XINFO GROUPS s",
        "XADD s 4-0 a 4",
        "XINFO GROUPS s",
        "XREADGROUP GROUP mid c STREAMS s >",
        "XINFO GROUPS s",
        // A group created on an empty stream with MKSTREAM, and ENTRIESREAD past the end.
        "XGROUP CREATE e g $ MKSTREAM",
        "XGROUP CREATE e g2 0 ENTRIESREAD 5",
        "XINFO GROUPS e",
        "XADD e 1-0 a 1",
        "XINFO GROUPS e",
    ]);
}

#[test]
fn xautoclaim_and_deleted_entries() {
    let mut lines = xadds("s", 1..9, |i| format!("{i}-0"));
    lines.extend(
        [
            "XGROUP CREATE s g 0",
            "XREADGROUP GROUP g c1 STREAMS s >",
            "XDEL s 2-0 4-0 5-0",
            // Deleted entries are reported (and dropped from the PEL), and count in COUNT.
            "XAUTOCLAIM s g c2 0 0 COUNT 2",
            "XPENDING s g",
            "XAUTOCLAIM s g c2 0 0 COUNT 2 JUSTID",
            "XAUTOCLAIM s g c2 0 3-0 COUNT 1",
            "XAUTOCLAIM s g c2 0 (3-0",
            "XAUTOCLAIM s g c2 0 -",
            "XAUTOCLAIM s g c2 0 +",
            "XAUTOCLAIM s g c2 0 99-0",
            // Nothing has been idle for an hour.
            "XAUTOCLAIM s g c3 3600000 0",
            "XPENDING s g",
            "XPENDING s g - + 10",
            "XPENDING s g IDLE 3600000 - + 10",
            "XTRIM s MAXLEN 0",
            "XAUTOCLAIM s g c1 0 0 JUSTID",
            "XPENDING s g",
            "XINFO CONSUMERS s g",
            // Errors.
            "XAUTOCLAIM s g c1 0 0 COUNT 0",
            "XAUTOCLAIM s g c1 0 0 COUNT -1",
            "XAUTOCLAIM s g c1 0 0 COUNT 9223372036854775807",
            "XAUTOCLAIM s g c1 0 0 COUNT 922337203685477580",
            "XAUTOCLAIM s g c1 -1 0",
            "XAUTOCLAIM s g c1 x 0",
            "XAUTOCLAIM s g c1 0 x",
            "XAUTOCLAIM s g c1 0 0 FOO",
            "XAUTOCLAIM s g c1 0 0 COUNT",
            "XAUTOCLAIM s nogroup c1 0 0",
            "XAUTOCLAIM missing g c1 0 0",
            "XAUTOCLAIM s g c1 0",
        ]
        .map(String::from),
    );
    check_owned(&lines);
}

#[test]
fn xclaim_options_and_deleted_entries() {
    let mut lines = xadds("s", 1..6, |i| format!("{i}-0"));
    lines.extend(
        [
            "XGROUP CREATE s g 0",
            "XREADGROUP GROUP g c1 STREAMS s >",
            "XDEL s 2-0",
            // A deleted entry leaves the PEL and is not returned; an unknown ID is skipped,
            // even with FORCE.
            "XCLAIM s g c2 0 1-0 2-0 3-0",
            "XPENDING s g",
            "XCLAIM s g c2 0 2-0 9-0 FORCE",
            "XPENDING s g",
            // FORCE creates a PEL entry for an existing entry nobody was delivered.
            "XADD s 6-0 a 6",
            "XCLAIM s g c3 0 6-0",
            "XCLAIM s g c3 0 6-0 FORCE JUSTID",
            "XPENDING s g",
            // JUSTID does not count a delivery; RETRYCOUNT sets the count.
            "XCLAIM s g c3 0 1-0 JUSTID",
            "XCLAIM s g c3 0 1-0 RETRYCOUNT 7",
            "XCLAIM s g c3 0 3-0 TIME 1700000000000 RETRYCOUNT 2 JUSTID",
            "XPENDING s g - + 10",
            "XPENDING s g IDLE 3600000 - + 10",
            "XPENDING s g IDLE 3600000 - + 10 c3",
            // Backdated entries can be claimed with a min-idle-time; the others cannot.
            "XCLAIM s g c1 3600000 1-0 3-0 4-0",
            "XCLAIM s g c2 86400000 1-0 3-0 4-0 IDLE 100000000000 JUSTID",
            "XPENDING s g - + 10",
            "XAUTOCLAIM s g c3 3600000 0",
            // TIME in the future or negative and IDLE below zero count as now.
            "XCLAIM s g c1 0 1-0 TIME 99999999999999",
            "XCLAIM s g c1 0 3-0 TIME -5",
            "XCLAIM s g c1 0 4-0 IDLE -5",
            "XPENDING s g IDLE 3600000 - + 10",
            // LASTID moves the group's last delivered ID forward only.
            "XINFO GROUPS s",
            "XCLAIM s g c1 0 1-0 LASTID 10-0",
            "XINFO GROUPS s",
            "XCLAIM s g c1 0 1-0 LASTID 2-0",
            "XINFO GROUPS s",
            // Errors and their order.
            "XCLAIM s g c1 x 1-0",
            "XCLAIM s g c1 0 x",
            "XCLAIM s g c1 0 1-0 IDLE x",
            "XCLAIM s g c1 0 1-0 TIME x",
            "XCLAIM s g c1 0 1-0 RETRYCOUNT x",
            "XCLAIM s g c1 0 1-0 RETRYCOUNT -1",
            "XCLAIM s g c1 0 1-0 LASTID x",
            "XCLAIM s g c1 0 1-0 FOO",
            "XCLAIM s g c1 0 1-0 IDLE",
            "XCLAIM s nogroup c1 0 1-0",
            "XCLAIM missing g c1 0 1-0",
            "XCLAIM s g c1 0",
            "XINFO CONSUMERS s g",
        ]
        .map(String::from),
    );
    check_owned(&lines);
}

#[test]
fn xinfo_stream_full() {
    let mut lines = xadds("s", 0..250, |i| format!("{}-{}", 1000 + i / 3, i % 3));
    lines.extend(
        [
            "XDEL s 1000-1 1010-0",
            "XGROUP CREATE s g1 0",
            "XGROUP CREATE s g2 1020-0",
            "XGROUP CREATE s empty $",
            "XGROUP CREATECONSUMER s g1 idle",
            "XREADGROUP GROUP g1 alice COUNT 3 STREAMS s >",
            "XREADGROUP GROUP g1 bob COUNT 2 STREAMS s >",
            "XREADGROUP GROUP g2 alice COUNT 12 STREAMS s >",
            "XREADGROUP GROUP g2 carol NOACK COUNT 2 STREAMS s >",
            "XACK s g2 1020-0 1020-2",
            // Fixed delivery times and counts.
            "XCLAIM s g1 alice 0 1000-0 1000-2 1001-0 TIME 1700000000000 RETRYCOUNT 3",
            "XCLAIM s g1 bob 0 1001-1 1001-2 TIME 1700000000001",
            "XCLAIM s g2 alice 0 1020-1 1021-0 1021-1 1021-2 1022-0 1022-1 TIME 1700000000002",
            "XCLAIM s g2 carol 0 1022-2 1023-0 1023-1 1023-2 1024-0 TIME 1700000000003",
            "XINFO STREAM s",
            "XINFO STREAM s FULL",
            "XINFO STREAM s FULL COUNT 1",
            "XINFO STREAM s FULL COUNT 3",
            "XINFO STREAM s FULL COUNT 0",
            "XINFO STREAM s FULL COUNT -1",
            "XINFO STREAM s FULL COUNT x",
            "XINFO STREAM s FULL FOO",
            "XINFO STREAM s COUNT 1",
            "XINFO GROUPS s",
            "XINFO CONSUMERS s g1",
            "XINFO CONSUMERS s g2",
            "XINFO CONSUMERS s empty",
            "XINFO CONSUMERS s nogroup",
            "XINFO CONSUMERS missing g1",
            "XPENDING s g1",
            "XPENDING s g2 - + 100",
            "XPENDING s g2 (1020-1 + 2 alice",
            "XPENDING s g2 - (1022-1 100 carol",
            "XPENDING s g2 IDLE 1 - + 100 carol",
            // A stream without groups, and an empty one.
            "XADD t 1-1 f v",
            "XINFO STREAM t FULL",
            "XDEL t 1-1",
            "XINFO STREAM t",
            "XINFO STREAM t FULL",
            "XINFO STREAM missing FULL",
            "XINFO HELP",
            "XGROUP HELP",
            "XINFO",
            "XINFO STREAM",
            "XINFO FOO s",
        ]
        .map(String::from),
    );
    check_owned(&lines);
}

#[test]
fn consumers_and_delconsumer() {
    check(&[
        "XADD s 1-0 a 1",
        "XADD s 2-0 a 2",
        "XADD s 3-0 a 3",
        "XGROUP CREATE s g 0",
        "XGROUP CREATECONSUMER s g c1",
        "XGROUP CREATECONSUMER s g c1",
        "XGROUP CREATECONSUMER s nogroup c1",
        "XGROUP CREATECONSUMER missing g c1",
        "XREADGROUP GROUP g c1 COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g c2 STREAMS s >",
        "XREADGROUP GROUP g c3 STREAMS s >",
        "XPENDING s g",
        // Deleting a consumer drops its pending entries from the group's PEL.
        "XGROUP DELCONSUMER s g c1",
        "XGROUP DELCONSUMER s g c1",
        "XGROUP DELCONSUMER s nogroup c1",
        "XPENDING s g",
        "XPENDING s g - + 10",
        "XINFO GROUPS s",
        "XINFO CONSUMERS s g",
        "XCLAIM s g c2 0 1-0 2-0",
        "XREADGROUP GROUP g c1 STREAMS s 0",
        "XINFO CONSUMERS s g",
        // Re-reading the history keeps delivery counts.
        "XREADGROUP GROUP g c2 STREAMS s 0",
        "XREADGROUP GROUP g c2 COUNT 1 STREAMS s 0",
        "XREADGROUP GROUP g c2 STREAMS s 3-0",
        "XPENDING s g - + 10",
        // History of deleted entries: the ID with a nil entry.
        "XDEL s 3-0",
        "XREADGROUP GROUP g c2 STREAMS s 0",
        "XACK s g 3-0 3-0 9-0",
        "XACK s g x",
        "XACK s nogroup 1-0",
        "XACK missing g 1-0",
        "XREADGROUP GROUP g c2 STREAMS s 0",
        "XGROUP DESTROY s g",
        "XGROUP DESTROY s g",
        "XINFO GROUPS s",
        "XINFO STREAM s",
    ]);
}

/// The node limits: entries per node counting deleted ones, and bytes per node.
#[test]
fn node_limits_and_approximate_trimming() {
    let mut lines = vec![
        "CONFIG SET stream-node-max-entries 100".to_string(),
        "CONFIG SET stream-node-max-bytes 4096".to_string(),
    ];
    lines.extend(xadds("a", 0..250, |i| format!("{}-0", i + 1)));
    lines.extend(
        [
            "XINFO STREAM a",
            "XDEL a 5-0 150-0",
            "XTRIM a MAXLEN ~ 200",
            "XINFO STREAM a",
            "XTRIM a MAXLEN ~ 120",
            "XINFO STREAM a",
            "XTRIM a MAXLEN ~ 120 LIMIT 10",
            "XTRIM a MAXLEN ~ 10 LIMIT 100",
            "XINFO STREAM a",
            "XTRIM a MINID ~ 240",
            "XINFO STREAM a",
            "XTRIM a MINID = 240",
            "XINFO STREAM a",
            "XTRIM a MAXLEN ~ 0",
            "XINFO STREAM a",
        ]
        .map(String::from),
    );
    // Long values: the 4096-byte limit comes first.
    let long = "v".repeat(300);
    lines.extend((0..40).map(|i| format!("XADD b {}-0 f {long}", i + 1)));
    lines.extend((0..40).map(|i| format!("XADD b 100-{i} g{i} {i} h x")));
    lines.extend(
        [
            "XINFO STREAM b",
            "XTRIM b MAXLEN ~ 30",
            "XINFO STREAM b",
            "XADD b MAXLEN ~ 5 200-0 f x",
            "XINFO STREAM b",
            "XADD b MAXLEN ~ 5 LIMIT 1 200-1 f x",
            "XINFO STREAM b",
            // Small limits.
            "CONFIG SET stream-node-max-entries 3",
            "CONFIG SET stream-node-max-bytes 0",
        ]
        .map(String::from),
    );
    lines.extend(xadds("c", 0..20, |i| format!("{}-0", i + 1)));
    lines.extend(
        [
            "XINFO STREAM c",
            "XDEL c 4-0 5-0",
            "XADD c 21-0 f x",
            "XTRIM c MAXLEN ~ 11",
            "XINFO STREAM c",
            "XRANGE c - +",
            "XREVRANGE c + - COUNT 4",
            "CONFIG SET stream-node-max-entries 0",
            "CONFIG SET stream-node-max-bytes 100",
        ]
        .map(String::from),
    );
    lines.extend(xadds("d", 0..20, |i| format!("{}-0", i + 1)));
    lines.extend(
        [
            "XINFO STREAM d",
            "XTRIM d MAXLEN ~ 5",
            "XINFO STREAM d",
            // Back to the defaults for the RESP3 round.
            "CONFIG SET stream-node-max-entries 100",
            "CONFIG SET stream-node-max-bytes 4096",
        ]
        .map(String::from),
    );
    check_owned(&lines);
}

#[test]
fn ids_ranges_and_reads() {
    check(&[
        "XADD s 5 a 1",
        "XADD s 5-* a 2",
        "XADD s 5-* a 3",
        "XADD s 7-* a 4",
        "XADD s 18446744073709551615-18446744073709551614 a 5",
        "XADD s 18446744073709551615-* a 6",
        "XADD s 18446744073709551615-* a 7",
        "XADD s * a 8",
        "XINFO STREAM s",
        "XRANGE s - +",
        "XRANGE s 5 5",
        "XRANGE s (5 +",
        "XRANGE s (5-1 (7",
        "XREVRANGE s (18446744073709551615-18446744073709551615 -",
        "XREVRANGE s + (5-0 COUNT 2",
        "XRANGE s (18446744073709551615-18446744073709551615 +",
        "XRANGE s - (0-0",
        "XRANGE s 7 5",
        "XRANGE s - + COUNT 0",
        "XRANGE s - + COUNT -1",
        "XREAD STREAMS s 5",
        "XREAD COUNT 1 STREAMS s missing 0 0",
        "XREAD STREAMS s $",
        "XREAD STREAMS missing $",
        "XDEL s 5-1 5-1 6-0",
        "XLEN s",
        // Exhausted IDs.
        "XADD e 18446744073709551615-18446744073709551615 a 1",
        "XADD e * a 2",
        "XADD e 18446744073709551615-* a 2",
        "XSETID e 18446744073709551615-18446744073709551615",
        // MAXLEN and MINID with XADD, NOMKSTREAM.
        "XADD n NOMKSTREAM 1-0 a 1",
        "EXISTS n",
        "XADD n NOMKSTREAM MAXLEN 0 1-0 a 1",
        "XADD n MAXLEN 0 1-0 a 1",
        "EXISTS n",
        "XINFO STREAM n",
        "XADD n MINID 5 2-0 a 1",
        "XADD n MINID = 5 6-0 a 1",
        "XADD n MAXLEN = 1 7-0 a 1",
        "XRANGE n - +",
        "XINFO STREAM n",
        // Keyspace commands on a stream with groups.
        "XGROUP CREATE n g 0",
        "XREADGROUP GROUP g c STREAMS n >",
        "COPY n n2",
        "RENAME n n3",
        "XINFO GROUPS n2",
        "XINFO GROUPS n3",
        "XREADGROUP GROUP g c STREAMS n2 0",
        "TYPE n2",
        "OBJECT ENCODING n2",
        "EXPIRE n2 1000",
        "XADD n2 8-0 a 1",
        "TTL n2",
        "XTRIM n2 MAXLEN 0",
        "EXISTS n2",
        "TTL n2",
    ]);
}

#[test]
fn error_texts() {
    check(&[
        "XADD",
        "XADD s",
        "XADD s 1-0",
        "XADD s 1-0 f",
        "XADD s 0-0 f v",
        "XADD s 0 f v",
        "XADD s 1-x f v",
        "XADD s -1 f v",
        "XADD s 1-0 f v",
        "XADD s 1-0 f v",
        "XADD s 0-5 f v",
        "XADD s MAXLEN f v",
        "XADD s MAXLEN -1 * f v",
        "XADD s MAXLEN x * f v",
        "XADD s MAXLEN 1 LIMIT 5 2-0 f v",
        "XADD s MAXLEN ~ 1 LIMIT -1 2-0 f v",
        "XADD s MAXLEN ~ 1 LIMIT x 2-0 f v",
        "XADD s MINID x 2-0 f v",
        "XADD s MAXLEN 1 MINID 1 2-0 f v",
        "XADD s LIMIT 5 2-0 f v",
        "XADD s NOMKSTREAM",
        "XTRIM s",
        "XTRIM s FOO 1",
        "XTRIM s MAXLEN",
        "XTRIM s MAXLEN = ~ 1",
        "XTRIM s MAXLEN ~ 0 LIMIT 0",
        "XTRIM missing MAXLEN 0",
        "XRANGE s",
        "XRANGE s - + COUNT",
        "XRANGE s - + LIMIT 1",
        "XRANGE s x +",
        "XRANGE s - x",
        "XRANGE s (- +",
        "XRANGE s - (+",
        "XREVRANGE s - +",
        "XLEN",
        "XLEN missing",
        "XDEL s",
        "XDEL s x",
        "XDEL missing 1-0",
        "XSETID",
        "XSETID missing 1-0",
        "XSETID s 0-0",
        "XSETID s 1-0 ENTRIESADDED",
        "XSETID s 1-0 FOO 1",
        "XREAD",
        "XREAD STREAMS",
        "XREAD COUNT STREAMS s 0",
        "XREAD STREAMS s",
        "XREAD STREAMS s t 0",
        "XREAD FOO STREAMS s 0",
        "XREAD STREAMS s x",
        "XREADGROUP STREAMS s >",
        "XREADGROUP GROUP g STREAMS s >",
        "XREADGROUP GROUP g c STREAMS s >",
        "XREADGROUP GROUP g c NOACK STREAMS s",
        "XGROUP",
        "XGROUP CREATE s",
        "XGROUP CREATE s g x",
        "XGROUP CREATE missing g $",
        "XGROUP CREATE s g $ FOO",
        "XGROUP CREATE s g $ ENTRIESREAD",
        "XGROUP CREATE s g $",
        "XGROUP CREATE s g $",
        "XGROUP SETID s nogroup $",
        "XGROUP SETID s g x",
        "XGROUP DESTROY missing g",
        "XGROUP DELCONSUMER s g",
        "XGROUP FOO s",
        "XACK s",
        "XACK s g",
        "XPENDING s",
        "XPENDING s g -",
        "XPENDING s g - +",
        "XPENDING s g - + x",
        "XPENDING s g IDLE",
        "XPENDING s g IDLE x - + 1",
        "XPENDING s nogroup",
        "XPENDING missing g",
        "XPENDING s g - + 1 c extra",
        "SET str x",
        "LPUSH list x",
        "XADD str 1-0 f v",
        "XADD list 1-0 f v",
        "XRANGE str - +",
        "XLEN list",
        "XREAD STREAMS s str 0 0",
        "XGROUP CREATE str g $",
        "XINFO STREAM str",
        "XINFO GROUPS list",
        "XTRIM str MAXLEN 0",
        "XSETID list 1-0",
        "XPENDING str g",
        "XCLAIM str g c 0 1-0",
        "XAUTOCLAIM list g c 0 0",
        "XREADGROUP GROUP g c STREAMS str >",
        "TYPE s",
        "OBJECT ENCODING s",
    ]);
}

/// Every stream write's keyspace events, on a server started with `notify-keyspace-events KEA`.
#[test]
fn keyspace_events() {
    let commands = [
        "XADD s 1-0 f v",
        "XADD s MAXLEN 1 2-0 f v",
        "XADD s NOMKSTREAM 3-0 f v",
        "XADD missing NOMKSTREAM 3-0 f v",
        "XADD s 1-0 f v",
        "XDEL s 3-0",
        "XDEL s 3-0",
        "XTRIM s MAXLEN 0",
        "XTRIM s MAXLEN 0",
        "XSETID s 5-0",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE new g $ MKSTREAM",
        "XGROUP CREATECONSUMER s g c",
        "XGROUP CREATECONSUMER s g c",
        "XADD s 6-0 f v",
        "XREADGROUP GROUP g c2 STREAMS s >",
        "XREADGROUP GROUP g c3 STREAMS s >",
        "XCLAIM s g c4 0 6-0",
        "XAUTOCLAIM s g c5 0 0",
        "XAUTOCLAIM s g c5 3600000 0",
        "XACK s g 6-0",
        "XGROUP SETID s g 0",
        "XGROUP DELCONSUMER s g c",
        "XGROUP DELCONSUMER s g nobody",
        "XGROUP DESTROY s g",
        "XGROUP DESTROY s g",
        "DEL s",
    ];
    let subject = if std::env::var_os("DIFF_AGAINST_REDIS_ONLY").is_some() {
        Flavor::Redis
    } else {
        Flavor::Rockslot
    };
    let ours = super::keyspace_events(subject, &commands);
    let theirs = super::keyspace_events(Flavor::Redis, &commands);
    assert!(
        theirs
            .iter()
            .any(|line| line.starts_with("__keyevent@0__:xgroup-createconsumer ")),
        "{theirs:#?}"
    );
    assert_eq!(ours, theirs);
}

/// [`Check::StreamTimes`] forgives small differences in times only: not in counts, not in
/// other integers, not in times further apart than the tolerance.
#[test]
fn stream_times_check_is_narrow() {
    use crate::support::resp::Reply::{self, Array, Bulk, Integer, Map};
    let bulk = |s: &str| Bulk(Some(s.as_bytes().to_vec()));
    let pending = |time: i64, count: i64| {
        Array(Some(vec![
            bulk("1-0"),
            bulk("c"),
            Integer(time),
            Integer(count),
        ]))
    };
    let consumer = |idle: i64, pending: i64| {
        Array(Some(vec![
            bulk("name"),
            bulk("c"),
            bulk("pending"),
            Integer(pending),
            bulk("idle"),
            Integer(idle),
        ]))
    };
    let map = |seen: i64, pel: i64| {
        Map(vec![
            (bulk("seen-time"), Integer(seen)),
            (bulk("pel-count"), Integer(pel)),
        ])
    };
    let same = |a: &Reply, b: &Reply| super::equivalent(Check::StreamTimes, a, b);
    assert!(same(&pending(10, 1), &pending(900, 1)));
    assert!(!same(&pending(10, 1), &pending(10, 2)));
    assert!(!same(&pending(10, 1), &pending(60_000, 1)));
    assert!(same(
        &Array(Some(vec![pending(0, 3)])),
        &Array(Some(vec![pending(7, 3)]))
    ));
    assert!(same(&consumer(3, 2), &consumer(40, 2)));
    assert!(!same(&consumer(3, 2), &consumer(3, 1)));
    assert!(same(&map(1_700_000_000_000, 4), &map(1_700_000_000_999, 4)));
    assert!(!same(
        &map(1_700_000_000_000, 4),
        &map(1_700_000_000_000, 5)
    ));
    assert!(!same(&Integer(1), &Integer(2)));
    assert!(!same(
        &Array(Some(vec![bulk("lag"), Integer(1)])),
        &Array(Some(vec![bulk("lag"), Integer(2)]))
    ));
}

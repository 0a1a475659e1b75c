//! Hand-written sorted set sequences: the conversions between Redis's listpack and skiplist
//! forms at their exact thresholds (by size, by member length, at creation, for every *STORE
//! result and for the `zset-max-listpack-*` settings), the -0 score a listpack turns into 0 but
//! a skiplist keeps, score printing, the same sequences against both forms, error texts and
//! their precedence, keyspace commands (RENAME, COPY, MOVE) on both forms, and the keyspace
//! events every sorted set command publishes.

use super::{Cmd, Pair};
use crate::support::server::Flavor;

fn check(lines: &[&str]) {
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

/// `ZADD key <score_of(i)> m<i> ...` for `i` in `0..n`.
fn zadd_range(key: &str, n: usize, score_of: impl Fn(usize) -> String) -> String {
    let pairs: Vec<String> = (0..n).map(|i| format!("{} m{i:03}", score_of(i))).collect();
    format!("ZADD {key} {}", pairs.join(" "))
}

const LONG64: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
const LONG65: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy";

#[test]
fn conversions() {
    let fill_128 = zadd_range("a", 128, |i| (i % 5).to_string());
    let fill_129 = zadd_range("b", 129, |i| (i % 5).to_string());
    let dup_129 = format!("ZADD c {}", vec!["1 same"; 129].join(" "));
    let long64 = format!("ZADD d 1 {LONG64}");
    let long65 = format!("ZADD e 1 {LONG65}");
    let grow65 = format!("ZADD d 2 {LONG65}");
    check(&[
        &fill_128,
        "OBJECT ENCODING a",
        "ZADD a 1 m000",
        "OBJECT ENCODING a",
        "ZADD a 1 extra",
        "OBJECT ENCODING a",
        "ZREM a extra m000 m001",
        "OBJECT ENCODING a",
        &fill_129,
        "OBJECT ENCODING b",
        // Duplicates do not count: Redis 7.0 creates by the first member only.
        &dup_129,
        "OBJECT ENCODING c",
        &long64,
        "OBJECT ENCODING d",
        &long65,
        "OBJECT ENCODING e",
        &grow65,
        "OBJECT ENCODING d",
        "ZRANGE b 0 -1 WITHSCORES",
        "ZRANGE b 5 20 REV WITHSCORES",
        "ZRANGE b (1 3 BYSCORE LIMIT 3 7",
        "ZRANGE b +inf -inf BYSCORE REV LIMIT 2 4 WITHSCORES",
        "ZRANK b m077",
        "ZREVRANK b m077",
        "ZCOUNT b (1 3",
        // *STORE results take the form of their size and longest member.
        "ZRANGESTORE s1 b 0 127",
        "OBJECT ENCODING s1",
        "ZRANGESTORE s2 b 0 128",
        "OBJECT ENCODING s2",
        "ZRANGESTORE s3 b 0 2",
        "OBJECT ENCODING s3",
        "ZUNIONSTORE u1 1 b",
        "OBJECT ENCODING u1",
        "ZINTERSTORE u2 2 b s3",
        "OBJECT ENCODING u2",
        "ZDIFFSTORE u3 2 b s1",
        "OBJECT ENCODING u3",
        "ZUNIONSTORE u4 2 d s3",
        "OBJECT ENCODING u4",
        "ZDIFFSTORE u5 2 d s3",
        "OBJECT ENCODING u5",
        "ZRANGE u5 0 -1 WITHSCORES",
        // Pops and range removals never convert back.
        "ZPOPMIN b 100",
        "OBJECT ENCODING b",
        "ZREMRANGEBYRANK b 0 -2",
        "OBJECT ENCODING b",
        "ZRANGE b 0 -1 WITHSCORES",
        "ZREMRANGEBYSCORE b -inf +inf",
        "EXISTS b",
        "CONFIG SET zset-max-listpack-entries 0",
        "ZADD z0 1 a",
        "OBJECT ENCODING z0",
        "CONFIG SET zset-max-listpack-entries 3",
        "CONFIG SET zset-max-listpack-value 2",
        "ZADD z1 1 a 2 b 3 c",
        "OBJECT ENCODING z1",
        "ZADD z1 4 d",
        "OBJECT ENCODING z1",
        "ZADD z2 1 abc",
        "OBJECT ENCODING z2",
        "ZADD z3 1 ab",
        "ZADD z3 2 abc",
        "OBJECT ENCODING z3",
        "CONFIG SET zset-max-listpack-entries 128",
        "CONFIG SET zset-max-listpack-value 64",
    ]);
}

#[test]
fn scores_and_signed_zero() {
    let long = format!("ZADD s 1 {LONG65} -0 m");
    check(&[
        // A listpack stores -0 as "0"; the reply to the write itself still says -0.
        "ZADD l -0 m",
        "ZSCORE l m",
        "ZINCRBY n -0 m",
        "ZSCORE n m",
        "ZADD l 0 m",
        "ZADD l CH 0 m",
        // A skiplist keeps -0, and 0 is an equal score: nothing changes.
        &long,
        "ZSCORE s m",
        "ZADD s CH 0 m",
        "ZSCORE s m",
        "ZINCRBY s 0 m",
        "ZSCORE s m",
        "ZSCAN s 0",
        "ZUNION 2 l s WEIGHTS -1 1 WITHSCORES",
        "ZUNIONSTORE u 2 l s WEIGHTS -1 1",
        "ZSCORE u m",
        "ZADD p 0.1 a 1e20 b 4503599627370497 c 123456789.125 d 1e-300 e 0x1p-3 f",
        "ZRANGE p 0 -1 WITHSCORES",
        "ZSCAN p 0",
        "ZADD p +inf i -inf j",
        "ZRANGE p -inf +inf BYSCORE WITHSCORES",
        "ZRANGE p (-inf (inf BYSCORE",
        "ZINCRBY p -inf i",
        "ZINCRBY p +inf j",
        "ZADD p INCR -inf i",
        "ZSCORE p i",
        "ZMSCORE p i j nope",
        "ZUNION 2 p p WEIGHTS 1 -1 WITHSCORES",
        "ZINTER 2 p p WEIGHTS 0 1 AGGREGATE MIN WITHSCORES",
        "ZRANGEBYSCORE p 1e400 -1e400",
        "ZRANGEBYSCORE p \"\" \"(\" WITHSCORES",
        "ZCOUNT p \" 1\" +inf",
        "ZCOUNT p \"1 \" +inf",
        "ZCOUNT p nan +inf",
        // One member: every random pick is deterministic.
        "ZADD one 5 x",
        "ZRANDMEMBER one",
        "ZRANDMEMBER one 1 WITHSCORES",
        "ZRANDMEMBER one -3 WITHSCORES",
        "ZRANDMEMBER one -2",
        "ZRANDMEMBER nokey",
        "ZRANDMEMBER nokey -2 WITHSCORES",
    ]);
}

/// The same sequence against a listpack and a skiplist: replies must not depend on the form.
#[test]
fn both_forms_agree() {
    for prefix in ["", &format!("ZADD k 5 {LONG65}")] {
        let mut lines: Vec<&str> = Vec::new();
        if !prefix.is_empty() {
            lines.push(prefix);
        }
        lines.extend([
            "ZADD k 1 a 1 b 1 c 2 d 2 e 3 f -1 g",
            "OBJECT ENCODING k",
            "ZRANGE k 0 -1 WITHSCORES",
            "ZRANGE k 1 3 REV",
            "ZRANGE k 1 (3 BYSCORE LIMIT 1 2 WITHSCORES",
            "ZRANGE k (3 1 BYSCORE REV LIMIT 0 -1",
            "ZRANGE k 1 3 BYSCORE LIMIT -1 2",
            "ZRANGEBYSCORE k -inf +inf LIMIT 2 0",
            "ZREVRANGEBYSCORE k +inf 1 WITHSCORES LIMIT 1 100",
            "ZRANK k e",
            "ZREVRANK k e",
            "ZRANK k nope",
            "ZCOUNT k 1 2",
            "ZCOUNT k (1 (2",
            "ZCOUNT k 2 1",
            "ZRANDMEMBER k 100 WITHSCORES",
            "ZRANDMEMBER k 0",
            "ZADD k XX GT CH 0 a 5 b 1 zz",
            "ZADD k NX CH 9 a 9 zz",
            "ZADD k LT INCR -1 c",
            "ZADD k GT INCR -1 c",
            "ZADD k XX INCR 1 nope",
            "ZRANGE k 0 -1 WITHSCORES",
            "ZPOPMIN k",
            "ZPOPMAX k 2",
            "ZMPOP 2 nokey k MIN COUNT 2",
            "ZMPOP 1 nokey MAX",
            "ZREMRANGEBYSCORE k (1 2",
            "ZREMRANGEBYRANK k -2 -1",
            "ZRANGE k 0 -1 WITHSCORES",
            "ZREM k a b c d e f g zz nope",
            "EXISTS k",
            "ZADD k 0 a 0 b 0 c 0 d",
            "ZRANGEBYLEX k - +",
            "ZRANGEBYLEX k (a [c LIMIT 1 5",
            "ZREVRANGEBYLEX k + (a LIMIT 0 2",
            "ZRANGE k [d - BYLEX REV",
            "ZLEXCOUNT k [b +",
            "ZREMRANGEBYLEX k (a [c",
            "ZRANGE k 0 -1",
        ]);
        check(&lines);
    }
}

/// Listpack lexicographical walks over mixed scores follow Redis's listpack algorithm.
#[test]
fn listpack_lex_over_mixed_scores() {
    check(&[
        "ZADD d 3 a 1 b 2 c 4 e",
        "ZRANGEBYLEX d - [b",
        "ZRANGEBYLEX d [b +",
        "ZRANGEBYLEX d [a [c",
        "ZREVRANGEBYLEX d [c -",
        "ZLEXCOUNT d [b [c",
        "ZRANGEBYLEX d - + LIMIT 1 2",
    ]);
}

#[test]
fn errors_and_their_order() {
    check(&[
        "SET s v",
        "ZADD s 1 a",
        "ZADD s x a",
        "ZADD s NX XX 1 a",
        "ZADD s GT LT 1 a",
        "ZADD s NX GT 1 a",
        "ZADD s INCR 1 a 2 b",
        "ZADD s 1",
        "ZADD s 1 a 2",
        "ZADD k NX",
        "ZADD k nan a",
        "ZINCRBY k nx a",
        "ZINCRBY k abc a",
        "ZINCRBY s 1 a",
        "ZADD k 1 a",
        "ZADD k INCR +inf a",
        "ZADD k INCR -inf a",
        "ZINCRBY k -inf a",
        "ZSCORE k a",
        "ZRANGE k 0 1 LIMIT 0 1",
        "ZRANGE k 0 1 LIMIT 0 -1",
        "ZRANGE k a b BYLEX WITHSCORES",
        "ZRANGE k [a [b BYLEX WITHSCORES",
        "ZRANGE k x 1",
        "ZRANGE k x 1 BYSCORE",
        "ZRANGE k 0 1 BYSCORE BYLEX",
        "ZRANGE k 0 1 REV REV",
        "ZRANGE k 0 1 LIMIT 0",
        "ZRANGEBYSCORE k 0 1 REV",
        "ZRANGEBYSCORE k 0 1 LIMIT x 1",
        "ZRANGEBYLEX k a b",
        "ZRANGEBYLEX s - +",
        "ZLEXCOUNT s - +",
        "ZREMRANGEBYLEX s - +",
        "ZREVRANGEBYLEX s + - LIMIT 0 1",
        "ZRANGESTORE d k 0 1 WITHSCORES",
        "ZRANGESTORE d s 0 1",
        "ZRANGE s 0 1",
        "ZCOUNT k x 1",
        "ZLEXCOUNT k a b",
        "ZREMRANGEBYRANK k x 1",
        "ZREMRANGEBYSCORE s x 1",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYLEX k [a b",
        "ZPOPMIN k x",
        "ZPOPMIN k -1",
        "ZPOPMIN k 1 2",
        "ZPOPMIN s 0",
        "ZPOPMIN nokey 0",
        "ZMPOP 0 k MIN",
        "ZMPOP x k MIN",
        "ZMPOP 2 k MIN",
        "ZMPOP 1 k MID",
        "ZMPOP 1 k MIN COUNT 0",
        "ZMPOP 1 k MIN COUNT 1 COUNT 1",
        "ZMPOP 1 s MIN",
        "ZUNION 0 k",
        "ZUNIONSTORE d 0 k",
        "ZINTER x k",
        "ZDIFF 3 k k",
        "ZUNION 1 k WEIGHTS x",
        "ZUNION 1 k WEIGHTS 1 2",
        "ZUNION 1 k AGGREGATE avg",
        "ZUNION 1 s AGGREGATE avg",
        "ZDIFF 1 k WEIGHTS 1",
        "ZDIFF 1 k AGGREGATE SUM",
        "ZDIFF 1 k WITHSCORES",
        "ZUNIONSTORE d 1 k WITHSCORES",
        "ZINTERCARD 0 k",
        "ZINTERCARD 1 k LIMIT -1",
        "ZINTERCARD 1 k LIMIT x",
        "ZINTERCARD 1 k WITHSCORES",
        "ZINTERCARD 2 k s",
        "ZRANDMEMBER k x",
        "ZRANDMEMBER k 1 FOO",
        "ZRANDMEMBER k -9223372036854775808",
        "ZRANDMEMBER k 4611686018427387904 WITHSCORES",
        "ZRANDMEMBER s 1",
        "ZSCAN k x",
        "ZSCAN k 0 COUNT 0",
        "ZSCAN s 0",
        "ZCARD s",
        "ZRANK s a",
        "ZMSCORE s a",
    ]);
}

#[test]
fn sets_as_inputs_and_stores() {
    check(&[
        "SADD set a b c 1",
        "ZADD z 2 a 3 b 5 z",
        "ZUNION 2 set z WITHSCORES",
        "ZINTER 2 set z WEIGHTS 10 1 WITHSCORES",
        "ZINTER 2 z set AGGREGATE MAX WITHSCORES",
        "ZDIFF 2 set z WITHSCORES",
        "ZDIFF 2 z set WITHSCORES",
        "ZINTERCARD 2 set z",
        "ZINTERCARD 2 set z LIMIT 1",
        "ZUNIONSTORE set 2 set z",
        "TYPE set",
        "ZRANGE set 0 -1 WITHSCORES",
        "SET str v",
        "EXPIRE z 1000",
        "ZINTERSTORE str 2 z z",
        "TYPE str",
        "TTL str",
        "ZINTERSTORE str 2 z nokey",
        "EXISTS str",
        "ZRANGESTORE z z 0 0",
        "TTL z",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZRANGESTORE z nokey 0 -1",
        "EXISTS z",
        "ZUNION 3 nokey set nokey2 AGGREGATE MIN",
    ]);
}

#[test]
fn keyspace_commands_on_both_forms() {
    let big = zadd_range("big", 200, |i| format!("{}.5", i % 9));
    check(&[
        &big,
        "ZADD small 1 a 2 b",
        "TYPE big",
        "TYPE small",
        "RENAME big big2",
        "ZRANGE big2 0 5 WITHSCORES",
        "OBJECT ENCODING big2",
        "COPY big2 big3",
        "ZREM big2 m000",
        "ZCARD big2",
        "ZCARD big3",
        "ZSCORE big3 m000",
        "MOVE big3 1",
        "SELECT 1",
        "ZRANGE big3 -3 -1 WITHSCORES",
        "ZRANK big3 m100",
        "SELECT 0",
        "COPY small small2",
        "ZADD small2 3 c",
        "ZRANGE small 0 -1",
        "DEL big2 small",
        "EXISTS big2 small",
        "ZADD big2 1 x",
        "ZRANGE big2 0 -1 WITHSCORES",
        "OBJECT ENCODING big2",
    ]);
}

/// Inside MULTI, every command sees the element records the earlier ones wrote.
#[test]
fn transactions_see_their_own_writes() {
    let big = zadd_range("t", 140, |i| (i % 4).to_string());
    check(&[
        "MULTI",
        "ZADD t 1 a 2 b",
        &big,
        "ZREM t m001 a",
        "ZINCRBY t 10 m002",
        "ZRANGE t 0 3 WITHSCORES",
        "ZRANGE t +inf 2 BYSCORE REV LIMIT 0 3",
        "ZRANK t m002",
        "ZPOPMIN t 2",
        "ZRANGESTORE t2 t 0 9",
        "ZUNIONSTORE t3 2 t t2 AGGREGATE MAX",
        "ZCARD t3",
        "OBJECT ENCODING t3",
        "EXEC",
        "ZRANGE t3 0 4 WITHSCORES",
    ]);
}

#[test]
fn keyspace_events() {
    let commands = [
        "ZADD z 1 a 2 b 3 c 4 d",
        "ZADD z 1 a",
        "ZADD z XX 5 nope",
        "ZINCRBY z 1 a",
        "ZADD z INCR 1 a",
        "ZREM z nope",
        "ZREM z a",
        "ZREMRANGEBYRANK z 0 0",
        "ZREMRANGEBYSCORE z 100 200",
        "ZREMRANGEBYSCORE z 3 3",
        "ZADD l 0 a 0 b 0 c",
        "ZREMRANGEBYLEX l [a [a",
        "ZPOPMIN l",
        "ZPOPMAX l 5",
        "ZADD z 7 x",
        "ZMPOP 2 l z MAX COUNT 10",
        "ZADD a 1 a 2 b",
        "ZADD b 2 b 3 c",
        "ZUNIONSTORE u 2 a b",
        "ZINTERSTORE i 2 a b",
        "ZDIFFSTORE d 2 a b",
        "ZDIFFSTORE d 2 a a",
        "ZDIFFSTORE d 2 a a",
        "ZRANGESTORE r a 0 0",
        "ZRANGESTORE r a 5 6",
        "ZREM a a b",
    ];
    let ours = super::keyspace_events(Flavor::Rockslot, &commands);
    let theirs = super::keyspace_events(Flavor::Redis, &commands);
    assert!(
        theirs
            .iter()
            .any(|line| line.starts_with("__keyevent@0__:zpopmin ")),
        "{theirs:#?}"
    );
    assert_eq!(ours, theirs);
}

/// ZRANDMEMBER's random forms cannot be compared with Redis, but every pair it returns must be
/// a member with its own score: checked on a big (skiplist) set, where the entries are found by
/// walking the score index to the drawn ranks.
#[test]
fn random_members_come_with_their_scores() {
    let server = crate::support::server::Server::start(Flavor::Rockslot, ["--save", ""]);
    let mut conn = server.conn();
    let add = Cmd::parse(&zadd_range("big", 300, |i| i.to_string()));
    conn.call(&add.args).expect("ZADD");
    for count in ["-60", "40", "1", "-1"] {
        let reply = conn
            .call(&["ZRANDMEMBER", "big", count, "WITHSCORES"])
            .expect("ZRANDMEMBER");
        let items = reply.as_items().expect("an array");
        let wanted = count.trim_start_matches('-').parse::<usize>().unwrap();
        assert_eq!(items.len(), 2 * wanted, "{count}: {reply:?}");
        for pair in items.chunks(2) {
            let member = String::from_utf8_lossy(pair[0].as_bytes().unwrap()).into_owned();
            let score = String::from_utf8_lossy(pair[1].as_bytes().unwrap()).into_owned();
            let index: usize = member.trim_start_matches('m').parse().unwrap();
            assert_eq!(
                score,
                index.to_string(),
                "{count}: {member} came with {score}"
            );
        }
    }
}

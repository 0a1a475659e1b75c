//! Hand-written DEBUG DIGEST and DEBUG DIGEST-VALUE sequences: values of every type in their
//! small and big forms (int, embstr and raw strings and HyperLogLogs; lists; listpack and
//! hashtable hashes; intset and hashtable sets; listpack and skiplist sorted sets with scores
//! such as 0.1, -0, inf and 1e300; streams with deleted entries, several nodes and consumer
//! groups), keys with and without an expire time, several databases, and the edges of the
//! subcommands (no keys, missing keys, wrong arity, inside MULTI). Every digest is compared
//! with the one redis-server 7.0.15 prints for the same data.

use super::{Cmd, Pair};

fn check(lines: &[String]) {
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

/// Owned lines from string literals.
fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// `<command> <key> <item(0)> ... <item(n-1)>`.
fn bulk(command: &str, key: &str, n: usize, item: impl Fn(usize) -> String) -> String {
    let items: Vec<String> = (0..n).map(item).collect();
    format!("{command} {key} {}", items.join(" "))
}

/// The per-value digests of `keys` and the whole-dataset digest.
fn digests(keys: &str) -> Vec<String> {
    vec![
        format!("DEBUG DIGEST-VALUE {keys}"),
        "DEBUG DIGEST".to_string(),
    ]
}

#[test]
fn empty_dataset_and_subcommand_edges() {
    check(&lines(&[
        "DEBUG DIGEST",
        "DEBUG DIGEST-VALUE",
        "DEBUG DIGEST-VALUE missing other",
        "DEBUG DIGEST extra",
        "debug digest",
        "SET k v",
        "DEBUG DIGEST-VALUE missing k k",
        "DEL k",
        "DEBUG DIGEST",
        // Inside MULTI the digest sees the block's earlier writes.
        "MULTI",
        "SET a 1",
        "DEBUG DIGEST",
        "DEBUG DIGEST-VALUE a",
        "DEL a",
        "DEBUG DIGEST",
        "EXEC",
    ]));
}

#[test]
fn strings_in_every_encoding_with_and_without_expire() {
    let mut seq = lines(&[
        "SET int 12345",
        "SET neg -9223372036854775808",
        "SET shared 7",
        "SET emb hello",
        "SET raw aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "SET empty \"\"",
        "APPEND app xyz",
        "SETRANGE range 3 abc",
        "SET f 1.5",
        "INCRBYFLOAT f 0.25",
        "INCR counter",
        "SETBIT bits 100 1",
        "PFADD hll a b c",
        "SET ttl v EX 100000",
        "SET ttl2 12 PX 100000000",
    ]);
    seq.extend(digests(
        "int neg shared emb raw empty app range f counter bits hll ttl ttl2",
    ));
    seq.extend(lines(&[
        // The expire time itself does not count, only whether there is one.
        "EXPIRE ttl 200000",
        "DEBUG DIGEST-VALUE ttl",
        "PERSIST ttl",
        "DEBUG DIGEST-VALUE ttl",
        "DEBUG DIGEST",
        "PEXPIRE emb 99999999",
        "DEBUG DIGEST",
    ]));
    check(&seq);
}

#[test]
fn lists_small_and_big_keep_their_order() {
    let mut seq = vec![
        "RPUSH small a b c 1 2 3".to_string(),
        "RPUSH reversed 3 2 1 c b a".to_string(),
        bulk("RPUSH", "big", 1500, |i| format!("e{i}")),
        bulk("RPUSH", "long", 3, |i| format!("{i}{}", "x".repeat(100))),
        "LPUSH big head".to_string(),
        "LINSERT big BEFORE e150 inserted".to_string(),
        "LREM big 1 e7".to_string(),
        "RPUSH ttl a".to_string(),
        "EXPIRE ttl 100000".to_string(),
    ];
    seq.extend(digests("small reversed big long ttl"));
    check(&seq);
}

#[test]
fn hashes_small_and_big() {
    let mut seq = vec![
        "HSET small f1 v1 f2 v2 f3 1".to_string(),
        // The same fields in another order: a hash digest does not depend on it.
        "HSET other f3 1 f1 v1 f2 v2".to_string(),
        bulk("HSET", "big", 1500, |i| format!("f{i} v{i}")),
        format!("HSET longvalue f {}", "y".repeat(100)),
        "HDEL big f5 f77".to_string(),
        "HINCRBY small n 5".to_string(),
        "HSET ttl a b".to_string(),
        "PEXPIRE ttl 100000000".to_string(),
    ];
    seq.extend(digests("small other big longvalue ttl"));
    check(&seq);
}

#[test]
fn sets_intset_and_hashtable() {
    let mut seq = vec![
        "SADD ints 1 2 3 -5".to_string(),
        "SADD mixed a b c 1".to_string(),
        bulk("SADD", "bigints", 600, |i| i.to_string()),
        bulk("SADD", "big", 700, |i| format!("m{i}")),
        "SREM big m3 m400".to_string(),
        "SADD ints2 -5 3 2 1".to_string(),
        "SINTERSTORE inter big mixed".to_string(),
        "SADD ttl x".to_string(),
        "EXPIRE ttl 100000".to_string(),
    ];
    seq.extend(digests("ints mixed bigints big ints2 inter ttl"));
    check(&seq);
}

#[test]
fn sorted_sets_with_awkward_scores_in_both_forms() {
    let long = "q".repeat(100);
    let mut seq = vec![
        "ZADD small 0.1 a -0.0 b inf c 1e300 d -inf e 3 f 1e-300 g".to_string(),
        "ZADD third 0.3333333333333333 x 2.5e-5 y 123456789012345678 z".to_string(),
        // -0 turns into 0 in a listpack but stays -0 in a skiplist.
        format!("ZADD negzero -0 {long}"),
        format!("ZADD skip 0.1 a -0.0 b inf c 1e300 d -inf e 1.5 {long}"),
        bulk("ZADD", "big", 700, |i| format!("{} m{i}", i as f64 / 7.0)),
        "ZINCRBY big 0.1 m5".to_string(),
        "ZREM big m9".to_string(),
        "ZADD ttl 1 a".to_string(),
        "EXPIRE ttl 100000".to_string(),
    ];
    seq.extend(digests("small third negzero skip big ttl"));
    check(&seq);
}

#[test]
fn streams_entries_nodes_and_groups() {
    let mut seq = vec![
        "XADD s 1-1 a 1 b 2".to_string(),
        "XADD s 2-0 a 3 b 4".to_string(),
        "XADD s 3-0 c 5".to_string(),
    ];
    seq.extend(digests("s"));
    // Groups, consumers and pending entries do not take part; deleted entries do not either.
    seq.extend(lines(&[
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g c1 COUNT 2 STREAMS s >",
        "DEBUG DIGEST-VALUE s",
        "XDEL s 2-0",
        "DEBUG DIGEST-VALUE s",
        "XSETID s 10-0",
        "DEBUG DIGEST-VALUE s",
        "XGROUP CREATE empty g $ MKSTREAM",
        "DEBUG DIGEST-VALUE empty",
    ]));
    // More entries than a node holds: several nodes, then trimmed.
    for i in 0..600 {
        seq.push(format!("XADD big {}-{} f{} v{i} g w", i + 1, i % 3, i % 4));
    }
    seq.extend(lines(&[
        "XGROUP CREATE big grp 0",
        "XREADGROUP GROUP grp c COUNT 5 STREAMS big >",
        "DEBUG DIGEST-VALUE big",
        "XTRIM big MAXLEN 450",
        "XADD ttl 1-1 a b",
        "EXPIRE ttl 100000",
    ]));
    seq.extend(digests("s empty big ttl"));
    check(&seq);
}

#[test]
fn many_keys_in_several_databases() {
    check(&lines(&[
        "DEBUG POPULATE 1200",
        "DEBUG DIGEST",
        "SELECT 2",
        "DEBUG POPULATE 700 p 50",
        "EXPIRE p:3 100000",
        "DEBUG DIGEST",
        "DEBUG DIGEST-VALUE p:3 p:4 key:1",
    ]));
}

#[test]
fn databases_are_told_apart() {
    check(&lines(&[
        "SET k v",
        "RPUSH l a b",
        "DEBUG DIGEST",
        // The same data in another database is another dataset.
        "MOVE k 1",
        "DEBUG DIGEST",
        "SELECT 1",
        "DEBUG DIGEST-VALUE k l",
        "SELECT 0",
        "MOVE l 5",
        "DEBUG DIGEST",
        "SWAPDB 0 5",
        "DEBUG DIGEST",
        "SELECT 15",
        "HSET h f v",
        "EXPIRE h 100000",
        "DEBUG DIGEST",
        "SELECT 1",
        "FLUSHDB",
        "DEBUG DIGEST",
        "FLUSHALL",
        "DEBUG DIGEST",
    ]));
}

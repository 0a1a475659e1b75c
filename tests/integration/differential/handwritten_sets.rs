//! Hand-written set sequences: the replies whose order or encoding the generator compares
//! loosely. Intsets reply in ascending numeric order, so their member lists are compared exactly
//! here; OBJECT ENCODING follows every conversion rule (by member, by size, and the *STORE and
//! SPOP results Redis builds afresh); every error text is checked once.

use super::{Cmd, Pair};

fn check(lines: &[&str]) {
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

/// `SADD key 0 1 ... n-1`.
fn sadd_range(key: &str, n: usize) -> String {
    let members: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!("SADD {key} {}", members.join(" "))
}

#[test]
fn sets() {
    let fill_512 = sadd_range("i", 512);
    let fill_600 = sadd_range("j", 600);
    check(&[
        "SADD a 3 -5 9223372036854775807 1 -9223372036854775808 3",
        "SMEMBERS a",
        "OBJECT ENCODING a",
        "SADD a 01",
        "OBJECT ENCODING a",
        "SREM a 01 1 3 -5 9223372036854775807",
        "OBJECT ENCODING a",
        "SADD b x",
        "OBJECT ENCODING b",
        "SADD n 5 4 6",
        "SINTER n n",
        "SUNION n nokey",
        "SDIFF n nokey",
        "SINTERCARD 2 n n LIMIT 2",
        "SMISMEMBER n 4 x 6",
        "SSCAN n 0 COUNT 1 MATCH 5",
        &fill_512,
        "OBJECT ENCODING i",
        "SADD i 512",
        "OBJECT ENCODING i",
        &fill_600,
        "SINTERSTORE k i j",
        "OBJECT ENCODING k",
        "SADD d x 1 2 3 4 5 6 7 8 9",
        "SADD e x",
        "SADD f 100",
        "SADD g 101",
        "SDIFFSTORE r d e f g",
        "OBJECT ENCODING r",
        "SDIFFSTORE r d e",
        "OBJECT ENCODING r",
        "SMEMBERS r",
        "SADD p 1 2 3 4 5 6 7",
        "EXPIRE p 1000",
        "SPOP p 7",
        "EXISTS p",
        "SET s v",
        "SADD s 1",
        "SINTER nokey s",
        "SMOVE nokey s 1",
        "SMOVE n s 4",
        "SMOVE n n 4",
        "SMOVE n fresh 4",
        "OBJECT ENCODING fresh",
        "SINTERCARD 0 n",
        "SINTERCARD 3 n",
        "SINTERCARD 1 n LIMIT -1",
        "SINTERCARD 1 n LIMIT",
        "SPOP n -1",
        "SPOP n 1 2",
        "SRANDMEMBER n -9223372036854775808",
        "SRANDMEMBER n 0",
        "SRANDMEMBER nokey 5",
        "SPOP nokey 5",
        "SPOP nokey",
        "SSCAN n x",
        "SSCAN nokey 0 COUNT 0",
        "SSCAN n 0 COUNT 0",
        "SSCAN n 0 TYPE set",
        "SINTERSTORE s nokey",
        "EXISTS s",
    ]);
}

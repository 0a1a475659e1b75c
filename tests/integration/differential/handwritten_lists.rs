//! Hand-written list sequences: lists longer than a storage page (1024 elements), so that
//! ranges, LPOS, LINSERT's shifts and LREM's compaction cross page boundaries, plus the reply
//! shapes and edge values the generator meets rarely (RANK -9223372036854775808, rotations).

use super::{Cmd, Pair};

fn check(lines: &[String]) {
    let cmds: Vec<Cmd> = lines.iter().map(|line| Cmd::parse(line)).collect();
    Pair::start().check(&cmds);
}

/// `PUSH key e<i % 7> ...` for `i` in `range`.
fn push(command: &str, key: &str, range: std::ops::Range<usize>) -> String {
    let elements: Vec<String> = range.map(|i| format!("e{}", i % 7)).collect();
    format!("{command} {key} {}", elements.join(" "))
}

#[test]
fn long_lists() {
    let mut lines = vec![
        push("RPUSH", "big", 0..1500),
        push("LPUSH", "big", 1500..2600),
        "RPUSH big pivot".to_string(),
        "LPUSH big headpivot".to_string(),
    ];
    lines.extend(
        [
            "LLEN big",
            "LINDEX big 1500",
            "LINDEX big -1",
            "LRANGE big 1020 1030",
            "LRANGE big -5 -1",
            "LPOS big e3 RANK 200",
            "LPOS big e3 COUNT 0 MAXLEN 2000",
            "LPOS big e5 RANK -300 COUNT 3",
            "LPOS big e5 RANK -9223372036854775808 COUNT 2 MAXLEN 40",
            "LINSERT big AFTER headpivot x",
            "LINSERT big BEFORE pivot y",
            "LRANGE big 0 5",
            "LRANGE big -5 -1",
            "LINDEX big 1300",
            "LREM big 100 e1",
            "LREM big -50 e2",
            "LLEN big",
            "LRANGE big 0 -1",
            "LREM big 0 e4",
            "LRANGE big 0 -1",
            "LTRIM big 100 -100",
            "LRANGE big 0 -1",
            "LPOP big 1100",
            "RPOP big 3",
            "LMOVE big big LEFT RIGHT",
            "LRANGE big -3 -1",
            "LMPOP 2 missing big RIGHT COUNT 5000",
            "EXISTS big",
        ]
        .map(String::from),
    );
    check(&lines);
}

#[test]
fn list_replies() {
    let lines = [
        "LPOP missing",
        "LPOP missing 2",
        "LPOP missing 0",
        "RPUSH l a b c a",
        "LPOP l 0",
        "RPOP l 2",
        "LMOVE l l RIGHT LEFT",
        "LRANGE l 0 -1",
        "RPOPLPUSH l fresh",
        "OBJECT ENCODING fresh",
        "LSET l 5 x",
        "LSET l -2 x",
        "LSET missing 0 x",
        "LINSERT l BEFORE x first",
        "LINSERT l AFTER nothing z",
        "LINSERT missing AFTER a z",
        "LPOS l x",
        "LPOS missing x",
        "LPOS missing x COUNT 1",
        "LMPOP 1 missing LEFT",
        "LMPOP 2 missing l LEFT COUNT 10",
        "EXISTS l",
        "LPUSHX l a",
        "RPUSHX fresh b",
        "LRANGE fresh 0 -1",
    ]
    .map(String::from);
    check(&lines);
}

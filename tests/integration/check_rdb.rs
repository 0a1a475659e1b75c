//! `rockslot check-rdb` against the fixture corpus and the real `redis-check-rdb` 7.0.15.
//!
//! Every file of `../shared/fixtures/rdb` must pass (exit 0) with, per type and per database,
//! as many keys not yet expired as the fixture's JSON records (what Redis held after loading
//! it), and as many function libraries. Every RDB file of `../shared/fixtures/bad` must get the
//! verdict and exit code `redis-check-rdb` 7.0.15 gave (the JSON's `redis_check`). For both
//! folders, the lines this tool shares with `redis-check-rdb` (AUX fields, database switches,
//! module AUX blocks, checksum status, the three `[info]` counters) must be the ones
//! `redis-check-rdb` printed: run live for the files 7.0.15 can read, from the JSON for `bad/`.
//!
//! Where 7.0.15 refuses a file only for its RDB version (11 or 12: Redis 7.2, 7.4), this tool
//! reads it and must pass it like the other good files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::fixtures;
use crate::support::server::Flavor;

/// What one run of a checker printed.
struct Run {
    code: Option<i32>,
    stdout: String,
}

fn run(program: &Path, args: &[&str], file: &Path) -> Run {
    let output = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{}: {stderr}", file.display());
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

fn check_rdb(file: &Path) -> Run {
    run(&Flavor::Rockslot.program(), &["check-rdb"], file)
}

fn redis_check_rdb(file: &Path) -> Run {
    let program = Path::new("/usr/bin/redis-check-rdb");
    assert!(
        program.exists(),
        "redis-check-rdb 7.0.15 (Debian's redis-tools) is required"
    );
    run(program, &[], file)
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The lines both checkers print the same way. A `MODULE AUX` line is compared without its
/// offset: Redis prints it before the module's data, this tool once the data is skipped.
fn shared_lines(output: &str) -> Vec<String> {
    const SHARED: &[&str] = &[
        "AUX FIELD ",
        "Selecting DB ID ",
        "MODULE AUX for: ",
        "] Checksum OK",
        "checksum disabled",
        "RDB looks OK",
        "--- RDB ERROR DETECTED ---",
        " keys read",
        " expires",
        " already expired",
    ];
    output
        .lines()
        .filter(|l| !l.starts_with("[info] db ") && !l.starts_with("[info] type "))
        .filter(|l| SHARED.iter().any(|s| l.contains(s)))
        .map(|l| match l.find("MODULE AUX for: ") {
            Some(at) => l[at..].to_string(),
            None => l.to_string(),
        })
        .collect()
}

/// `[info] PREFIX...: N keys, ..., M already expired` lines as `(name, keys - expired, expires
/// - expired)`: what a loader keeps.
fn live_counts(output: &str, prefix: &str) -> BTreeMap<String, (i64, i64)> {
    let mut counts = BTreeMap::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let (what, numbers) = rest.split_once(": ").expect("a colon");
        let n: Vec<i64> = numbers
            .split(", ")
            .map(|part| {
                let digits = part.split(' ').next().expect("a number");
                digits.parse().expect("a count")
            })
            .collect();
        let (keys, expires, expired) = match n[..] {
            [keys, expired] => (keys, 0, expired),
            [keys, expires, expired] => (keys, expires, expired),
            _ => panic!("unexpected line {line:?}"),
        };
        counts.insert(what.to_string(), (keys - expired, expires - expired));
    }
    counts
}

fn expected_types(json: &Json) -> BTreeMap<String, (i64, i64)> {
    let mut counts = BTreeMap::new();
    for key in json["keys"].as_array().expect("keys") {
        let t = key["type"].as_str().expect("type").to_string();
        counts.entry(t).or_insert((0, 0)).0 += 1;
    }
    counts
}

fn expected_dbs(json: &Json) -> BTreeMap<String, (i64, i64)> {
    json["dbs"]
        .as_object()
        .expect("dbs")
        .iter()
        .map(|(db, v)| {
            let keys = v["keys"].as_i64().expect("keys");
            (db.clone(), (keys, v["expires"].as_i64().expect("expires")))
        })
        .collect()
}

fn functions_line(json: &Json) -> String {
    let n = json["functions"].as_array().map_or(0, Vec::len);
    format!("[info] {n} function libraries")
}

#[test]
fn every_good_rdb_fixture_passes_with_the_recorded_counts() {
    let files = fixtures::rdb_files("rdb");
    assert!(files.len() > 50, "only {} fixtures found", files.len());
    for file in files {
        let name = name(&file);
        let ours = check_rdb(&file);
        assert_eq!(ours.code, Some(0), "{name}:\n{}", ours.stdout);
        assert!(ours.stdout.contains("\\o/ RDB looks OK! \\o/"), "{name}");
        let json = fixtures::expected_json(&file);
        let types: BTreeMap<String, i64> = live_counts(&ours.stdout, "[info] type ")
            .into_iter()
            .map(|(t, (keys, _))| (t, keys))
            .filter(|(_, keys)| *keys > 0)
            .collect();
        let expected: BTreeMap<String, i64> = expected_types(&json)
            .into_iter()
            .map(|(t, (keys, _))| (t, keys))
            .collect();
        assert_eq!(types, expected, "{name}: keys per type\n{}", ours.stdout);
        let dbs: BTreeMap<_, _> = live_counts(&ours.stdout, "[info] db ")
            .into_iter()
            .filter(|(_, (keys, _))| *keys > 0)
            .collect();
        assert_eq!(dbs, expected_dbs(&json), "{name}: keys, expires per db");
        assert!(
            ours.stdout.contains(&functions_line(&json)),
            "{name}: want {:?}\n{}",
            functions_line(&json),
            ours.stdout
        );
        let redis = redis_check_rdb(&file);
        if redis.code == Some(0) {
            assert_eq!(
                shared_lines(&ours.stdout),
                shared_lines(&redis.stdout),
                "{name}: lines shared with redis-check-rdb"
            );
        } else {
            // 7.0.15 refuses only the newer versions, which this tool reads.
            assert!(
                redis.stdout.contains("Can't handle RDB format version 1"),
                "{name}: redis-check-rdb said\n{}",
                redis.stdout
            );
        }
    }
}

#[test]
fn every_bad_rdb_gets_the_verdict_of_redis_check_rdb() {
    let files = fixtures::rdb_files("bad");
    assert!(!files.is_empty(), "no bad RDB fixtures found");
    for file in files {
        let name = name(&file);
        let json = fixtures::expected_json(&file);
        let recorded = &json["redis_check"];
        assert!(
            recorded["tool"]
                .as_str()
                .is_some_and(|t| t.starts_with("redis-check-rdb")),
            "{name}: no redis-check-rdb record"
        );
        let want = recorded["exit_code"].as_i64().map(|c| c as i32);
        let ours = check_rdb(&file);
        assert_eq!(ours.code, want, "{name}:\n{}", ours.stdout);
        let verdict = if want == Some(0) {
            "\\o/ RDB looks OK! \\o/"
        } else {
            "--- RDB ERROR DETECTED ---"
        };
        assert!(ours.stdout.contains(verdict), "{name}:\n{}", ours.stdout);
        let theirs: Vec<&str> = recorded["output"]
            .as_array()
            .expect("output lines")
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert_eq!(
            shared_lines(&ours.stdout),
            shared_lines(&theirs.join("\n")),
            "{name}: lines shared with redis-check-rdb\n{}",
            ours.stdout
        );
    }
}

#[test]
fn usage_and_missing_files_exit_1() {
    let program = Flavor::Rockslot.program();
    let out = Command::new(&program)
        .arg("check-rdb")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: rockslot check-rdb"));
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = check_rdb(&dir.path().join("none.rdb"));
    assert_eq!(missing.code, Some(1));
}

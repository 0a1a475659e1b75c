//! `rockslot check-aof` against the real `redis-check-aof` 7.0.15 on every AOF fixture of
//! `../shared/fixtures/aof` and `../shared/fixtures/bad` (files added later are picked up).
//!
//! Both tools run on identical copies, from the same working directory and with the same
//! relative path (a multi-part fixture through its manifest), so their outputs must be equal
//! line for line, and their exit codes too. Two differences are allowed, both inherited from
//! `rockslot check-rdb`: an RDB part of version 11 or 12 (Redis 7.2, 7.4) is read where 7.0.15
//! refuses it, and an RDB error is described in rockslot's words (the line after
//! `--- RDB ERROR DETECTED ---`). With `--fix`, both are answered `y`, `n` or nothing on standard
//! input and must print the same, exit the same and leave the same bytes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fixtures;
use crate::support::server::Flavor;

/// What one run printed, and the files it left.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: Option<i32>,
    lines: Vec<String>,
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// Copies a fixture into a fresh directory; returns it and the path to check, relative to it.
fn stage(fixture: &Path) -> (tempfile::TempDir, &'static str) {
    let dir = tempfile::tempdir().expect("temp dir");
    if fixture.is_dir() {
        let from = fixture.join("appendonlydir");
        let to = dir.path().join("appendonlydir");
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("read dir") {
            let path = entry.expect("entry").path();
            copy_writable(&path, &to.join(path.file_name().expect("name")));
        }
        (dir, "appendonlydir/appendonly.aof.manifest")
    } else {
        copy_writable(fixture, &dir.path().join("appendonly.aof"));
        (dir, "appendonly.aof")
    }
}

fn copy_writable(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy");
    let mut permissions = std::fs::metadata(to).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(to, permissions).expect("chmod");
}

/// Every file under `dir`, sorted, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
                found.push((relative, bytes));
            }
        }
    }
    found.sort();
    found
}

fn run(program: &Path, first_args: &[&str], fixture: &Path, fix: bool, answer: &str) -> Run {
    let (dir, target) = stage(fixture);
    let mut args: Vec<&str> = first_args.to_vec();
    if fix {
        args.push("--fix");
    }
    args.push(target);
    let mut child = Command::new(program)
        .args(&args)
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(answer.as_bytes());
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{}: {stderr}",
        fixture.display()
    );
    Run {
        code: output.status.code(),
        lines: String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        files: files(dir.path()),
    }
}

fn redis_check_aof() -> PathBuf {
    let program = PathBuf::from("/usr/bin/redis-check-aof");
    assert!(
        program.exists(),
        "redis-check-aof 7.0.15 (Debian's redis-tools) is required"
    );
    program
}

/// The RDB version of a fixture's RDB part, if it has one.
fn rdb_version(fixture: &Path) -> Option<u32> {
    let json = fixtures::expected_json(fixture);
    let aof = &json["aof"];
    aof["base_rdb_version"]
        .as_u64()
        .or(aof["preamble_rdb_version"].as_u64())
        .map(|v| v as u32)
}

/// The output without the line describing an RDB error (worded differently on purpose).
fn comparable(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for line in lines {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        skip_next = line == "--- RDB ERROR DETECTED ---";
        out.push(line.clone());
    }
    out
}

fn compare(fixture: &Path, fix: bool, answer: &str) {
    let ours = run(
        &Flavor::Rockslot.program(),
        &["check-aof"],
        fixture,
        fix,
        answer,
    );
    let theirs = run(&redis_check_aof(), &[], fixture, fix, answer);
    let label = format!("{} (fix {fix}, answer {answer:?})", fixture.display());
    assert_eq!(
        comparable(&ours.lines),
        comparable(&theirs.lines),
        "{label}: output"
    );
    assert_eq!(ours.code, theirs.code, "{label}: exit code");
    assert!(ours.files == theirs.files, "{label}: files left differ");
}

fn all_fixtures() -> Vec<PathBuf> {
    let mut all = fixtures::aof_fixtures("aof");
    all.extend(fixtures::aof_fixtures("bad"));
    all
}

#[test]
fn check_aof_prints_what_redis_check_aof_prints() {
    let mut checked = 0;
    for fixture in all_fixtures() {
        if rdb_version(&fixture).is_some_and(|v| v > 10) {
            let ours = run(
                &Flavor::Rockslot.program(),
                &["check-aof"],
                &fixture,
                false,
                "",
            );
            assert_eq!(
                ours.code,
                Some(0),
                "{}: {:?}",
                fixture.display(),
                ours.lines
            );
            continue;
        }
        compare(&fixture, false, "");
        checked += 1;
    }
    assert!(checked > 10, "only {checked} fixtures compared");
}

#[test]
fn fix_truncates_like_redis_check_aof() {
    let mut fixed = 0;
    for fixture in all_fixtures() {
        if rdb_version(&fixture).is_some_and(|v| v > 10) {
            continue;
        }
        let probe = run(&redis_check_aof(), &[], &fixture, false, "");
        if probe.code == Some(0) {
            continue;
        }
        for answer in ["y\n", "Y\n", "n\n", ""] {
            compare(&fixture, true, answer);
        }
        fixed += 1;
    }
    assert!(fixed > 0, "no damaged AOF fixture found");
}

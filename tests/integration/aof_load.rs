//! Startup load of real AOFs: every fixture under `../shared/fixtures/aof`, and the AOF ones of
//! `../shared/fixtures/bad`, is put in an empty data directory as Redis would find it (a
//! multi-part fixture's `appendonlydir`, or a single file as `appendonly.aof`) and rockslot is
//! started on it with `appendonly yes`. Where Redis 7.0.15 loaded the fixture (its JSON records
//! the outcome), rockslot must start and hold the fixture's keys (type, expire time and
//! `DEBUG DIGEST-VALUE` of every key, keys per database), and the `DEBUG DIGEST` of a real
//! redis-server 7.0.15 started on a copy of the same directory. Where 7.0.15 refused it, rockslot
//! must refuse it too, with Redis's AOF error lines. Truncated fixtures are also loaded with
//! `aof-load-truncated no` (the JSON's `strict_load`), and with `yes` they must log Redis's
//! warnings and be cut where Redis cuts them. Files added to the corpus later are picked up.
//!
//! Boot precedence: rockslot's own data wins over any file; `appendonly yes` loads the AOF and
//! nothing else (not even a `dump.rdb` beside it), `appendonly no` loads `dump.rdb`; a pre-7.0
//! single file is moved into the AOF directory; a bad manifest stops the node even with
//! `appendonly no`. Each case is compared with redis-server on the same files.

use std::path::{Path, PathBuf};

use formats::aof::{Item, Poll as AofPoll, Reader as AofReader};
use formats::rdb::{Poll as RdbPoll, Reader as RdbReader};
use serde_json::Value as Json;

use crate::fixtures;
use crate::support::now_ms;
use crate::support::resp::{Conn, Reply};
use crate::support::server::{
    free_port, rockslot_killable_at, run_to_exit, Exited, Flavor, Server,
};

/// Commands Redis 7.0 replays that rockslot cannot run yet (no Lua scripting): a fixture that
/// needs one must be refused with a clear message rather than load a different dataset. Empty
/// this list when scripting arrives; the fixtures then must load.
const NOT_YET: &[&[u8]] = &[b"eval", b"evalsha"];

/// Lines of Redis's log about loading the AOF that rockslot must print exactly. Redis's RDB
/// loader has its own wording (and an errno-dependent line after it fails), not compared.
const AOF_MESSAGES: &[&str] = &[
    "append only file",
    "AOF ",
    "Truncating",
    "Unknown command",
    "Unable to obtain",
    "Can't handle RDB format version",
    "Revert incomplete",
    "truncated file is not the last",
];

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies a directory tree, writable (the fixtures are read-only; loading may truncate).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("dir entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            copy_writable(&path, &target);
        }
    }
}

fn copy_writable(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy fixture");
    let mut permissions = std::fs::metadata(to).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(to, permissions).expect("chmod");
}

/// Puts a fixture into `data` as Redis finds an AOF.
fn install(fixture: &Path, data: &Path) {
    std::fs::create_dir_all(data).expect("data dir");
    if fixture.is_dir() {
        copy_tree(&fixture.join("appendonlydir"), &data.join("appendonlydir"));
    } else {
        copy_writable(fixture, &data.join("appendonly.aof"));
    }
}

/// The files of a fixture holding commands, in load order (manifest order for a directory).
fn aof_files(fixture: &Path) -> Vec<PathBuf> {
    if !fixture.is_dir() {
        return vec![fixture.to_path_buf()];
    }
    let dir = fixture.join("appendonlydir");
    let text = std::fs::read(dir.join("appendonly.aof.manifest")).expect("manifest");
    let manifest = formats::aof::Manifest::parse(&text).expect("fixture manifest");
    manifest
        .files_to_load()
        .map(|f| dir.join(&f.name))
        .filter(|p| p.exists())
        .collect()
}

/// The first command of a fixture that rockslot cannot run yet, if any.
fn needs_scripting(fixture: &Path) -> Option<String> {
    for file in aof_files(fixture) {
        let data = std::fs::read(&file).expect("read aof");
        let start = if formats::aof::starts_with_rdb(&data) {
            let mut rdb = RdbReader::default();
            rdb.feed(&data);
            rdb.end_input();
            loop {
                match rdb.poll() {
                    Ok(RdbPoll::Event(_)) => {}
                    Ok(RdbPoll::Done) => break rdb.consumed() as usize,
                    _ => return None,
                }
            }
        } else {
            0
        };
        let mut reader = AofReader::new(0);
        reader.feed(&data[start..]);
        reader.end_input();
        while let Ok(AofPoll::Item(item)) = reader.poll() {
            if let Item::Command(args) = item {
                let command = args[0].to_ascii_lowercase();
                if NOT_YET.contains(&command.as_slice()) {
                    return Some(String::from_utf8_lossy(&args[0]).into_owned());
                }
            }
        }
    }
    None
}

/// What Redis 7.0.15 did: `None` when it loaded the fixture, else its error lines.
fn redis_70_refusal(json: &Json, strict: bool) -> Option<Vec<String>> {
    let result = if strict {
        &json["strict_load"]
    } else {
        &json["load_results"]["7.0.15"]
    };
    if result["ok"] == Json::Bool(true) {
        return None;
    }
    let lines = result["error_lines"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(lines)
}

fn aof_lines(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| !l.starts_with("Unrecoverable error reading"))
        .filter(|l| AOF_MESSAGES.iter().any(|m| l.contains(m)))
        .collect()
}

fn rockslot_args(truncated: bool) -> Vec<String> {
    let yes_no = if truncated { "yes" } else { "no" };
    [
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
        "--aof-load-truncated",
        yes_no,
    ]
    .map(String::from)
    .to_vec()
}

/// Runs rockslot on a fixture expecting it to exit; returns what it printed.
fn run_refused(fixture: &Path, truncated: bool) -> Exited {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("data");
    install(fixture, &data);
    let port = free_port().to_string();
    let mut args: Vec<std::ffi::OsString> = ["--port", &port, "--bind", "127.0.0.1", "--dir"]
        .iter()
        .map(Into::into)
        .collect();
    args.push(data.into_os_string());
    args.extend(rockslot_args(truncated).into_iter().map(Into::into));
    run_to_exit(&Flavor::Rockslot.program(), &args, root.path())
}

fn check_refused(fixture: &Path, truncated: bool, expected: &[String]) {
    let exited = run_refused(fixture, truncated);
    let output = format!("{}{}", exited.stdout, exited.stderr);
    let label = format!("{} (aof-load-truncated {truncated})", name(fixture));
    assert!(
        !exited.status.success(),
        "{label}: Redis 7.0.15 refused it, rockslot exited with {:?}:\n{output}",
        exited.status
    );
    assert!(!output.contains("panicked"), "{label} panicked:\n{output}");
    for line in aof_lines(expected) {
        assert!(
            output.contains(line.as_str()),
            "{label}: Redis logged {line:?}, rockslot did not:\n{output}"
        );
    }
}

/// `DEBUG DIGEST` of a server.
fn digest(conn: &mut Conn) -> Reply {
    conn.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST")
}

/// Every key of the JSON not yet expired: type, expire time and digest; keys per database.
fn check_contents(conn: &mut Conn, json: &Json, label: &str) {
    let now = now_ms();
    let keys = json["keys"].as_array().expect("keys");
    for entry in keys {
        let expire = entry["expire_at_ms"].as_i64();
        if expire.is_some_and(|t| t <= now) {
            continue;
        }
        let db = entry["db"].as_u64().expect("db").to_string();
        let key = fixtures::json_bytes(&entry["key"]);
        let shown = String::from_utf8_lossy(&key).into_owned();
        conn.call(&[b"SELECT".as_slice(), db.as_bytes()])
            .expect("SELECT");
        let kind = conn.call(&[b"TYPE".as_slice(), &key]).expect("TYPE");
        let expected_kind = entry["type"].as_str().expect("type");
        assert_eq!(
            kind,
            Reply::Simple(expected_kind.as_bytes().to_vec()),
            "{label}: TYPE of {shown} in db {db}"
        );
        let ttl = conn
            .call(&[b"PEXPIRETIME".as_slice(), &key])
            .expect("PEXPIRETIME");
        assert_eq!(
            ttl,
            Reply::Integer(expire.unwrap_or(-1)),
            "{label}: PEXPIRETIME of {shown}"
        );
        // Redis 7.2 changed the digest of sorted sets: a file written by 7.2/7.4 records theirs.
        let newer_zset = expected_kind == "zset" && json["loaded_with"] != "7.0.15";
        if let Some(value_digest) = entry["digest_value"].as_str().filter(|_| !newer_zset) {
            let got = conn
                .call(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", &key])
                .expect("DIGEST-VALUE");
            assert_eq!(
                got,
                Reply::Array(Some(vec![Reply::Simple(value_digest.as_bytes().to_vec())])),
                "{label}: DEBUG DIGEST-VALUE of {shown} ({expected_kind})"
            );
        }
    }
    let dbs = json["dbs"].as_object().expect("dbs");
    for (db, counts) in dbs {
        conn.call(&["SELECT", db]).expect("SELECT");
        let size = conn.call(&["DBSIZE"]).expect("DBSIZE");
        assert_eq!(
            size,
            Reply::Integer(counts["keys"].as_i64().expect("keys")),
            "{label}: keys in db {db}"
        );
    }
    conn.call(&["SELECT", "0"]).expect("SELECT");
}

/// The AOF file Redis names in a "Truncating the AOF X at offset N" warning, and N.
fn truncation(warnings: &[String]) -> Option<(String, u64)> {
    warnings.iter().find_map(|w| {
        let rest = w.strip_prefix("!!! Truncating the AOF ")?;
        let (file, offset) = rest.split_once(" at offset ")?;
        let offset = offset.trim_end_matches(" !!!").parse().ok()?;
        Some((file.to_string(), offset))
    })
}

/// Whether Redis 7.0's refusal (its first error line) is about something of Redis 7.2/7.4
/// that rockslot has: RDB versions 11 and 12, the hash field expiry commands.
fn newer_than_70(lines: &[String]) -> bool {
    const NEWER_COMMANDS: &[&str] = &[
        "HEXPIRE",
        "HPEXPIRE",
        "HEXPIREAT",
        "HPEXPIREAT",
        "HPERSIST",
        "HTTL",
        "HPTTL",
        "HEXPIRETIME",
        "HPEXPIRETIME",
    ];
    let Some(first) = lines.first() else {
        return false;
    };
    first.contains("Can't handle RDB format version 11")
        || first.contains("Can't handle RDB format version 12")
        || NEWER_COMMANDS
            .iter()
            .any(|c| first.contains(&format!("Unknown command '{c}'")))
}

/// A fixture only a newer Redis loads: the contents must equal its JSON.
fn check_newer_loads(fixture: &Path, json: &Json) {
    let label = name(fixture);
    let builder = Server::builder(Flavor::Rockslot).args(rockslot_args(true));
    install(fixture, &builder.root().join("data"));
    let server = builder.start();
    check_contents(&mut server.conn(), json, &label);
}

fn check_loads(fixture: &Path, json: &Json) {
    let label = name(fixture);
    let builder = Server::builder(Flavor::Rockslot).args(rockslot_args(true));
    install(fixture, &builder.root().join("data"));
    let server = builder.start();
    let mut conn = server.conn();
    check_contents(&mut conn, json, &label);
    if json["loaded_with"] == "7.0.15" {
        assert_eq!(
            digest(&mut conn),
            Reply::Simple(json["digest"].as_str().expect("digest").as_bytes().to_vec()),
            "{label}: DEBUG DIGEST against the one recorded for 7.0.15"
        );
    }
    let redis = Server::builder(Flavor::Redis).args([
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    install(fixture, &redis.root().join("data"));
    let redis = redis.start();
    assert_eq!(
        digest(&mut conn),
        digest(&mut redis.conn()),
        "{label}: DEBUG DIGEST against redis-server 7.0.15 on the same files"
    );

    let log = server.log();
    let warnings: Vec<String> = json["log_warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for line in aof_lines(&warnings) {
        assert!(
            log.contains(line.as_str()),
            "{label}: Redis warned {line:?}, rockslot did not"
        );
    }
    if let Some((file, offset)) = truncation(&warnings) {
        let cut = server.data_dir().join("appendonlydir").join(&file);
        let len = std::fs::metadata(&cut).expect("truncated file").len();
        assert_eq!(len, offset, "{label}: {file} cut where Redis cuts it");
        let redis_cut = redis.data_dir().join("appendonlydir").join(&file);
        let redis_len = std::fs::metadata(redis_cut).expect("redis's file").len();
        assert_eq!(len, redis_len, "{label}: {file} as redis-server left it");
    }
}

fn check_fixture(fixture: &Path) {
    let json = fixtures::expected_json(fixture);
    if let Some(command) = needs_scripting(fixture) {
        let exited = run_refused(fixture, true);
        let output = format!("{}{}", exited.stdout, exited.stderr);
        assert!(
            !exited.status.success(),
            "{}: loaded without {command}",
            name(fixture)
        );
        assert!(
            output.contains(&format!("Command '{command}' in the append only file")),
            "{}: no clear refusal:\n{output}",
            name(fixture)
        );
        eprintln!(
            "note: {} needs {command}, which rockslot cannot run yet: refused",
            name(fixture)
        );
        return;
    }
    match redis_70_refusal(&json, false) {
        None => check_loads(fixture, &json),
        // Refused by 7.0 only for what a newer Redis wrote (RDB 11/12, 7.4's hash field expiry
        // commands), which rockslot reads: it loads the contents the JSON records.
        Some(lines) if json["load_ok"] == Json::Bool(true) && newer_than_70(&lines) => {
            check_newer_loads(fixture, &json)
        }
        Some(lines) => check_refused(fixture, true, &lines),
    }
    if json.get("strict_load").is_some() {
        match redis_70_refusal(&json, true) {
            Some(lines) => check_refused(fixture, false, &lines),
            None => panic!("{}: a strict load that Redis accepted", name(fixture)),
        }
    }
}

#[test]
fn every_aof_fixture_loads_like_redis_70() {
    let found = fixtures::aof_fixtures("aof");
    assert!(found.len() > 5, "only {} AOF fixtures found", found.len());
    for fixture in found {
        check_fixture(&fixture);
    }
}

#[test]
fn every_bad_aof_is_handled_like_redis_70() {
    let found = fixtures::aof_fixtures("bad");
    assert!(!found.is_empty(), "no bad AOF fixtures found");
    for fixture in found {
        check_fixture(&fixture);
    }
}

/// A data directory with both a `dump.rdb` and an AOF directory.
fn both_files(data: &Path) -> (Json, Json) {
    let rdb = fixtures::fixtures_dir().join("rdb/gen-7.0.15-all-types-a.rdb");
    let aof = fixtures::fixtures_dir().join("aof/gen-7.0.15-aof-two-incr-a");
    install(&aof, data);
    copy_writable(&rdb, &data.join("dump.rdb"));
    (fixtures::expected_json(&rdb), fixtures::expected_json(&aof))
}

fn digest_of(json: &Json) -> Reply {
    Reply::Simple(json["digest"].as_str().expect("digest").as_bytes().to_vec())
}

#[test]
fn appendonly_picks_the_aof_or_the_dump_like_redis() {
    for (appendonly, flavor) in [
        ("yes", Flavor::Rockslot),
        ("yes", Flavor::Redis),
        ("no", Flavor::Rockslot),
        ("no", Flavor::Redis),
    ] {
        let builder = Server::builder(flavor).args([
            "--appendonly",
            appendonly,
            "--enable-debug-command",
            "yes",
        ]);
        let (rdb, aof) = both_files(&builder.root().join("data"));
        let server = builder.start();
        let expected = if appendonly == "yes" { &aof } else { &rdb };
        assert_eq!(
            digest(&mut server.conn()),
            digest_of(expected),
            "{flavor:?} with appendonly {appendonly}"
        );
    }
}

#[test]
fn appendonly_yes_without_an_aof_ignores_the_dump_like_redis() {
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let builder = Server::builder(flavor).args(["--appendonly", "yes"]);
        let data = builder.root().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let rdb = fixtures::fixtures_dir().join("rdb/gen-7.0.15-all-types-a.rdb");
        copy_writable(&rdb, &data.join("dump.rdb"));
        let server = builder.start();
        let size = server.conn().call(&["DBSIZE"]).expect("DBSIZE");
        assert_eq!(size, Reply::Integer(0), "{flavor:?}");
    }
}

#[test]
fn rockslot_data_wins_over_an_aof() {
    let mut server = Server::start(Flavor::Rockslot, ["--appendonly", "yes"]);
    server.conn().call(&["SET", "own", "1"]).expect("SET");
    server.terminate();
    let aof = fixtures::fixtures_dir().join("aof/gen-7.0.15-aof-two-incr-a");
    let dir = server.data_dir().join("appendonlydir");
    let _ = std::fs::remove_dir_all(&dir);
    install(&aof, &server.data_dir());
    server.start_again();
    let mut conn = server.conn();
    assert_eq!(conn.call(&["DBSIZE"]).expect("DBSIZE"), Reply::Integer(1));
    assert_eq!(
        conn.call(&["GET", "own"]).expect("GET"),
        Reply::Bulk(Some(b"1".to_vec()))
    );
}

#[test]
fn an_old_single_file_moves_into_the_aof_directory_like_redis() {
    let fixture = fixtures::fixtures_dir().join("aof/gen-6.0.8-aof-single-preamble-a.aof");
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let builder = Server::builder(flavor).args(["--appendonly", "yes"]);
        install(&fixture, &builder.root().join("data"));
        let server = builder.start();
        let data = server.data_dir();
        assert!(
            !data.join("appendonly.aof").exists(),
            "{flavor:?}: old file left"
        );
        let moved = data.join("appendonlydir/appendonly.aof");
        assert_eq!(
            std::fs::read(&moved).expect("moved file"),
            std::fs::read(&fixture).expect("fixture"),
            "{flavor:?}"
        );
        let manifest =
            std::fs::read(data.join("appendonlydir/appendonly.aof.manifest")).expect("manifest");
        let manifest = formats::aof::Manifest::parse(&manifest).expect("parse manifest");
        let base = manifest.base.expect("a base file");
        assert_eq!(
            (base.name.as_str(), base.seq),
            ("appendonly.aof", 1),
            "{flavor:?}"
        );
    }
}

#[test]
fn a_bad_manifest_stops_the_node_even_with_appendonly_no_like_redis() {
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data/appendonlydir");
        std::fs::create_dir_all(&dir).expect("aof dir");
        std::fs::write(
            dir.join("appendonly.aof.manifest"),
            "file a/b seq 1 type b\n",
        )
        .expect("manifest");
        let port = free_port().to_string();
        let data = root.path().join("data").to_string_lossy().into_owned();
        let args: Vec<std::ffi::OsString> = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--dir",
            &data,
            "--appendonly",
            "no",
        ]
        .iter()
        .map(Into::into)
        .collect();
        let exited = run_to_exit(&flavor.program(), &args, root.path());
        let output = format!("{}{}", exited.stdout, exited.stderr);
        assert_eq!(exited.status.code(), Some(1), "{flavor:?}:\n{output}");
        for line in [
            "*** FATAL AOF MANIFEST FILE ERROR ***",
            "Reading the manifest file, at line 1",
            ">>> 'file a/b seq 1 type b'",
            "File can't be a path, just a filename",
        ] {
            assert!(
                output.contains(line),
                "{flavor:?}: no {line:?} in:\n{output}"
            );
        }
    }
}

/// An AOF of `keys` SET commands in database 0.
fn generated_aof(keys: usize) -> Vec<u8> {
    let mut out = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".to_vec();
    for i in 0..keys {
        let (key, value) = (format!("key:{i}"), format!("value-{i}"));
        out.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
    }
    out
}

#[test]
fn kill9_during_an_aof_load_loads_again_at_the_next_start() {
    const KEYS: usize = 150_000;
    let aof = generated_aof(KEYS);
    let builder = Server::builder(Flavor::Rockslot).args([
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("appendonly.aof"), &aof).expect("write aof");

    // A first start, killed while it loads (it only serves once the load is done).
    let log = builder.root().join("first.log");
    let mut first = rockslot_killable_at(
        &data,
        &["--appendonly", "yes"],
        &log,
        "Successfully migrated",
        std::time::Duration::from_secs(20),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    first.kill().expect("kill -9");
    first.wait().expect("reap");
    let finished_first = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("DB loaded from append only file");

    // The next start must not serve the prefix it left: it loads the whole AOF again.
    let server = builder.start();
    assert!(
        finished_first || server.log().contains("An earlier load was interrupted"),
        "the restart did not notice the interrupted load (log:\n{})",
        server.log_tail(20)
    );
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["DBSIZE"]).expect("DBSIZE"),
        Reply::Integer(KEYS as i64)
    );
    let redis = Server::builder(Flavor::Redis).args([
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    let redis_data = redis.root().join("data");
    std::fs::create_dir_all(&redis_data).expect("data dir");
    std::fs::write(redis_data.join("appendonly.aof"), &aof).expect("write aof");
    let redis = redis.start();
    let mut redis_conn = redis.conn();
    while redis_conn.call(&["DBSIZE"]).expect("DBSIZE").is_error() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        digest(&mut conn),
        digest(&mut redis_conn),
        "after a kill during the load"
    );
}

#[test]
fn a_truncated_tail_right_after_a_preamble_keeps_the_preamble() {
    // Redis 7.0.15 truncates such a file at offset 0 (its last complete command offset starts
    // at 0 and the preamble does not move it), losing the preamble at the next start; rockslot
    // keeps it. The dataset loaded is the same.
    let fixture = fixtures::fixtures_dir().join("aof/gen-6.0.8-aof-single-preamble-a.aof");
    let data = std::fs::read(&fixture).expect("fixture");
    let mut rdb = RdbReader::default();
    rdb.feed(&data);
    rdb.end_input();
    while let Ok(RdbPoll::Event(_)) = rdb.poll() {}
    let preamble = rdb.consumed() as usize;
    let damaged = [&data[..preamble], b"*3\r\n$3\r\nSET"].concat();

    let mut digests = Vec::new();
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let builder =
            Server::builder(flavor).args(["--appendonly", "yes", "--enable-debug-command", "yes"]);
        let dir = builder.root().join("data");
        std::fs::create_dir_all(&dir).expect("data dir");
        std::fs::write(dir.join("appendonly.aof"), &damaged).expect("write aof");
        let server = builder.start();
        digests.push(digest(&mut server.conn()));
        let left = std::fs::metadata(server.data_dir().join("appendonlydir/appendonly.aof"))
            .expect("moved file")
            .len();
        let expected = if flavor == Flavor::Rockslot {
            preamble as u64
        } else {
            0
        };
        assert_eq!(left, expected, "{flavor:?}: the file after loading");
    }
    assert_eq!(digests[0], digests[1], "the dataset loaded");
}

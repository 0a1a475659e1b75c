//! Startup load of real RDB files: every fixture under `../shared/fixtures/rdb` and
//! `../shared/fixtures/bad` is put in an empty data directory as `dump.rdb` and rockslot is
//! started on it. Where Redis 7.0.15 loaded the file (its JSON records the outcome), rockslot
//! must start and hold the same dataset: `DEBUG DIGEST` equal to the digest recorded for 7.0.15,
//! the same key count per database, and the same function libraries (FUNCTION LIST WITHCODE).
//! Where 7.0.15 refused it, rockslot must refuse it too: exit non-zero with an error naming the
//! problem, and serve nothing, except for the files it refused only for their RDB version (11:
//! Redis 7.2, 12: Redis 7.4), which rockslot loads like the newer Redis that did: every key with
//! its type, value digest (`DEBUG DIGEST-VALUE`, sorted sets aside, whose digest 7.2 changed),
//! expire time and hash field expire times equal to the JSON. Files added to the corpus later are
//! picked up without code changes.

use std::path::Path;

use base64::Engine as _;
use serde_json::Value as Json;

use crate::fixtures;
use crate::support::resp::Reply;
use crate::support::server::{free_port, run_to_exit, Exited, Flavor, Server};

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What Redis 7.0.15 did with a fixture: `Some(digest)` if it loaded it, `None` if it refused.
fn redis_70_outcome(json: &Json) -> Option<String> {
    let result = &json["load_results"]["7.0.15"];
    if result["ok"] != Json::Bool(true) {
        return None;
    }
    let digest = if json["loaded_with"] == "7.0.15" {
        &json["digest"]
    } else {
        &result["digest"]
    };
    Some(digest.as_str().unwrap_or_default().to_string())
}

/// Keys per database as the fixture records them.
fn expected_dbs(json: &Json) -> Vec<(u64, i64)> {
    let mut dbs: Vec<(u64, i64)> = json["dbs"]
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(db, v)| Some((db.parse().ok()?, v["keys"].as_i64()?)))
                .collect()
        })
        .unwrap_or_default();
    dbs.sort();
    dbs
}

fn check_loads(rdb: &Path, digest: &str, json: &Json) {
    let name = file_name(rdb);
    let builder = Server::builder(Flavor::Rockslot).args(["--enable-debug-command", "yes"]);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(rdb, data.join("dump.rdb")).expect("copy fixture");
    let server = builder.start();
    let mut conn = server.conn();
    let got = conn.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST");
    assert_eq!(
        got,
        Reply::Simple(digest.as_bytes().to_vec()),
        "{name}: DEBUG DIGEST after loading (log:\n{})",
        server.log_tail(20)
    );
    assert_eq!(
        crate::functions::function_list(&mut conn),
        crate::functions::sorted(json["functions"].clone()),
        "{name}: FUNCTION LIST WITHCODE"
    );
    for (db, keys) in expected_dbs(json) {
        conn.call(&["SELECT", &db.to_string()]).expect("SELECT");
        let size = conn.call(&["DBSIZE"]).expect("DBSIZE");
        assert_eq!(size, Reply::Integer(keys), "{name}: keys in db {db}");
    }
}

fn check_refused(rdb: &Path) {
    let name = file_name(rdb);
    let exited = start_on_dump(Flavor::Rockslot, &std::fs::read(rdb).expect("read fixture"));
    assert!(
        !exited.status.success(),
        "{name}: Redis 7.0.15 refused it, rockslot exited with {:?}",
        exited.status
    );
    let output = format!("{}{}", exited.stdout, exited.stderr);
    assert!(
        output.contains("Fatal error loading the DB"),
        "{name}: no clear error:\n{output}"
    );
    assert!(!output.contains("panicked"), "{name} panicked:\n{output}");
}

/// Starts a server of `flavor` on a data directory whose `dump.rdb` is `rdb`, expecting it to
/// exit on its own (a file it refuses).
pub fn start_on_dump(flavor: Flavor, rdb: &[u8]) -> Exited {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dump.rdb"), rdb).expect("write dump");
    let port = free_port().to_string();
    let args: Vec<std::ffi::OsString> = [
        "--port",
        port.as_str(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.path().to_string_lossy(),
    ]
    .iter()
    .map(Into::into)
    .collect();
    run_to_exit(&flavor.program(), &args, dir.path())
}

/// Whether Redis 7.0.15 refused the file only for its version (11 or 12), and a newer Redis
/// loaded it.
fn newer_version_only(json: &Json) -> bool {
    let refused_for_version = json["load_results"]["7.0.15"]["error_lines"]
        .as_array()
        .is_some_and(|lines| {
            lines.iter().any(|l| {
                l.as_str()
                    .is_some_and(|l| l.contains("Can't handle RDB format version"))
            })
        });
    let version = json["rdb_version"].as_u64().unwrap_or(0);
    refused_for_version && (11..=12).contains(&version) && json["load_ok"] == Json::Bool(true)
}

/// A fixture byte string (see the fixtures README).
fn fixture_bytes(j: &Json) -> Vec<u8> {
    match j {
        Json::String(s) => s.as_bytes().to_vec(),
        other => base64::engine::general_purpose::STANDARD
            .decode(other["b64"].as_str().unwrap_or_default())
            .expect("base64"),
    }
}

/// Loads a file of Redis 7.2 or 7.4 and compares every key with the JSON.
fn check_loads_newer(rdb: &Path, json: &Json) {
    let name = file_name(rdb);
    let builder = Server::builder(Flavor::Rockslot).args(["--enable-debug-command", "yes"]);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(rdb, data.join("dump.rdb")).expect("copy fixture");
    let server = builder.start();
    let mut conn = server.conn();
    for (db, keys) in expected_dbs(json) {
        conn.call(&["SELECT", &db.to_string()]).expect("SELECT");
        let size = conn.call(&["DBSIZE"]).expect("DBSIZE");
        assert_eq!(size, Reply::Integer(keys), "{name}: keys in db {db}");
    }
    for k in json["keys"].as_array().into_iter().flatten() {
        let key = fixture_bytes(&k["key"]);
        let shown = String::from_utf8_lossy(&key).into_owned();
        let db = k["db"].as_u64().unwrap_or(0).to_string();
        conn.call(&[b"SELECT".as_slice(), db.as_bytes()])
            .expect("SELECT");
        let kind = k["type"].as_str().unwrap_or_default();
        let got = conn.call(&[b"TYPE".as_slice(), &key]).expect("TYPE");
        assert_eq!(
            got,
            Reply::Simple(kind.as_bytes().to_vec()),
            "{name}: TYPE {shown}"
        );
        let expire = k["expire_at_ms"].as_i64().unwrap_or(-1);
        let got = conn
            .call(&[b"PEXPIRETIME".as_slice(), &key])
            .expect("PEXPIRETIME");
        assert_eq!(got, Reply::Integer(expire), "{name}: PEXPIRETIME {shown}");
        if let (Some(digest), false) = (k["digest_value"].as_str(), kind == "zset") {
            let got = conn
                .call(&[b"DEBUG".as_slice(), b"DIGEST-VALUE", &key])
                .expect("DEBUG DIGEST-VALUE");
            let want = Reply::Array(Some(vec![Reply::Simple(digest.as_bytes().to_vec())]));
            assert_eq!(got, want, "{name}: DEBUG DIGEST-VALUE {shown}");
        }
        if kind == "hash" {
            check_field_expires(&mut conn, &name, &key, k);
        }
    }
}

/// HPEXPIRETIME of every field of a hash: the JSON's time, or -1 for a field without one.
fn check_field_expires(conn: &mut crate::support::resp::Conn, name: &str, key: &[u8], k: &Json) {
    let timed: Vec<(Vec<u8>, i64)> = k["field_expire_at_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| (fixture_bytes(&pair[0]), pair[1].as_i64().unwrap_or(0)))
        .collect();
    let fields: Vec<Vec<u8>> = k["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| fixture_bytes(&pair[0]))
        .collect();
    let mut args: Vec<Vec<u8>> = vec![
        b"HPEXPIRETIME".to_vec(),
        key.to_vec(),
        b"FIELDS".to_vec(),
        fields.len().to_string().into_bytes(),
    ];
    args.extend(fields.iter().cloned());
    let want: Vec<Reply> = fields
        .iter()
        .map(|f| {
            let at = timed.iter().find(|(t, _)| t == f).map_or(-1, |(_, ms)| *ms);
            Reply::Integer(at)
        })
        .collect();
    let got = conn.call(&args).expect("HPEXPIRETIME");
    assert_eq!(
        got,
        Reply::Array(Some(want)),
        "{name}: field expire times of {}",
        String::from_utf8_lossy(key)
    );
}

fn check_folder(sub: &str) -> usize {
    let mut checked = 0;
    for rdb in fixtures::rdb_files(sub) {
        let json = fixtures::expected_json(&rdb);
        match redis_70_outcome(&json) {
            Some(digest) => check_loads(&rdb, &digest, &json),
            None if newer_version_only(&json) => check_loads_newer(&rdb, &json),
            None => check_refused(&rdb),
        }
        checked += 1;
    }
    checked
}

#[test]
fn every_rdb_fixture_loads_at_startup_like_redis_70() {
    let checked = check_folder("rdb");
    assert!(checked > 50, "only {checked} fixtures found");
}

#[test]
fn every_bad_rdb_is_handled_like_redis_70() {
    let checked = check_folder("bad");
    assert!(checked > 0, "no bad fixtures found");
}

#[test]
fn rockslot_data_wins_over_a_dump_file() {
    // A directory with rockslot data ignores dump.rdb: the data is authoritative.
    let server = Server::start(Flavor::Rockslot, ["--enable-debug-command", "yes"]);
    let mut conn = server.conn();
    conn.call(&["SET", "own", "1"]).expect("SET");
    let fixture = fixtures::fixtures_dir().join("rdb/gen-7.0.15-all-types-a.rdb");
    std::fs::copy(&fixture, server.data_dir().join("dump.rdb")).expect("copy fixture");
    let mut server = server;
    server.terminate();
    server.start_again();
    let mut conn = server.conn();
    assert_eq!(conn.call(&["DBSIZE"]).expect("DBSIZE"), Reply::Integer(1));
}

#[test]
fn kill9_during_a_load_loads_again_at_the_next_start() {
    let fixture = fixtures::fixtures_dir().join("rdb/gen-7.0.15-large-a.rdb");
    let json = fixtures::expected_json(&fixture);
    let digest = redis_70_outcome(&json).expect("7.0.15 loads the large fixture");
    let builder = Server::builder(Flavor::Rockslot).args(["--enable-debug-command", "yes"]);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(&fixture, data.join("dump.rdb")).expect("copy fixture");

    // A first start, killed while it loads (it only serves once the load is done).
    let log = builder.root().join("first.log");
    let port = free_port().to_string();
    let mut first = std::process::Command::new(Flavor::Rockslot.program())
        .args(["--port", &port, "--bind", "127.0.0.1", "--dir"])
        .arg(&data)
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn rockslot");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Loading RDB file")
    {
        assert!(std::time::Instant::now() < deadline, "the load never began");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(150));
    first.kill().expect("kill -9");
    first.wait().expect("reap");

    let finished_first = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Done loading RDB");

    // The next start must not serve the prefix it left: it loads the whole file again.
    let server = builder.start();
    assert!(
        finished_first || server.log().contains("An earlier RDB load was interrupted"),
        "the restart did not notice the interrupted load (log:\n{})",
        server.log_tail(20)
    );
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST"),
        Reply::Simple(digest.into_bytes()),
        "after a kill during the load (log:\n{})",
        server.log_tail(20)
    );
}

#[test]
fn info_reports_the_load() {
    let fixture = fixtures::fixtures_dir().join("rdb/gen-7.0.15-all-types-a.rdb");
    let json = fixtures::expected_json(&fixture);
    let builder = Server::builder(Flavor::Rockslot);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(&fixture, data.join("dump.rdb")).expect("copy fixture");
    let server = builder.start();
    let info = server.conn().call(&["INFO", "persistence"]).expect("INFO");
    let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
    let keys = json["key_count"].as_u64().expect("key_count");
    assert!(
        text.contains(&format!("rdb_last_load_keys_loaded:{keys}\r\n")),
        "{text}"
    );
    assert!(text.contains("rdb_changes_since_last_save:0\r\n"), "{text}");
}

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
use crate::support::server::{
    free_port, rockslot_killable_at, run_to_exit, Exited, Flavor, Server,
};

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

/// Starts rockslot on `data` (logging to `log`), waits up to `timeout_s` seconds for it to
/// start loading its dump.rdb, and kills it with SIGKILL `delay_ms` later.
fn kill9_while_loading(
    data: &std::path::Path,
    log: &std::path::Path,
    timeout_s: u64,
    delay_ms: u64,
) {
    let timeout = std::time::Duration::from_secs(timeout_s);
    let mut first = rockslot_killable_at(data, &[], log, "Loading RDB file", timeout);
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    first.kill().expect("kill -9");
    first.wait().expect("reap");
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
    kill9_while_loading(&data, &log, 10, 150);

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

/// A dump.rdb written by real Redis after `commands` (run in order, SELECT included), with the
/// Redis that wrote it still running (to compare with).
fn redis_dump(commands: &[Vec<String>]) -> (Server, Vec<u8>) {
    let redis = Server::start(
        Flavor::Redis,
        ["--save", "", "--enable-debug-command", "yes"],
    );
    let mut conn = redis.conn();
    for reply in conn.pipeline(commands).expect("pipeline") {
        assert!(
            !reply.is_error(),
            "Redis refused a setup command: {reply:?}"
        );
    }
    conn.call(&["SELECT", "0"]).expect("SELECT");
    assert_eq!(
        conn.call(&["SAVE"]).expect("SAVE"),
        Reply::Simple(b"OK".to_vec())
    );
    let rdb = std::fs::read(redis.data_dir().join("dump.rdb")).expect("read dump.rdb");
    (redis, rdb)
}

/// A rockslot started on a data directory whose dump.rdb is `rdb`.
fn rockslot_on(rdb: &[u8]) -> Server {
    let builder = Server::builder(Flavor::Rockslot).args(["--enable-debug-command", "yes"]);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("dump.rdb"), rdb).expect("write dump.rdb");
    builder.start()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Every key of each type and encoding the bulk path builds itself, and those it leaves to the
/// commands (a stream, a big set), across databases, with and without expire times.
fn mixed_dataset() -> Vec<Vec<String>> {
    let mut commands = vec![
        words("DEBUG POPULATE 3000 str 20"),
        words("HSET h:small a 1 b 2 c 3"),
        words("HSET h:long a 1 b 0123456789012345678901234567890123456789012345678901234567890123456789"),
        words("SADD s:ints 3 1 2 -7"),
        words("SADD s:words apple pear 10"),
        words("ZADD z:small 1 a 2 b 0 c -0 d -inf e +inf f"),
        words("ZADD z:long 1 0123456789012345678901234567890123456789012345678901234567890123456789"),
        words("RPUSH l:small a b c"),
        words("SET ttl:str v PX 3600000"),
        words("HSET ttl:hash f v"),
        words("PEXPIRE ttl:hash 3600000"),
        words("XADD x:stream 1-1 f v"),
        words("SET {tag}one 1"),
        words("SET {tag}two 2"),
        words("SELECT 3"),
        words("SET other 1"),
        words("ZADD z:other 5 m"),
        words("SELECT 0"),
    ];
    let mut big_hash = words("HSET h:big");
    let mut big_ints = words("SADD s:bigints");
    let mut big_zset = words("ZADD z:big");
    let mut big_list = words("RPUSH l:big");
    for i in 0..600 {
        big_hash.extend([format!("f{i}"), format!("v{i}")]);
        big_ints.push(i.to_string());
        big_zset.extend([format!("{}", i % 7), format!("m{i}")]);
        big_list.push(format!("item{i}"));
    }
    let mut huge_set = words("SADD s:huge");
    huge_set.extend((0..40_000).map(|i| format!("member-{i:032}")));
    commands.extend([big_hash, big_ints, big_zset, big_list, huge_set]);
    commands
}

#[test]
fn a_bulk_load_holds_what_redis_holds_key_by_key() {
    let (redis, rdb) = redis_dump(&mixed_dataset());
    let mut redis_conn = redis.conn();
    let mut server = rockslot_on(&rdb);
    for restarted in [false, true] {
        let mut conn = server.conn();
        for db in ["0", "3"] {
            conn.call(&["SELECT", db]).expect("SELECT");
            redis_conn.call(&["SELECT", db]).expect("SELECT");
            assert_eq!(
                conn.call(&["DEBUG", "DIGEST"]).expect("DIGEST"),
                redis_conn.call(&["DEBUG", "DIGEST"]).expect("DIGEST"),
                "db {db} (restarted: {restarted})"
            );
            assert_eq!(
                conn.call(&["DBSIZE"]).expect("DBSIZE"),
                redis_conn.call(&["DBSIZE"]).expect("DBSIZE"),
                "db {db} (restarted: {restarted})"
            );
            let keys = redis_conn.call(&["KEYS", "*"]).expect("KEYS");
            for key in keys.as_items().expect("KEYS reply") {
                let key = key.as_bytes().expect("key name");
                let encoding = |c: &mut crate::support::resp::Conn| {
                    c.call(&[&b"OBJECT"[..], b"ENCODING", key]).expect("OBJECT")
                };
                assert_eq!(
                    encoding(&mut conn),
                    encoding(&mut redis_conn),
                    "OBJECT ENCODING {} in db {db}",
                    String::from_utf8_lossy(key)
                );
            }
        }
        // The key counters and the expire index: INFO keyspace counts keys and volatile keys.
        let keyspace = |c: &mut crate::support::resp::Conn| {
            let info = c.call(&["INFO", "keyspace"]).expect("INFO");
            let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
            text.lines()
                .filter_map(|l| l.split(",avg_ttl").next())
                .filter(|l| l.starts_with("db"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(keyspace(&mut conn), keyspace(&mut redis_conn));
        conn.call(&["SELECT", "0"]).expect("SELECT");
        let ttl = conn.call(&["PTTL", "ttl:hash"]).expect("PTTL").as_int();
        assert!(ttl.is_some_and(|t| t > 0), "PTTL ttl:hash: {ttl:?}");
        // The counters were written with the data: they survive a restart.
        server.terminate();
        server.start_again();
    }
}

#[test]
fn keys_loaded_with_an_expire_are_expired_by_the_active_cycle() {
    let mut commands = vec![words("DEBUG POPULATE 500 keep 10")];
    for i in 0..200 {
        commands.push(words(&format!("SET short:{i} v PX 2500")));
        commands.push(words(&format!("HSET shorthash:{i} f v")));
        commands.push(words(&format!("PEXPIRE shorthash:{i} 2500")));
    }
    let (_redis, rdb) = redis_dump(&commands);
    let server = rockslot_on(&rdb);
    let mut conn = server.conn();
    // DBSIZE counts keys the active cycle has not deleted yet; only the expire index leads it
    // to them, since nothing reads them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let size = conn.call(&["DBSIZE"]).expect("DBSIZE").as_int();
        if size == Some(500) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the loaded volatile keys were never expired: DBSIZE {size:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let info = conn.call(&["INFO", "keyspace"]).expect("INFO");
    let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
    assert!(text.contains("db0:keys=500,expires=0,"), "{text}");
}

#[test]
fn a_file_naming_a_key_twice_is_refused_like_redis() {
    use formats::rdb::{ValueStart, Writer, WriterOptions};
    let mut writer = Writer::new(WriterOptions::default()).expect("writer");
    writer.select_db(0, 3, 0).expect("SELECT");
    for (key, value) in [("a", "1"), ("dup", "2"), ("dup", "3")] {
        writer
            .key(key.as_bytes(), None, ValueStart::String(value.as_bytes()))
            .expect("key");
    }
    let rdb = writer.finish().expect("finish");
    let redis = start_on_dump(Flavor::Redis, &rdb);
    assert!(
        !redis.status.success(),
        "Redis 7.0 refuses a duplicated key"
    );
    let exited = start_on_dump(Flavor::Rockslot, &rdb);
    assert!(
        !exited.status.success(),
        "rockslot started: {}",
        exited.stdout
    );
    let output = format!("{}{}", exited.stdout, exited.stderr);
    assert!(
        output.contains("RDB has duplicated key 'dup' in DB 0"),
        "{output}"
    );
}

#[test]
fn kill9_at_any_point_of_a_bulk_load_loads_everything_at_the_next_start() {
    // Big enough for several chunks of table files (values compress in the file, not in the
    // chunks), with collections as well.
    let mut commands = vec![words("DEBUG POPULATE 200000 key 700")];
    for i in 0..2000 {
        commands.push(words(&format!("HSET h:{i} a {i} b {i}")));
        commands.push(words(&format!("ZADD z:{i} {i} m")));
    }
    let (redis, rdb) = redis_dump(&commands);
    let digest = redis.conn().call(&["DEBUG", "DIGEST"]).expect("DIGEST");
    for delay_ms in [0, 200, 600, 1200] {
        let builder = Server::builder(Flavor::Rockslot).args(["--enable-debug-command", "yes"]);
        let data = builder.root().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        std::fs::write(data.join("dump.rdb"), &rdb).expect("write dump.rdb");
        kill9_while_loading(&data, &builder.root().join("first.log"), 20, delay_ms);

        let server = builder.start();
        let mut conn = server.conn();
        assert_eq!(
            conn.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST"),
            digest,
            "killed {delay_ms} ms into the load (log:\n{})",
            server.log_tail(20)
        );
        assert_eq!(
            conn.call(&["DBSIZE"]).expect("DBSIZE"),
            Reply::Integer(204_000),
            "killed {delay_ms} ms into the load"
        );
    }
}

/// `INFO rocksdb` (rockslot's own section, shown only when named) reports the table files a
/// load ingested and, once they are settled, no flush or compaction left to run; `INFO
/// everything` keeps Redis's list of sections.
#[test]
fn info_rocksdb_shows_the_loaded_files_settling() {
    let (_redis, rdb) = redis_dump(&[words("DEBUG POPULATE 20000 key 100")]);
    let server = rockslot_on(&rdb);
    let mut conn = server.conn();
    let field = |conn: &mut crate::support::resp::Conn, name: &str| -> u64 {
        let info = conn.call(&["INFO", "rocksdb"]).expect("INFO rocksdb");
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        assert!(text.starts_with("# RocksDB\r\n"), "{text}");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    // The load wrote table files, not memtables (DEBUG POPULATE's padded values compress well).
    assert!(field(&mut conn, "live_sst_bytes") > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while field(&mut conn, "compaction_pending") + field(&mut conn, "running_compactions") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "compactions never settled"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(field(&mut conn, "running_flushes"), 0);
    let everything = conn.call(&["INFO", "everything"]).expect("INFO");
    let text = String::from_utf8_lossy(everything.as_bytes().unwrap_or_default()).into_owned();
    assert!(!text.contains("# RocksDB"), "{text}");
}

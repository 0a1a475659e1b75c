//! Golden-file tests of the RDB reader over the shared real-Redis corpus (../shared/fixtures):
//! every `rdb/*.rdb` is decoded and compared with its expected-contents JSON (keys, types,
//! canonical values, expire times, hash field TTLs, stream metadata and groups, functions);
//! every `bad/*.rdb` must be refused where Redis refused it, and no input may panic. Files added
//! to the corpus later are picked up without code changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use formats::rdb::{
    read_all, Checksum, Dump, ErrorKind, Event, Options, Poll, Reader, StreamId, Value,
};
use serde_json::Value as Json;

mod common;
use common::{expected_json, fixtures_dir, json_bytes as bytes, rdb_files};

fn parse_id(s: &str) -> StreamId {
    let (ms, seq) = s.split_once('-').expect("stream id");
    StreamId {
        ms: ms.parse().expect("ms"),
        seq: seq.parse().expect("seq"),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A key as both sides see it, in a canonical form that compares with `==`.
#[derive(Debug, PartialEq)]
struct Canon {
    kind: String,
    value: String,
    expire_at_ms: Option<i64>,
    field_expires: Vec<(Vec<u8>, i64)>,
}

fn fmt_bytes(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

fn canon_actual(record: &formats::rdb::Record, now: i64) -> Canon {
    let mut field_expires = Vec::new();
    let value = match &record.value {
        Value::String(s) => fmt_bytes(s),
        Value::List(l) => l.iter().map(|e| fmt_bytes(e)).collect::<Vec<_>>().join(","),
        Value::Set(s) => {
            let mut s = s.clone();
            s.sort();
            s.iter().map(|e| fmt_bytes(e)).collect::<Vec<_>>().join(",")
        }
        Value::Hash(h) => {
            // Redis drops fields whose own expire time has passed.
            let mut h: Vec<_> = h
                .iter()
                .filter(|f| f.expire_at_ms.is_none_or(|ms| ms > now))
                .cloned()
                .collect();
            h.sort_by(|a, b| a.field.cmp(&b.field));
            for f in &h {
                if let Some(ms) = f.expire_at_ms {
                    field_expires.push((f.field.clone(), ms));
                }
            }
            h.iter()
                .map(|f| format!("{}={}", fmt_bytes(&f.field), fmt_bytes(&f.value)))
                .collect::<Vec<_>>()
                .join(",")
        }
        Value::Zset(z) => {
            let mut z = z.clone();
            z.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            z.iter()
                .map(|(m, s)| format!("{}={s:?}", fmt_bytes(m)))
                .collect::<Vec<_>>()
                .join(",")
        }
        Value::Stream(s) => canon_stream_actual(s, record.header.rdb_type),
    };
    Canon {
        kind: record.header.kind.name().to_string(),
        value,
        expire_at_ms: record.header.expire_at_ms,
        field_expires,
    }
}

fn canon_stream_actual(s: &formats::rdb::Stream, rdb_type: u8) -> String {
    let mut out = String::new();
    let meta = s.meta.expect("stream metadata");
    out += &format!("length={} last={}", meta.length, meta.last_id);
    // Before RDB stream v2 the loader derives these, as Redis does.
    let none = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    let first = meta
        .first_id
        .unwrap_or_else(|| s.entries.first().map(|e| e.id).unwrap_or(none));
    let max_deleted = meta.max_deleted_id.unwrap_or_default();
    let added = meta.entries_added.unwrap_or(meta.length);
    out += &format!(" first={first} maxdel={max_deleted} added={added}\n");
    for e in &s.entries {
        out += &format!("{}:", e.id);
        for (f, v) in &e.fields {
            out += &format!(" {}={}", fmt_bytes(f), fmt_bytes(v));
        }
        out += "\n";
    }
    let mut groups: Vec<_> = s.groups.iter().collect();
    groups.sort_by(|a, b| a.header.name.cmp(&b.header.name));
    for g in groups {
        out += &format!(
            "group {} last={}",
            fmt_bytes(&g.header.name),
            g.header.last_delivered_id
        );
        if rdb_type >= 19 {
            match g.header.entries_read {
                Some(r) => out += &format!(" read={r}"),
                None => out += " read=null",
            }
        }
        out += "\n";
        let owner: BTreeMap<StreamId, &[u8]> = g
            .consumers
            .iter()
            .flat_map(|c| {
                c.pending
                    .iter()
                    .map(move |id| (*id, c.header.name.as_slice()))
            })
            .collect();
        let mut pel = g.pel.clone();
        pel.sort_by_key(|p| p.id);
        for p in &pel {
            let consumer = owner.get(&p.id).map(|c| fmt_bytes(c)).unwrap_or_default();
            out += &format!(
                " pel {} {consumer} {} {}\n",
                p.id, p.delivery_time_ms, p.delivery_count
            );
        }
        let by_id: BTreeMap<StreamId, _> = g.pel.iter().map(|p| (p.id, p)).collect();
        let mut consumers: Vec<_> = g.consumers.iter().collect();
        consumers.sort_by(|a, b| a.header.name.cmp(&b.header.name));
        for c in consumers {
            out += &format!(
                " consumer {} seen={}",
                fmt_bytes(&c.header.name),
                c.header.seen_time_ms
            );
            if let Some(a) = c.header.active_time_ms {
                out += &format!(" active={a}");
            }
            let mut pending = c.pending.clone();
            pending.sort();
            for id in pending {
                let (t, n) = by_id
                    .get(&id)
                    .map(|p| (p.delivery_time_ms, p.delivery_count))
                    .unwrap_or((0, 0));
                out += &format!(" [{id} {t} {n}]");
            }
            out += "\n";
        }
    }
    out
}

fn canon_expected(k: &Json, file_has_entries_read: bool, file_has_active: bool) -> Canon {
    let kind = k["type"].as_str().expect("type").to_string();
    let v = &k["value"];
    let value = match kind.as_str() {
        "string" => fmt_bytes(&bytes(v)),
        "list" | "set" => {
            let mut items: Vec<Vec<u8>> = v.as_array().expect("array").iter().map(bytes).collect();
            if kind == "set" {
                items.sort();
            }
            items
                .iter()
                .map(|e| fmt_bytes(e))
                .collect::<Vec<_>>()
                .join(",")
        }
        "hash" => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = v
                .as_array()
                .expect("array")
                .iter()
                .map(|p| (bytes(&p[0]), bytes(&p[1])))
                .collect();
            pairs.sort();
            pairs
                .iter()
                .map(|(f, v)| format!("{}={}", fmt_bytes(f), fmt_bytes(v)))
                .collect::<Vec<_>>()
                .join(",")
        }
        "zset" => {
            let mut pairs: Vec<(Vec<u8>, f64)> = v
                .as_array()
                .expect("array")
                .iter()
                .map(|p| {
                    let score: f64 = p[1].as_str().expect("score").parse().expect("float");
                    (bytes(&p[0]), score)
                })
                .collect();
            pairs.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            pairs
                .iter()
                .map(|(m, s)| format!("{}={s:?}", fmt_bytes(m)))
                .collect::<Vec<_>>()
                .join(",")
        }
        "stream" => canon_stream_expected(v, file_has_entries_read, file_has_active),
        other => panic!("unknown type {other}"),
    };
    let mut field_expires: Vec<(Vec<u8>, i64)> = k
        .get("field_expire_at_ms")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|p| (bytes(&p[0]), p[1].as_i64().expect("ms")))
                .collect()
        })
        .unwrap_or_default();
    field_expires.sort();
    Canon {
        kind,
        value,
        expire_at_ms: k["expire_at_ms"].as_i64(),
        field_expires,
    }
}

fn canon_stream_expected(v: &Json, has_entries_read: bool, has_active: bool) -> String {
    let s = |j: &Json| j.as_str().expect("str").to_string();
    let mut out = format!(
        "length={} last={} first={} maxdel={} added={}\n",
        v["length"],
        s(&v["last_id"]),
        s(&v["recorded_first_entry_id"]),
        s(&v["max_deleted_entry_id"]),
        v["entries_added"]
    );
    for e in v["entries"].as_array().expect("entries") {
        out += &format!("{}:", s(&e["id"]));
        for p in e["fields"].as_array().expect("fields") {
            out += &format!(" {}={}", fmt_bytes(&bytes(&p[0])), fmt_bytes(&bytes(&p[1])));
        }
        out += "\n";
    }
    for g in v["groups"].as_array().expect("groups") {
        out += &format!(
            "group {} last={}",
            fmt_bytes(&bytes(&g["name"])),
            s(&g["last_delivered_id"])
        );
        if has_entries_read {
            out += &format!(" read={}", g["entries_read"]);
        }
        out += "\n";
        let mut pel: Vec<&Json> = g["pel"].as_array().expect("pel").iter().collect();
        pel.sort_by_key(|p| parse_id(p["id"].as_str().expect("id")));
        for p in pel {
            out += &format!(
                " pel {} {} {} {}\n",
                parse_id(p["id"].as_str().expect("id")),
                fmt_bytes(&bytes(&p["consumer"])),
                p["delivery_time_ms"],
                p["delivery_count"]
            );
        }
        for c in g["consumers"].as_array().expect("consumers") {
            out += &format!(
                " consumer {} seen={}",
                fmt_bytes(&bytes(&c["name"])),
                c["seen_time_ms"]
            );
            if has_active {
                out += &format!(" active={}", c["active_time_ms"]);
            }
            let mut pending: Vec<&Json> =
                c["pending"].as_array().expect("pending").iter().collect();
            pending.sort_by_key(|p| parse_id(p["id"].as_str().expect("id")));
            for p in pending {
                out += &format!(
                    " [{} {} {}]",
                    parse_id(p["id"].as_str().expect("id")),
                    p["delivery_time_ms"],
                    p["delivery_count"]
                );
            }
            out += "\n";
        }
    }
    out
}

/// Compares a decoded file with its JSON; returns the differences (empty when equal).
fn compare(dump: &Dump, expected: &Json) -> Vec<String> {
    let mut problems = Vec::new();
    let now = now_ms();
    let mut actual: BTreeMap<(u64, Vec<u8>), Canon> = BTreeMap::new();
    let mut stream_types: BTreeMap<(u64, Vec<u8>), u8> = BTreeMap::new();
    for r in &dump.records {
        // Redis skips empty collections and, as a primary, keys already expired.
        if r.value.is_empty_collection() || r.header.expire_at_ms.is_some_and(|ms| ms <= now) {
            continue;
        }
        let id = (r.header.db, r.header.key.clone());
        stream_types.insert(id.clone(), r.header.rdb_type);
        if actual.insert(id.clone(), canon_actual(r, now)).is_some() {
            problems.push(format!("duplicate key {id:?}"));
        }
    }
    let keys = expected["keys"].as_array().expect("keys");
    let mut seen = 0;
    for k in keys {
        let id = (k["db"].as_u64().expect("db"), bytes(&k["key"]));
        if k["expire_at_ms"].as_i64().is_some_and(|ms| ms <= now) {
            continue;
        }
        seen += 1;
        let t = stream_types.get(&id).copied().unwrap_or(0);
        let (has_read, has_active) = (t >= 19, t >= 21);
        let want = canon_expected(k, has_read, has_active);
        match actual.get(&id) {
            None => problems.push(format!("missing key {id:?}")),
            Some(got) if *got != want => problems.push(format!(
                "key {id:?} differs:\n  got  {got:?}\n  want {want:?}"
            )),
            Some(_) => {}
        }
    }
    if seen != actual.len() {
        let wanted: Vec<_> = keys
            .iter()
            .map(|k| (k["db"].as_u64().unwrap_or(0), bytes(&k["key"])))
            .collect();
        for id in actual.keys() {
            if !wanted.contains(id) {
                problems.push(format!("unexpected key {id:?}"));
            }
        }
    }
    let mut want_functions: Vec<Vec<u8>> = expected["functions"]
        .as_array()
        .map(|a| a.iter().map(|f| bytes(&f["library_code"])).collect())
        .unwrap_or_default();
    want_functions.sort();
    let mut got_functions = dump.functions.clone();
    got_functions.sort();
    if want_functions != got_functions {
        problems.push(format!(
            "functions differ: got {} libraries, want {}",
            got_functions.len(),
            want_functions.len()
        ));
    }
    if let Some(v) = expected["rdb_version"].as_u64() {
        if u64::from(dump.version) != v {
            problems.push(format!("version {} != {v}", dump.version));
        }
    }
    problems
}

#[test]
fn every_rdb_fixture_matches_its_json() {
    let files = rdb_files("rdb");
    assert!(!files.is_empty(), "no fixtures found");
    let mut equal = 0;
    let mut refused_on_purpose = 0;
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(file).expect("read rdb");
        let expected = expected_json(file);
        let load_ok = expected["load_ok"].as_bool().unwrap_or(true);
        match read_all(&data, Options::default()) {
            // The 7.0 release-candidate FUNCTION opcode is refused on purpose (7.2+ refuse it
            // too); the refusal must say so.
            Err(e) if e.kind == ErrorKind::OldFunction => {
                eprintln!("{name}: refused as intended: {e}");
                refused_on_purpose += 1;
            }
            Err(e) if load_ok => failures.push(format!("{name}: refused: {e}")),
            Err(_) => equal += 1,
            Ok(_) if !load_ok => failures.push(format!("{name}: Redis refused it, we loaded it")),
            Ok(dump) => {
                let problems = compare(&dump, &expected);
                if problems.is_empty() {
                    equal += 1;
                } else {
                    let shown: Vec<_> = problems.iter().take(3).cloned().collect();
                    failures.push(format!(
                        "{name}: {} problems, first: {}",
                        problems.len(),
                        shown.join("\n    ")
                    ));
                }
            }
        }
    }
    eprintln!(
        "{equal} of {} RDB fixtures fully equal, {refused_on_purpose} refused on purpose",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_fixtures_are_refused_where_redis_refused_them() {
    let mut failures = Vec::new();
    for file in rdb_files("bad") {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(&file).expect("read rdb");
        let expected = expected_json(&file);
        let load_ok = expected["load_ok"].as_bool().unwrap_or(false);
        let result = read_all(&data, Options::default());
        eprintln!(
            "{name}: {:?}",
            result
                .as_ref()
                .map(|d| d.records.len())
                .map_err(|e| e.to_string())
        );
        match result {
            Ok(_) if !load_ok => failures.push(format!("{name}: Redis refused it, we loaded it")),
            Err(e) if load_ok => failures.push(format!("{name}: Redis loaded it, we refused: {e}")),
            Ok(dump) => {
                let problems = compare(&dump, &expected);
                if !problems.is_empty() {
                    failures.push(format!("{name}: {}", problems.join("; ")));
                }
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn events(data: &[u8], chunk: usize) -> Result<Vec<Event>, String> {
    let mut reader = Reader::new(Options::default());
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match reader.poll().map_err(|e| e.to_string())? {
            Poll::Event(e) => out.push(e),
            Poll::Done => return Ok(out),
            Poll::NeedMore => {
                if fed >= data.len() {
                    reader.end_input();
                } else {
                    let end = (fed + chunk).min(data.len());
                    reader.feed(&data[fed..end]);
                    fed = end;
                }
            }
        }
    }
}

#[test]
fn chunked_feeding_gives_the_same_events() {
    let dir = fixtures_dir().join("rdb");
    for name in [
        "gen-7.0.15-all-types-a.rdb",
        "gen-2.4.18-all-types-a.rdb",
        "gen-7.4.1-all-types-a.rdb",
        "rdb-tools--redis_50_with_streams.rdb",
        "rdb-tools--ziplist_that_compresses_easily.rdb",
        "replicator--dump-huge-kv.rdb",
    ] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let data = std::fs::read(&path).expect("read");
        let whole = events(&data, data.len()).expect("whole file");
        for chunk in [1, 3, 4096] {
            assert_eq!(
                events(&data, chunk).expect("chunked"),
                whole,
                "{name} in chunks of {chunk}"
            );
        }
    }
    // Truncated input fed in small chunks is an error, not a hang or a panic.
    let bad = fixtures_dir()
        .join("bad")
        .join("gen-7.0.15-basic-a-bad--truncated.rdb");
    if bad.exists() {
        let data = std::fs::read(&bad).expect("read");
        let err = events(&data, 1).expect_err("truncated");
        assert!(err.contains("the input ended"), "{err}");
    }
}

#[test]
fn checksums_are_verified_or_reported_disabled() {
    let dir = fixtures_dir().join("rdb");
    let data = std::fs::read(dir.join("gen-7.0.15-all-types-a.rdb")).expect("read");
    let dump = read_all(&data, Options::default()).expect("load");
    assert!(matches!(dump.checksum, Some(Checksum::Verified(_))));
    let data = std::fs::read(dir.join("gen-7.0.15-nochecksum-a-nocrc.rdb")).expect("read");
    let dump = read_all(&data, Options::default()).expect("load");
    assert_eq!(dump.checksum, Some(Checksum::Disabled));
}

#[test]
fn module_aux_can_be_skipped_by_option() {
    let path = fixtures_dir()
        .join("bad")
        .join("rdb-tools--redis_60_with_module_aux.rdb");
    let data = std::fs::read(path).expect("read");
    let err = read_all(&data, Options::default()).expect_err("refused by default");
    assert!(err.to_string().contains("test__rdb"), "{err}");
    let dump = read_all(
        &data,
        Options {
            skip_module_aux: true,
            ..Options::default()
        },
    )
    .expect("skipped");
    assert!(dump.records.is_empty());
}

#[test]
fn pre_ga_functions_read_by_option_give_70s_library_code() {
    // Redis 7.0.15 loads this release-candidate file; its FUNCTION LIST WITHCODE is recorded.
    let path = fixtures_dir().join("rdb").join("replicator--function.rdb");
    let data = std::fs::read(&path).expect("read");
    let options = Options {
        pre_ga_functions: true,
        ..Options::default()
    };
    let dump = read_all(&data, options).expect("read as 7.0 does");
    let mut got: Vec<String> = dump
        .functions
        .iter()
        .map(|code| String::from_utf8_lossy(code).into_owned())
        .collect();
    got.sort();
    let expected: Vec<String> = expected_json(&path)["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| f["library_code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn module_keys_can_be_skipped_by_option() {
    // Redis 4.0's file with a ReJSON key: redis-check-rdb 7.0.15 skips its value and passes it.
    let path = fixtures_dir()
        .join("bad")
        .join("rdb-tools--redis_40_with_module.rdb");
    let data = std::fs::read(path).expect("read");
    let err = read_all(&data, Options::default()).expect_err("refused by default");
    assert!(err.to_string().contains("ReJSON-RL"), "{err}");
    let options = Options {
        skip_module_keys: true,
        ..Options::default()
    };
    let mut reader = formats::rdb::Reader::new(options);
    reader.feed(&data);
    reader.end_input();
    let mut skipped = Vec::new();
    while let formats::rdb::Poll::Event(event) = reader.poll().expect("skipped") {
        if let formats::rdb::Event::ModuleKeySkipped { module, .. } = event {
            skipped.push(module);
        }
    }
    assert_eq!(skipped, ["ReJSON-RL"]);
}

/// Every prefix and many corrupted copies of a few files: errors are fine, panics are not.
/// `RDB_FUZZ_ITERATIONS` raises the number of corrupted copies per file for a longer run.
#[test]
fn damaged_input_never_panics() {
    let iterations: usize = std::env::var("RDB_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = fixtures_dir().join("rdb");
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in [
        "gen-7.0.15-lfu-a-lfu.rdb",
        "rdb-tools--redis_50_with_streams.rdb",
        "redis-tests--encodings.rdb",
        "cw-rdb-tools--redis74_hash_ttl_listpack_ex.rdb",
        "hdt-rdb--hash_with_hfe.rdb",
        "cw-rdb-tools--redis_70_with_streams_and_group.rdb",
        "rdb-tools--zipmap_with_big_values.rdb",
        "rdb-tools--ziplist_with_integers.rdb",
        "hdt-rdb--set_listpack.rdb",
        "cw-rdb-tools--redis_70_with_function.rdb",
        "replicator--dump-stream.rdb",
    ] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let data = std::fs::read(&path).expect("read");
        for cut in 0..data.len() {
            assert!(
                read_all(&data[..cut], Options::default()).is_err(),
                "{name} cut at {cut}"
            );
        }
        for _ in 0..iterations {
            let mut copy = data.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() % copy.len() as u64) as usize;
                copy[at] = next() as u8;
            }
            let _ = read_all(
                &copy,
                Options {
                    skip_module_aux: true,
                    skip_module_keys: true,
                    pre_ga_functions: true,
                },
            );
        }
    }
}

/// Memory stays bounded: fed in 4 KiB chunks, a 2.7 MB file never needs more than a small
/// fraction of itself in the reader's buffer.
#[test]
fn buffer_holds_one_item_not_the_file() {
    let path = fixtures_dir().join("rdb").join("gen-7.0.15-large-a.rdb");
    if !path.exists() {
        return;
    }
    let data = std::fs::read(&path).expect("read");
    let mut reader = Reader::new(Options::default());
    let (mut fed, mut keys, mut max_buffered) = (0, 0, 0);
    loop {
        match reader.poll().expect("valid file") {
            Poll::Event(Event::Key(_)) => keys += 1,
            Poll::Event(_) => {}
            Poll::Done => break,
            Poll::NeedMore => {
                let end = (fed + 4096).min(data.len());
                reader.feed(&data[fed..end]);
                fed = end;
                if fed == data.len() {
                    reader.end_input();
                }
            }
        }
        max_buffered = max_buffered.max(reader.buffered());
    }
    assert_eq!(keys, 100_000);
    assert_eq!(reader.consumed(), data.len() as u64);
    assert!(
        max_buffered < 64 * 1024,
        "buffer grew to {max_buffered} bytes"
    );
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.push(path);
            }
        }
    }
}

/// RDB preambles of AOF files (single-file preambles and multi-part `.base.rdb` files): the
/// reader stops after the checksum and leaves the command stream that follows unread; a
/// preamble cut short is refused.
#[test]
fn aof_preambles_end_where_the_commands_start() {
    let root = fixtures_dir();
    let mut files = Vec::new();
    files_under(&root.join("aof"), &mut files);
    files_under(&root.join("bad"), &mut files);
    files.sort();
    let mut checked = 0;
    for file in files {
        let data = std::fs::read(&file).expect("read");
        // `bad/*.rdb` are whole RDB files, tested above; here only AOF files and base files.
        let in_aof_dir = file.starts_with(root.join("aof"));
        let is_preamble = file.extension().is_some_and(|x| x == "aof")
            || (in_aof_dir && file.extension().is_some_and(|x| x == "rdb"));
        if !is_preamble || !data.starts_with(b"REDIS") {
            continue;
        }
        let name = file.display().to_string();
        let mut reader = Reader::new(Options::default());
        reader.feed(&data);
        reader.end_input();
        let result = loop {
            match reader.poll() {
                Ok(Poll::Event(_)) => {}
                Ok(Poll::Done) => break Ok(()),
                Ok(Poll::NeedMore) => break Err("NeedMore after end of input".to_string()),
                Err(e) => break Err(e.to_string()),
            }
        };
        if name.contains("truncated-in-preamble") {
            assert!(result.is_err(), "{name}: a cut preamble must be refused");
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let tail = reader.unread();
            assert!(
                tail.is_empty() || tail[0] == b'*',
                "{name}: tail starts with {:?}",
                &tail[..1]
            );
            assert_eq!(reader.consumed() as usize + tail.len(), data.len());
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} preambles found");
}

/// LRU idle times and LFU counters reach the key events.
#[test]
fn lru_and_lfu_hints_are_reported() {
    let dir = fixtures_dir().join("rdb");
    for (name, lfu) in [
        ("gen-7.0.15-lfu-a-lfu.rdb", true),
        ("gen-7.0.15-lru-a-lru.rdb", false),
    ] {
        let data = std::fs::read(dir.join(name)).expect("read");
        let dump = read_all(&data, Options::default()).expect("load");
        assert!(!dump.records.is_empty());
        for r in &dump.records {
            assert_eq!(r.header.lfu_freq.is_some(), lfu, "{name}");
            assert_eq!(r.header.lru_idle_s.is_some(), !lfu, "{name}");
        }
    }
}

/// An RDB length at `at` (the plain forms): its value and size.
fn rdb_length(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *b.get(at)?;
    match first >> 6 {
        0 => Some(((first & 0x3f) as usize, 1)),
        1 => Some((
            (((first & 0x3f) as usize) << 8) | *b.get(at + 1)? as usize,
            2,
        )),
        _ if first == 0x80 => {
            let raw: [u8; 4] = b.get(at + 1..at + 5)?.try_into().ok()?;
            Some((u32::from_be_bytes(raw) as usize, 5))
        }
        _ => None,
    }
}

/// Whether two encodings of the same keys are equal byte for byte, except inside LZF strings,
/// whose compressed forms may differ (our compressor is not Redis's liblzf) as long as they
/// decompress to the same bytes. Returns the first difference otherwise.
fn equal_but_lzf(ours: &[u8], theirs: &[u8]) -> Result<(), usize> {
    let (mut i, mut j) = (0, 0);
    while i < ours.len() && j < theirs.len() {
        if ours[i] == theirs[j] {
            i += 1;
            j += 1;
            continue;
        }
        let lzf_string = |b: &[u8], at: usize| -> Option<(Vec<u8>, usize)> {
            if at == 0 || b[at - 1] != 0xc3 {
                return None;
            }
            let (clen, n1) = rdb_length(b, at)?;
            let (ulen, n2) = rdb_length(b, at + n1)?;
            let start = at + n1 + n2;
            let data = b.get(start..start + clen)?;
            Some((
                formats::rdb::lzf::decompress(data, ulen).ok()?,
                start + clen,
            ))
        };
        match (lzf_string(ours, i), lzf_string(theirs, j)) {
            (Some((a, next_i)), Some((b, next_j))) if a == b => {
                i = next_i;
                j = next_j;
            }
            _ => return Err(i),
        }
    }
    if i == ours.len() {
        Ok(())
    } else {
        Err(i)
    }
}

/// Every hash with field TTLs in the corpus (types 24 and 25, written by Redis 7.4), written
/// again by our version-12 writer in the same form, is what 7.4 wrote, byte for byte but for
/// LZF-compressed strings: smallest-expire header, relative TTLs (24) or listpack triples (25),
/// key expire and string encodings.
#[test]
fn hashes_with_field_ttls_are_rewritten_as_74_wrote_them() {
    use formats::rdb::hash_ex::min_expire;
    use formats::rdb::{types, KeyMeta, ValueStart, Writer, WriterOptions};
    let mut checked = 0;
    for rdb in rdb_files("rdb") {
        let data = std::fs::read(&rdb).expect("read fixture");
        let Ok(dump) = read_all(&data, Options::default()) else {
            continue;
        };
        for record in &dump.records {
            if ![types::HASH_METADATA, types::HASH_LISTPACK_EX].contains(&record.header.rdb_type) {
                continue;
            }
            let mut w = Writer::new(WriterOptions {
                version: 12,
                ..WriterOptions::default()
            })
            .expect("writer");
            let meta = KeyMeta {
                expire_at_ms: record.header.expire_at_ms,
                ..KeyMeta::default()
            };
            let Value::Hash(fields) = &record.value else {
                panic!("a hash type holds a hash");
            };
            let start = ValueStart::HashEx {
                len: fields.len() as u64,
                min_expire_ms: min_expire(fields),
                listpack: record.header.rdb_type == types::HASH_LISTPACK_EX,
            };
            w.key_with_meta(&record.header.key, meta, start)
                .expect("key");
            for f in fields {
                w.hash_field_ex(&f.field, &f.value, f.expire_at_ms)
                    .expect("field");
            }
            let ours = w.take_output().split_off(9);
            let name = String::from_utf8_lossy(&record.header.key).into_owned();
            // The key's opcodes, type and name start the same in the file.
            let head = 12.min(ours.len());
            let at = data
                .windows(head)
                .position(|w| w == &ours[..head])
                .unwrap_or_else(|| panic!("{}: key {name} not found", rdb.display()));
            if let Err(d) = equal_but_lzf(&ours, &data[at..]) {
                panic!(
                    "{}: key {name} differs from what 7.4 wrote at byte {d}: ours {:02x?}",
                    rdb.display(),
                    &ours[d.saturating_sub(8)..(d + 8).min(ours.len())]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} hashes with field TTLs found");
}

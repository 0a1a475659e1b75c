//! Tests of the RDB writer and DUMP payloads, against our reader and against real Redis.
//!
//! Round trip: every fixture of the shared corpus that the reader decodes is written back with
//! the writer and read again; keys, values, expire times, functions and stream metadata, groups,
//! pending entries and consumers must come back equal (what the written version cannot carry is
//! named in `canon`). Real Redis: our files are loaded by Debian's `redis-server` 7.0 and its
//! `DEBUG DIGEST` must equal the digest the corpus recorded when 7.0.15 loaded the original; a
//! generated dataset of every type (big and compressed values, several databases, expires,
//! streams with groups) is loaded, saved again by Redis and read back with our reader, and each of
//! its values goes through DUMP payloads both ways (our payload into RESTORE, Redis's DUMP into our
//! decoder). The real-Redis tests need `redis-server` and fail without it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use formats::rdb::dump;
use formats::rdb::writer::{ReplicationAux, StandardAux};
use formats::rdb::{
    read_all, ConsumerHeader, Dump, HashField, KeyMeta, Options, PendingEntry, Record, Stream,
    StreamConsumer, StreamEntry, StreamGroup, StreamGroupHeader, StreamId, StreamMeta, Value,
    Writer, WriterOptions,
};
use formats::resp::Reply;
use formats::resp_reply::parse_reply;

mod common;
use common::{expected_json, rdb_files};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The version a dump is written with: 12 when a hash has field TTLs (Redis 7.4's), 10 when a
/// stream carries 7.0 metadata, else 9.
fn version_for(records: &[Record]) -> u32 {
    let needs = |wanted: fn(&Value) -> bool| records.iter().any(|r| wanted(&r.value));
    if needs(|v| matches!(v, Value::Hash(h) if formats::rdb::writer::has_field_ttls(h))) {
        12
    } else if needs(
        |v| matches!(v, Value::Stream(s) if s.meta.is_some_and(|m| m.first_id.is_some())),
    ) {
        10
    } else {
        9
    }
}

/// Writes records (and functions, AUX fields) as a file, draining output in small pieces.
fn write_file(dump: &Dump, options: WriterOptions) -> Vec<u8> {
    let mut w = Writer::new(options).expect("writer");
    let mut out = write_into(&mut w, dump);
    out.extend(w.finish().expect("finish"));
    out
}

/// Writes a dump's AUX fields, functions and keys; returns the output taken on the way.
fn write_into(w: &mut Writer, dump: &Dump) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in &dump.aux {
        w.aux(k, v).expect("aux");
    }
    for f in &dump.functions {
        w.function(f).expect("function");
    }
    let mut db = None;
    for (i, r) in dump.records.iter().enumerate() {
        if db != Some(r.header.db) {
            db = Some(r.header.db);
            let same: Vec<_> = dump.records[i..]
                .iter()
                .take_while(|x| x.header.db == r.header.db)
                .collect();
            let expires = same
                .iter()
                .filter(|x| x.header.expire_at_ms.is_some())
                .count();
            w.select_db(r.header.db, same.len() as u64, expires as u64)
                .expect("select");
        }
        let meta = KeyMeta {
            expire_at_ms: r.header.expire_at_ms,
            lru_idle_s: r.header.lru_idle_s,
            lfu_freq: r.header.lfu_freq,
        };
        // Field TTLs need version 12 (see `hash_field_ttls_are_refused_not_dropped`), which
        // `version_for` picks for files that have them.
        w.write_key_value(&r.header.key, meta, &r.value)
            .unwrap_or_else(|e| panic!("key {:?}: {e}", String::from_utf8_lossy(&r.header.key)));
        out.extend(w.take_output());
    }
    out
}

#[test]
fn hash_field_ttls_are_refused_not_dropped() {
    let hash = Value::Hash(vec![HashField {
        field: b"f".to_vec(),
        value: b"v".to_vec(),
        expire_at_ms: Some(4_102_444_800_000),
    }]);
    let mut w = Writer::new(WriterOptions::default()).expect("writer");
    w.select_db(0, 1, 0).expect("select");
    let before = w.take_output().len();
    let refused = w.write_key_value(b"h", KeyMeta::default(), &hash);
    assert!(
        matches!(
            refused,
            Err(formats::rdb::writer::WriteError::FieldTtlsNeedNewerVersion(
                9
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(
        w.take_output().len(),
        0,
        "nothing of the key is written ({before} before)"
    );
    let dumped = Writer::dump(WriterOptions::default())
        .expect("dump writer")
        .write_dump_value(&hash);
    assert!(
        matches!(
            dumped,
            Err(formats::rdb::writer::WriteError::FieldTtlsNeedNewerVersion(
                9
            ))
        ),
        "{dumped:?}"
    );
}

/// A value in a form that compares with `==`: unordered collections sorted; what our written
/// version cannot carry (consumer active times of 7.4) dropped; stream metadata with the
/// defaults a 7.0 loader fills in.
fn canon(value: &Value) -> Value {
    match value {
        Value::Set(s) => {
            let mut s = s.clone();
            s.sort();
            Value::Set(s)
        }
        Value::Hash(h) => {
            let mut h: Vec<HashField> = h.clone();
            h.sort_by(|a, b| a.field.cmp(&b.field));
            Value::Hash(h)
        }
        Value::Zset(z) => {
            let mut z = z.clone();
            z.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            Value::Zset(z)
        }
        Value::Stream(s) => Value::Stream(Box::new(canon_stream(s))),
        other => other.clone(),
    }
}

fn canon_stream(s: &Stream) -> Stream {
    let length = s.entries.len() as u64;
    let meta = s.meta.map(|m| StreamMeta {
        length,
        max_deleted_id: Some(m.max_deleted_id.unwrap_or_default()),
        entries_added: Some(m.entries_added.unwrap_or(length)),
        ..m
    });
    let groups = s
        .groups
        .iter()
        .map(|g| StreamGroup {
            header: g.header.clone(),
            pel: g.pel.clone(),
            consumers: g
                .consumers
                .iter()
                .map(|c| StreamConsumer {
                    header: ConsumerHeader {
                        active_time_ms: None,
                        ..c.header.clone()
                    },
                    pending: c.pending.clone(),
                })
                .collect(),
        })
        .collect();
    Stream {
        entries: s.entries.clone(),
        meta,
        groups,
    }
}

type Keyed = Vec<(u64, Vec<u8>, Option<i64>, Value)>;

/// A key's database, name, LRU idle seconds and LFU counter.
type Hints = (u64, Vec<u8>, Option<u64>, Option<u8>);

/// The eviction hints of every key, in key order.
fn hints(dump: &Dump) -> Vec<Hints> {
    let mut v: Vec<_> = dump
        .records
        .iter()
        .map(|r| {
            let h = &r.header;
            (h.db, h.key.clone(), h.lru_idle_s, h.lfu_freq)
        })
        .collect();
    v.sort();
    v
}

fn keyed(dump: &Dump) -> Keyed {
    let mut v: Keyed = dump
        .records
        .iter()
        .map(|r| {
            (
                r.header.db,
                r.header.key.clone(),
                r.header.expire_at_ms,
                canon(&r.value),
            )
        })
        .collect();
    v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    v
}

fn first_difference(a: &Keyed, b: &Keyed) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} keys, then {} keys", a.len(), b.len()));
    }
    a.iter().zip(b).find(|(x, y)| x != y).map(|(x, y)| {
        let show = |v: &Value| {
            let s = format!("{v:?}");
            s.chars().take(300).collect::<String>()
        };
        format!(
            "db {} key {:?}: expire {:?} vs {:?}; {} vs {}",
            x.0,
            String::from_utf8_lossy(&x.1),
            x.2,
            y.2,
            show(&x.3),
            show(&y.3)
        )
    })
}

fn readable_fixtures() -> Vec<(String, PathBuf, Dump)> {
    rdb_files("rdb")
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let data = std::fs::read(&p).ok()?;
            let dump = read_all(&data, Options::default()).ok()?;
            Some((name, p, dump))
        })
        .collect()
}

#[test]
fn every_readable_fixture_round_trips() {
    let fixtures = readable_fixtures();
    assert!(fixtures.len() > 50, "only {} fixtures read", fixtures.len());
    let mut failures = Vec::new();
    for (name, _, dump) in &fixtures {
        for compression in [true, false] {
            let options = WriterOptions {
                version: version_for(&dump.records),
                compression,
                ..WriterOptions::default()
            };
            let bytes = write_file(dump, options);
            let back = match read_all(&bytes, Options::default()) {
                Ok(b) => b,
                Err(e) => {
                    failures.push(format!("{name}: our file does not read back: {e}"));
                    continue;
                }
            };
            if let Some(d) = first_difference(&keyed(dump), &keyed(&back)) {
                failures.push(format!("{name}: {d}"));
            }
            if hints(&back) != hints(dump) {
                failures.push(format!("{name}: LRU/LFU hints differ"));
            }
            if back.functions != dump.functions || back.aux != dump.aux {
                failures.push(format!("{name}: functions or AUX fields differ"));
            }
            assert_eq!(back.version, options.version);
        }
    }
    eprintln!("{} fixtures written and read back", fixtures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn checksum_off_writes_zero_and_compression_shrinks() {
    let big = Value::String(b"abcdefgh".repeat(1000));
    let dump = Dump {
        records: vec![record(0, b"k", None, big)],
        ..Dump::default()
    };
    let off = write_file(
        &dump,
        WriterOptions {
            checksum: false,
            compression: false,
            ..WriterOptions::default()
        },
    );
    assert_eq!(&off[off.len() - 8..], &[0; 8]);
    let on = write_file(&dump, WriterOptions::default());
    assert!(on.len() < 200, "compressed file is {} bytes", on.len());
    assert_eq!(
        read_all(&on, Options::default()).unwrap().checksum,
        Some(formats::rdb::Checksum::Verified(
            formats::rdb::crc64::checksum(&on[..on.len() - 8])
        ))
    );
}

fn record(db: u64, key: &[u8], expire: Option<i64>, value: Value) -> Record {
    Record {
        header: formats::rdb::KeyHeader {
            db,
            key: key.to_vec(),
            kind: kind_of(&value),
            rdb_type: 0,
            expire_at_ms: expire,
            lru_idle_s: None,
            lfu_freq: None,
        },
        value,
    }
}

fn kind_of(v: &Value) -> formats::rdb::Kind {
    use formats::rdb::Kind;
    match v {
        Value::String(_) => Kind::String,
        Value::List(_) => Kind::List,
        Value::Set(_) => Kind::Set,
        Value::Hash(_) => Kind::Hash,
        Value::Zset(_) => Kind::Zset,
        Value::Stream(_) => Kind::Stream,
    }
}

/// A deterministic pseudo-random generator (no dependency needed for test data).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A stream with `n` entries (varying fields), two groups with pending entries and consumers.
/// `deleted` gives it a tombstone and extra entries-added, which only version 10 keeps.
fn gen_stream(n: u64, deleted: bool) -> Stream {
    let entries: Vec<StreamEntry> = (0..n)
        .map(|i| {
            let mut fields = vec![
                (b"sensor".to_vec(), format!("s{}", i % 5).into_bytes()),
                (b"value".to_vec(), i.to_string().into_bytes()),
            ];
            if i % 9 == 0 {
                fields.push((b"extra".to_vec(), vec![b'e'; (i % 300) as usize]));
            }
            StreamEntry {
                id: StreamId {
                    ms: 1_700_000_000_000 + i / 3,
                    seq: i % 3,
                },
                fields,
            }
        })
        .collect();
    let first = entries[0].id;
    let last = entries[entries.len() - 1].id;
    let meta = StreamMeta {
        length: n,
        last_id: last,
        first_id: Some(first),
        max_deleted_id: Some(if deleted {
            StreamId {
                ms: first.ms - 1,
                seq: 7,
            }
        } else {
            StreamId::default()
        }),
        entries_added: Some(if deleted { n + 3 } else { n }),
    };
    let pel: Vec<PendingEntry> = entries[..6]
        .iter()
        .enumerate()
        .map(|(i, e)| PendingEntry {
            id: e.id,
            delivery_time_ms: 1_700_000_100_000 + i as i64,
            delivery_count: 1 + i as u64,
        })
        .collect();
    let consumer = |name: &[u8], ids: &[PendingEntry]| StreamConsumer {
        header: ConsumerHeader {
            name: name.to_vec(),
            seen_time_ms: 1_700_000_200_000,
            active_time_ms: None,
        },
        pending: ids.iter().map(|p| p.id).collect(),
    };
    let groups = vec![
        StreamGroup {
            header: StreamGroupHeader {
                name: b"g1".to_vec(),
                last_delivered_id: last,
                entries_read: Some(meta.entries_added.unwrap_or(n)),
            },
            pel: pel.clone(),
            consumers: vec![consumer(b"alice", &pel[..4]), consumer(b"bob", &pel[4..])],
        },
        StreamGroup {
            header: StreamGroupHeader {
                name: b"g2".to_vec(),
                last_delivered_id: StreamId::default(),
                entries_read: Some(0),
            },
            pel: Vec::new(),
            consumers: vec![consumer(b"idle", &[])],
        },
    ];
    Stream {
        entries,
        meta: Some(meta),
        groups,
    }
}

/// Every type, big values, compressible and incompressible strings, integers at the encoding
/// edges, several databases and expires.
fn generated(version: u32) -> Dump {
    let mut rng = Lcg(42);
    let future = now_ms() + 3_600_000;
    let mut records = Vec::new();
    let strings: Vec<Vec<u8>> = vec![
        b"0".to_vec(),
        b"-1".to_vec(),
        b"127".to_vec(),
        b"-128".to_vec(),
        b"32767".to_vec(),
        b"-2147483648".to_vec(),
        b"2147483648".to_vec(),
        b"9223372036854775807".to_vec(),
        b"007".to_vec(),
        b"1.5".to_vec(),
        b"".to_vec(),
        "héllo wörld".as_bytes().to_vec(),
        b"abc".repeat(7),
        b"compressible ".repeat(20_000),
        rng.bytes(70_000),
    ];
    for (i, s) in strings.into_iter().enumerate() {
        let expire = (i % 4 == 0).then_some(future + i as i64);
        records.push(record(
            0,
            format!("str:{i}").as_bytes(),
            expire,
            Value::String(s),
        ));
    }
    let list: Vec<Vec<u8>> = (0..10_000)
        .map(|i| match i % 4 {
            0 => i.to_string().into_bytes(),
            1 => format!("item-{i}").into_bytes(),
            2 => vec![b'L'; 1 + i % 700],
            _ => rng.bytes(i % 50),
        })
        .collect();
    records.push(record(0, b"list:big", Some(future), Value::List(list)));
    records.push(record(
        0,
        b"list:huge-element",
        None,
        Value::List(vec![b"x".to_vec(), b"y".repeat(1 << 20)]),
    ));
    let set: Vec<Vec<u8>> = (0..5000)
        .map(|i| {
            if i % 2 == 0 {
                (i * 7919 - 20_000).to_string().into_bytes()
            } else {
                format!("member:{i}").into_bytes()
            }
        })
        .collect();
    records.push(record(0, b"set:mixed", None, Value::Set(set)));
    records.push(record(
        0,
        b"set:ints",
        None,
        Value::Set((0..100).map(|i| (i * 3).to_string().into_bytes()).collect()),
    ));
    let hash: Vec<HashField> = (0..2000)
        .map(|i| HashField {
            field: format!("f{i}").into_bytes(),
            value: if i % 100 == 0 {
                b"big value ".repeat(100)
            } else {
                i.to_string().into_bytes()
            },
            expire_at_ms: None,
        })
        .collect();
    records.push(record(0, b"hash:big", None, Value::Hash(hash)));
    records.push(record(
        0,
        b"hash:small",
        Some(future),
        Value::Hash(vec![HashField {
            field: b"a".to_vec(),
            value: b"1".to_vec(),
            expire_at_ms: None,
        }]),
    ));
    let mut zset: Vec<(Vec<u8>, f64)> = (0..3000)
        .map(|i| (format!("z{i}").into_bytes(), (i as f64) * 0.37 - 500.0))
        .collect();
    zset.push((b"pinf".to_vec(), f64::INFINITY));
    zset.push((b"ninf".to_vec(), f64::NEG_INFINITY));
    zset.push((b"tiny".to_vec(), 1e-300));
    records.push(record(0, b"zset:big", None, Value::Zset(zset)));
    records.push(record(
        0,
        b"stream:plain",
        None,
        Value::Stream(Box::new(gen_stream(350, false))),
    ));
    if version >= 10 {
        records.push(record(
            0,
            b"stream:deleted",
            None,
            Value::Stream(Box::new(gen_stream(120, true))),
        ));
    }
    records.push(record(
        3,
        b"db3:string",
        None,
        Value::String(b"three".to_vec()),
    ));
    records.push(record(
        3,
        b"db3:list",
        Some(future),
        Value::List(vec![b"a".to_vec(), b"b".to_vec()]),
    ));
    records.push(record(
        15,
        b"db15:zset",
        None,
        Value::Zset(vec![(b"m".to_vec(), 2.5)]),
    ));
    Dump {
        version,
        aux: Vec::new(),
        functions: vec![
            b"#!lua name=writerlib\nredis.register_function('wf', function() return 1 end)"
                .to_vec(),
        ],
        records,
        checksum: None,
    }
}

fn write_generated(dump: &Dump, version: u32) -> Vec<u8> {
    let mut w = Writer::new(WriterOptions {
        version,
        ..WriterOptions::default()
    })
    .expect("writer");
    w.standard_aux(&StandardAux {
        redis_ver: "7.0.15",
        ctime_s: now_ms() / 1000,
        used_mem: 1_000_000,
        aof_base: false,
        replication: Some(ReplicationAux {
            stream_db: 0,
            id: "0123456789012345678901234567890123456789",
            offset: 0,
        }),
    })
    .expect("aux");
    let mut out = w.take_output();
    out.extend(write_into(&mut w, dump));
    out.extend(w.finish().expect("finish"));
    out
}

/// What a type-15 stream carries: no first id, tombstone, entries-added or entries-read.
fn as_type15(dump: &Dump) -> Dump {
    let mut d = dump.clone();
    for r in &mut d.records {
        if let Value::Stream(s) = &mut r.value {
            if let Some(m) = &mut s.meta {
                m.first_id = None;
                m.max_deleted_id = None;
                m.entries_added = None;
            }
            for g in &mut s.groups {
                g.header.entries_read = None;
            }
        }
    }
    d
}

#[test]
fn generated_dataset_round_trips_with_bounded_buffers() {
    for version in [9, 10] {
        let dump = generated(version);
        let bytes = write_generated(&dump, version);
        let back = read_all(&bytes, Options::default()).expect("reads back");
        assert_eq!(back.version, version);
        assert!(back
            .aux
            .iter()
            .any(|(k, v)| k == b"redis-bits" && v == b"64"));
        let expected = if version == 9 {
            as_type15(&dump)
        } else {
            dump.clone()
        };
        if let Some(d) = first_difference(&keyed(&expected), &keyed(&back)) {
            panic!("version {version}: {d}");
        }
    }
    // Bounded memory: feeding a 10,000-item list element by element never buffers more than one
    // element when the caller drains after every call.
    let mut w = Writer::new(WriterOptions::default()).unwrap();
    w.key(b"l", None, formats::rdb::ValueStart::List { len: 10_000 })
        .unwrap();
    let mut most = 0;
    for i in 0..10_000u32 {
        w.list_item(format!("element-{i:05}").as_bytes()).unwrap();
        most = most.max(w.buffered());
        w.take_output();
    }
    assert!(most < 32, "buffered {most} bytes");
}

// ---- real Redis -------------------------------------------------------------------------------

/// The real-Redis tests fail, not skip, without `redis-server` (as the integration tests do).
fn require_redis() {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "redis-server is not installed (make deps installs it)"
    );
}

/// A redis-server on a free loopback port, with its own directory; killed on drop.
struct Redis {
    child: Child,
    dir: PathBuf,
    conn: TcpStream,
    buf: Vec<u8>,
}

impl Redis {
    /// Starts redis-server over `rdb` (if any); `Err` with its log if it refuses the file.
    fn start(rdb: Option<&[u8]>, tag: &str) -> Result<Redis, String> {
        let dir = std::env::temp_dir().join(format!("rdb-writer-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if let Some(rdb) = rdb {
            std::fs::write(dir.join("dump.rdb"), rdb).map_err(|e| e.to_string())?;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&dir)
            .args([
                "--dbfilename",
                "dump.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--enable-debug-command", "yes", "--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!("redis-server exited ({status}): {log}"));
            }
            if let Ok(conn) = TcpStream::connect(("127.0.0.1", port)) {
                conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
                let mut r = Redis {
                    child,
                    dir,
                    conn,
                    buf: Vec::new(),
                };
                // PING answers -LOADING while the file loads; a file Redis refuses makes it exit
                // (after it began to listen), which closes the connection.
                loop {
                    match r.try_cmd(&[b"PING"]) {
                        Ok(Reply::Simple(_)) => return Ok(r),
                        Err(e) => {
                            let _ = r.child.wait();
                            return Err(format!("redis-server went away: {e}: {}", r.log()));
                        }
                        _ if Instant::now() > deadline => return Err("still loading".into()),
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not listen".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        self.try_cmd(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a command and reads its reply; an error if the connection fails or closes.
    fn try_cmd(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.conn
            .write_all(&req)
            .map_err(|e| format!("send: {e}"))?;
        loop {
            if let Some((reply, used)) = parse_reply(&self.buf).map_err(|e| format!("RESP: {e}"))? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .conn
                .read(&mut chunk)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("redis closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn text(&mut self, args: &[&[u8]]) -> String {
        match self.cmd(args) {
            Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            Reply::Simple(s) => s.into_owned(),
            other => format!("{other:?}"),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `ctime` AUX field in milliseconds, if the file has one.
fn ctime_ms(dump: &Dump) -> Option<i64> {
    let (_, v) = dump.aux.iter().find(|(k, _)| k == b"ctime")?;
    std::str::from_utf8(v)
        .ok()?
        .parse::<i64>()
        .ok()
        .map(|s| s * 1000)
}

#[test]
fn redis_loads_our_fixture_files_with_the_same_digest() {
    require_redis();
    let now = now_ms();
    let (mut checked, mut reloaded) = (0, Vec::new());
    let mut failures = Vec::new();
    for (name, path, dump) in readable_fixtures() {
        let json = expected_json(&path);
        let digest = json["digest"].as_str().unwrap_or_default().to_string();
        if json["loaded_with"].as_str() != Some("7.0.15") || digest.is_empty() {
            continue;
        }
        // A key that expired between the recording and now changes the digest: compare with
        // the original file loaded now instead.
        let window = ctime_ms(&dump).unwrap_or(0);
        let digest = if dump.records.iter().any(|r| {
            r.header
                .expire_at_ms
                .is_some_and(|ms| ms >= window && ms <= now + 60_000)
        }) {
            let original = std::fs::read(&path).expect("fixture");
            let mut redis = Redis::start(Some(&original), "original").expect("original loads");
            reloaded.push(name.clone());
            redis.text(&[b"DEBUG", b"DIGEST"])
        } else {
            digest
        };
        let options = WriterOptions {
            version: version_for(&dump.records),
            ..WriterOptions::default()
        };
        let bytes = write_file(&dump, options);
        let mut redis = match Redis::start(Some(&bytes), "fixture") {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: refused: {e}"));
                continue;
            }
        };
        let got = redis.text(&[b"DEBUG", b"DIGEST"]);
        if got != digest {
            failures.push(format!("{name}: digest {got}, recorded {digest}"));
        }
        let functions = match redis.cmd(&[b"FUNCTION", b"LIST"]) {
            Reply::Array(a) => a.len(),
            _ => usize::MAX,
        };
        if functions != dump.functions.len() {
            failures.push(format!(
                "{name}: {functions} function libraries, wrote {}",
                dump.functions.len()
            ));
        }
        checked += 1;
    }
    eprintln!(
        "{checked} fixtures loaded by redis-server with the recorded digest (or, for keys that \
         expired since, the digest of the original loaded now: {reloaded:?})"
    );
    assert!(checked >= 40, "only {checked} fixtures checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn redis_loads_and_resaves_the_generated_dataset() {
    require_redis();
    for version in [9, 10] {
        let dump = generated(version);
        let bytes = write_generated(&dump, version);
        let mut redis = Redis::start(Some(&bytes), &format!("gen{version}"))
            .unwrap_or_else(|e| panic!("version {version}: {e}"));
        // Spot checks by command.
        assert_eq!(redis.text(&[b"TYPE", b"stream:plain"]), "stream");
        assert_eq!(
            redis.cmd(&[b"STRLEN", b"str:13"]),
            Reply::Integer(13 * 20_000)
        );
        assert_eq!(redis.cmd(&[b"LLEN", b"list:big"]), Reply::Integer(10_000));
        assert_eq!(redis.text(&[b"FCALL", b"wf", b"0"]), "Integer(1)");
        let dbsize = |r: &mut Redis, db: &[u8]| {
            r.cmd(&[b"SELECT", db]);
            r.cmd(&[b"DBSIZE"])
        };
        assert_eq!(dbsize(&mut redis, b"3"), Reply::Integer(2));
        assert_eq!(dbsize(&mut redis, b"15"), Reply::Integer(1));
        redis.cmd(&[b"SELECT", b"0"]);
        if version >= 10 {
            // Type 19 keeps 7.0's stream metadata.
            let info = format!("{:?}", redis.cmd(&[b"XINFO", b"STREAM", b"stream:deleted"]));
            assert!(
                info.contains("\"max-deleted-entry-id\"), Bulk(b\"1699999999999-7\")"),
                "{info}"
            );
            assert!(info.contains("\"entries-added\"), Integer(123)"), "{info}");
        }
        // Walking nodes backwards uses each entry's lp-count and the master entry.
        let forward = redis.cmd(&[b"XRANGE", b"stream:plain", b"-", b"+"]);
        let backward = redis.cmd(&[b"XREVRANGE", b"stream:plain", b"+", b"-"]);
        match (forward, backward) {
            (Reply::Array(mut f), Reply::Array(b)) => {
                assert_eq!(f.len(), 350);
                f.reverse();
                assert_eq!(f, b, "XREVRANGE is not XRANGE reversed");
            }
            other => panic!("XRANGE/XREVRANGE: {other:?}"),
        }
        // Redis saves what it loaded; our reader must find exactly what we wrote.
        assert_eq!(redis.text(&[b"SAVE"]), "OK", "{}", redis.log());
        let saved = std::fs::read(redis.dir.join("dump.rdb")).expect("saved rdb");
        let back = read_all(&saved, Options::default()).expect("read Redis's file");
        if let Some(d) = first_difference(&keyed(&dump), &keyed(&back)) {
            panic!("version {version}: {d}");
        }
        assert_eq!(back.functions.len(), 1);
    }
}

#[test]
fn dump_payloads_restore_into_redis_and_redis_payloads_decode() {
    require_redis();
    let mut redis = Redis::start(None, "dump").expect("redis");
    let dump = generated(10);
    for (version, suffix) in [(9u32, "v9"), (10, "v10")] {
        for r in dump.records.iter().filter(|r| r.header.db == 0) {
            if version == 9 && r.header.key == b"stream:deleted" {
                continue;
            }
            let payload = dump::encode(
                &r.value,
                WriterOptions {
                    version,
                    ..WriterOptions::default()
                },
            )
            .expect("payload");
            let key = [r.header.key.as_slice(), b":", suffix.as_bytes()].concat();
            let reply = redis.cmd(&[b"RESTORE", &key, b"0", &payload, b"REPLACE"]);
            assert_eq!(
                reply,
                Reply::Simple("OK".into()),
                "RESTORE of {}",
                String::from_utf8_lossy(&key)
            );
            // Redis's own DUMP of what it restored (its 7.0 encodings) decodes to the same value.
            let Reply::Bulk(theirs) = redis.cmd(&[b"DUMP", &key]) else {
                panic!("no DUMP of {}", String::from_utf8_lossy(&key));
            };
            let decoded = dump::decode(&theirs, dump::REDIS_7_0_VERSION).expect("decode");
            assert_eq!(decoded.version, 10);
            // For type 15 (version 9) Redis fills in the 7.0 metadata; the generated stream is
            // one where that reconstruction is exact, so the comparison is the same.
            assert_eq!(
                canon(&decoded.value),
                canon(&r.value),
                "{}",
                String::from_utf8_lossy(&key)
            );
        }
    }
    // A damaged payload is refused by Redis as by us.
    let mut bad = dump::encode(&Value::String(b"x".to_vec()), WriterOptions::default()).unwrap();
    bad[2] ^= 0x20;
    assert!(dump::decode(&bad, 10).is_err());
    assert!(redis.cmd(&[b"RESTORE", b"bad", b"0", &bad]).is_error());
}

#[test]
fn redis_refuses_a_wrong_checksum_and_accepts_a_disabled_one() {
    require_redis();
    let dump = Dump {
        records: vec![record(0, b"k", None, Value::String(b"v".to_vec()))],
        ..Dump::default()
    };
    let mut bytes = write_file(&dump, WriterOptions::default());
    let good = Redis::start(Some(&bytes), "crc-good");
    assert!(good.is_ok(), "{:?}", good.err());
    drop(good);
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    assert!(Redis::start(Some(&bytes), "crc-bad").is_err());
    // `rdbchecksum no`: zero is written and Redis loads without checking.
    let off = write_file(
        &dump,
        WriterOptions {
            checksum: false,
            ..WriterOptions::default()
        },
    );
    let mut redis = Redis::start(Some(&off), "crc-off").expect("loads without checksum");
    assert_eq!(redis.text(&[b"GET", b"k"]), "v");
}

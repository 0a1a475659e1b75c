//! The append-only file rockslot writes, checked with real Redis: Debian's redis-server 7.0.15
//! loads rockslot's `appendonlydir` (after writes of every type, after a rewrite, after
//! `CONFIG SET appendonly yes`) and reaches the same `DEBUG DIGEST`; kill -9 under a concurrent
//! write load with `appendfsync always`, and during BGREWRITEAOF and BGSAVE, loses no
//! acknowledged write and leaves an AOF equal to the data.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

/// Either server with the AOF on, DEBUG allowed and no snapshots.
pub const AOF_ON: [&str; 6] = [
    "--appendonly",
    "yes",
    "--enable-debug-command",
    "yes",
    "--save",
    "",
];

/// rockslot with the AOF on and `appendfsync always`.
fn aof_always() -> Vec<&'static str> {
    [&AOF_ON[..], &["--appendfsync", "always"]].concat()
}

fn call(conn: &mut Conn, args: &[&str]) -> Reply {
    let reply = conn.call(args).expect("call");
    assert!(!reply.is_error(), "{args:?} replied {reply:?}");
    reply
}

fn digest(conn: &mut Conn) -> Reply {
    conn.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST")
}

fn info_field(conn: &mut Conn, name: &str) -> String {
    let reply = conn.call(&["INFO", "persistence"]).expect("INFO");
    let text = String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .to_string()
}

/// Waits until no AOF rewrite runs and `aof_rewrites` reached `count`.
fn wait_for_rewrites(conn: &mut Conn, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: u64 = info_field(conn, "aof_rewrites").parse().unwrap_or(0);
        if done >= count && info_field(conn, "aof_rewrite_in_progress") == "0" {
            assert_eq!(info_field(conn, "aof_last_bgrewrite_status"), "ok");
            return;
        }
        assert!(Instant::now() < deadline, "AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Starts redis-server with `appendonly yes` on a copy of `aof_dir` and returns it.
pub fn redis_loading_aof(aof_dir: &Path) -> Server {
    let builder = Server::builder(Flavor::Redis).args(AOF_ON);
    copy_dir(aof_dir, &builder.root().join("data").join("appendonlydir"));
    builder.start()
}

/// Real Redis loads a copy of `server`'s AOF and reaches the same digest.
fn assert_real_redis_agrees(server: &Server) {
    let mut conn = server.conn();
    let ours = digest(&mut conn);
    let redis = redis_loading_aof(&server.data_dir().join("appendonlydir"));
    let theirs = digest(&mut redis.conn());
    assert_eq!(
        ours,
        theirs,
        "digest of redis-server loading rockslot's AOF differs; rockslot log:\n{}",
        server.log_tail(30)
    );
}

/// Writes of every type, in the forms whose propagation is rewritten: relative expiries, random
/// pops, float increments, stream IDs chosen by the server, approximate trims, consumer groups,
/// blocked clients served, transactions, several databases.
fn write_every_type(server: &Server) {
    let mut conn = server.conn();
    for line in [
        "SET s1 v",
        "SET s2 v EX 1000",
        "SET s3 v PX 100000000 GET",
        "SETEX s4 1000 v",
        "PSETEX s5 1000000 v",
        "SET n 10",
        "INCRBYFLOAT n 1.5",
        "INCR counter",
        "APPEND s1 more",
        "SETRANGE s1 2 xx",
        "EXPIRE s1 5000",
        "PEXPIRE counter 9000000 NX",
        "EXPIREAT n 4102444800",
        "SET gone v",
        "EXPIRE gone -1",
        "SET getex v",
        "GETEX getex EX 1000",
        "SET persist v EX 100",
        "GETEX persist PERSIST",
        "SET getdel v",
        "GETDEL getdel",
        "RPUSH list a b c d e f g",
        "LPOP list",
        "LMPOP 1 list RIGHT COUNT 2",
        "LMOVE list list2 LEFT RIGHT",
        "HSET hash f1 1 f2 2",
        "HINCRBYFLOAT hash f1 0.25",
        "SADD set a b c d e f g h i j",
        "SPOP set",
        "SPOP set 3",
        "SADD small x y",
        "SPOP small 5",
        "ZADD zset 1 a 2 b 3 c 4 d",
        "ZINCRBY zset 0.5 a",
        "ZMPOP 1 zset MIN COUNT 2",
        "BZPOPMAX zset 0",
        "PFADD hll a b c",
        "GEOADD geo 13.361389 38.115556 Palermo",
        "XADD stream * f 1",
        "XADD stream * f 2",
        "XADD stream MAXLEN ~ 1 * f 3",
        "XADD stream 99999999999999-* f 4",
        "XGROUP CREATE stream g 0",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS stream >",
        "XCLAIM stream g bob 0 99999999999999-0",
        "XAUTOCLAIM stream g carol 0 0",
        "XTRIM stream MAXLEN ~ 0",
        "SELECT 5",
        "SET in5 v EX 3000",
        "FLUSHDB",
        "SET in5-again v",
        "SELECT 0",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        call(&mut conn, &args);
    }
    let payload = call(&mut conn, &["DUMP", "hash"]);
    let payload = payload.as_bytes().expect("payload").to_vec();
    conn.send(&[
        &b"RESTORE"[..],
        &b"restored"[..],
        &b"100000"[..],
        &payload[..],
    ])
    .expect("send");
    let (reply, _) = conn.read_reply().expect("RESTORE");
    assert!(!reply.is_error(), "{reply:?}");
    // A transaction, and blocked clients served by other clients' writes.
    call(&mut conn, &["MULTI"]);
    call(&mut conn, &["SET", "tx1", "1", "EX", "100"]);
    call(&mut conn, &["SPOP", "set"]);
    call(&mut conn, &["EXEC"]);
    let mut blocked = server.conn();
    blocked.send(&["BLPOP", "blist", "0"]).expect("send BLPOP");
    let mut blocked_move = server.conn();
    blocked_move
        .send(&["BLMOVE", "bsrc", "bdst", "LEFT", "RIGHT", "0"])
        .expect("send BLMOVE");
    let mut blocked_stream = server.conn();
    call(
        &mut conn,
        &["XGROUP", "CREATE", "bstream", "g", "$", "MKSTREAM"],
    );
    blocked_stream
        .send(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "dave",
            "BLOCK",
            "0",
            "STREAMS",
            "bstream",
            ">",
        ])
        .expect("send XREADGROUP");
    std::thread::sleep(Duration::from_millis(100));
    call(&mut conn, &["RPUSH", "blist", "x", "y"]);
    call(&mut conn, &["RPUSH", "bsrc", "m"]);
    call(&mut conn, &["XADD", "bstream", "*", "k", "v"]);
    for client in [&mut blocked, &mut blocked_move, &mut blocked_stream] {
        let (reply, _) = client.read_reply().expect("served");
        assert!(!reply.is_error(), "{reply:?}");
    }
}

#[test]
fn real_redis_loads_the_aof_before_and_after_a_rewrite() {
    let server = Server::start(Flavor::Rockslot, aof_always());
    write_every_type(&server);
    assert_real_redis_agrees(&server);

    let mut conn = server.conn();
    let reply = call(&mut conn, &["BGREWRITEAOF"]);
    assert_eq!(
        reply.as_bytes(),
        Some(&b"Background append only file rewriting started"[..])
    );
    wait_for_rewrites(&mut conn, 1);
    call(&mut conn, &["SET", "after-rewrite", "v", "EX", "1000"]);
    call(&mut conn, &["SADD", "set", "new"]);
    assert_real_redis_agrees(&server);

    // The manifest lists the new base and one incr file; the history files are gone.
    let dir = server.data_dir().join("appendonlydir");
    let manifest = std::fs::read_to_string(dir.join("appendonly.aof.manifest")).expect("manifest");
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    assert_eq!(info_field(&mut conn, "aof_enabled"), "1");
    let base: u64 = info_field(&mut conn, "aof_base_size")
        .parse()
        .expect("size");
    let current: u64 = info_field(&mut conn, "aof_current_size")
        .parse()
        .expect("size");
    assert!(base > 0 && current > base, "base {base}, current {current}");
}

#[test]
fn config_set_appendonly_yes_builds_the_aof_from_the_data() {
    let server = Server::start(
        Flavor::Rockslot,
        ["--enable-debug-command", "yes", "--save", ""],
    );
    let mut conn = server.conn();
    write_every_type(&server);
    call(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_for_rewrites(&mut conn, 1);
    call(&mut conn, &["SET", "after", "v"]);
    assert_real_redis_agrees(&server);
    call(&mut conn, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(info_field(&mut conn, "aof_enabled"), "0");
    // Writes while the AOF is off are not in it; turning it on again rebuilds it.
    call(&mut conn, &["SET", "while-off", "v"]);
    call(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_for_rewrites(&mut conn, 2);
    assert_real_redis_agrees(&server);
}

/// Clients writing with `appendfsync always`, each remembering what was acknowledged.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(server: &Server, clients: usize, tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|c| {
                let mut conn = server.conn();
                let (stop, acked, tag) = (Arc::clone(&stop), Arc::clone(&acked), tag.to_string());
                std::thread::spawn(move || {
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let key = format!("{tag}:{c}:{i}");
                        let value = format!("{i}");
                        let ok = if i % 3 == 0 {
                            conn.call(&["HSET", &key, "f", &value])
                        } else {
                            conn.call(&["SET", &key, &value])
                        };
                        match ok {
                            Ok(reply) if !reply.is_error() => {
                                acked.lock().expect("lock").push((key, value))
                            }
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            threads,
        }
    }

    /// Stops the clients (their connections fail once the server is killed).
    fn finish(self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        Arc::try_unwrap(self.acked)
            .map(|m| m.into_inner().expect("lock"))
            .unwrap_or_default()
    }
}

/// Every acknowledged write is there after the restart.
fn assert_all_present(server: &Server, acked: &[(String, String)]) {
    let mut conn = server.conn();
    for (key, value) in acked {
        let reply = match conn.call(&["TYPE", key]).expect("TYPE").as_bytes() {
            Some(b"hash") => conn.call(&["HGET", key, "f"]).expect("HGET"),
            _ => conn.call(&["GET", key]).expect("GET"),
        };
        assert_eq!(
            reply.as_bytes(),
            Some(value.as_bytes()),
            "acknowledged write {key}={value} lost"
        );
    }
}

#[test]
fn kill9_under_load_with_appendfsync_always_loses_nothing() {
    let mut server = Server::start(Flavor::Rockslot, aof_always());
    let mut rng = rand::thread_rng();
    let mut acked_total = 0;
    for trial in 0..50 {
        let load = Load::start(&server, 4, &format!("t{trial}"));
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..60)));
        server.kill9();
        let acked = load.finish();
        acked_total += acked.len();
        server.start_again();
        assert_all_present(&server, &acked);
        if trial % 10 == 9 {
            assert_real_redis_agrees(&server);
        }
    }
    assert!(
        acked_total > 50,
        "the load acknowledged only {acked_total} writes"
    );
}

/// kill -9 while a background job (BGREWRITEAOF or BGSAVE) runs under load: the node restarts,
/// nothing acknowledged is lost, and the AOF still equals the data.
fn kill9_during(job: &str) {
    let mut server = Server::start(Flavor::Rockslot, aof_always());
    let mut conn = server.conn();
    // A dataset that takes a moment to write out; made part of the AOF by a first rewrite.
    call(&mut conn, &["DEBUG", "POPULATE", "200000", "pop", "50"]);
    call(&mut conn, &["BGREWRITEAOF"]);
    wait_for_rewrites(&mut conn, 1);
    let mut rng = rand::thread_rng();
    for trial in 0..10 {
        let mut conn = server.conn();
        let load = Load::start(&server, 2, &format!("{job}{trial}"));
        std::thread::sleep(Duration::from_millis(20));
        let reply = conn.call(&[job]).expect(job);
        assert!(!reply.is_error(), "{job}: {reply:?}");
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        server.kill9();
        let acked = load.finish();
        server.start_again();
        assert_all_present(&server, &acked);
        let mut conn = server.conn();
        assert_eq!(info_field(&mut conn, "aof_enabled"), "1");
        if trial % 5 == 4 {
            assert_real_redis_agrees(&server);
        }
    }
}

#[test]
fn kill9_during_bgrewriteaof_loses_nothing() {
    kill9_during("BGREWRITEAOF");
}

#[test]
fn kill9_during_bgsave_loses_nothing() {
    kill9_during("BGSAVE");
}

#[test]
fn a_command_form_base_without_rdb_preamble_loads_in_real_redis() {
    let args = [&AOF_ON[..], &["--aof-use-rdb-preamble", "no"]].concat();
    let server = Server::start(Flavor::Rockslot, args);
    write_every_type(&server);
    let mut conn = server.conn();
    call(
        &mut conn,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
        ],
    );
    call(&mut conn, &["BGREWRITEAOF"]);
    wait_for_rewrites(&mut conn, 1);
    call(&mut conn, &["SET", "after-rewrite", "v"]);
    let dir = server.data_dir().join("appendonlydir");
    let base = std::fs::read(dir.join("appendonly.aof.2.base.aof")).expect("command-form base");
    // Commands (the library first, as Redis's rewrite writes functions first), no RDB magic.
    assert!(
        base.starts_with(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"),
        "not commands: {}",
        String::from_utf8_lossy(&base[..40.min(base.len())])
    );
    assert_real_redis_agrees(&server);
}

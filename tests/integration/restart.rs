//! Crash consistency: what a node acknowledged must still be there after kill -9 and a restart.
//!
//! The tests run the node with the configuration under which real Redis keeps acknowledged
//! writes across kill -9 (`appendonly yes`; with the default `appendfsync everysec` Redis writes
//! the AOF before replying and only a power cut can lose the last second), and ask the same of
//! rockslot. Expected values come from what the test wrote, never from reading the server back.
//! They cover strings with expire times (bulk, then under concurrent writers) and hashes, sets,
//! lists and sorted sets in both their small (inline) and big (element record) forms, and
//! streams with everything attached to them (tombstones, XSETID state, consumer groups, pending
//! entries, consumers). Streams are the one exception to writing down expectations: a group's
//! position, lag and delivery counts are the server's to compute (the differential tests hold
//! them to Redis), so their whole XINFO / XPENDING replies are captured before the kill and must
//! come back identical after it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::support::now_ms;
use crate::support::resp::{escape, Reply};
use crate::support::server::{Flavor, Server};

/// Keys written by the bulk test.
const BULK_KEYS: usize = 100_000;
/// Commands per pipelined round trip.
const BATCH: usize = 1_000;
/// Concurrent writers in the crash test.
const WRITERS: usize = 4;
/// Kill -9 trials in the crash test.
const TRIALS: usize = 20;
/// Acknowledged writes (across all writers) to wait for before the kill can come.
const MIN_ACKS_BEFORE_KILL: usize = 20;
/// Upper bound of the random delay between those first acknowledgements and the kill.
const MAX_KILL_DELAY_MS: u64 = 300;

/// What one key should hold after the restart.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    /// `None`: the key must not exist.
    value: Option<Vec<u8>>,
    expiry: Expiry,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expiry {
    None,
    /// An absolute PEXPIREAT / PXAT / EXAT time, known exactly.
    At(i64),
    /// A relative PX: the server picked a time between these bounds.
    Between(i64, i64),
}

/// The expiry a command asked for; a relative one becomes an [`Expiry::Between`] once the
/// round trip that carried it has been timed.
enum Written {
    Known(Expiry),
    RelativeMs(i64),
}

impl Expected {
    fn matches(&self, value: &Reply, pexpiretime: &Reply) -> bool {
        let value_ok = match (&self.value, value) {
            (None, Reply::Bulk(None)) => true,
            (Some(v), Reply::Bulk(Some(got))) => v == got,
            _ => false,
        };
        let time = pexpiretime.as_int();
        let expiry_ok = match (self.value.is_some(), self.expiry, time) {
            (false, _, Some(-2)) => true,
            (true, Expiry::None, Some(-1)) => true,
            (true, Expiry::At(at), Some(t)) => t == at,
            (true, Expiry::Between(lo, hi), Some(t)) => (lo..=hi).contains(&t),
            _ => false,
        };
        value_ok && expiry_ok
    }
}

#[test]
fn kill9_keeps_keys_values_and_expiry_times() {
    let mut server = Server::start(Flavor::Rockslot, ["--appendonly", "yes", "--save", ""]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(now_ms() as u64);
    let mut expected: BTreeMap<Vec<u8>, Expected> = BTreeMap::new();
    let mut conn = server.conn();

    let keys: Vec<Vec<u8>> = (0..BULK_KEYS)
        .map(|i| format!("key:{i:06}").into_bytes())
        .collect();
    for (batch_no, chunk) in keys.chunks(BATCH).enumerate() {
        let sent_at = now_ms();
        let mut commands = Vec::new();
        let mut pending = Vec::new();
        for (j, key) in chunk.iter().enumerate() {
            let i = batch_no * BATCH + j;
            let value = bulk_value(i, &mut rng);
            let ttl_ms = rng.gen_range(60_000..6 * 3_600_000i64);
            let at_ms = sent_at + ttl_ms;
            let set = |extra: &[String]| {
                let mut c = vec![b"SET".to_vec(), key.clone(), value.clone()];
                c.extend(extra.iter().map(|a| a.clone().into_bytes()));
                c
            };
            let expiry = match i % 5 {
                0 | 1 => {
                    commands.push(set(&[]));
                    Written::Known(Expiry::None)
                }
                2 => {
                    commands.push(set(&["PX".into(), ttl_ms.to_string()]));
                    Written::RelativeMs(ttl_ms)
                }
                3 => {
                    commands.push(set(&[]));
                    commands.push(vec![
                        b"PEXPIREAT".to_vec(),
                        key.clone(),
                        at_ms.to_string().into_bytes(),
                    ]);
                    Written::Known(Expiry::At(at_ms))
                }
                _ => {
                    let at_s = at_ms / 1000;
                    commands.push(set(&["EXAT".into(), at_s.to_string()]));
                    Written::Known(Expiry::At(at_s * 1000))
                }
            };
            pending.push((key.clone(), value, expiry));
        }
        let replies = conn.pipeline(&commands).expect("write batch");
        let acked_at = now_ms();
        assert_all_ok(&commands, &replies);
        for (key, value, expiry) in pending {
            let expiry = match expiry {
                Written::Known(expiry) => expiry,
                Written::RelativeMs(ttl) => Expiry::Between(sent_at + ttl, acked_at + ttl),
            };
            expected.insert(
                key,
                Expected {
                    value: Some(value),
                    expiry,
                },
            );
        }
    }

    // Deletions and overwrites must survive too: a dropped tombstone would resurrect a key, a
    // lost overwrite would bring back an old value or TTL.
    let mut commands = Vec::new();
    for key in keys.iter().step_by(97) {
        commands.push(vec![b"DEL".to_vec(), key.clone()]);
        expected.insert(
            key.clone(),
            Expected {
                value: None,
                expiry: Expiry::None,
            },
        );
    }
    for key in keys.iter().skip(3).step_by(89) {
        let value = format!("overwritten {}", String::from_utf8_lossy(key)).into_bytes();
        commands.push(vec![b"SET".to_vec(), key.clone(), value.clone()]);
        expected.insert(
            key.clone(),
            Expected {
                value: Some(value),
                expiry: Expiry::None,
            },
        );
    }
    let replies = conn.pipeline(&commands).expect("delete and overwrite");
    assert!(
        replies.iter().all(|r| !r.is_error()),
        "delete/overwrite failed: {replies:?}"
    );

    verify_bulk(&mut server, &expected, "before the kill");
    server.kill9();
    server.start_again();
    verify_bulk(&mut server, &expected, "after kill -9 and restart");
}

/// Mostly short values, some binary, a few large enough to span many RocksDB blocks.
fn bulk_value(i: usize, rng: &mut impl Rng) -> Vec<u8> {
    let mut value = format!("value-{i}-").into_bytes();
    let len = if i % 10_000 == 7 {
        300_000
    } else {
        rng.gen_range(0..200)
    };
    value.extend((0..len).map(|_| rng.gen::<u8>()));
    value
}

fn assert_all_ok(commands: &[Vec<Vec<u8>>], replies: &[Reply]) {
    for (command, reply) in commands.iter().zip(replies) {
        let ok = matches!(reply, Reply::Simple(s) if s == b"OK") || reply.as_int() == Some(1);
        assert!(
            ok,
            "{} {} replied {reply:?}",
            String::from_utf8_lossy(&command[0]),
            String::from_utf8_lossy(&command[1])
        );
    }
}

fn verify_bulk(server: &mut Server, expected: &BTreeMap<Vec<u8>, Expected>, when: &str) {
    let mut conn = server.conn();
    let mut wrong = Vec::new();
    let entries: Vec<_> = expected.iter().collect();
    for chunk in entries.chunks(BATCH / 2) {
        let commands: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .flat_map(|(key, _)| {
                [
                    vec![b"GET".to_vec(), key.to_vec()],
                    vec![b"PEXPIRETIME".to_vec(), key.to_vec()],
                ]
            })
            .collect();
        let replies = conn.pipeline(&commands).expect("read batch");
        for ((key, want), got) in chunk.iter().zip(replies.chunks(2)) {
            if !want.matches(&got[0], &got[1]) {
                wrong.push(format!(
                    "{}: expected {:?} / {:?}, got {} / {:?}",
                    String::from_utf8_lossy(key),
                    want.value.as_ref().map(|v| truncated(v)),
                    want.expiry,
                    truncated(got[0].as_bytes().unwrap_or(b"(nil)")),
                    got[1]
                ));
            }
        }
    }
    let live = expected.values().filter(|e| e.value.is_some()).count() as i64;
    let dbsize = conn.call(&["DBSIZE"]).expect("DBSIZE");
    assert!(
        wrong.is_empty() && dbsize.as_int() == Some(live),
        "{when}: {} of {} keys wrong, DBSIZE {dbsize:?} (expected {live}); first ones:\n{}",
        wrong.len(),
        expected.len(),
        wrong
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn truncated(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(40)];
    format!("\"{}\" ({} bytes)", escape(shown), bytes.len())
}

/// What one writer thread got acknowledged before the kill.
#[derive(Default)]
struct Acked {
    counter_key: String,
    /// The reply to the last acknowledged INCR (0 if none was acknowledged).
    counter: i64,
    /// Keys written with SET and acknowledged, with their values.
    sets: Vec<(String, String)>,
}

#[test]
fn kill9_under_concurrent_writes_loses_no_acknowledged_write() {
    let mut server = Server::start(
        Flavor::Rockslot,
        ["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(now_ms() as u64);
    let mut all_acked: Vec<Acked> = Vec::new();
    for trial in 0..TRIALS {
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let conn = server.client();
                let (stop, acks) = (stop.clone(), acks.clone());
                thread::spawn(move || write_until_failure(conn, trial, w, &stop, &acks))
            })
            .collect();
        let delay_ms = kill_after_acks(&mut server, &acks, MIN_ACKS_BEFORE_KILL, trial, &mut rng);
        stop.store(true, Ordering::SeqCst);
        for writer in writers {
            all_acked.push(writer.join().expect("writer thread panicked"));
        }
        server.start_again();
        verify_acked(
            &server,
            &all_acked,
            &format!("trial {trial} (kill after {delay_ms} ms)"),
        );
    }
}

/// Alternates INCR of the writer's counter and SET of a fresh key until the server goes away.
/// Waits until the writers have `wanted` acknowledged writes, then kills the server with -9 at
/// a random moment up to [`MAX_KILL_DELAY_MS`] later, while they keep writing. Returns the
/// delay in milliseconds.
fn kill_after_acks(
    server: &mut Server,
    acks: &AtomicUsize,
    wanted: usize,
    trial: usize,
    rng: &mut impl Rng,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.load(Ordering::SeqCst) < wanted {
        assert!(
            Instant::now() < deadline,
            "trial {trial}: writers made no progress"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let delay_ms = rng.gen_range(0..=MAX_KILL_DELAY_MS);
    thread::sleep(Duration::from_millis(delay_ms));
    server.kill9();
    delay_ms
}

fn write_until_failure(
    mut conn: redis::Connection,
    trial: usize,
    writer: usize,
    stop: &AtomicBool,
    acks: &AtomicUsize,
) -> Acked {
    let mut acked = Acked {
        counter_key: format!("counter:{trial}:{writer}"),
        ..Acked::default()
    };
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let result = if n % 2 == 0 {
            redis::cmd("INCR")
                .arg(&acked.counter_key)
                .query::<i64>(&mut conn)
                .map(|v| acked.counter = v)
        } else {
            let key = format!("set:{trial}:{writer}:{n}");
            let value = format!("value {n} of writer {writer} in trial {trial}");
            redis::cmd("SET")
                .arg(&key)
                .arg(&value)
                .query::<()>(&mut conn)
                .map(|()| acked.sets.push((key, value)))
        };
        if result.is_err() {
            break;
        }
        acks.fetch_add(1, Ordering::SeqCst);
    }
    acked
}

fn verify_acked(server: &Server, all_acked: &[Acked], when: &str) {
    let mut conn = server.conn();
    let mut wrong = Vec::new();
    for acked in all_acked {
        // One INCR may have been in flight at the kill: applied or not, both are correct.
        let got = conn
            .call(&["GET", acked.counter_key.as_str()])
            .expect("GET counter");
        let value = match got.as_bytes() {
            Some(bytes) => String::from_utf8_lossy(bytes).parse::<i64>().ok(),
            None => Some(0),
        };
        if !value.is_some_and(|v| v == acked.counter || v == acked.counter + 1) {
            wrong.push(format!(
                "{}: acknowledged {}, found {got:?}",
                acked.counter_key, acked.counter
            ));
        }
        for chunk in acked.sets.chunks(BATCH) {
            let commands: Vec<Vec<&str>> =
                chunk.iter().map(|(k, _)| vec!["GET", k.as_str()]).collect();
            let replies = conn.pipeline(&commands).expect("GET batch");
            for ((key, value), reply) in chunk.iter().zip(replies) {
                if reply.as_bytes() != Some(value.as_bytes()) {
                    wrong.push(format!("{key}: acknowledged {value:?}, found {reply:?}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{when}: {} acknowledged writes lost or wrong:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Kill -9 trials of the collections test.
const COLLECTION_TRIALS: usize = 10;
/// Members a small collection draws from: it stays in Redis's small encoding.
const SMALL_POOL: usize = 40;
/// Members a big collection draws from.
const BIG_POOL: usize = 3_000;
/// A big collection smaller than this is refilled by its next write.
const BIG_FLOOR: usize = 200;
/// Members added by one refill.
const REFILL: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Hash,
    Set,
    List,
    ZSet,
}

/// A collection's content as the test wrote it (or as read back).
#[derive(Debug, Clone, PartialEq)]
enum Content {
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(std::collections::BTreeSet<Vec<u8>>),
    List(std::collections::VecDeque<Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, i64>),
}

impl Content {
    fn empty(shape: Shape) -> Content {
        match shape {
            Shape::Hash => Content::Hash(BTreeMap::new()),
            Shape::Set => Content::Set(Default::default()),
            Shape::List => Content::List(Default::default()),
            Shape::ZSet => Content::ZSet(BTreeMap::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Content::Hash(h) => h.len(),
            Content::Set(s) => s.len(),
            Content::List(l) => l.len(),
            Content::ZSet(z) => z.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One collection key of one writer and what it acknowledged.
#[derive(Debug, Clone)]
struct Collection {
    key: String,
    shape: Shape,
    big: bool,
    acked: Content,
}

impl Collection {
    /// The encoding Redis 7.0 reports for a non-empty collection of this kind.
    fn encoding(&self) -> &'static str {
        match (self.shape, self.big) {
            (Shape::List, _) => "quicklist",
            (Shape::Hash | Shape::ZSet, false) => "listpack",
            (Shape::Set, false) => "intset",
            (Shape::Hash | Shape::Set, true) => "hashtable",
            (Shape::ZSet, true) => "skiplist",
        }
    }

    fn member(&self, rng: &mut impl Rng) -> Vec<u8> {
        let pool = if self.big { BIG_POOL } else { SMALL_POOL };
        let n = rng.gen_range(0..pool);
        match (self.shape, self.big) {
            // Integers keep a small set an intset.
            (Shape::Set, false) => n.to_string().into_bytes(),
            _ => format!("m{n}").into_bytes(),
        }
    }

    fn value(&self, rng: &mut impl Rng) -> Vec<u8> {
        // Small collections keep values under the 64-byte listpack limit.
        let len = rng.gen_range(0..if self.big { 120 } else { 30 });
        (0..len).map(|_| rng.gen_range(b'a'..=b'z')).collect()
    }

    /// A random write to this collection and the content it leaves when applied.
    fn next_write(&self, rng: &mut impl Rng) -> (Vec<Vec<u8>>, Content) {
        let key = self.key.as_bytes().to_vec();
        let mut after = self.acked.clone();
        let refill = self.big && after.len() < BIG_FLOOR;
        if !refill && rng.gen_range(0..if self.big { 2_000 } else { 200 }) == 0 {
            return (vec![b"DEL".to_vec(), key], Content::empty(self.shape));
        }
        let adds = if refill { REFILL } else { rng.gen_range(1..=3) };
        let removing = !refill && rng.gen_bool(0.4);
        let mut command = vec![key];
        let name: &[u8] = match &mut after {
            Content::Hash(h) if removing => {
                let field = self.member(rng);
                h.remove(&field);
                command.push(field);
                b"HDEL"
            }
            Content::Hash(h) => {
                for _ in 0..adds {
                    let (field, value) = (self.member(rng), self.value(rng));
                    h.insert(field.clone(), value.clone());
                    command.extend([field, value]);
                }
                b"HSET"
            }
            Content::Set(s) => {
                for _ in 0..if removing { 1 } else { adds } {
                    let member = self.member(rng);
                    if removing {
                        s.remove(&member);
                    } else {
                        s.insert(member.clone());
                    }
                    command.push(member);
                }
                if removing {
                    b"SREM"
                } else {
                    b"SADD"
                }
            }
            // A small list stays short.
            Content::List(l)
                if !l.is_empty() && (removing || (!self.big && l.len() >= SMALL_POOL)) =>
            {
                if rng.gen_bool(0.5) {
                    l.pop_front();
                    b"LPOP"
                } else {
                    let index = rng.gen_range(0..l.len());
                    let value = self.value(rng);
                    l[index] = value.clone();
                    command.extend([index.to_string().into_bytes(), value]);
                    b"LSET"
                }
            }
            Content::List(l) => {
                let left = rng.gen_bool(0.3);
                for _ in 0..adds {
                    let value = self.value(rng);
                    if left {
                        l.push_front(value.clone());
                    } else {
                        l.push_back(value.clone());
                    }
                    command.push(value);
                }
                if left {
                    b"LPUSH"
                } else {
                    b"RPUSH"
                }
            }
            Content::ZSet(z) if removing => {
                let member = self.member(rng);
                z.remove(&member);
                command.push(member);
                b"ZREM"
            }
            Content::ZSet(z) => {
                for _ in 0..adds {
                    let (member, score) = (self.member(rng), rng.gen_range(-1_000..1_000i64));
                    z.insert(member.clone(), score);
                    command.extend([score.to_string().into_bytes(), member]);
                }
                b"ZADD"
            }
        };
        command.insert(0, name.to_vec());
        (command, after)
    }

    /// The content stored in the server now.
    fn read(&self, conn: &mut crate::support::resp::Conn) -> Content {
        let key = self.key.as_str();
        let reply = match self.shape {
            Shape::Hash => conn.call(&["HGETALL", key]),
            Shape::Set => conn.call(&["SMEMBERS", key]),
            Shape::List => conn.call(&["LRANGE", key, "0", "-1"]),
            Shape::ZSet => conn.call(&["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        }
        .expect("read collection");
        let items: Vec<Vec<u8>> = reply
            .as_items()
            .unwrap_or_else(|| panic!("{key}: unexpected reply {reply:?}"))
            .iter()
            .map(|r| r.as_bytes().expect("bulk item").to_vec())
            .collect();
        let pairs = || items.chunks(2).map(|p| (p[0].clone(), p[1].clone()));
        match self.shape {
            Shape::Hash => Content::Hash(pairs().collect()),
            Shape::Set => Content::Set(items.iter().cloned().collect()),
            Shape::List => Content::List(items.iter().cloned().collect()),
            Shape::ZSet => Content::ZSet(
                pairs()
                    .map(|(m, s)| {
                        let score = String::from_utf8_lossy(&s).parse().expect("integer score");
                        (m, score)
                    })
                    .collect(),
            ),
        }
    }
}

/// What one collection writer leaves behind: its collections and the write in flight at the
/// kill (key index, content if it was applied).
struct CollectionWriter {
    collections: Vec<Collection>,
    in_flight: Option<(usize, Content)>,
}

#[test]
fn kill9_keeps_acknowledged_collection_writes_in_both_encodings() {
    let mut server = Server::start(
        Flavor::Rockslot,
        ["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(now_ms() as u64);
    let mut writers: Vec<Vec<Collection>> = (0..WRITERS)
        .map(|w| {
            let shapes = [Shape::Hash, Shape::Set, Shape::List, Shape::ZSet];
            shapes
                .into_iter()
                .flat_map(|shape| [false, true].map(|big| (shape, big)))
                .map(|(shape, big)| Collection {
                    key: format!("coll:{w}:{shape:?}:{}", if big { "big" } else { "small" }),
                    shape,
                    big,
                    acked: Content::empty(shape),
                })
                .collect()
        })
        .collect();
    for trial in 0..COLLECTION_TRIALS {
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = writers
            .drain(..)
            .enumerate()
            .map(|(w, collections)| {
                let conn = server.conn();
                let (stop, acks) = (stop.clone(), acks.clone());
                let seed = rng.gen::<u64>() ^ w as u64;
                thread::spawn(move || write_collections(conn, collections, seed, &stop, &acks))
            })
            .collect();
        // Let the big collections fill before the first kill, then kill at a random moment.
        let wanted = if trial == 0 {
            400
        } else {
            MIN_ACKS_BEFORE_KILL
        };
        let delay_ms = kill_after_acks(&mut server, &acks, wanted, trial, &mut rng);
        stop.store(true, Ordering::SeqCst);
        let results: Vec<CollectionWriter> = threads
            .into_iter()
            .map(|t| t.join().expect("collection writer panicked"))
            .collect();
        server.start_again();
        let when = format!("trial {trial} (kill after {delay_ms} ms)");
        let elements: usize = results
            .iter()
            .flat_map(|r| &r.collections)
            .map(|c| c.acked.len())
            .sum();
        eprintln!(
            "restart: {when}: {} writes acknowledged, {elements} elements in {} collections",
            acks.load(Ordering::SeqCst),
            results.iter().map(|r| r.collections.len()).sum::<usize>()
        );
        writers = results
            .into_iter()
            .map(|result| verify_collections(&server, result, &when))
            .collect();
    }
}

/// Writes to the collections at random until the server goes away.
fn write_collections(
    mut conn: crate::support::resp::Conn,
    mut collections: Vec<Collection>,
    seed: u64,
    stop: &AtomicBool,
    acks: &AtomicUsize,
) -> CollectionWriter {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    while !stop.load(Ordering::SeqCst) {
        let index = rng.gen_range(0..collections.len());
        let (command, after) = collections[index].next_write(&mut rng);
        match conn.call(&command) {
            Ok(reply) => {
                assert!(
                    !reply.is_error(),
                    "{} {} replied {reply:?}",
                    escape(&command[0]),
                    collections[index].key
                );
                collections[index].acked = after;
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                return CollectionWriter {
                    collections,
                    in_flight: Some((index, after)),
                }
            }
        }
    }
    CollectionWriter {
        collections,
        in_flight: None,
    }
}

/// Checks every collection of one writer against what it acknowledged (the write in flight at
/// the kill may or may not have been applied) and its encoding; returns the collections as
/// stored, for the next trial.
fn verify_collections(server: &Server, result: CollectionWriter, when: &str) -> Vec<Collection> {
    let mut conn = server.conn();
    let mut collections = result.collections;
    for (index, collection) in collections.iter_mut().enumerate() {
        let stored = collection.read(&mut conn);
        let applied = match &result.in_flight {
            Some((i, after)) if *i == index && *after == stored => Some(after.clone()),
            _ => None,
        };
        assert!(
            stored == collection.acked || applied.is_some(),
            "{when}: {} lost acknowledged writes: {} elements acknowledged, {} stored\n\
             acknowledged: {:?}\nstored: {:?}",
            collection.key,
            collection.acked.len(),
            stored.len(),
            collection.acked,
            stored
        );
        collection.acked = stored;
        if !collection.acked.is_empty() {
            let encoding = conn
                .call(&["OBJECT", "ENCODING", collection.key.as_str()])
                .expect("OBJECT ENCODING");
            assert_eq!(
                encoding.as_bytes(),
                Some(collection.encoding().as_bytes()),
                "{when}: encoding of {}",
                collection.key
            );
        }
    }
    collections
}

/// `STREAMS_AGAINST_REDIS=1` runs the stream crash test against redis-server instead, to check
/// the test itself (what it captures, what it masks) on the specification.
fn stream_flavor() -> Flavor {
    if std::env::var_os("STREAMS_AGAINST_REDIS").is_some() {
        Flavor::Redis
    } else {
        Flavor::Rockslot
    }
}

/// Entries of the big stream: many of Redis's 100-entry listpack nodes.
const STREAM_ENTRIES: usize = 600;
/// A fixed delivery time set with `XCLAIM ... TIME`, so most of the PEL does not depend on the
/// clock of the run.
const DELIVERY_MS: i64 = 1_700_000_000_000;

const BIG_STREAM: &str = "stream:{big}";
const SMALL_STREAM: &str = "stream:{small}";
const EMPTIED_STREAM: &str = "stream:{emptied}";
const SETID_STREAM: &str = "stream:{setid}";
const MKSTREAM_STREAM: &str = "stream:{mkstream}";
const STREAM_KEYS: [&str; 5] = [
    BIG_STREAM,
    SMALL_STREAM,
    EMPTIED_STREAM,
    SETID_STREAM,
    MKSTREAM_STREAM,
];

/// Fields of the XINFO replies that hold the time of the query or of a consumer's last
/// interaction (`seen-time`, `idle`) rather than stored state: Redis's own AOF replay resets
/// `seen-time` to the time of the replay.
const CLOCK_FIELDS: [&str; 2] = ["seen-time", "idle"];

/// The ID of big-stream entry `i`: three entries per millisecond.
fn stream_id(i: usize) -> String {
    format!("{}-{}", 1_000 + i / 3, i % 3)
}

/// Runs commands written as space-separated words, asserting that none fails.
fn run_all(conn: &mut crate::support::resp::Conn, commands: &[String]) {
    for command in commands {
        let args: Vec<&str> = command.split_whitespace().collect();
        let reply = conn.call(&args).expect("stream command");
        assert!(!reply.is_error(), "{command} replied {reply:?}");
    }
}

/// IDs pending for `consumer` in `group`, in order.
fn pending_ids(
    conn: &mut crate::support::resp::Conn,
    key: &str,
    group: &str,
    consumer: &str,
) -> Vec<String> {
    let reply = conn
        .call(&["XPENDING", key, group, "-", "+", "1000", consumer])
        .expect("XPENDING");
    reply
        .as_items()
        .unwrap_or_else(|| panic!("XPENDING {key} {group} replied {reply:?}"))
        .iter()
        .map(|entry| {
            let id = entry.as_items().and_then(|e| e.first()?.as_bytes());
            String::from_utf8_lossy(id.expect("pending entry ID")).into_owned()
        })
        .collect()
}

/// Streams in every state a stream can be in: entries of different shapes, XDEL tombstones, a
/// trimmed head, an emptied stream, XSETID's last ID / entries-added / max-deleted ID, an empty
/// stream made by MKSTREAM; groups at 0, `$`, an explicit ID with ENTRIESREAD, one destroyed;
/// PEL entries delivered, re-delivered, claimed with fixed TIME and RETRYCOUNT, autoclaimed, of a
/// deleted entry; consumers with and without pending entries, one deleted.
fn build_streams(conn: &mut crate::support::resp::Conn) {
    let mut commands: Vec<String> = (0..STREAM_ENTRIES)
        .map(|i| {
            let fields = match i % 3 {
                0 => format!("name n{i}"),
                1 => format!("name n{i} size {}", i * 7),
                _ => format!("other o{i} name n{i} size {i}"),
            };
            format!("XADD {BIG_STREAM} {} {fields}", stream_id(i))
        })
        .collect();
    let big = BIG_STREAM;
    commands.extend(
        (100..300)
            .step_by(10)
            .map(|i| format!("XDEL {big} {}", stream_id(i))),
    );
    commands.extend([
        format!("XTRIM {big} MINID {}", stream_id(30)),
        format!("XGROUP CREATE {big} readers 0"),
        format!("XGROUP CREATE {big} tail $"),
        format!("XGROUP CREATE {big} mid {} ENTRIESREAD 250", stream_id(300)),
        format!("XGROUP CREATE {big} doomed 0"),
        format!("XREADGROUP GROUP readers alice COUNT 50 STREAMS {big} >"),
        format!("XREADGROUP GROUP readers bob COUNT 40 STREAMS {big} >"),
        format!("XREADGROUP GROUP readers carol COUNT 30 NOACK STREAMS {big} >"),
        format!("XREADGROUP GROUP mid dave COUNT 20 STREAMS {big} >"),
        format!("XREADGROUP GROUP doomed x COUNT 5 STREAMS {big} >"),
        format!("XGROUP DESTROY {big} doomed"),
        format!("XGROUP SETID {big} tail {} ENTRIESREAD 480", stream_id(500)),
        format!("XGROUP CREATECONSUMER {big} readers frank"),
        // Alice reads her own history again: delivery counts 2.
        format!("XREADGROUP GROUP readers alice COUNT 10 STREAMS {big} 0"),
    ]);
    commands.extend([
        format!("XADD {SMALL_STREAM} 1-1 a 1"),
        format!("XADD {SMALL_STREAM} 1-2 b 2 c 3"),
        format!("XADD {SMALL_STREAM} 5-0 a 1"),
        format!("XGROUP CREATE {SMALL_STREAM} g 0"),
        format!("XREADGROUP GROUP g c STREAMS {SMALL_STREAM} >"),
        format!("XCLAIM {SMALL_STREAM} g c 0 1-1 1-2 5-0 TIME {DELIVERY_MS} RETRYCOUNT 3"),
        format!("XADD {EMPTIED_STREAM} 1-0 a 1"),
        format!("XADD {EMPTIED_STREAM} 2-0 b 2"),
        format!("XDEL {EMPTIED_STREAM} 1-0 2-0"),
        format!("XADD {SETID_STREAM} 5-5 a 1"),
        format!("XSETID {SETID_STREAM} 100-0 ENTRIESADDED 10 MAXDELETEDID 50-0"),
        format!("XGROUP CREATE {SETID_STREAM} g $"),
        format!("XGROUP CREATE {MKSTREAM_STREAM} g $ MKSTREAM ENTRIESREAD 0"),
    ]);
    run_all(conn, &commands);

    let alice = pending_ids(conn, big, "readers", "alice");
    let bob = pending_ids(conn, big, "readers", "bob");
    assert_eq!((alice.len(), bob.len()), (50, 40), "PEL of alice and bob");
    let commands = [
        format!("XACK {big} readers {}", alice[40..].join(" ")),
        format!("XACK {big} mid {}", stream_id(305)),
        // To bob, with a fixed time and delivery count.
        format!(
            "XCLAIM {big} readers bob 0 {} TIME {DELIVERY_MS} RETRYCOUNT 7",
            alice[..3].join(" ")
        ),
        format!(
            "XCLAIM {big} readers alice 0 {} TIME {} RETRYCOUNT 2 JUSTID",
            alice[3],
            DELIVERY_MS + 1_000
        ),
        // XAUTOCLAIM counts a delivery and stamps the time of now: fix the time afterwards.
        format!("XAUTOCLAIM {big} readers erin 0 {} COUNT 5", bob[10]),
        format!(
            "XCLAIM {big} readers erin 0 {} TIME {} JUSTID",
            bob[10..15].join(" "),
            DELIVERY_MS + 2_000
        ),
        // A consumer that goes away takes its pending entries with it.
        format!(
            "XCLAIM {big} readers gone 0 {} FORCE",
            bob[20..23].join(" ")
        ),
        format!("XGROUP DELCONSUMER {big} readers gone"),
        // A pending entry whose entry is deleted stays in the PEL.
        format!("XDEL {big} {}", bob[30]),
    ];
    run_all(conn, &commands);
}

/// Changes after a restart: new entries (one with an ID of the clock), deliveries, acks, claims,
/// trimming, a deleted consumer and entry.
fn change_streams(conn: &mut crate::support::resp::Conn) {
    let big = BIG_STREAM;
    let alice = pending_ids(conn, big, "readers", "alice");
    let bob = pending_ids(conn, big, "readers", "bob");
    run_all(
        conn,
        &[
            format!("XADD {big} * after restart"),
            format!("XADD {SMALL_STREAM} 6-0 z 26"),
            format!("XDEL {SMALL_STREAM} 1-2"),
            format!("XREADGROUP GROUP readers alice COUNT 10 STREAMS {big} >"),
            format!("XREADGROUP GROUP tail zed STREAMS {big} >"),
            format!("XACK {big} readers {}", bob[..5].join(" ")),
            format!(
                "XCLAIM {big} readers frank 0 {} TIME {} RETRYCOUNT 9",
                alice[5],
                DELIVERY_MS + 3_000
            ),
            format!("XTRIM {big} MAXLEN 500"),
            format!("XGROUP DELCONSUMER {big} readers erin"),
            format!("XREADGROUP GROUP g c2 STREAMS {SMALL_STREAM} >"),
        ],
    );
}

/// Replaces the value after each of [`CLOCK_FIELDS`] in flat `[name, value, ...]` arrays, at any
/// depth, by a placeholder; the value must be an integer.
fn mask_clock_fields(reply: &mut Reply) {
    let Reply::Array(Some(items)) = reply else {
        return;
    };
    for i in 0..items.len() {
        let is_clock = items[i]
            .as_bytes()
            .is_some_and(|name| CLOCK_FIELDS.iter().any(|f| f.as_bytes() == name));
        if is_clock && i + 1 < items.len() && items[i + 1].as_int().is_some() {
            items[i + 1] = Reply::Simple(b"<clock>".to_vec());
        }
    }
    items.iter_mut().for_each(mask_clock_fields);
}

/// Masks the idle time (third element) of every entry of an extended XPENDING reply.
fn mask_pending_idle(reply: &mut Reply) {
    if let Reply::Array(Some(entries)) = reply {
        for entry in entries {
            if let Reply::Array(Some(fields)) = entry {
                if fields.len() == 4 && fields[2].as_int().is_some() {
                    fields[2] = Reply::Simple(b"<clock>".to_vec());
                }
            }
        }
    }
}

/// Everything a client can read of the streams, as (command, reply) with clock fields masked.
fn stream_state(conn: &mut crate::support::resp::Conn) -> Vec<(String, Reply)> {
    let mut state = Vec::new();
    let mut query = |conn: &mut crate::support::resp::Conn, command: String| {
        let args: Vec<&str> = command.split_whitespace().collect();
        let mut reply = conn.call(&args).expect("stream query");
        assert!(!reply.is_error(), "{command} replied {reply:?}");
        if args[0] == "XPENDING" && args.len() > 3 {
            mask_pending_idle(&mut reply);
        } else {
            mask_clock_fields(&mut reply);
        }
        state.push((command, reply.clone()));
        reply
    };
    query(conn, "DBSIZE".into());
    for key in STREAM_KEYS {
        for command in ["TYPE", "XLEN", "XRANGE - +", "XREVRANGE + - COUNT 5"] {
            let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
            query(conn, format!("{name} {key} {rest}"));
        }
        query(conn, format!("XINFO STREAM {key}"));
        query(conn, format!("XINFO STREAM {key} FULL COUNT 0"));
        let groups = query(conn, format!("XINFO GROUPS {key}"));
        for group in groups.as_items().unwrap_or_default() {
            let name = group.as_items().and_then(|g| g.get(1)?.as_bytes());
            let name = String::from_utf8_lossy(name.expect("group name")).into_owned();
            query(conn, format!("XPENDING {key} {name}"));
            query(conn, format!("XPENDING {key} {name} - + 1000"));
            query(conn, format!("XINFO CONSUMERS {key} {name}"));
        }
    }
    state
}

/// Kills the server with -9 and starts it again. Redis 7.0 replays an XREADGROUP from its AOF as
/// `XCLAIM ... LASTID`, which loses the group's entries-read counter (it comes back nil); an AOF
/// rewrite first stores the streams whole, so Redis serves as the reference for everything else.
fn crash_streams(server: &mut Server) {
    if server.flavor() == Flavor::Redis {
        rewrite_aof(server);
    }
    server.kill9();
    server.start_again();
}

fn rewrite_aof(server: &Server) {
    let mut conn = server.conn();
    let reply = conn.call(&["BGREWRITEAOF"]).expect("BGREWRITEAOF");
    assert!(!reply.is_error(), "BGREWRITEAOF replied {reply:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = conn.call(&["INFO", "persistence"]).expect("INFO");
        let info = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "AOF rewrite did not finish: {info}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn assert_same_state(before: &[(String, Reply)], after: &[(String, Reply)], when: &str) {
    let differing: Vec<String> = before
        .iter()
        .zip(after)
        .filter(|(b, a)| b != a)
        .map(|((command, b), (_, a))| format!("{command}\n{}", divergence(b, a)))
        .collect();
    assert!(
        differing.is_empty() && before.len() == after.len(),
        "{when}: {} of {} stream queries differ ({} queries before, {} after):\n{}",
        differing.len(),
        before.len(),
        before.len(),
        after.len(),
        differing.join("\n")
    );
}

/// Where two replies start to differ, shown as their text around that point: a whole XINFO
/// STREAM FULL reply would bury the difference.
fn divergence(before: &Reply, after: &Reply) -> String {
    const CONTEXT: usize = 300;
    let (b, a) = (format!("{before:?}"), format!("{after:?}"));
    let at = b.bytes().zip(a.bytes()).take_while(|(x, y)| x == y).count();
    let window = |s: &str| {
        let start = s.floor_char_boundary(at.saturating_sub(CONTEXT));
        let end = s.ceil_char_boundary((at + CONTEXT).min(s.len()));
        format!("...{}...", &s[start..end])
    };
    format!(
        "  differ at character {at}\n  before: {}\n  after:  {}",
        window(&b),
        window(&a)
    )
}

/// The captured state holds what the test built, so comparing it cannot pass vacuously.
fn assert_state_is_built(state: &[(String, Reply)]) {
    let shown = format!("{state:?}");
    for needle in [
        DELIVERY_MS.to_string(),
        (DELIVERY_MS + 1_000).to_string(),
        "readers".into(),
        "frank".into(),
        "max-deleted-entry-id".into(),
    ] {
        assert!(shown.contains(&needle), "{needle} missing from the state");
    }
    let dbsize = state.first().and_then(|(_, reply)| reply.as_int());
    assert_eq!(dbsize, Some(STREAM_KEYS.len() as i64), "DBSIZE");
}

#[test]
fn kill9_keeps_streams_groups_pending_entries_and_consumers() {
    let mut server = Server::start(
        stream_flavor(),
        ["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut conn = server.conn();
    build_streams(&mut conn);
    let before = stream_state(&mut conn);
    assert_state_is_built(&before);
    crash_streams(&mut server);
    let mut conn = server.conn();
    assert_same_state(
        &before,
        &stream_state(&mut conn),
        "after kill -9 and restart",
    );

    change_streams(&mut conn);
    let before = stream_state(&mut conn);
    assert_state_is_built(&before);
    crash_streams(&mut server);
    let mut conn = server.conn();
    assert_same_state(
        &before,
        &stream_state(&mut conn),
        "after changes and a second kill -9",
    );
}

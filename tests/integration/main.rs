//! Integration tests against real processes: the rockslot binary and Debian's redis-server 7.0.
//!
//! One test binary (`cargo test --release --test integration`) holds every suite, so the shared
//! support code is compiled once:
//! - `differential`: the same commands to rockslot and to redis-server, replies compared byte for
//!   byte in RESP2 and RESP3, hand-written per area and generated with proptest;
//! - `restart`: data, TTLs and acknowledged writes survive kill -9;
//! - `collections_scale`: million-element collections stay on disk, DEL is O(1), kill -9 safe;
//! - `streams_scale`: a million-entry stream with consumer groups: latencies, memory, O(1) DEL;
//! - `aof`: the AOF real Redis loads (every type, rewrites, CONFIG SET), kill -9 under load;
//! - `hash_ttl`: Redis 7.4's hash field expiry: commands, expiry, persistence, RDB 12;
//! - `rdb_load`: every real RDB fixture loaded at startup, digests equal to Redis 7.0's;
//! - `aof_load`: every real AOF fixture loaded at startup like Redis 7.0 (contents, digests,
//!   truncated and corrupt files, `aof-load-truncated`), and the boot precedence of data, AOF and
//!   dump.rdb;
//! - `rdb_save`: SAVE/BGSAVE files loaded by redis-server with equal digests, snapshot consistency;
//! - `check_rdb`: `rockslot check-rdb` over the fixtures, verdicts equal to redis-check-rdb's;
//! - `check_aof`: `rockslot check-aof [--fix]` over the AOF fixtures, output equal to
//!   redis-check-aof's;
//! - `config`: redis.conf files, command-line directives, FATAL reports, CONFIG REWRITE;
//! - `functions`: FUNCTION subcommands against redis-server, libraries in DUMP payloads, RDB
//!   files and across restarts;
//! - `replication`: rockslot as a replica of real Redis and as the primary of real Redis replicas
//!   (full and partial syncs, kill -9, a chain, a promotion), digests equal;
//! - `pubsub`: Pub/Sub and keyspace notifications, every frame compared with redis-server;
//! - `architecture`: invariants of the workspace itself (only `engine` names `rocksdb`).
//!
//! Every test needs `/usr/bin/redis-server` (or `REDIS_SERVER`); none is skipped without it.

mod aof;
mod aof_load;
mod architecture;
mod check_aof;
mod check_rdb;
mod collections_scale;
mod config;
mod differential;
/// The fixture corpus helpers shared with the `formats` tests.
#[path = "../../formats/tests/common/mod.rs"]
mod fixtures;
mod functions;
mod hash_ttl;
mod pubsub;
mod rdb_load;
mod rdb_save;
mod replication;
mod restart;
mod streams_scale;
mod support;

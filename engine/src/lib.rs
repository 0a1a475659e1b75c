//! rockslot's storage engine: a Redis keyspace on RocksDB, with hash slots mapped to column
//! families.
//!
//! This is the only crate of the workspace that names `rocksdb`. The node sees typed operations:
//! key metadata records ([`Meta`]), transactions that read their own writes and commit as one
//! RocksDB `WriteBatch` together with the replication position ([`Txn`]), the batches of many
//! commits reaching RocksDB as one write (`write_behind`), per-database and
//! per-slot key counters, iteration over a database's keys, the expire index, consistent
//! snapshots ([`Snapshot`]), and bulk loads into an empty keyspace ([`BulkLoad`]). Element
//! records of deleted or overwritten collections are removed in the background by a compaction
//! filter (`compaction`). The on-disk layout is described in [`layout`].

mod batch_rep;
mod bulk;
mod compaction;
mod compaction_switch;
mod elements;
mod engine;
mod error;
mod key_map;
pub mod layout;
pub mod meta;
mod meta_cache;
mod prefetch;
mod seen_keys;
mod snapshot;
mod txn;
mod write_behind;

pub use bulk::BulkLoad;
pub use elements::{prefix_successor, Instance, Order};
pub use engine::{DueExpire, Engine, EngineOptions, ReplPosition, ScanItem};
pub use error::EngineError;
pub use meta::{Kind, Meta, StringForm};
pub use snapshot::Snapshot;
pub use txn::Txn;

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Stops RocksDB's per-thread performance counters on the calling thread. RocksDB counts them
/// by default (every key comparison of a memtable insert or lookup bumps one, through a
/// thread-local lookup), and nothing here reads them: the node calls this on every thread of
/// its runtime. Counting cost about 470 instructions of a MULTI/EXEC transaction's 44,400.
pub fn skip_perf_counters() {
    rocksdb::perf::set_perf_stats(rocksdb::perf::PerfStatsLevel::Disable);
}

//! rockslot: a Redis Cluster node whose dataset lives in RocksDB.
//!
//! The binary (`src/main.rs`) parses the command line like redis-server and hands over to
//! [`server::run`], or runs an offline tool from [`tools`] (`rockslot check-rdb FILE`, `rockslot check-aof FILE`). The
//! library target exists so integration tests can reach internals.

pub mod commands;
pub mod config;
pub mod error;
pub mod persistence;
pub mod replication;
pub mod server;
pub mod tools;

//! Persistence in Redis's file formats: loading a `dump.rdb` at startup ([`rdb_load`]), writing
//! one from a snapshot ([`rdb_save`]: SAVE, BGSAVE), and the append-only file ([`aof`]).

pub mod aof;
pub mod rdb_load;
pub mod rdb_save;

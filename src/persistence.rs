//! Persistence in Redis's file formats: loading a `dump.rdb` at startup ([`rdb_load`]) and
//! writing one from a snapshot ([`rdb_save`]: SAVE, BGSAVE). The AOF comes next.

pub mod rdb_load;
pub mod rdb_save;

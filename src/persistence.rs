//! Persistence in Redis's file formats: loading a `dump.rdb` at startup ([`rdb_load`]).
//! Saving (SAVE, BGSAVE) and the AOF come next.

pub mod rdb_load;

//! The append-only file in Redis 7.0's layouts (see `formats::aof` for the formats): loading it
//! at startup ([`load`]), with the manifest kept on disk as Redis keeps it.

pub mod load;

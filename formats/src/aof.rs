//! The append-only file: Redis 7's multi-part layout ([`manifest`]).

pub mod manifest;

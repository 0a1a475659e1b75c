//! RDB: Redis's snapshot file, read and written without I/O.
//!
//! BACKGROUND. An RDB file is what `SAVE`/`BGSAVE` writes, what a primary sends a replica during a
//! full sync, and the preamble of an AOF. It starts with the 9-byte magic `REDIS` plus a 4-digit
//! version (1 to 12 here: 2.4 wrote 2, 7.0 writes 10, 7.2 writes 11, 7.4 writes 12). Then comes a
//! sequence of opcodes, each one byte: AUX (0xFA, a string key and value such as `redis-ver`),
//! SELECTDB (0xFE, a length), RESIZEDB (0xFB, two lengths: keys and keys with an expire),
//! FUNCTION2 (0xF5, the code of one function library), MODULE_AUX (0xF7, data a module saved
//! outside any key), SLOT_INFO (0xF4, three lengths), and per key optional prefixes EXPIRETIME
//! (0xFD, u32 LE seconds), EXPIRETIME_MS (0xFC, u64 LE milliseconds), IDLE (0xF8, a length of
//! seconds) and FREQ (0xF9, one byte), then the value type byte, the key string and the value.
//! EOF (0xFF) ends the data; from version 5 on eight more bytes hold the CRC-64/Jones of
//! everything before them, EOF included (zero when the writer ran with `rdbchecksum no`).
//!
//! Lengths put their form in the top two bits of the first byte: a 6-bit value, a 14-bit value
//! (big-endian across two bytes), 0x80 + u32 big-endian, 0x81 + u64 big-endian, or `11` for a
//! specially encoded string: an 8, 16 or 32-bit little-endian integer written as its decimal
//! text, or LZF-compressed bytes (compressed length, uncompressed length, data).
//!
//! Values come in every encoding Redis ever wrote: plain lists, sets, hashes and sorted sets
//! element by element (sorted-set scores as text before RDB 8, binary doubles after); whole-blob
//! encodings (zipmap, ziplist, intset, listpack) that copy Redis's in-memory layout; quicklists
//! of ziplist nodes (v1) or listpack and plain nodes (v2); streams as listpacks of entries plus
//! metadata, consumer groups, pending entries and consumers (three revisions); and, from 7.4,
//! hashes whose fields carry their own expire times.
//!
//! BEHAVIOR. [`Reader`] is fed bytes in chunks of any size and yields [`Event`]s. It holds at most
//! one item at a time (one element of a plain collection, one encoded blob, one quicklist node or
//! one stream node), never the whole file, and consumed input is released as it goes. The
//! CRC-64 is computed over the bytes as they pass. [`read_all`] is the convenience that collects
//! a whole (small) file into a [`Dump`]. The reader reports what the file says; loading policy
//! stays with the caller, as it does in Redis's `rdbLoad`: dropping keys whose expire time has
//! passed (a primary does, a replica does not), skipping empty collections, dropping hash fields
//! whose own TTL has passed. Input after the EOF checksum (the AOF tail after an RDB preamble)
//! is left unread, see [`Reader::unread`].
//!
//! FAILURE. Every problem is an [`RdbError`] naming the absolute byte offset and what was
//! expected there; no input makes the reader panic. Like Redis 7 it refuses module type keys and
//! the 7.0 release-candidate FUNCTION opcode, versions it does not know, wrong checksums, and
//! blobs that fail the integrity checks; module AUX data is refused by default (Redis exits on
//! AUX data of a module it has not loaded). Options skip module AUX data and the values of
//! module keys (as `redis-check-rdb` does) and read release-candidate functions (as 7.0 does).

pub mod blob;
pub mod crc64;
mod cursor;
pub mod dump;
pub mod event;
pub mod hash_ex;
pub mod intset;
pub mod lzf;
mod reader;
pub mod stream;
pub mod writer;
pub mod ziplist;
pub mod zipmap;

pub use blob::{BlobError, Element};
pub use event::*;
pub use reader::{read_all, Options, Poll, Reader};
pub use writer::{KeyMeta, StandardAux, ValueStart, WriteError, Writer, WriterOptions};

use thiserror::Error;

/// The highest RDB version this reader understands (Redis 7.4).
pub const MAX_VERSION: u32 = 12;

/// Value type bytes, fixed forever by the file format (src/rdb.h).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
    pub const HASH_METADATA_PRE_GA: u8 = 22;
    pub const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
    pub const HASH_METADATA: u8 = 24;
    pub const HASH_LISTPACK_EX: u8 = 25;
}

/// Opcodes, fixed forever by the file format (src/rdb.h).
pub mod opcodes {
    pub const SLOT_INFO: u8 = 244;
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// A problem in an RDB file, at an absolute byte offset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at offset {offset}: {kind}")]
pub struct RdbError {
    pub offset: u64,
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorKind {
    #[error("expected the signature \"REDIS\", found {0:?}")]
    BadMagic(String),
    #[error("expected an RDB version from 1 to 12, found {0:?}")]
    BadVersion(String),
    #[error("expected a length, found byte {0:#04x}")]
    BadLength(u8),
    #[error("expected a plain length for {what}, found an encoded string marker {found:#04x}")]
    EncodedLength { what: &'static str, found: u8 },
    #[error("expected a string encoding, found byte {0:#04x}")]
    BadStringEncoding(u8),
    #[error("expected an opcode or a value type, found byte {0:#04x}")]
    UnknownType(u8),
    #[error("expected {expected}, found {found}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("the input ended while reading {0}")]
    Truncated(&'static str),
    #[error("wrong checksum: the file says {stored:#018x}, the data gives {computed:#018x}")]
    Checksum { stored: u64, computed: u64 },
    #[error("LZF data: {0}")]
    Lzf(#[from] lzf::LzfError),
    #[error("{0}")]
    Blob(#[from] BlobError),
    #[error("a key of module type {0:?} cannot be loaded without that module")]
    ModuleKey(String),
    #[error("AUX data of module {0:?} cannot be loaded without that module")]
    ModuleAux(String),
    #[error("the FUNCTION opcode 246 of the 7.0 release candidates is not supported")]
    OldFunction,
    #[error("expected distinct members, found member or field number {index} repeated")]
    Duplicate { index: usize },
}

/// The 9-character name of a module type from its 64-bit id (Redis's `moduleTypeNameByID`).
pub fn module_type_name(id: u64) -> String {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for slot in name.iter_mut().rev() {
        *slot = CHARSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

//! The streaming RDB writer: RDB files and DUMP payloads that Redis 6.0 and later load.
//!
//! BACKGROUND. Redis 7.0 saves its in-memory encodings (listpacks, quicklists of listpacks,
//! intsets) as blobs, and stamps the file RDB version 10. Redis 6.0/6.2 read RDB 9, and every
//! version up to 7.4 still reads the plain, element-by-element types: STRING (0), LIST (1), SET
//! (2), HASH (4) and ZSET_2 (5, scores as binary doubles). Those are what this writer emits,
//! so a file needs no knowledge of the loader's `*-max-listpack-*` settings: the loader builds
//! whatever encoding its configuration asks for, as it does for RDB files of Redis 2.x.
//!
//! Lists are written as type 1 rather than QUICKLIST_2 (18) for three reasons: type 18 exists
//! only from RDB 10 (Redis 6.x refuses it); a quicklist starts with its node count, which a
//! streaming writer only knows after packing every element into nodes, whereas type 1 starts with
//! the element count that the caller already knows; and Redis 7.0's loader pushes type-1 elements
//! through `quicklistPushTail`, so the loaded list has the loader's own node size and packing.
//!
//! Streams have no plain form: they are saved as listpack nodes (built here one at a time with
//! [`crate::listpack::Builder`], at most [`STREAM_NODE_MAX_ENTRIES`] entries each, the first
//! entry's fields becoming the node's master fields), then the metadata, then consumer groups
//! with their pending entries lists and consumers. RDB 9 only has STREAM_LISTPACKS (15); Redis
//! 7.0 added first id, max deleted id, entries-added and per-group entries-read in
//! STREAM_LISTPACKS_2 (19), written by RDB 10. A 7.0 loader rebuilds those fields from a type-15
//! stream (entries-added = length, no tombstone, entries-read estimated), which is exact for a
//! stream that never had an entry deleted. So: version 9 is the default; in a version-9 file a
//! stream whose 7.0 metadata the loader could not rebuild is refused with
//! [`WriteError::StreamNeedsVersion10`] (unless [`WriterOptions::lossy_streams`]), and callers
//! that hold such streams write version 10 ([`stream_fits_version9`] lets them decide before the
//! header is written, since a streaming writer cannot change the header afterwards).
//!
//! Strings use Redis's encodings (`rdbSaveRawString`): a decimal integer of at most 11 bytes
//! that `string2ll` accepts and that fits 8, 16 or 32 bits is stored as that integer; otherwise,
//! with compression on and more than 20 bytes, LZF data when it is at least 4 bytes shorter;
//! otherwise the raw bytes. The file is the header `REDIS000n`, the AUX fields, function
//! libraries (opcode 245), per database SELECTDB and RESIZEDB, per key an optional
//! EXPIRETIME_MS, the type byte, key and value, then EOF and the CRC-64/Jones of everything
//! before it (zero with `rdbchecksum no`).
//!
//! Hashes whose fields carry expire times (Redis 7.4) exist only from RDB 12: a writer of
//! version 12 writes them as 7.4 does (see [`super::hash_ex`]: HASH_LISTPACK_EX (25) for a hash
//! the caller holds in listpack form, HASH_METADATA (24) otherwise, announced with
//! [`ValueStart::HashEx`] and fed with [`Writer::hash_field_ex`]); an older version refuses such
//! a hash with [`WriteError::FieldTtlsNeedNewerVersion`] before writing anything of it, so the
//! TTLs are never dropped silently. Versions 11 and 12 otherwise write what version 10 writes.
//!
//! A DUMP payload is one value (type byte and value, no key), the RDB version as two
//! little-endian bytes, and the CRC-64 of all that, little-endian ([`Writer::dump`]).
//!
//! BEHAVIOR. The writer is sans-IO: every call appends bytes to an internal buffer that the
//! caller drains with [`Writer::take_output`] whenever it likes. A collection is announced with
//! its element count, then fed element by element, so memory is bounded by one element, or one
//! stream node, plus what the caller leaves undrained. The writer checks the order of calls and
//! the announced counts and fails with a typed [`WriteError`] instead of writing a file Redis
//! would refuse; after an error the file is incomplete and is to be abandoned. A group whose
//! entries-read a version-9 file cannot keep is only noticed when the group comes, after the
//! stream's entries were written; callers that must not fail midway check their streams first.
//!
//! Stream nodes hold up to 100 entries whatever their size: Redis's `stream-node-max-bytes` (4
//! KiB by default) governs where Redis starts a node when appending, not what it accepts when
//! loading, and a fixed count lets the node count be written before the nodes.

use thiserror::Error;

use super::crc64::Crc64;
use super::event::{
    ConsumerHeader, PendingEntry, StreamEntry, StreamGroupHeader, StreamId, StreamMeta,
};
use super::event::{HashField, Stream, Value};
use super::hash_ex::{self, ListpackEx};
use super::{lzf, opcodes, types};
use crate::listpack;
use crate::text::string2ll;

/// The version written unless asked otherwise: the one Redis 6.0 and 6.2 write.
pub const DEFAULT_VERSION: u32 = 9;
/// The newest version written (Redis 7.4's), the first that holds hash field expire times.
pub const MAX_WRITE_VERSION: u32 = 12;
/// The first version that holds hash field expire times.
pub const FIELD_TTL_VERSION: u32 = 12;
/// Entries per stream node (Redis's `stream-node-max-entries` default).
pub const STREAM_NODE_MAX_ENTRIES: u64 = 100;

/// String encoding markers (the `11` length form).
const ENC_INT8: u8 = 0xc0;
const ENC_INT16: u8 = 0xc1;
const ENC_INT32: u8 = 0xc2;
const ENC_LZF: u8 = 0xc3;

/// Stream entry flags.
const STREAM_FLAG_SAMEFIELDS: i64 = 2;

/// Writer settings.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// RDB version: 9 (Redis 6.0+, the default), 10 or 11 (Redis 7.0+, 7.2+: streams as type
    /// 19), or 12 (Redis 7.4+: also hashes with field expire times).
    pub version: u32,
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when it saves space.
    pub compression: bool,
    /// `rdbchecksum`: write the CRC-64 (otherwise zero). DUMP payloads always carry it.
    pub checksum: bool,
    /// Write streams as type 15 in version 9 even when 7.0 metadata would be lost.
    pub lossy_streams: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            version: DEFAULT_VERSION,
            compression: true,
            checksum: true,
            lossy_streams: false,
        }
    }
}

/// Why the writer refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WriteError {
    #[error("RDB version {0} cannot be written (9 to 12 can)")]
    UnsupportedVersion(u32),
    #[error("{call} is not expected now (the writer expects {expected})")]
    OutOfOrder {
        call: &'static str,
        expected: &'static str,
    },
    #[error("stream metadata (deleted entries, entries-added or a group's entries-read) cannot be kept by RDB version 9; write version 10")]
    StreamNeedsVersion10,
    #[error("stream entry ids must increase: {previous} is followed by {id}")]
    StreamIdOrder { previous: StreamId, id: StreamId },
    #[error("a stream node's listpack would exceed 4 GiB")]
    NodeTooBig,
    #[error("hash field expire times cannot be kept by RDB version {0} (Redis 7.4's version 12 holds them); the hash is not written")]
    FieldTtlsNeedNewerVersion(u32),
    #[error("hash field expire time {expire_at_ms} is below the hash's announced smallest one ({min_expire_ms})")]
    FieldTtlBelowMinimum {
        expire_at_ms: i64,
        min_expire_ms: i64,
    },
    #[error("a hash's listpack would exceed 4 GiB")]
    HashListpackTooBig,
}

/// The start of a value: a whole string, or a collection with its element count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueStart<'a> {
    String(&'a [u8]),
    List {
        len: u64,
    },
    Set {
        len: u64,
    },
    /// A hash of `len` fields.
    Hash {
        len: u64,
    },
    /// A hash of `len` fields of which some carry expire times (RDB 12): `min_expire_ms` is the
    /// smallest of them; `listpack` picks type 25 (7.4's listpackex) over type 24.
    HashEx {
        len: u64,
        min_expire_ms: i64,
        listpack: bool,
    },
    Zset {
        len: u64,
    },
    /// A stream of `meta.length` entries and `groups` consumer groups.
    Stream {
        meta: StreamMeta,
        groups: u64,
    },
}

/// What an RDB file stores before a key's type byte.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    /// Absolute expire time in Unix milliseconds (EXPIRETIME_MS).
    pub expire_at_ms: Option<i64>,
    /// LRU idle seconds (IDLE), written by Redis under an LRU `maxmemory-policy`.
    pub lru_idle_s: Option<u64>,
    /// LFU counter (FREQ), written by Redis under an LFU `maxmemory-policy`.
    pub lfu_freq: Option<u8>,
}

/// The AUX fields Redis 7.0 writes at the start of every RDB file, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardAux<'a> {
    pub redis_ver: &'a str,
    pub ctime_s: i64,
    pub used_mem: u64,
    /// Whether the file is the base of an AOF.
    pub aof_base: bool,
    /// `repl-stream-db`, `repl-id`, `repl-offset`, written for replication and by primaries.
    pub replication: Option<ReplicationAux<'a>>,
}

/// The replication AUX fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicationAux<'a> {
    pub stream_db: i64,
    pub id: &'a str,
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    File,
    Dump,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    List,
    Set,
    Hash,
    /// Type 24's `ttl, field, value` triples.
    HashEx,
    /// Type 25's triples, gathered in a listpack written at the end.
    HashListpack,
    Zset,
}

#[derive(Debug)]
enum State {
    /// Between keys (file) or before the value (DUMP).
    Top,
    Elements {
        kind: Plain,
        remaining: u64,
    },
    StreamEntries {
        remaining: u64,
        groups: u64,
    },
    StreamGroups {
        remaining: u64,
    },
    StreamPel {
        groups_left: u64,
        remaining: u64,
        consumers: u64,
    },
    StreamConsumers {
        groups_left: u64,
        remaining: u64,
    },
    ConsumerPel {
        groups_left: u64,
        consumers_left: u64,
        remaining: u64,
    },
    /// The DUMP value is complete.
    DumpDone,
}

impl State {
    fn expects(&self) -> &'static str {
        match self {
            State::Top => "a key, an AUX field, a function, a database or the end",
            State::Elements { kind, .. } => match kind {
                Plain::List => "a list item",
                Plain::Set => "a set member",
                Plain::Hash | Plain::HashEx | Plain::HashListpack => "a hash field",
                Plain::Zset => "a sorted-set member",
            },
            State::StreamEntries { .. } => "a stream entry",
            State::StreamGroups { .. } => "a consumer group",
            State::StreamPel { .. } => "a group's pending entry",
            State::StreamConsumers { .. } => "a consumer",
            State::ConsumerPel { .. } => "a consumer's pending id",
            State::DumpDone => "the end of the DUMP payload",
        }
    }
}

/// The stream node being filled.
#[derive(Debug)]
struct Node {
    master: StreamId,
    master_fields: Vec<Vec<u8>>,
    lp: listpack::Builder,
    room: u64,
}

/// The stream being written.
#[derive(Debug)]
struct StreamInProgress {
    meta: StreamMeta,
    type15: bool,
    node: Option<Node>,
    last: Option<StreamId>,
}

/// The streaming RDB writer; see the module documentation.
#[derive(Debug)]
pub struct Writer {
    options: WriterOptions,
    mode: Mode,
    out: Vec<u8>,
    crc: Crc64,
    crc_pos: usize,
    state: State,
    stream: Option<StreamInProgress>,
    /// The hash with field expire times being written: its smallest time and, for type 25,
    /// the listpack being filled.
    hash_ex: Option<(i64, Option<ListpackEx>)>,
}

impl Writer {
    /// A writer of an RDB file; the header is written at once.
    pub fn new(options: WriterOptions) -> Result<Self, WriteError> {
        let mut w = Self::with_mode(options, Mode::File)?;
        w.out
            .extend_from_slice(format!("REDIS{:04}", options.version).as_bytes());
        Ok(w)
    }

    /// A writer of a fragment of a file's keys, written by another thread than the file's own
    /// writer: keys only, no header; its bytes ([`Writer::take_fragment`]) go into the file
    /// through [`Writer::append_fragment`].
    pub fn fragment(options: WriterOptions) -> Result<Self, WriteError> {
        Self::with_mode(options, Mode::File)
    }

    /// A fragment writer's keys so far (see [`Writer::fragment`]); the next ones go into a
    /// buffer of the same capacity.
    pub fn take_fragment(&mut self) -> Vec<u8> {
        self.crc_pos = 0;
        let capacity = self.out.capacity();
        std::mem::replace(&mut self.out, Vec::with_capacity(capacity))
    }

    /// Appends keys a fragment writer wrote, between two keys of this file.
    pub fn append_fragment(&mut self, keys: &[u8]) -> Result<(), WriteError> {
        self.at_file_top("append_fragment")?;
        self.out.extend_from_slice(keys);
        Ok(())
    }

    /// A writer of a DUMP payload: one [`Writer::value`], its elements, then [`Writer::finish`].
    pub fn dump(options: WriterOptions) -> Result<Self, WriteError> {
        Self::with_mode(options, Mode::Dump)
    }

    fn with_mode(options: WriterOptions, mode: Mode) -> Result<Self, WriteError> {
        if !(DEFAULT_VERSION..=MAX_WRITE_VERSION).contains(&options.version) {
            return Err(WriteError::UnsupportedVersion(options.version));
        }
        Ok(Self {
            options,
            mode,
            out: Vec::new(),
            crc: Crc64::default(),
            crc_pos: 0,
            state: State::Top,
            stream: None,
            hash_ex: None,
        })
    }

    /// Takes the bytes written so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.crc.update(&self.out[self.crc_pos..]);
        self.crc_pos = 0;
        std::mem::take(&mut self.out)
    }

    /// Hands the bytes written so far to `sink` and empties the buffer, keeping its capacity
    /// (a long dump fills it again and again: regrowing it each time costs more than the copy);
    /// returns how many bytes went.
    pub fn drain_output(&mut self, sink: &mut impl std::io::Write) -> std::io::Result<usize> {
        self.crc.update(&self.out[self.crc_pos..]);
        self.crc_pos = 0;
        sink.write_all(&self.out)?;
        let len = self.out.len();
        self.out.clear();
        Ok(len)
    }

    /// Bytes waiting in the output buffer.
    pub fn buffered(&self) -> usize {
        self.out.len()
    }

    /// Writes one AUX field.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), WriteError> {
        self.at_file_top("aux")?;
        self.out.push(opcodes::AUX);
        self.string(key);
        self.string(value);
        Ok(())
    }

    /// Writes the AUX fields Redis 7.0 writes, in its order.
    pub fn standard_aux(&mut self, aux: &StandardAux<'_>) -> Result<(), WriteError> {
        self.aux(b"redis-ver", aux.redis_ver.as_bytes())?;
        self.aux(b"redis-bits", b"64")?;
        self.aux(b"ctime", aux.ctime_s.to_string().as_bytes())?;
        self.aux(b"used-mem", aux.used_mem.to_string().as_bytes())?;
        if let Some(r) = aux.replication {
            self.aux(b"repl-stream-db", r.stream_db.to_string().as_bytes())?;
            self.aux(b"repl-id", r.id.as_bytes())?;
            self.aux(b"repl-offset", r.offset.to_string().as_bytes())?;
        }
        self.aux(b"aof-base", if aux.aof_base { b"1" } else { b"0" })
    }

    /// Writes a function library (FUNCTION2), its whole code.
    pub fn function(&mut self, code: &[u8]) -> Result<(), WriteError> {
        self.at_file_top("function")?;
        self.out.push(opcodes::FUNCTION2);
        self.string(code);
        Ok(())
    }

    /// Starts a database: SELECTDB and the RESIZEDB size hints.
    pub fn select_db(&mut self, db: u64, keys: u64, expires: u64) -> Result<(), WriteError> {
        self.at_file_top("select_db")?;
        self.out.push(opcodes::SELECTDB);
        self.length(db);
        self.out.push(opcodes::RESIZEDB);
        self.length(keys);
        self.length(expires);
        Ok(())
    }

    /// Starts a key (file mode): its expire time, type, name and the start of its value.
    pub fn key(
        &mut self,
        key: &[u8],
        expire_at_ms: Option<i64>,
        value: ValueStart<'_>,
    ) -> Result<(), WriteError> {
        let meta = KeyMeta {
            expire_at_ms,
            ..KeyMeta::default()
        };
        self.key_with_meta(key, meta, value)
    }

    /// Starts a key with its expire time and eviction hints (IDLE, FREQ), as
    /// `rdbSaveKeyValuePair` writes them before the type byte.
    pub fn key_with_meta(
        &mut self,
        key: &[u8],
        meta: KeyMeta,
        value: ValueStart<'_>,
    ) -> Result<(), WriteError> {
        self.at_file_top("key")?;
        self.check_stream(&value)?;
        self.check_hash_ex(&value)?;
        if let Some(ms) = meta.expire_at_ms {
            self.out.push(opcodes::EXPIRETIME_MS);
            self.out.extend_from_slice(&ms.to_le_bytes());
        }
        if let Some(idle) = meta.lru_idle_s {
            self.out.push(opcodes::IDLE);
            self.length(idle);
        }
        if let Some(freq) = meta.lfu_freq {
            self.out.extend_from_slice(&[opcodes::FREQ, freq]);
        }
        self.start_value(Some(key), value)
    }

    /// Starts the value of a DUMP payload.
    pub fn value(&mut self, value: ValueStart<'_>) -> Result<(), WriteError> {
        if self.mode != Mode::Dump || !matches!(self.state, State::Top) {
            return Err(self.out_of_order("value"));
        }
        self.check_hash_ex(&value)?;
        self.start_value(None, value)
    }

    fn start_value(&mut self, key: Option<&[u8]>, value: ValueStart<'_>) -> Result<(), WriteError> {
        let (t, state) = match value {
            ValueStart::String(_) => (types::STRING, State::Top),
            ValueStart::List { len } => (types::LIST, plain(Plain::List, len)),
            ValueStart::Set { len } => (types::SET, plain(Plain::Set, len)),
            ValueStart::Hash { len } => (types::HASH, plain(Plain::Hash, len)),
            ValueStart::HashEx {
                len,
                min_expire_ms,
                listpack,
            } => {
                self.hash_ex = Some((min_expire_ms, listpack.then(ListpackEx::default)));
                if listpack {
                    (types::HASH_LISTPACK_EX, plain(Plain::HashListpack, len))
                } else {
                    (types::HASH_METADATA, plain(Plain::HashEx, len))
                }
            }
            ValueStart::Zset { len } => (types::ZSET_2, plain(Plain::Zset, len)),
            ValueStart::Stream { meta, groups } => {
                self.check_stream(&value)?;
                let type15 = self.options.version < 10;
                self.stream = Some(StreamInProgress {
                    meta,
                    type15,
                    node: None,
                    last: None,
                });
                let t = if type15 {
                    types::STREAM_LISTPACKS
                } else {
                    types::STREAM_LISTPACKS_2
                };
                (
                    t,
                    State::StreamEntries {
                        remaining: meta.length,
                        groups,
                    },
                )
            }
        };
        self.out.push(t);
        if let Some(key) = key {
            self.string(key);
        }
        match value {
            ValueStart::String(s) => self.string(s),
            ValueStart::List { len }
            | ValueStart::Set { len }
            | ValueStart::Hash { len }
            | ValueStart::Zset { len } => self.length(len),
            ValueStart::HashEx {
                len,
                min_expire_ms,
                listpack,
            } => {
                self.out.extend_from_slice(&min_expire_ms.to_le_bytes());
                if !listpack {
                    self.length(len);
                }
            }
            ValueStart::Stream { meta, .. } => {
                self.length(meta.length.div_ceil(STREAM_NODE_MAX_ENTRIES))
            }
        }
        self.state = state;
        self.settle()
    }

    /// Refuses, before anything is written, a hash with field expire times that this version
    /// cannot hold.
    fn check_hash_ex(&self, value: &ValueStart<'_>) -> Result<(), WriteError> {
        match value {
            ValueStart::HashEx { .. } if self.options.version < FIELD_TTL_VERSION => {
                Err(WriteError::FieldTtlsNeedNewerVersion(self.options.version))
            }
            _ => Ok(()),
        }
    }

    /// Refuses, before anything is written, a stream that version 9 cannot hold.
    fn check_stream(&self, value: &ValueStart<'_>) -> Result<(), WriteError> {
        match value {
            ValueStart::Stream { meta, .. }
                if self.options.version < 10
                    && !self.options.lossy_streams
                    && !stream_fits_version9(meta) =>
            {
                Err(WriteError::StreamNeedsVersion10)
            }
            _ => Ok(()),
        }
    }

    /// Moves past states that need no more input (empty collections, finished streams).
    fn settle(&mut self) -> Result<(), WriteError> {
        loop {
            self.state = match self.state {
                State::Elements {
                    kind: Plain::HashListpack,
                    remaining: 0,
                } => {
                    let lp = self
                        .hash_ex
                        .take()
                        .and_then(|(_, lp)| lp)
                        .unwrap_or_default();
                    let blob = lp.finish().ok_or(WriteError::HashListpackTooBig)?;
                    self.string(&blob);
                    State::Top
                }
                State::Elements { remaining: 0, .. } => {
                    self.hash_ex = None;
                    State::Top
                }
                State::StreamEntries {
                    remaining: 0,
                    groups,
                } => {
                    self.flush_node()?;
                    self.stream_meta(groups);
                    State::StreamGroups { remaining: groups }
                }
                State::StreamGroups { remaining: 0 } => {
                    self.stream = None;
                    State::Top
                }
                State::StreamPel {
                    groups_left,
                    remaining: 0,
                    consumers,
                } => {
                    self.length(consumers);
                    State::StreamConsumers {
                        groups_left,
                        remaining: consumers,
                    }
                }
                State::StreamConsumers {
                    groups_left,
                    remaining: 0,
                } => State::StreamGroups {
                    remaining: groups_left,
                },
                State::ConsumerPel {
                    groups_left,
                    consumers_left,
                    remaining: 0,
                } => State::StreamConsumers {
                    groups_left,
                    remaining: consumers_left,
                },
                State::Top if self.mode == Mode::Dump => State::DumpDone,
                _ => return Ok(()),
            };
        }
    }

    fn element(&mut self, call: &'static str, kind: Plain) -> Result<(), WriteError> {
        match &mut self.state {
            State::Elements { kind: k, remaining } if *k == kind && *remaining > 0 => {
                *remaining -= 1;
                Ok(())
            }
            _ => Err(self.out_of_order(call)),
        }
    }

    /// Writes the next list item.
    pub fn list_item(&mut self, item: &[u8]) -> Result<(), WriteError> {
        self.element("list_item", Plain::List)?;
        self.string(item);
        self.settle()
    }

    /// Writes the next set member.
    pub fn set_member(&mut self, member: &[u8]) -> Result<(), WriteError> {
        self.element("set_member", Plain::Set)?;
        self.string(member);
        self.settle()
    }

    /// Writes the next hash field and its value.
    pub fn hash_field(&mut self, field: &[u8], value: &[u8]) -> Result<(), WriteError> {
        self.element("hash_field", Plain::Hash)?;
        self.string(field);
        self.string(value);
        self.settle()
    }

    /// Writes the next field of a hash announced with [`ValueStart::HashEx`], with its expire
    /// time (`None`: none).
    pub fn hash_field_ex(
        &mut self,
        field: &[u8],
        value: &[u8],
        expire_at_ms: Option<i64>,
    ) -> Result<(), WriteError> {
        let kind = match self.state {
            State::Elements {
                kind: kind @ (Plain::HashEx | Plain::HashListpack),
                ..
            } => kind,
            _ => return Err(self.out_of_order("hash_field_ex")),
        };
        self.element("hash_field_ex", kind)?;
        let Some((min_expire_ms, lp)) = self.hash_ex.as_mut() else {
            return Err(self.out_of_order("hash_field_ex"));
        };
        match lp {
            Some(lp) => lp.push(field, value, expire_at_ms),
            None => {
                let min_expire_ms = *min_expire_ms;
                let ttl = hash_ex::relative_ttl(expire_at_ms, min_expire_ms).ok_or(
                    WriteError::FieldTtlBelowMinimum {
                        expire_at_ms: expire_at_ms.unwrap_or(0),
                        min_expire_ms,
                    },
                )?;
                self.length(ttl);
                self.string(field);
                self.string(value);
            }
        }
        self.settle()
    }

    /// Writes the next sorted-set member and its score (a binary double).
    pub fn zset_member(&mut self, member: &[u8], score: f64) -> Result<(), WriteError> {
        self.element("zset_member", Plain::Zset)?;
        self.string(member);
        self.out.extend_from_slice(&score.to_le_bytes());
        self.settle()
    }

    /// Adds the next stream entry (ids increasing); a full node is written out.
    pub fn stream_entry(&mut self, entry: &StreamEntry) -> Result<(), WriteError> {
        let State::StreamEntries { remaining, .. } = &mut self.state else {
            return Err(self.out_of_order("stream_entry"));
        };
        *remaining -= 1;
        let remaining = *remaining;
        let Some(s) = self.stream.as_mut() else {
            return Err(self.out_of_order("stream_entry"));
        };
        if let Some(previous) = s.last.filter(|&p| p >= entry.id) {
            return Err(WriteError::StreamIdOrder {
                previous,
                id: entry.id,
            });
        }
        s.last = Some(entry.id);
        let node = s.node.get_or_insert_with(|| new_node(entry, remaining + 1));
        push_entry(node, entry);
        node.room -= 1;
        if node.room == 0 {
            self.flush_node()?;
        }
        self.settle()
    }

    /// Starts a consumer group: its header, then `pel_len` pending entries
    /// ([`Writer::stream_pending`]), then `consumers` consumers ([`Writer::stream_consumer`]).
    pub fn stream_group(
        &mut self,
        group: &StreamGroupHeader,
        pel_len: u64,
        consumers: u64,
    ) -> Result<(), WriteError> {
        let State::StreamGroups { remaining } = self.state else {
            return Err(self.out_of_order("stream_group"));
        };
        let Some(s) = self.stream.as_ref() else {
            return Err(self.out_of_order("stream_group"));
        };
        let type15 = s.type15;
        // "Unknown" (None) is what the loader's estimate replaces anyway.
        if type15
            && !self.options.lossy_streams
            && group.entries_read.is_some()
            && estimate_entries_read(&s.meta, group.last_delivered_id) != group.entries_read
        {
            return Err(WriteError::StreamNeedsVersion10);
        }
        if remaining == 0 {
            return Err(self.out_of_order("stream_group"));
        }
        self.string(&group.name);
        self.length(group.last_delivered_id.ms);
        self.length(group.last_delivered_id.seq);
        if !type15 {
            // -1 ("unknown") is saved as the length u64::MAX, as `rdbSaveLen((uint64_t)-1)`.
            self.length(group.entries_read.unwrap_or(u64::MAX));
        }
        self.length(pel_len);
        self.state = State::StreamPel {
            groups_left: remaining - 1,
            remaining: pel_len,
            consumers,
        };
        self.settle()
    }

    /// Writes the next pending entry of the current group.
    pub fn stream_pending(&mut self, p: &PendingEntry) -> Result<(), WriteError> {
        let State::StreamPel { remaining, .. } = &mut self.state else {
            return Err(self.out_of_order("stream_pending"));
        };
        *remaining -= 1;
        self.raw_id(p.id);
        self.out
            .extend_from_slice(&p.delivery_time_ms.to_le_bytes());
        self.length(p.delivery_count);
        self.settle()
    }

    /// Starts a consumer of the current group with `pending_len` pending ids
    /// ([`Writer::stream_consumer_pending`]).
    pub fn stream_consumer(
        &mut self,
        consumer: &ConsumerHeader,
        pending_len: u64,
    ) -> Result<(), WriteError> {
        let State::StreamConsumers {
            groups_left,
            remaining,
        } = self.state
        else {
            return Err(self.out_of_order("stream_consumer"));
        };
        self.string(&consumer.name);
        self.out
            .extend_from_slice(&consumer.seen_time_ms.to_le_bytes());
        self.length(pending_len);
        self.state = State::ConsumerPel {
            groups_left,
            consumers_left: remaining - 1,
            remaining: pending_len,
        };
        self.settle()
    }

    /// Writes the next pending id of the current consumer.
    pub fn stream_consumer_pending(&mut self, id: StreamId) -> Result<(), WriteError> {
        let State::ConsumerPel { remaining, .. } = &mut self.state else {
            return Err(self.out_of_order("stream_consumer_pending"));
        };
        *remaining -= 1;
        self.raw_id(id);
        self.settle()
    }

    /// Ends the file (EOF and checksum) or the DUMP payload (version and CRC-64), and returns
    /// the bytes not taken yet.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        match (self.mode, &self.state) {
            (Mode::File, State::Top) => {
                self.out.push(opcodes::EOF);
                let crc = self.crc_now();
                let stored = if self.options.checksum { crc } else { 0 };
                self.out.extend_from_slice(&stored.to_le_bytes());
            }
            (Mode::Dump, State::DumpDone) => {
                let version = self.options.version as u16;
                self.out.extend_from_slice(&version.to_le_bytes());
                let crc = self.crc_now();
                self.out.extend_from_slice(&crc.to_le_bytes());
            }
            _ => return Err(self.out_of_order("finish")),
        }
        Ok(std::mem::take(&mut self.out))
    }

    /// Writes a whole key held in memory (small values, tests, tools). A hash with field expire
    /// times (Redis 7.4) is written as 7.4 writes it in version 12 (type 25 when 7.4's default
    /// limits keep it a listpack, 24 otherwise) and refused before anything of the key is
    /// written by older versions: they cannot hold the times, and dropping them silently would
    /// make the fields live forever.
    pub fn write_key_value(
        &mut self,
        key: &[u8],
        key_meta: KeyMeta,
        value: &Value,
    ) -> Result<(), WriteError> {
        self.check_field_ttls(value)?;
        let meta = stream_meta_of(value);
        self.key_with_meta(key, key_meta, start_of(value, meta))?;
        self.write_elements(value)
    }

    /// Writes the whole value of a DUMP payload (refusing hash field expire times, as
    /// [`Writer::write_key_value`] does).
    pub fn write_dump_value(&mut self, value: &Value) -> Result<(), WriteError> {
        self.check_field_ttls(value)?;
        let meta = stream_meta_of(value);
        self.value(start_of(value, meta))?;
        self.write_elements(value)
    }

    fn check_field_ttls(&self, value: &Value) -> Result<(), WriteError> {
        match value {
            Value::Hash(fields)
                if has_field_ttls(fields) && self.options.version < FIELD_TTL_VERSION =>
            {
                Err(WriteError::FieldTtlsNeedNewerVersion(self.options.version))
            }
            _ => Ok(()),
        }
    }

    fn write_elements(&mut self, value: &Value) -> Result<(), WriteError> {
        match value {
            Value::String(_) => {}
            Value::List(items) => {
                for i in items {
                    self.list_item(i)?;
                }
            }
            Value::Set(members) => {
                for m in members {
                    self.set_member(m)?;
                }
            }
            Value::Hash(fields) if has_field_ttls(fields) => {
                for f in fields {
                    self.hash_field_ex(&f.field, &f.value, f.expire_at_ms)?;
                }
            }
            Value::Hash(fields) => {
                for f in fields {
                    self.hash_field(&f.field, &f.value)?;
                }
            }
            Value::Zset(members) => {
                for (m, score) in members {
                    self.zset_member(m, *score)?;
                }
            }
            Value::Stream(s) => self.write_stream_body(s)?,
        }
        Ok(())
    }

    fn write_stream_body(&mut self, s: &Stream) -> Result<(), WriteError> {
        for e in &s.entries {
            self.stream_entry(e)?;
        }
        for g in &s.groups {
            self.stream_group(&g.header, g.pel.len() as u64, g.consumers.len() as u64)?;
            for p in &g.pel {
                self.stream_pending(p)?;
            }
            for c in &g.consumers {
                self.stream_consumer(&c.header, c.pending.len() as u64)?;
                for id in &c.pending {
                    self.stream_consumer_pending(*id)?;
                }
            }
        }
        Ok(())
    }

    fn crc_now(&mut self) -> u64 {
        self.crc.update(&self.out[self.crc_pos..]);
        self.crc_pos = self.out.len();
        self.crc.value()
    }

    fn at_file_top(&self, call: &'static str) -> Result<(), WriteError> {
        if self.mode == Mode::File && matches!(self.state, State::Top) {
            Ok(())
        } else {
            Err(self.out_of_order(call))
        }
    }

    fn out_of_order(&self, call: &'static str) -> WriteError {
        let expected = if self.mode == Mode::Dump && matches!(self.state, State::Top) {
            "the DUMP value"
        } else {
            self.state.expects()
        };
        WriteError::OutOfOrder { call, expected }
    }

    /// Writes the node being filled, if any: master id (16 bytes) and listpack, as strings.
    fn flush_node(&mut self) -> Result<(), WriteError> {
        let Some(node) = self.stream.as_mut().and_then(|s| s.node.take()) else {
            return Ok(());
        };
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&node.master.ms.to_be_bytes());
        key[8..].copy_from_slice(&node.master.seq.to_be_bytes());
        let lp = node.lp.finish().ok_or(WriteError::NodeTooBig)?;
        self.string(&key);
        self.string(&lp);
        Ok(())
    }

    fn stream_meta(&mut self, groups: u64) {
        let Some(s) = self.stream.as_ref() else {
            return;
        };
        let (meta, type15) = (s.meta, s.type15);
        self.length(meta.length);
        self.length(meta.last_id.ms);
        self.length(meta.last_id.seq);
        if !type15 {
            let first = meta.first_id.unwrap_or_default();
            let max_deleted = meta.max_deleted_id.unwrap_or_default();
            self.length(first.ms);
            self.length(first.seq);
            self.length(max_deleted.ms);
            self.length(max_deleted.seq);
            self.length(meta.entries_added.unwrap_or(meta.length));
        }
        self.length(groups);
    }

    fn raw_id(&mut self, id: StreamId) {
        self.out.extend_from_slice(&id.ms.to_be_bytes());
        self.out.extend_from_slice(&id.seq.to_be_bytes());
    }

    /// `rdbSaveLen`.
    fn length(&mut self, len: u64) {
        encode_length(&mut self.out, len);
    }

    /// `rdbSaveRawString`: integer encoding, LZF, or raw bytes.
    fn string(&mut self, s: &[u8]) {
        encode_string(&mut self.out, s, self.options.compression);
    }
}

/// The metadata a whole stream is written with: its own, with the length it really has.
fn stream_meta_of(value: &Value) -> StreamMeta {
    let Value::Stream(s) = value else {
        return StreamMeta {
            length: 0,
            last_id: StreamId::default(),
            first_id: None,
            max_deleted_id: None,
            entries_added: None,
        };
    };
    let length = s.entries.len() as u64;
    match s.meta {
        Some(meta) => StreamMeta { length, ..meta },
        None => StreamMeta {
            length,
            last_id: s.entries.last().map(|e| e.id).unwrap_or_default(),
            first_id: s.entries.first().map(|e| e.id),
            max_deleted_id: None,
            entries_added: None,
        },
    }
}

fn start_of(value: &Value, meta: StreamMeta) -> ValueStart<'_> {
    match value {
        Value::String(s) => ValueStart::String(s),
        Value::List(v) => ValueStart::List {
            len: v.len() as u64,
        },
        Value::Set(v) => ValueStart::Set {
            len: v.len() as u64,
        },
        Value::Hash(v) if has_field_ttls(v) => ValueStart::HashEx {
            len: v.len() as u64,
            min_expire_ms: hash_ex::min_expire(v),
            listpack: hash_ex::fits_listpack(v),
        },
        Value::Hash(v) => ValueStart::Hash {
            len: v.len() as u64,
        },
        Value::Zset(v) => ValueStart::Zset {
            len: v.len() as u64,
        },
        Value::Stream(s) => ValueStart::Stream {
            meta,
            groups: s.groups.len() as u64,
        },
    }
}

/// Whether any field of a hash has an expire time.
pub fn has_field_ttls(fields: &[HashField]) -> bool {
    fields.iter().any(|f| f.expire_at_ms.is_some())
}

fn plain(kind: Plain, remaining: u64) -> State {
    State::Elements { kind, remaining }
}

/// Appends an RDB length in its shortest form.
pub fn encode_length(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(l) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Appends an RDB string as Redis's `rdbSaveRawString` would.
pub fn encode_string(out: &mut Vec<u8>, s: &[u8], compression: bool) {
    if s.len() <= 11 {
        if let Some(v) = string2ll(s) {
            if let Ok(b) = i8::try_from(v) {
                out.extend_from_slice(&[ENC_INT8, b as u8]);
                return;
            }
            if let Ok(h) = i16::try_from(v) {
                out.push(ENC_INT16);
                out.extend_from_slice(&h.to_le_bytes());
                return;
            }
            if let Ok(w) = i32::try_from(v) {
                out.push(ENC_INT32);
                out.extend_from_slice(&w.to_le_bytes());
                return;
            }
        }
    }
    if compression && s.len() > 20 {
        let packed = lzf::compress(s);
        // Redis gives lzf_compress an output of len - 4 bytes and stores raw when it fails.
        if packed.len() <= s.len() - 4 {
            out.push(ENC_LZF);
            encode_length(out, packed.len() as u64);
            encode_length(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    encode_length(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A new node for `entry`, sized for at most [`STREAM_NODE_MAX_ENTRIES`] of the `left` entries.
fn new_node(entry: &StreamEntry, left: u64) -> Node {
    let room = left.min(STREAM_NODE_MAX_ENTRIES);
    let mut lp = listpack::Builder::default();
    // Master entry: live count, deleted count, master field names, terminating 0.
    lp.push_int(room as i64);
    lp.push_int(0);
    lp.push_int(entry.fields.len() as i64);
    for (f, _) in &entry.fields {
        lp.push_bytes(f);
    }
    lp.push_int(0);
    Node {
        master: entry.id,
        master_fields: entry.fields.iter().map(|(f, _)| f.clone()).collect(),
        lp,
        room,
    }
}

/// Appends an entry as `streamAppendItem` does: flags, id deltas from the master id, the values
/// alone when the field names are the master's, else the count and pairs, then the lp-count.
fn push_entry(node: &mut Node, entry: &StreamEntry) {
    let same = entry.fields.len() == node.master_fields.len()
        && entry
            .fields
            .iter()
            .zip(&node.master_fields)
            .all(|((f, _), m)| f == m);
    let n = entry.fields.len() as i64;
    let lp = &mut node.lp;
    lp.push_int(if same { STREAM_FLAG_SAMEFIELDS } else { 0 });
    lp.push_int(entry.id.ms.wrapping_sub(node.master.ms) as i64);
    lp.push_int(entry.id.seq.wrapping_sub(node.master.seq) as i64);
    if same {
        for (_, v) in &entry.fields {
            lp.push_bytes(v);
        }
        lp.push_int(n + 3);
    } else {
        lp.push_int(n);
        for (f, v) in &entry.fields {
            lp.push_bytes(f);
            lp.push_bytes(v);
        }
        lp.push_int(2 * n + 4);
    }
}

/// Whether a Redis 7.0 loader rebuilds this stream's metadata exactly from a type-15 stream:
/// it takes entries-added as the length, assumes no deleted entry, and takes the first entry's
/// ID as the first ID, which for an empty stream is the greatest ID: an empty stream whose
/// first ID is known to be something else (0-0 in a stream that Redis 7.0 emptied) needs
/// version 10. Consumer groups are checked as they come ([`WriteError::StreamNeedsVersion10`]).
pub fn stream_fits_version9(meta: &StreamMeta) -> bool {
    let greatest = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    (meta.length > 0 || meta.first_id.is_none_or(|id| id == greatest))
        && meta
            .max_deleted_id
            .is_none_or(|id| id == StreamId::default())
        && meta.entries_added.is_none_or(|n| n == meta.length)
}

/// The entries-read counter a 7.0 loader gives a group of a type-15 stream
/// (`streamEstimateDistanceFromFirstEverEntry` for a stream without tombstones).
pub fn estimate_entries_read(meta: &StreamMeta, id: StreamId) -> Option<u64> {
    let added = meta.length;
    if added == 0 {
        return Some(0);
    }
    if id == meta.last_id {
        return Some(added);
    }
    if id > meta.last_id {
        return None;
    }
    match meta.first_id {
        Some(first) if id < first => Some(0),
        Some(first) if id == first => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{read_all, Options, Value};

    fn file(build: impl FnOnce(&mut Writer) -> Result<(), WriteError>) -> Vec<u8> {
        let mut w = Writer::new(WriterOptions::default()).unwrap();
        build(&mut w).unwrap();
        let mut out = w.take_output();
        out.extend(w.finish().unwrap());
        out
    }

    #[test]
    fn strings_take_redis_encodings() {
        let enc = |s: &[u8]| {
            let mut v = Vec::new();
            encode_string(&mut v, s, true);
            v
        };
        assert_eq!(enc(b"12"), [0xc0, 12]);
        assert_eq!(enc(b"-129"), [0xc1, 0x7f, 0xff]);
        assert_eq!(enc(b"100000"), [0xc2, 0xa0, 0x86, 0x01, 0x00]);
        assert_eq!(enc(b"012"), [3, b'0', b'1', b'2']);
        assert_eq!(enc(b"4294967296")[0], 10);
        assert_eq!(enc(&[b'a'; 30])[0], 0xc3);
        assert_eq!(enc(b"abcdefghijklmnopqrstuvwxyz")[0], 26);
        let mut v = Vec::new();
        encode_length(&mut v, 70_000);
        assert_eq!(v, [0x80, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn counts_and_order_are_enforced() {
        let mut w = Writer::new(WriterOptions::default()).unwrap();
        w.key(b"l", None, ValueStart::List { len: 1 }).unwrap();
        assert!(w.set_member(b"x").is_err());
        assert!(w.key(b"k", None, ValueStart::String(b"v")).is_err());
        w.list_item(b"x").unwrap();
        assert!(w.list_item(b"y").is_err());
        for version in [8, 13] {
            assert!(Writer::new(WriterOptions {
                version,
                ..WriterOptions::default()
            })
            .is_err());
        }
    }

    fn hash_with_ttls(n: usize) -> Value {
        Value::Hash(
            (0..n)
                .map(|i| HashField {
                    field: format!("f{i}").into_bytes(),
                    value: format!("v{i}").into_bytes(),
                    expire_at_ms: (i % 3 != 0).then_some(1_700_000_000_000 + i as i64),
                })
                .collect(),
        )
    }

    #[test]
    fn hashes_with_field_ttls_need_version_12() {
        for (n, rdb_type) in [(5, types::HASH_LISTPACK_EX), (600, types::HASH_METADATA)] {
            let value = hash_with_ttls(n);
            let mut old = Writer::new(WriterOptions::default()).unwrap();
            assert_eq!(
                old.write_key_value(b"h", KeyMeta::default(), &value),
                Err(WriteError::FieldTtlsNeedNewerVersion(9))
            );
            // Nothing of the key was written: the file can still be finished.
            assert_eq!(old.take_output(), b"REDIS0009");
            let options = WriterOptions {
                version: 12,
                ..WriterOptions::default()
            };
            let mut w = Writer::new(options).unwrap();
            w.write_key_value(b"h", KeyMeta::default(), &value).unwrap();
            let mut file = w.take_output();
            file.extend(w.finish().unwrap());
            let dump = read_all(&file, Options::default()).unwrap();
            assert_eq!(dump.version, 12);
            assert_eq!(dump.records[0].header.rdb_type, rdb_type);
            assert_eq!(dump.records[0].value, value);
            // As a DUMP payload too.
            let payload = super::super::dump::encode(&value, options).unwrap();
            let decoded = super::super::dump::decode(&payload, 12).unwrap();
            assert_eq!((decoded.version, decoded.value), (12, value));
        }
        // A field below the announced minimum is refused.
        let options = WriterOptions {
            version: 12,
            ..WriterOptions::default()
        };
        let mut w = Writer::new(options).unwrap();
        let start = ValueStart::HashEx {
            len: 1,
            min_expire_ms: 100,
            listpack: false,
        };
        w.key(b"h", None, start).unwrap();
        assert!(matches!(
            w.hash_field_ex(b"f", b"v", Some(99)),
            Err(WriteError::FieldTtlBelowMinimum { .. })
        ));
    }

    #[test]
    fn every_type_reads_back() {
        let meta = StreamMeta {
            length: 250,
            last_id: StreamId { ms: 249, seq: 0 },
            first_id: Some(StreamId { ms: 0, seq: 0 }),
            max_deleted_id: None,
            entries_added: Some(250),
        };
        let bytes = file(|w| {
            w.standard_aux(&StandardAux {
                redis_ver: "7.0.15",
                ctime_s: 1,
                used_mem: 2,
                aof_base: false,
                replication: None,
            })?;
            w.select_db(3, 5, 1)?;
            w.key(b"s", Some(1234), ValueStart::String(&[b'z'; 100]))?;
            w.key(b"l", None, ValueStart::List { len: 2 })?;
            w.list_item(b"1")?;
            w.list_item(b"two")?;
            w.key(b"z", None, ValueStart::Zset { len: 1 })?;
            w.zset_member(b"m", 1.5)?;
            w.key(b"h", None, ValueStart::Hash { len: 1 })?;
            w.hash_field(b"f", b"v")?;
            w.key(b"x", None, ValueStart::Stream { meta, groups: 0 })?;
            for i in 0..250u64 {
                let mut fields = vec![(b"a".to_vec(), i.to_string().into_bytes())];
                if i % 7 == 0 {
                    fields.push((b"b".to_vec(), b"q".to_vec()));
                }
                w.stream_entry(&StreamEntry {
                    id: StreamId { ms: i, seq: 0 },
                    fields,
                })?;
            }
            Ok(())
        });
        let dump = read_all(&bytes, Options::default()).unwrap();
        assert_eq!(dump.version, 9);
        assert_eq!(dump.records.len(), 5);
        assert_eq!(dump.records[0].header.expire_at_ms, Some(1234));
        assert_eq!(dump.records[0].value, Value::String(vec![b'z'; 100]));
        assert_eq!(
            dump.records[1].value,
            Value::List(vec![b"1".to_vec(), b"two".to_vec()])
        );
        let Value::Stream(s) = &dump.records[4].value else {
            panic!("not a stream");
        };
        assert_eq!(s.entries.len(), 250);
        assert_eq!(s.entries[14].fields.len(), 2);
        assert_eq!(s.entries[249].fields[0].1, b"249");
    }

    #[test]
    fn version9_refuses_a_group_counter_it_cannot_keep_unless_lossy() {
        let meta = StreamMeta {
            length: 1,
            last_id: StreamId { ms: 5, seq: 0 },
            first_id: Some(StreamId { ms: 5, seq: 0 }),
            max_deleted_id: None,
            entries_added: Some(1),
        };
        let entry = StreamEntry {
            id: StreamId { ms: 5, seq: 0 },
            fields: vec![(b"f".to_vec(), b"v".to_vec())],
        };
        let group = |entries_read| StreamGroupHeader {
            name: b"g".to_vec(),
            last_delivered_id: StreamId { ms: 5, seq: 0 },
            entries_read,
        };
        for (lossy, entries_read, ok) in [
            (false, Some(1), true),
            (false, None, true),
            (false, Some(7), false),
            (true, Some(7), true),
        ] {
            let mut w = Writer::new(WriterOptions {
                lossy_streams: lossy,
                ..WriterOptions::default()
            })
            .unwrap();
            w.key(b"x", None, ValueStart::Stream { meta, groups: 1 })
                .unwrap();
            w.stream_entry(&entry).unwrap();
            let r = w.stream_group(&group(entries_read), 0, 0);
            assert_eq!(r.is_ok(), ok, "lossy {lossy} entries_read {entries_read:?}");
            if ok {
                let bytes = w.finish().unwrap();
                let dump = read_all(&bytes, Options::default()).unwrap();
                assert_eq!(dump.records[0].header.rdb_type, types::STREAM_LISTPACKS);
            }
        }
    }

    #[test]
    fn version9_refuses_to_lose_stream_metadata() {
        let meta = StreamMeta {
            length: 1,
            last_id: StreamId { ms: 5, seq: 0 },
            first_id: Some(StreamId { ms: 5, seq: 0 }),
            max_deleted_id: Some(StreamId { ms: 3, seq: 0 }),
            entries_added: Some(2),
        };
        let mut w = Writer::new(WriterOptions::default()).unwrap();
        assert_eq!(
            w.key(b"x", None, ValueStart::Stream { meta, groups: 0 }),
            Err(WriteError::StreamNeedsVersion10)
        );
    }
}

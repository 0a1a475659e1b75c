//! The streaming RDB reader: a state machine over items.
//!
//! An item is the smallest piece the reader parses in one go: the header, one opcode with its
//! arguments, a key's type and name, one element of a plain collection, one blob, one quicklist
//! or stream node, one pending entry. The reader keeps the unconsumed input in one buffer; when
//! an item is incomplete it remembers how many bytes the item needs and parses it again from its
//! start once they have arrived, so an item is never half-applied. Consumed bytes go through the
//! CRC-64 and are dropped from the buffer, which therefore holds at most one item plus the input
//! fed since.

use super::blob::{err as blob_err, BlobError, Element, Problem};
use super::crc64::Crc64;
use super::cursor::{Cursor, Parse, Stop};
use super::event::*;
use super::MAX_VERSION;
use super::{
    hash_ex, intset, module_type_name, opcodes, stream, types, ziplist, zipmap, ErrorKind, RdbError,
};
use crate::listpack;

/// Reader settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Skip module AUX data (yielding [`Event::ModuleAuxSkipped`]) instead of refusing it.
    /// Redis refuses AUX data of a module it has not loaded; tools may prefer to go on.
    pub skip_module_aux: bool,
    /// Skip the values of module keys written by Redis 4.0 GA and later (type 7, whose values
    /// are self-describing), yielding [`Event::ModuleKeySkipped`], as `redis-check-rdb` does.
    /// Keys of the pre-GA module type 6 cannot be skipped without the module and stay refused.
    pub skip_module_keys: bool,
    /// Read function libraries saved with the FUNCTION opcode of the 7.0 release candidates
    /// (246: name, engine, optional description, code) as Redis 7.0 does, yielding
    /// [`Event::Function`] with the code 7.0 rebuilds (`#!ENGINE name=NAME` and a newline before
    /// the stored code). Redis 7.2 and later refuse the opcode, and so does the default.
    pub pre_ga_functions: bool,
}

/// What [`Reader::poll`] has to say.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// The next event.
    Event(Event),
    /// More input is needed (feed it, or call [`Reader::end_input`] if there is none).
    NeedMore,
    /// The file is complete; input after it (an AOF tail, say) is left unread.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Opcode,
    Value {
        t: u8,
    },
    Elements {
        t: u8,
        remaining: u64,
        min_expire: u64,
    },
    Quicklist {
        v2: bool,
        remaining: u64,
    },
    StreamNodes {
        t: u8,
        remaining: u64,
    },
    StreamMeta {
        t: u8,
    },
    StreamGroups {
        t: u8,
        remaining: u64,
    },
    StreamPel {
        t: u8,
        groups_left: u64,
        remaining: u64,
    },
    StreamConsumers {
        t: u8,
        groups_left: u64,
        remaining: u64,
    },
    ConsumerPel {
        t: u8,
        groups_left: u64,
        consumers_left: u64,
        remaining: u64,
    },
    EndValue,
    Checksum,
    Done,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::Header => "the header",
            State::Opcode => "an opcode",
            State::Value { .. } | State::Elements { .. } | State::EndValue => "a value",
            State::Quicklist { .. } => "a quicklist node",
            State::StreamNodes { .. } => "a stream node",
            State::StreamMeta { .. } => "stream metadata",
            State::StreamGroups { .. } => "a stream consumer group",
            State::StreamPel { .. } | State::ConsumerPel { .. } => "a stream pending entry",
            State::StreamConsumers { .. } => "a stream consumer",
            State::Checksum => "the checksum",
            State::Done => "nothing",
        }
    }
}

/// What a successful item parse changes; applied only once the item is complete.
#[derive(Debug, Clone, Copy)]
struct Meta {
    state: State,
    version: u32,
    db: u64,
    expire_at_ms: Option<i64>,
    lru_idle_s: Option<u64>,
    lfu_freq: Option<u8>,
}

/// The streaming RDB reader. Feed bytes with [`Reader::feed`], take events with
/// [`Reader::poll`], and call [`Reader::end_input`] when the input is over.
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    pos: usize,
    offset: u64,
    need: usize,
    crc: Crc64,
    /// `buf[..crc_done]` is in `crc` already: the checksum runs over long spans (when input is
    /// fed, and before the checksum item), not item by item, where per-call costs dominate.
    crc_done: usize,
    meta: Meta,
    options: Options,
    input_ended: bool,
    failed: Option<RdbError>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new(Options::default())
    }
}

impl Reader {
    pub fn new(options: Options) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            offset: 0,
            need: 0,
            crc: Crc64::default(),
            crc_done: 0,
            meta: Meta {
                state: State::Header,
                version: 0,
                db: 0,
                expire_at_ms: None,
                lru_idle_s: None,
                lfu_freq: None,
            },
            options,
            input_ended: false,
            failed: None,
        }
    }

    /// Adds input.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.catch_up_crc();
            self.buf.drain(..self.pos);
            self.pos = 0;
            self.crc_done = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Adds the bytes consumed since the last call to the running checksum.
    fn catch_up_crc(&mut self) {
        self.crc.update(&self.buf[self.crc_done..self.pos]);
        self.crc_done = self.pos;
    }

    /// Declares that no more input will come: an unfinished file is then an error.
    pub fn end_input(&mut self) {
        self.input_ended = true;
    }

    /// Bytes of the file consumed so far (after [`Poll::Done`]: the file's size).
    pub fn consumed(&self) -> u64 {
        self.offset
    }

    /// The RDB version from the header (0 before it is read).
    pub fn version(&self) -> u32 {
        self.meta.version
    }

    /// Bytes held in the input buffer right now (one item at most, plus input not parsed yet).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Input fed but not part of the file (meaningful after [`Poll::Done`]).
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// The next event, [`Poll::NeedMore`], or [`Poll::Done`]. After an error every call returns
    /// that same error.
    pub fn poll(&mut self) -> Result<Poll, RdbError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.poll_inner() {
            Ok(p) => Ok(p),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn poll_inner(&mut self) -> Result<Poll, RdbError> {
        loop {
            if self.meta.state == State::Done {
                return Ok(Poll::Done);
            }
            let available = self.buf.len() - self.pos;
            if available < self.need {
                return self.starved();
            }
            if self.meta.state == State::Checksum {
                self.catch_up_crc();
            }
            let mut meta = self.meta;
            let mut c = Cursor::new(&self.buf[self.pos..], self.offset);
            let parsed = if meta.state == State::Checksum {
                parse_checksum(&mut meta, &mut c, self.crc.value())
            } else {
                parse_item(&mut meta, &mut c, &self.options)
            };
            match parsed {
                Ok(event) => {
                    let consumed = c.pos;
                    self.pos += consumed;
                    if self.meta.state == State::Checksum {
                        // The checksum's own bytes are not part of it.
                        self.crc_done = self.pos;
                    }
                    self.offset += consumed as u64;
                    self.need = 0;
                    self.meta = meta;
                    if let Some(event) = event {
                        return Ok(Poll::Event(event));
                    }
                }
                Err(Stop::Incomplete(n)) => {
                    self.need = n;
                    return self.starved();
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
    }

    fn starved(&self) -> Result<Poll, RdbError> {
        if self.input_ended {
            Err(RdbError {
                offset: self.offset + (self.buf.len() - self.pos) as u64,
                kind: ErrorKind::Truncated(self.meta.state.describe()),
            })
        } else {
            Ok(Poll::NeedMore)
        }
    }
}

/// Reads a whole file held in memory and collects it.
pub fn read_all(data: &[u8], options: Options) -> DumpResult {
    let mut reader = Reader::new(options);
    reader.feed(data);
    reader.end_input();
    let mut collector = Collector::default();
    loop {
        match reader.poll()? {
            Poll::Event(e) => collector.apply(e),
            Poll::Done => return Ok(collector.finish()),
            // Once the input has ended, starving is an error, never NeedMore; this arm only
            // keeps the match total without a panic.
            Poll::NeedMore => {
                return Err(RdbError {
                    offset: reader.consumed(),
                    kind: ErrorKind::Truncated("the file"),
                })
            }
        }
    }
}

fn parse_checksum(meta: &mut Meta, c: &mut Cursor<'_>, computed: u64) -> Parse<Option<Event>> {
    let at = c.pos;
    let stored = c.u64_le()?;
    meta.state = State::Done;
    let checksum = if stored == 0 {
        Checksum::Disabled
    } else if stored == computed {
        Checksum::Verified(stored)
    } else {
        return Err(c.error(at, ErrorKind::Checksum { stored, computed }));
    };
    Ok(Some(Event::Eof { checksum }))
}

fn parse_item(meta: &mut Meta, c: &mut Cursor<'_>, options: &Options) -> Parse<Option<Event>> {
    match meta.state {
        State::Header => parse_header(meta, c),
        State::Opcode => parse_opcode(meta, c, options),
        State::Value { t } => parse_value_start(meta, c, t),
        State::Elements {
            t,
            remaining,
            min_expire,
        } => {
            if remaining == 0 {
                meta.state = State::EndValue;
                return Ok(None);
            }
            meta.state = State::Elements {
                t,
                remaining: remaining - 1,
                min_expire,
            };
            parse_element(c, t, min_expire).map(Some)
        }
        State::Quicklist { v2, remaining } => {
            if remaining == 0 {
                meta.state = State::EndValue;
                return Ok(None);
            }
            meta.state = State::Quicklist {
                v2,
                remaining: remaining - 1,
            };
            parse_quicklist_node(c, v2).map(Some)
        }
        State::StreamNodes { t, remaining } => {
            if remaining == 0 {
                meta.state = State::StreamMeta { t };
                return Ok(None);
            }
            meta.state = State::StreamNodes {
                t,
                remaining: remaining - 1,
            };
            parse_stream_node(c).map(Some)
        }
        State::StreamMeta { t } => parse_stream_meta(meta, c, t),
        State::StreamGroups { t, remaining } => {
            if remaining == 0 {
                meta.state = State::EndValue;
                return Ok(None);
            }
            let name = c.string()?;
            let last_delivered_id = StreamId {
                ms: c.length("a group id")?,
                seq: c.length("a group id")?,
            };
            let entries_read = if t >= types::STREAM_LISTPACKS_2 {
                Some(c.length("a group's entries-read counter")?).filter(|&n| n != u64::MAX)
            } else {
                None
            };
            let pel = c.length("a pending entries count")?;
            meta.state = State::StreamPel {
                t,
                groups_left: remaining - 1,
                remaining: pel,
            };
            Ok(Some(Event::Value(ValuePart::StreamGroup(
                StreamGroupHeader {
                    name,
                    last_delivered_id,
                    entries_read,
                },
            ))))
        }
        State::StreamPel {
            t,
            groups_left,
            remaining,
        } => {
            if remaining == 0 {
                let consumers = c.length("a consumer count")?;
                meta.state = State::StreamConsumers {
                    t,
                    groups_left,
                    remaining: consumers,
                };
                return Ok(None);
            }
            let id = raw_id(c)?;
            let delivery_time_ms = c.u64_le()? as i64;
            let delivery_count = c.length("a delivery count")?;
            meta.state = State::StreamPel {
                t,
                groups_left,
                remaining: remaining - 1,
            };
            Ok(Some(Event::Value(ValuePart::StreamPending(PendingEntry {
                id,
                delivery_time_ms,
                delivery_count,
            }))))
        }
        State::StreamConsumers {
            t,
            groups_left,
            remaining,
        } => {
            if remaining == 0 {
                meta.state = State::StreamGroups {
                    t,
                    remaining: groups_left,
                };
                return Ok(None);
            }
            let name = c.string()?;
            let seen_time_ms = c.u64_le()? as i64;
            let active_time_ms = if t >= types::STREAM_LISTPACKS_3 {
                Some(c.u64_le()? as i64)
            } else {
                None
            };
            let pel = c.length("a consumer's pending count")?;
            meta.state = State::ConsumerPel {
                t,
                groups_left,
                consumers_left: remaining - 1,
                remaining: pel,
            };
            Ok(Some(Event::Value(ValuePart::StreamConsumer(
                ConsumerHeader {
                    name,
                    seen_time_ms,
                    active_time_ms,
                },
            ))))
        }
        State::ConsumerPel {
            t,
            groups_left,
            consumers_left,
            remaining,
        } => {
            if remaining == 0 {
                meta.state = State::StreamConsumers {
                    t,
                    groups_left,
                    remaining: consumers_left,
                };
                return Ok(None);
            }
            let id = raw_id(c)?;
            meta.state = State::ConsumerPel {
                t,
                groups_left,
                consumers_left,
                remaining: remaining - 1,
            };
            Ok(Some(Event::Value(ValuePart::StreamConsumerPending(id))))
        }
        State::EndValue => {
            meta.state = State::Opcode;
            Ok(Some(Event::ValueEnd))
        }
        State::Checksum | State::Done => Ok(None),
    }
}

fn parse_header(meta: &mut Meta, c: &mut Cursor<'_>) -> Parse<Option<Event>> {
    let head = c.take(9)?;
    if &head[..5] != b"REDIS" {
        let found = String::from_utf8_lossy(&head[..5]).into_owned();
        return Err(c.error(0, ErrorKind::BadMagic(found)));
    }
    let digits = &head[5..];
    let version = if digits.iter().all(u8::is_ascii_digit) {
        digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'))
    } else {
        0
    };
    if !(1..=MAX_VERSION).contains(&version) {
        let found = String::from_utf8_lossy(digits).into_owned();
        return Err(c.error(5, ErrorKind::BadVersion(found)));
    }
    meta.version = version;
    meta.state = State::Opcode;
    Ok(Some(Event::Header { version }))
}

fn parse_opcode(meta: &mut Meta, c: &mut Cursor<'_>, options: &Options) -> Parse<Option<Event>> {
    let at = c.pos;
    let op = c.u8()?;
    let event = match op {
        opcodes::EXPIRETIME => {
            meta.expire_at_ms = Some(i64::from(c.u32_le()?) * 1000);
            None
        }
        opcodes::EXPIRETIME_MS => {
            meta.expire_at_ms = Some(c.u64_le()? as i64);
            None
        }
        opcodes::IDLE => {
            meta.lru_idle_s = Some(c.length("an LRU idle time")?);
            None
        }
        opcodes::FREQ => {
            meta.lfu_freq = Some(c.u8()?);
            None
        }
        opcodes::SELECTDB => {
            meta.db = c.length("a database number")?;
            Some(Event::SelectDb { db: meta.db })
        }
        opcodes::RESIZEDB => {
            let db_size = c.length("a database size")?;
            let expires_size = c.length("an expires size")?;
            Some(Event::ResizeDb {
                db_size,
                expires_size,
            })
        }
        opcodes::SLOT_INFO => {
            let slot = c.length("a slot number")?;
            let slot_size = c.length("a slot size")?;
            let expires_slot_size = c.length("a slot expires size")?;
            Some(Event::SlotInfo {
                slot,
                slot_size,
                expires_slot_size,
            })
        }
        opcodes::AUX => {
            let key = c.string()?;
            let value = c.string()?;
            Some(Event::Aux { key, value })
        }
        opcodes::FUNCTION2 => Some(Event::Function { code: c.string()? }),
        opcodes::FUNCTION_PRE_GA if options.pre_ga_functions => Some(pre_ga_function(c)?),
        opcodes::FUNCTION_PRE_GA => return Err(c.error(at, ErrorKind::OldFunction)),
        opcodes::MODULE_AUX => {
            let id = c.length("a module id")?;
            let module = module_type_name(id);
            if !options.skip_module_aux {
                return Err(c.error(at, ErrorKind::ModuleAux(module)));
            }
            skip_module_aux(c)?;
            Some(Event::ModuleAuxSkipped { module })
        }
        opcodes::EOF => {
            if meta.version >= 5 {
                meta.state = State::Checksum;
                None
            } else {
                meta.state = State::Done;
                Some(Event::Eof {
                    checksum: Checksum::Absent,
                })
            }
        }
        types::MODULE_PRE_GA | types::MODULE_2 => {
            let key = c.string()?;
            let id = c.length("a module type id")?;
            let module = module_type_name(id);
            if op != types::MODULE_2 || !options.skip_module_keys {
                return Err(c.error(at, ErrorKind::ModuleKey(module)));
            }
            skip_module_values(c)?;
            meta.lru_idle_s = None;
            meta.lfu_freq = None;
            Some(Event::ModuleKeySkipped {
                db: meta.db,
                key,
                module,
                expire_at_ms: meta.expire_at_ms.take(),
            })
        }
        t => {
            let kind = kind_of(t).ok_or_else(|| c.error(at, ErrorKind::UnknownType(t)))?;
            let key = c.string()?;
            let header = KeyHeader {
                db: meta.db,
                key,
                kind,
                rdb_type: t,
                expire_at_ms: meta.expire_at_ms.take(),
                lru_idle_s: meta.lru_idle_s.take(),
                lfu_freq: meta.lfu_freq.take(),
            };
            meta.state = State::Value { t };
            Some(Event::Key(header))
        }
    };
    Ok(event)
}

/// A library in the 7.0 release-candidate format, as the code Redis 7.0 rebuilds from it.
fn pre_ga_function(c: &mut Cursor<'_>) -> Parse<Event> {
    pre_ga_library(c)
        .map(|code| Event::Function { code })
        .map_err(|(_, stop)| stop)
}

/// What Redis 7.0 fails to read in a release-candidate library, in its words (FUNCTION
/// RESTORE's errors).
pub(crate) const PRE_GA_NAME: &str = "Failed loading library name";
pub(crate) const PRE_GA_ENGINE: &str = "Failed loading engine name";
pub(crate) const PRE_GA_DESCRIPTION: &str = "Failed loading library description";
pub(crate) const PRE_GA_BLOB: &str = "Failed loading library blob";

/// The code Redis 7.0 rebuilds from a release-candidate library (name, engine, optional
/// description, body): `#!ENGINE name=NAME`, a newline, the body. An error names the field.
pub(crate) fn pre_ga_library(c: &mut Cursor<'_>) -> Result<Vec<u8>, (&'static str, Stop)> {
    let field = |what| move |stop| (what, stop);
    let name = c.string().map_err(field(PRE_GA_NAME))?;
    let engine = c.string().map_err(field(PRE_GA_ENGINE))?;
    let has_description = c
        .length("a function description flag")
        .map_err(field(PRE_GA_DESCRIPTION))?;
    if has_description != 0 {
        c.string().map_err(field(PRE_GA_DESCRIPTION))?;
    }
    let body = c.string().map_err(field(PRE_GA_BLOB))?;
    let mut code = b"#!".to_vec();
    code.extend_from_slice(&engine);
    code.extend_from_slice(b" name=");
    code.extend_from_slice(&name);
    code.push(b'\n');
    code.extend_from_slice(&body);
    Ok(code)
}

fn kind_of(t: u8) -> Option<Kind> {
    use types::*;
    Some(match t {
        STRING => Kind::String,
        LIST | LIST_ZIPLIST | LIST_QUICKLIST | LIST_QUICKLIST_2 => Kind::List,
        SET | SET_INTSET | SET_LISTPACK => Kind::Set,
        ZSET | ZSET_2 | ZSET_ZIPLIST | ZSET_LISTPACK => Kind::Zset,
        HASH
        | HASH_ZIPMAP
        | HASH_ZIPLIST
        | HASH_LISTPACK
        | HASH_METADATA_PRE_GA
        | HASH_LISTPACK_EX_PRE_GA
        | HASH_METADATA
        | HASH_LISTPACK_EX => Kind::Hash,
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => Kind::Stream,
        _ => return None,
    })
}

/// Skips a module's serialized AUX values: `when_opcode`, `when`, then typed values.
fn skip_module_aux(c: &mut Cursor<'_>) -> Parse<()> {
    let at = c.pos;
    let when_opcode = c.length("a module AUX 'when' opcode")?;
    if when_opcode != 2 {
        return Err(c.error(
            at,
            ErrorKind::Unexpected {
                expected: "the module opcode UINT (2) before 'when'",
                found: when_opcode.to_string(),
            },
        ));
    }
    c.length("a module AUX 'when' value")?;
    skip_module_values(c)
}

/// Skips typed module values (signed or unsigned integer, float, double, string) up to the
/// module EOF opcode: the self-describing form modules save since Redis 4.0 GA.
fn skip_module_values(c: &mut Cursor<'_>) -> Parse<()> {
    loop {
        let at = c.pos;
        match c.length("a module value opcode")? {
            0 => return Ok(()),
            1 | 2 => {
                c.length("a module integer")?;
            }
            3 => {
                c.take(4)?;
            }
            4 => {
                c.take(8)?;
            }
            5 => {
                c.string()?;
            }
            other => {
                return Err(c.error(
                    at,
                    ErrorKind::Unexpected {
                        expected: "a module value opcode (0 to 5)",
                        found: other.to_string(),
                    },
                ))
            }
        }
    }
}

/// Reads a string that holds a blob and decodes it, mapping blob errors to the blob's offset.
fn blob<'c, T>(c: &mut Cursor<'c>, decode: impl FnOnce(&[u8]) -> Result<T, BlobError>) -> Parse<T> {
    let at = c.pos;
    let bytes = c.string()?;
    decode(&bytes).map_err(|e| c.error(at, ErrorKind::Blob(e)))
}

fn pairs<'a>(
    elements: &[Element<'a>],
    name: &'static str,
) -> Result<Vec<(Element<'a>, Element<'a>)>, BlobError> {
    if !elements.len().is_multiple_of(2) {
        return Err(blob_err(name, 0, Problem::OddCount));
    }
    Ok(elements.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

fn hash_fields(elements: &[Element<'_>], name: &'static str) -> Result<ValuePart, BlobError> {
    let fields = pairs(elements, name)?
        .into_iter()
        .map(|(f, v)| HashField {
            field: f.to_vec(),
            value: v.to_vec(),
            expire_at_ms: None,
        })
        .collect();
    Ok(ValuePart::HashFields(fields))
}

fn zset_members(elements: &[Element<'_>], name: &'static str) -> Result<ValuePart, BlobError> {
    let mut out = Vec::with_capacity(elements.len() / 2);
    for (i, (m, s)) in pairs(elements, name)?.into_iter().enumerate() {
        let score = s
            .as_f64()
            .ok_or(blob_err(name, i * 2 + 1, Problem::NotANumber))?;
        out.push((m.to_vec(), score));
    }
    Ok(ValuePart::ZsetMembers(out))
}

fn parse_value_start(meta: &mut Meta, c: &mut Cursor<'_>, t: u8) -> Parse<Option<Event>> {
    use types::*;
    let at = c.pos;
    let part = match t {
        STRING => ValuePart::String(c.string()?),
        LIST | SET | ZSET | ZSET_2 | HASH | HASH_METADATA_PRE_GA | HASH_METADATA => {
            let min_expire = if t == HASH_METADATA { c.u64_le()? } else { 0 };
            let remaining = c.length("an element count")?;
            meta.state = State::Elements {
                t,
                remaining,
                min_expire,
            };
            return Ok(None);
        }
        LIST_QUICKLIST | LIST_QUICKLIST_2 => {
            let remaining = c.length("a quicklist node count")?;
            meta.state = State::Quicklist {
                v2: t == LIST_QUICKLIST_2,
                remaining,
            };
            return Ok(None);
        }
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => {
            let remaining = c.length("a stream node count")?;
            meta.state = State::StreamNodes { t, remaining };
            return Ok(None);
        }
        HASH_ZIPMAP => blob(c, |b| {
            let pairs = zipmap::decode(b)?;
            Ok(ValuePart::HashFields(
                pairs
                    .into_iter()
                    .map(|(f, v)| HashField {
                        field: f.to_vec(),
                        value: v.to_vec(),
                        expire_at_ms: None,
                    })
                    .collect(),
            ))
        })?,
        LIST_ZIPLIST => blob(c, |b| {
            Ok(ValuePart::ListItems(
                ziplist::decode(b)?
                    .into_iter()
                    .map(Element::to_vec)
                    .collect(),
            ))
        })?,
        SET_INTSET => blob(c, |b| {
            Ok(ValuePart::SetMembers(
                intset::decode(b)?
                    .into_iter()
                    .map(|i| i.to_string().into_bytes())
                    .collect(),
            ))
        })?,
        SET_LISTPACK => blob(c, |b| {
            Ok(ValuePart::SetMembers(
                listpack::decode(b)?
                    .into_iter()
                    .map(Element::to_vec)
                    .collect(),
            ))
        })?,
        ZSET_ZIPLIST => blob(c, |b| zset_members(&ziplist::decode(b)?, "ziplist"))?,
        ZSET_LISTPACK => blob(c, |b| zset_members(&listpack::decode(b)?, "listpack"))?,
        HASH_ZIPLIST => blob(c, |b| hash_fields(&ziplist::decode(b)?, "ziplist"))?,
        HASH_LISTPACK => blob(c, |b| hash_fields(&listpack::decode(b)?, "listpack"))?,
        HASH_LISTPACK_EX | HASH_LISTPACK_EX_PRE_GA => {
            if t == HASH_LISTPACK_EX {
                c.u64_le()?; // the smallest field expire time, a hint
            }
            blob(c, |b| {
                let elements = listpack::decode(b)?;
                if !elements.len().is_multiple_of(3) {
                    return Err(blob_err("listpack", 0, Problem::OddCount));
                }
                let mut fields = Vec::with_capacity(elements.len() / 3);
                for (i, t) in elements.chunks_exact(3).enumerate() {
                    let ttl = t[2].as_int().ok_or(blob_err(
                        "listpack",
                        i * 3 + 2,
                        Problem::NotANumber,
                    ))?;
                    fields.push(HashField {
                        field: t[0].to_vec(),
                        value: t[1].to_vec(),
                        expire_at_ms: (ttl != 0).then_some(ttl),
                    });
                }
                Ok(ValuePart::HashFields(fields))
            })?
        }
        _ => return Err(c.error(0, ErrorKind::UnknownType(t))),
    };
    if let Some(dup) = first_duplicate(&part) {
        return Err(c.error(at, ErrorKind::Duplicate { index: dup }));
    }
    meta.state = State::EndValue;
    Ok(Some(Event::Value(part)))
}

/// The index of the first repeated member or field in a blob's decoded part (Redis refuses
/// blobs whose sets, hashes or sorted sets repeat a member).
fn first_duplicate(part: &ValuePart) -> Option<usize> {
    let keys: Vec<&[u8]> = match part {
        ValuePart::SetMembers(m) => m.iter().map(Vec::as_slice).collect(),
        ValuePart::HashFields(f) => f.iter().map(|f| f.field.as_slice()).collect(),
        ValuePart::ZsetMembers(m) => m.iter().map(|(m, _)| m.as_slice()).collect(),
        _ => return None,
    };
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.iter().position(|k| !seen.insert(*k))
}

fn parse_element(c: &mut Cursor<'_>, t: u8, min_expire: u64) -> Parse<Event> {
    use types::*;
    let part = match t {
        LIST => ValuePart::ListItems(vec![c.string()?]),
        SET => ValuePart::SetMembers(vec![c.string()?]),
        ZSET | ZSET_2 => {
            let member = c.string()?;
            let at = c.pos;
            let score = if t == ZSET {
                c.text_double()?
            } else {
                c.binary_double()?
            };
            if score.is_nan() {
                return Err(c.error(
                    at,
                    ErrorKind::Unexpected {
                        expected: "a sorted-set score",
                        found: "NaN".into(),
                    },
                ));
            }
            ValuePart::ZsetMembers(vec![(member, score)])
        }
        HASH => {
            let field = c.string()?;
            let value = c.string()?;
            ValuePart::HashFields(vec![HashField {
                field,
                value,
                expire_at_ms: None,
            }])
        }
        _ => {
            // Hashes with field TTLs: TTL, field, value. In the GA form a TTL is stored relative
            // to the smallest one (min_expire), plus one; zero always means "no TTL".
            let at = c.pos;
            let ttl = c.length("a hash field TTL")?;
            let expire_at_ms = match ttl {
                0 => None,
                ttl if t == HASH_METADATA => Some(ttl.wrapping_add(min_expire).wrapping_sub(1)),
                ttl => Some(ttl),
            };
            // 7.4 refuses times its expiry buckets cannot hold (`EB_EXPIRE_TIME_MAX`).
            if let Some(ms) = expire_at_ms.filter(|&ms| ms > hash_ex::EXPIRE_TIME_MAX) {
                return Err(c.error(
                    at,
                    ErrorKind::Unexpected {
                        expected: "a hash field expire time of at most 2^48 - 1 ms",
                        found: ms.to_string(),
                    },
                ));
            }
            let expire_at_ms = expire_at_ms.map(|ms| ms as i64);
            let field = c.string()?;
            let value = c.string()?;
            ValuePart::HashFields(vec![HashField {
                field,
                value,
                expire_at_ms,
            }])
        }
    };
    Ok(Event::Value(part))
}

fn parse_quicklist_node(c: &mut Cursor<'_>, v2: bool) -> Parse<Event> {
    let items = if v2 {
        let at = c.pos;
        match c.length("a quicklist container type")? {
            1 => vec![c.string()?],
            2 => blob(c, |b| {
                Ok(listpack::decode(b)?
                    .into_iter()
                    .map(Element::to_vec)
                    .collect())
            })?,
            other => {
                return Err(c.error(
                    at,
                    ErrorKind::Unexpected {
                        expected: "a quicklist container type (1 plain, 2 packed)",
                        found: other.to_string(),
                    },
                ))
            }
        }
    } else {
        blob(c, |b| {
            Ok(ziplist::decode(b)?
                .into_iter()
                .map(Element::to_vec)
                .collect())
        })?
    };
    Ok(Event::Value(ValuePart::ListItems(items)))
}

fn raw_id(c: &mut Cursor<'_>) -> Parse<StreamId> {
    let ms = c.u64_be()?;
    let seq = c.u64_be()?;
    Ok(StreamId { ms, seq })
}

fn parse_stream_node(c: &mut Cursor<'_>) -> Parse<Event> {
    let at = c.pos;
    let key = c.string()?;
    if key.len() != 16 {
        return Err(c.error(
            at,
            ErrorKind::Unexpected {
                expected: "a 16-byte stream node id",
                found: format!("{} bytes", key.len()),
            },
        ));
    }
    let master = raw_id(&mut Cursor::new(&key, 0))?;
    let entries = blob(c, |b| stream::decode_node(master, &listpack::decode(b)?))?;
    Ok(Event::Value(ValuePart::StreamEntries(entries)))
}

fn parse_stream_meta(meta: &mut Meta, c: &mut Cursor<'_>, t: u8) -> Parse<Option<Event>> {
    let length = c.length("a stream length")?;
    let last_id = StreamId {
        ms: c.length("a stream id")?,
        seq: c.length("a stream id")?,
    };
    let (first_id, max_deleted_id, entries_added) = if t >= types::STREAM_LISTPACKS_2 {
        let first = StreamId {
            ms: c.length("a stream id")?,
            seq: c.length("a stream id")?,
        };
        let max_del = StreamId {
            ms: c.length("a stream id")?,
            seq: c.length("a stream id")?,
        };
        let added = c.length("a stream entries-added counter")?;
        (Some(first), Some(max_del), Some(added))
    } else {
        (None, None, None)
    };
    let groups = c.length("a consumer group count")?;
    meta.state = State::StreamGroups {
        t,
        remaining: groups,
    };
    Ok(Some(Event::Value(ValuePart::StreamMeta(StreamMeta {
        length,
        last_id,
        first_id,
        max_deleted_id,
        entries_added,
    }))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::crc64::checksum;

    /// A file of `version` with `body` between the header and EOF, with a checksum from v5 on.
    fn file(version: u32, body: &[u8]) -> Vec<u8> {
        let mut f = format!("REDIS{version:04}").into_bytes();
        f.extend_from_slice(body);
        f.push(opcodes::EOF);
        if version >= 5 {
            let crc = checksum(&f);
            f.extend_from_slice(&crc.to_le_bytes());
        }
        f
    }

    fn events(data: &[u8], options: Options) -> Result<Vec<Event>, RdbError> {
        let mut r = Reader::new(options);
        r.feed(data);
        r.end_input();
        let mut out = Vec::new();
        loop {
            match r.poll()? {
                Poll::Event(e) => out.push(e),
                Poll::Done => return Ok(out),
                Poll::NeedMore => panic!("NeedMore after end_input"),
            }
        }
    }

    fn error(data: &[u8]) -> String {
        events(data, Options::default())
            .expect_err("should fail")
            .to_string()
    }

    fn key(kind: Kind, t: u8, name: &[u8]) -> KeyHeader {
        KeyHeader {
            db: 0,
            key: name.to_vec(),
            kind,
            rdb_type: t,
            expire_at_ms: None,
            lru_idle_s: None,
            lfu_freq: None,
        }
    }

    #[test]
    fn old_file_without_checksum_and_second_expires() {
        let body = [
            &[opcodes::SELECTDB, 3, opcodes::EXPIRETIME][..],
            &10u32.to_le_bytes(),
            &[types::STRING, 1, b'k', 1, b'v'],
        ]
        .concat();
        let got = events(&file(3, &body), Options::default()).unwrap();
        let mut header = key(Kind::String, types::STRING, b"k");
        header.db = 3;
        header.expire_at_ms = Some(10_000);
        assert_eq!(
            got,
            vec![
                Event::Header { version: 3 },
                Event::SelectDb { db: 3 },
                Event::Key(header),
                Event::Value(ValuePart::String(b"v".to_vec())),
                Event::ValueEnd,
                Event::Eof {
                    checksum: Checksum::Absent
                },
            ]
        );
    }

    #[test]
    fn hints_and_slot_info() {
        let body = [
            &[
                opcodes::RESIZEDB,
                1,
                0,
                opcodes::SLOT_INFO,
                0x41,
                0x00,
                1,
                0,
            ][..],
            &[
                opcodes::IDLE,
                7,
                opcodes::FREQ,
                9,
                types::SET,
                1,
                b's',
                1,
                1,
                b'm',
            ],
        ]
        .concat();
        let got = events(&file(12, &body), Options::default()).unwrap();
        assert_eq!(
            got[1],
            Event::ResizeDb {
                db_size: 1,
                expires_size: 0
            }
        );
        assert_eq!(
            got[2],
            Event::SlotInfo {
                slot: 256,
                slot_size: 1,
                expires_slot_size: 0
            }
        );
        let mut header = key(Kind::Set, types::SET, b"s");
        header.lru_idle_s = Some(7);
        header.lfu_freq = Some(9);
        assert_eq!(got[3], Event::Key(header));
        assert_eq!(
            got[4],
            Event::Value(ValuePart::SetMembers(vec![b"m".to_vec()]))
        );
        assert!(matches!(
            got[6],
            Event::Eof {
                checksum: Checksum::Verified(_)
            }
        ));
    }

    #[test]
    fn quicklist_v2_plain_packed_and_compressed_nodes() {
        let lp = crate::listpack::tests::build(&[vec![0x80 | 1, b'a'], vec![5]]);
        let mut body = vec![types::LIST_QUICKLIST_2, 1, b'l', 3];
        body.extend_from_slice(&[1, 3, b'b', b'i', b'g']);
        body.extend_from_slice(&[2, lp.len() as u8]);
        body.extend_from_slice(&lp);
        // A packed node stored LZF-compressed: the same listpack as one literal run.
        body.extend_from_slice(&[
            2,
            0xc3,
            lp.len() as u8 + 1,
            lp.len() as u8,
            lp.len() as u8 - 1,
        ]);
        body.extend_from_slice(&lp);
        let dump = read_all(&file(10, &body), Options::default()).unwrap();
        let items: Vec<&[u8]> = match &dump.records[0].value {
            Value::List(l) => l.iter().map(Vec::as_slice).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(items, vec![&b"big"[..], b"a", b"5", b"a", b"5"]);
    }

    #[test]
    fn errors_name_the_offset_and_the_expectation() {
        assert_eq!(
            error(&file(9, &[opcodes::SELECTDB, 0x82])),
            "at offset 10: expected a length, found byte 0x82"
        );
        assert_eq!(
            error(&file(9, &[0x42])),
            "at offset 9: expected an opcode or a value type, found byte 0x42"
        );
        assert_eq!(
            error(b"REDIS0013\xff"),
            "at offset 5: expected an RDB version from 1 to 12, found \"0013\""
        );
        assert_eq!(
            error(&file(10, &[opcodes::FUNCTION_PRE_GA])),
            "at offset 9: the FUNCTION opcode 246 of the 7.0 release candidates is not supported"
        );
        let mut bad_crc = file(10, &[]);
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 1;
        assert!(error(&bad_crc).starts_with("at offset 10: wrong checksum"));
        let nan = [types::ZSET, 1, b'z', 1, 1, b'm', 253];
        assert!(error(&file(6, &nan)).contains("NaN"));
        assert_eq!(
            error(b"REDIS0010\xfe"),
            "at offset 10: the input ended while reading an opcode"
        );
    }

    #[test]
    fn blobs_with_repeated_members_are_refused() {
        let lp =
            crate::listpack::tests::build(&[vec![0x81, b'a'], vec![1], vec![0x81, b'a'], vec![2]]);
        let mut body = vec![types::HASH_LISTPACK, 1, b'h', lp.len() as u8];
        body.extend_from_slice(&lp);
        assert_eq!(
            error(&file(10, &body)),
            "at offset 12: expected distinct members, found member or field number 1 repeated"
        );
    }

    #[test]
    fn hash_field_ttls_decode_in_every_form_and_bad_times_are_refused() {
        let min = 1_700_000_000_000u64;
        // Type 24: min-expire header, then relative TTLs (0: none).
        let mut body = vec![types::HASH_METADATA, 1, b'h'];
        body.extend_from_slice(&min.to_le_bytes());
        body.extend_from_slice(&[2, 1, 1, b'a', 1, b'1', 0, 1, b'b', 1, b'2']);
        let dump = read_all(&file(12, &body), Options::default()).unwrap();
        let Value::Hash(fields) = &dump.records[0].value else {
            panic!("a hash");
        };
        assert_eq!(fields[0].expire_at_ms, Some(min as i64));
        assert_eq!(fields[1].expire_at_ms, None);
        // Type 22 (release candidates): absolute TTLs, no header.
        let mut body = vec![types::HASH_METADATA_PRE_GA, 1, b'h', 1, 0x81];
        body.extend_from_slice(&min.to_be_bytes());
        body.extend_from_slice(&[1, b'a', 1, b'1']);
        let dump = read_all(&file(12, &body), Options::default()).unwrap();
        assert!(
            matches!(&dump.records[0].value, Value::Hash(f) if f[0].expire_at_ms == Some(min as i64))
        );
        // A time above 2^48 - 1 is refused, as 7.4 refuses it.
        let mut body = vec![types::HASH_METADATA_PRE_GA, 1, b'h', 1, 0x81];
        body.extend_from_slice(&(1u64 << 48).to_be_bytes());
        body.extend_from_slice(&[1, b'a', 1, b'1']);
        assert!(error(&file(12, &body)).contains("at most 2^48 - 1"));
    }

    #[test]
    fn module_aux_is_refused_or_skipped() {
        // Module id of "test__rdb" version 1 is not needed: any id names some module.
        let body = [
            &[opcodes::MODULE_AUX, 0x81][..],
            &(0x1234_5678_9abc_def0u64).to_be_bytes(),
            &[2, 2, 5, 2, b'h', b'i', 4],
            &1.5f64.to_le_bytes(),
            &[0],
        ]
        .concat();
        let data = file(9, &body);
        assert!(error(&data).contains("AUX data of module"));
        let got = events(
            &data,
            Options {
                skip_module_aux: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert!(matches!(got[1], Event::ModuleAuxSkipped { .. }));
        assert!(matches!(got[2], Event::Eof { .. }));
    }

    #[test]
    fn module_keys_are_refused_or_skipped() {
        let id = 0x1234_5678_9abc_def0u64;
        let key = |t: u8| {
            let mut body = vec![opcodes::EXPIRETIME_MS];
            body.extend_from_slice(&5000u64.to_le_bytes());
            body.extend_from_slice(&[t, 1, b'm', 0x81]);
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&[5, 2, b'h', b'i', 2, 7, 0]);
            body.extend_from_slice(&[types::STRING, 1, b'k', 1, b'v']);
            file(9, &body)
        };
        let skip = Options {
            skip_module_keys: true,
            ..Options::default()
        };
        assert!(error(&key(types::MODULE_2)).contains("a key of module type"));
        let got = events(&key(types::MODULE_2), skip).unwrap();
        assert_eq!(
            got[1],
            Event::ModuleKeySkipped {
                db: 0,
                key: b"m".to_vec(),
                module: module_type_name(id),
                expire_at_ms: Some(5000),
            }
        );
        // The expire belonged to the module key, not to the next one.
        assert!(matches!(&got[2], Event::Key(h) if h.expire_at_ms.is_none()));
        // Pre-GA module values are not self-describing: refused even when skipping.
        let err = events(&key(types::MODULE_PRE_GA), skip).unwrap_err();
        assert!(err.to_string().contains("a key of module type"), "{err}");
    }

    #[test]
    fn pre_ga_functions_are_refused_or_read_as_70_does() {
        let body = [
            &[opcodes::FUNCTION_PRE_GA, 1, b'l', 3][..],
            b"LUA",
            &[1, 1, b'd', 6],
            b"return",
        ]
        .concat();
        let data = file(10, &body);
        assert!(error(&data).contains("opcode 246"));
        let options = Options {
            pre_ga_functions: true,
            ..Options::default()
        };
        let got = events(&data, options).unwrap();
        assert_eq!(
            got[1],
            Event::Function {
                code: b"#!LUA name=l\nreturn".to_vec()
            }
        );
    }

    #[test]
    fn input_after_the_file_is_left_unread() {
        let mut data = file(10, &[]);
        data.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let mut r = Reader::default();
        r.feed(&data);
        assert_eq!(
            r.poll().unwrap(),
            Poll::Event(Event::Header { version: 10 })
        );
        assert!(matches!(r.poll().unwrap(), Poll::Event(Event::Eof { .. })));
        assert_eq!(r.poll().unwrap(), Poll::Done);
        assert_eq!(r.consumed(), 18);
        assert_eq!(r.unread(), b"*1\r\n$4\r\nPING\r\n");
    }

    /// Feeds `data` in pieces of 1, 2, 3, ... bytes, polling after each; the events, or the
    /// error.
    fn events_in_pieces(data: &[u8]) -> Result<Vec<Event>, RdbError> {
        let mut r = Reader::default();
        let mut out = Vec::new();
        let (mut at, mut piece) = (0, 1);
        loop {
            match r.poll()? {
                Poll::Event(e) => out.push(e),
                Poll::Done => return Ok(out),
                Poll::NeedMore if at < data.len() => {
                    let end = (at + piece).min(data.len());
                    r.feed(&data[at..end]);
                    (at, piece) = (end, piece % 7 + 1);
                }
                Poll::NeedMore => r.end_input(),
            }
        }
    }

    #[test]
    fn the_checksum_covers_every_byte_however_the_input_is_cut() {
        let mut body = Vec::new();
        for i in 0..40u8 {
            body.extend_from_slice(&[types::STRING, 2, b'k', b'a' + i % 26, 3, i, b'x', b'y']);
        }
        let data = file(10, &body);
        let whole = events(&data, Options::default()).unwrap();
        assert_eq!(events_in_pieces(&data).unwrap(), whole);
        // A flipped byte of a value is caught, wherever the pieces fall (entries of 8 bytes
        // from offset 9, values at 6 and 7 of each).
        for at in [9 + 6, 9 + 8 * 10 + 7, 9 + 8 * 39 + 6] {
            let mut bad = data.clone();
            bad[at] ^= 0x20;
            let err = events_in_pieces(&bad).unwrap_err().to_string();
            assert!(err.contains("wrong checksum"), "{err}");
        }
    }

    #[test]
    fn waits_for_input_and_fails_only_when_it_ends() {
        let data = file(10, &[types::STRING, 1, b'k', 3, b'a', b'b', b'c']);
        let mut r = Reader::default();
        r.feed(&data[..14]);
        assert!(matches!(
            r.poll().unwrap(),
            Poll::Event(Event::Header { .. })
        ));
        assert!(matches!(r.poll().unwrap(), Poll::Event(Event::Key(_))));
        assert_eq!(r.poll().unwrap(), Poll::NeedMore);
        assert_eq!(r.poll().unwrap(), Poll::NeedMore);
        r.end_input();
        let err = r.poll().unwrap_err();
        assert_eq!(
            err.to_string(),
            "at offset 14: the input ended while reading a value"
        );
        // The error is sticky.
        assert_eq!(r.poll().unwrap_err(), err);
    }
}

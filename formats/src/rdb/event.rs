//! What the RDB reader yields, and the neutral value model it decodes into.
//!
//! A key arrives as [`Event::Key`] (database, name, type, expire, LRU/LFU hints), then one or
//! more [`Event::Value`] parts, then [`Event::ValueEnd`]. Big collections come in several parts so
//! that nothing bigger than one element or one blob is held at a time; [`Dump`] (built by
//! [`Collector`]) puts the parts back together for callers that want whole values.

use super::RdbError;

/// One step of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The header: the file's RDB version.
    Header { version: u32 },
    /// An AUX field (`redis-ver`, `ctime`, `repl-id`, `lua`, ...).
    Aux { key: Vec<u8>, value: Vec<u8> },
    /// The database the following keys belong to.
    SelectDb { db: u64 },
    /// Size hints for the current database.
    ResizeDb { db_size: u64, expires_size: u64 },
    /// Cluster slot size hints (SLOT_INFO).
    SlotInfo {
        slot: u64,
        slot_size: u64,
        expires_slot_size: u64,
    },
    /// Module AUX data that was skipped (only with [`super::Options::skip_module_aux`]).
    ModuleAuxSkipped { module: String },
    /// A module key whose value was skipped (only with [`super::Options::skip_module_keys`]).
    ModuleKeySkipped {
        db: u64,
        key: Vec<u8>,
        module: String,
        expire_at_ms: Option<i64>,
    },
    /// A function library (FUNCTION2): its full code, `#!lua name=...` first line included.
    Function { code: Vec<u8> },
    /// A key starts; its value follows as [`Event::Value`] parts.
    Key(KeyHeader),
    /// A part of the current key's value.
    Value(ValuePart),
    /// The current key's value is complete.
    ValueEnd,
    /// The end of the file and what became of its checksum.
    Eof { checksum: Checksum },
}

/// The checksum at the end of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// RDB versions before 5 have none.
    Absent,
    /// Written as zero (`rdbchecksum no`): not checked, as Redis does.
    Disabled,
    /// Present and equal to the computed CRC-64.
    Verified(u64),
}

/// The data type of a key, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    List,
    Set,
    Hash,
    Zset,
    Stream,
}

impl Kind {
    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::Hash => "hash",
            Kind::Zset => "zset",
            Kind::Stream => "stream",
        }
    }
}

/// Everything about a key that precedes its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHeader {
    pub db: u64,
    pub key: Vec<u8>,
    pub kind: Kind,
    /// The RDB value type byte (tells the encoding in the file).
    pub rdb_type: u8,
    /// Absolute expire time in Unix milliseconds.
    pub expire_at_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE opcode).
    pub lru_idle_s: Option<u64>,
    /// LFU frequency counter (FREQ opcode).
    pub lfu_freq: Option<u8>,
}

/// A hash field, with its own expire time for 7.4 hashes with field TTLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashField {
    pub field: Vec<u8>,
    pub value: Vec<u8>,
    pub expire_at_ms: Option<i64>,
}

/// A stream entry id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A stream entry: id and field/value pairs in stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Stream metadata stored after the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMeta {
    pub length: u64,
    pub last_id: StreamId,
    /// RDB stream v2+ only (types 19, 21).
    pub first_id: Option<StreamId>,
    pub max_deleted_id: Option<StreamId>,
    pub entries_added: Option<u64>,
}

/// A consumer group's header; its pending entries and consumers follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGroupHeader {
    pub name: Vec<u8>,
    pub last_delivered_id: StreamId,
    /// RDB stream v2+ only; `None` also when the file says -1 ("unknown", Redis recomputes it).
    pub entries_read: Option<u64>,
}

/// An entry of a group's pending entries list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry {
    pub id: StreamId,
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

/// A consumer's header; the ids it has pending follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerHeader {
    pub name: Vec<u8>,
    pub seen_time_ms: i64,
    /// RDB stream v3 (type 21) only; -1 for a consumer that never read.
    pub active_time_ms: Option<i64>,
}

/// A piece of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValuePart {
    String(Vec<u8>),
    ListItems(Vec<Vec<u8>>),
    SetMembers(Vec<Vec<u8>>),
    HashFields(Vec<HashField>),
    ZsetMembers(Vec<(Vec<u8>, f64)>),
    StreamEntries(Vec<StreamEntry>),
    StreamMeta(StreamMeta),
    StreamGroup(StreamGroupHeader),
    /// A pending entry of the group last announced.
    StreamPending(PendingEntry),
    StreamConsumer(ConsumerHeader),
    /// An id pending for the consumer last announced.
    StreamConsumerPending(StreamId),
}

/// A whole value, as [`Collector`] assembles it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<HashField>),
    Zset(Vec<(Vec<u8>, f64)>),
    Stream(Box<Stream>),
}

impl Value {
    /// Whether the value is an empty collection (Redis skips those when loading).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::String(_) => false,
            Value::List(v) | Value::Set(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::Zset(v) => v.is_empty(),
            Value::Stream(_) => false,
        }
    }
}

/// A whole stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    pub entries: Vec<StreamEntry>,
    pub meta: Option<StreamMeta>,
    pub groups: Vec<StreamGroup>,
}

/// A whole consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGroup {
    pub header: StreamGroupHeader,
    pub pel: Vec<PendingEntry>,
    pub consumers: Vec<StreamConsumer>,
}

/// A whole consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConsumer {
    pub header: ConsumerHeader,
    pub pending: Vec<StreamId>,
}

/// A key with its whole value.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub header: KeyHeader,
    pub value: Value,
}

/// A whole file, collected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dump {
    pub version: u32,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub functions: Vec<Vec<u8>>,
    pub records: Vec<Record>,
    pub checksum: Option<Checksum>,
}

/// Builds a [`Dump`] from events.
#[derive(Debug, Default)]
pub struct Collector {
    dump: Dump,
    current: Option<Record>,
}

impl Collector {
    /// Applies one event.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Header { version } => self.dump.version = version,
            Event::Aux { key, value } => self.dump.aux.push((key, value)),
            Event::Function { code } => self.dump.functions.push(code),
            Event::Key(header) => {
                let value = match header.kind {
                    Kind::String => Value::String(Vec::new()),
                    Kind::List => Value::List(Vec::new()),
                    Kind::Set => Value::Set(Vec::new()),
                    Kind::Hash => Value::Hash(Vec::new()),
                    Kind::Zset => Value::Zset(Vec::new()),
                    Kind::Stream => Value::Stream(Box::default()),
                };
                self.current = Some(Record { header, value });
            }
            Event::Value(part) => {
                if let Some(record) = &mut self.current {
                    add_part(&mut record.value, part);
                }
            }
            Event::ValueEnd => {
                if let Some(record) = self.current.take() {
                    self.dump.records.push(record);
                }
            }
            Event::Eof { checksum } => self.dump.checksum = Some(checksum),
            Event::SelectDb { .. }
            | Event::ResizeDb { .. }
            | Event::SlotInfo { .. }
            | Event::ModuleAuxSkipped { .. }
            | Event::ModuleKeySkipped { .. } => {}
        }
    }

    /// The collected file.
    pub fn finish(self) -> Dump {
        self.dump
    }
}

fn add_part(value: &mut Value, part: ValuePart) {
    match (value, part) {
        (Value::String(s), ValuePart::String(b)) => *s = b,
        (Value::List(l), ValuePart::ListItems(items)) => l.extend(items),
        (Value::Set(l), ValuePart::SetMembers(items)) => l.extend(items),
        (Value::Hash(l), ValuePart::HashFields(items)) => l.extend(items),
        (Value::Zset(l), ValuePart::ZsetMembers(items)) => l.extend(items),
        (Value::Stream(s), part) => match part {
            ValuePart::StreamEntries(e) => s.entries.extend(e),
            ValuePart::StreamMeta(m) => s.meta = Some(m),
            ValuePart::StreamGroup(header) => s.groups.push(StreamGroup {
                header,
                pel: Vec::new(),
                consumers: Vec::new(),
            }),
            ValuePart::StreamPending(p) => {
                if let Some(g) = s.groups.last_mut() {
                    g.pel.push(p);
                }
            }
            ValuePart::StreamConsumer(header) => {
                if let Some(g) = s.groups.last_mut() {
                    g.consumers.push(StreamConsumer {
                        header,
                        pending: Vec::new(),
                    });
                }
            }
            ValuePart::StreamConsumerPending(id) => {
                if let Some(c) = s.groups.last_mut().and_then(|g| g.consumers.last_mut()) {
                    c.pending.push(id);
                }
            }
            _ => {}
        },
        _ => {}
    }
}

/// The result of collecting a whole file.
pub type DumpResult = Result<Dump, RdbError>;

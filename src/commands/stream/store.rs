//! How a stream lives on the engine, and the operations every stream command builds on.
//!
//! The metadata record holds what Redis keeps in its `stream` struct: the length (the record's
//! element count), the last generated ID, the first entry's ID, the highest deleted ID, the
//! number of entries ever added, and the number of nodes with the first and last one's master
//! ID (so XADD and trimming reach them with point reads). Everything else is element records
//! under the stream's version, in spaces told apart by a tag byte:
//!
//! - `e | id` → an entry's fields and values, ordered by ID, so ranges are iterations;
//! - `n | master id` → one of Redis's listpack nodes: its live and deleted entry counts, its
//!   master fields, the bytes its entries take and its last entry's ID. Redis starts a new node when the tail one
//!   holds `stream-node-max-entries` entries or would pass `stream-node-max-bytes`, and
//!   approximate trimming (`~`) only drops whole nodes; keeping the same node boundaries (not
//!   the bytes) makes `~` trim exactly what Redis trims and XINFO's `radix-tree-keys` agree;
//! - `g | group` → a consumer group: last delivered ID, entries read, pending and consumer
//!   counts;
//! - `p | group | id` → a pending entry (Redis's NACK): delivery time, delivery count, owner;
//! - `c | group | consumer` → a consumer: seen time and pending count;
//! - `q | group | consumer | id` → the consumer's own pending list.
//!
//! Group and consumer names are length-prefixed inside the keys so one group's records never
//! interleave with another's. Deleting the stream is O(1) like any collection (the version goes
//! stale and compaction drops the records); destroying a group walks its own records, as Redis
//! frees its PEL.

use std::ops::Bound;

use bytes::Bytes;
use engine::{prefix_successor, Instance, Kind, Meta, Order};
use formats::listpack;

use super::id::StreamId;
use crate::commands::collection::corrupt;
use crate::error::CommandError;
use crate::server::Ctx;

const WHAT: &str = "stream record";

const TAG_ENTRY: u8 = b'e';
const TAG_NODE: u8 = b'n';
const TAG_GROUP: u8 = b'g';
const TAG_PEL: u8 = b'p';
const TAG_CONSUMER: u8 = b'c';
const TAG_CONSUMER_PEL: u8 = b'q';

/// Entries fetched per engine range call when walking a stream.
pub const PAGE: usize = 256;

/// A field and its value.
pub type Pair = (Bytes, Bytes);

/// One entry as read back.
pub struct Entry {
    pub id: StreamId,
    pub pairs: Vec<Pair>,
}

/// The stream-wide state kept in the metadata record (besides the length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub nodes: u64,
    /// Master IDs of the first and the last node (meaningful while `nodes > 0`): XADD and
    /// trimming reach them with a point read instead of an iterator.
    pub head: StreamId,
    pub tail: StreamId,
}

const STATE_BYTES: usize = 16 * 5 + 8 * 2;

impl State {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_BYTES);
        for id in [
            self.last_id,
            self.first_id,
            self.max_deleted,
            self.head,
            self.tail,
        ] {
            out.extend_from_slice(&id.encode());
        }
        for n in [self.entries_added, self.nodes] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out
    }

    fn decode(raw: &[u8]) -> Result<State, CommandError> {
        let mut r = Reader::new(raw);
        Ok(State {
            last_id: r.id()?,
            first_id: r.id()?,
            max_deleted: r.id()?,
            head: r.id()?,
            tail: r.id()?,
            entries_added: r.u64()?,
            nodes: r.u64()?,
        })
    }
}

/// One of Redis's listpack nodes, as far as node boundaries depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub master: StreamId,
    pub live: u64,
    pub deleted: u64,
    pub fields: Vec<Bytes>,
    /// Bytes the entries (live and deleted) take in the listpack.
    pub entry_bytes: u64,
    /// The ID of the node's last entry, deleted or not (what Redis's lpGetEdgeStreamID reads).
    pub last: StreamId,
}

impl Node {
    /// `lpBytes` of the node's listpack.
    fn listpack_bytes(&self) -> u64 {
        let master_entry = listpack::int_size(self.live as i64)
            + listpack::int_size(self.deleted as i64)
            + listpack::int_size(self.fields.len() as i64)
            + self
                .fields
                .iter()
                .map(|f| listpack::string_size(f))
                .sum::<u64>()
            + listpack::int_size(0);
        listpack::EMPTY_BYTES + master_entry + self.entry_bytes
    }

    fn same_fields(&self, pairs: &[Pair]) -> bool {
        self.fields.len() == pairs.len() && self.fields.iter().zip(pairs).all(|(f, (g, _))| f == g)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = self.last.encode().to_vec();
        for n in [self.live, self.deleted, self.entry_bytes] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        put_len(&mut out, self.fields.len());
        for field in &self.fields {
            put_bytes(&mut out, field);
        }
        out
    }

    fn decode(master: StreamId, raw: &[u8]) -> Result<Node, CommandError> {
        let mut r = Reader::new(raw);
        let last = r.id()?;
        let (live, deleted, entry_bytes) = (r.u64()?, r.u64()?, r.u64()?);
        let count = r.len()?;
        let fields = (0..count).map(|_| r.bytes()).collect::<Result<_, _>>()?;
        Ok(Node {
            master,
            live,
            deleted,
            fields,
            entry_bytes,
            last,
        })
    }
}

/// Bytes an entry takes in a node's listpack (Redis's streamAppendItem layout): flags, the ID
/// as two deltas from the master ID, the fields unless they are the master's, the values, and
/// the element count that lets Redis walk backwards.
fn entry_bytes(node: &Node, id: StreamId, pairs: &[Pair], same_fields: bool) -> u64 {
    let mut bytes = listpack::int_size(0)
        + listpack::int_size(id.ms.wrapping_sub(node.master.ms) as i64)
        + listpack::int_size(id.seq.wrapping_sub(node.master.seq) as i64);
    let mut elements = pairs.len() as i64 + 3;
    if !same_fields {
        bytes += listpack::int_size(pairs.len() as i64);
        bytes += pairs
            .iter()
            .map(|(f, _)| listpack::string_size(f))
            .sum::<u64>();
        elements += pairs.len() as i64 + 1;
    }
    bytes += pairs
        .iter()
        .map(|(_, v)| listpack::string_size(v))
        .sum::<u64>();
    bytes + listpack::int_size(elements)
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: Bytes,
    pub last_id: StreamId,
    /// Redis's `entries_read`; `None` is SCG_INVALID_ENTRIES_READ.
    pub entries_read: Option<u64>,
    pub pending: u64,
    pub consumers: u64,
}

impl Group {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.last_id.encode().to_vec();
        out.extend_from_slice(&self.entries_read.map_or(-1, |n| n as i64).to_be_bytes());
        out.extend_from_slice(&self.pending.to_be_bytes());
        out.extend_from_slice(&self.consumers.to_be_bytes());
        out
    }

    fn decode(name: Bytes, raw: &[u8]) -> Result<Group, CommandError> {
        let mut r = Reader::new(raw);
        Ok(Group {
            name,
            last_id: r.id()?,
            entries_read: u64::try_from(r.u64()? as i64).ok(),
            pending: r.u64()?,
            consumers: r.u64()?,
        })
    }
}

/// A pending entry of a group (Redis's streamNACK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub id: StreamId,
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

impl Nack {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.delivery_time.to_be_bytes().to_vec();
        out.extend_from_slice(&self.delivery_count.to_be_bytes());
        out.extend_from_slice(&self.consumer);
        out
    }

    fn decode(id: StreamId, raw: &[u8]) -> Result<Nack, CommandError> {
        let mut r = Reader::new(raw);
        Ok(Nack {
            id,
            delivery_time: r.u64()? as i64,
            delivery_count: r.u64()?,
            consumer: Bytes::copy_from_slice(r.rest()),
        })
    }
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: Bytes,
    pub seen_time: i64,
    pub pending: u64,
}

impl Consumer {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.seen_time.to_be_bytes().to_vec();
        out.extend_from_slice(&self.pending.to_be_bytes());
        out
    }

    fn decode(name: Bytes, raw: &[u8]) -> Result<Consumer, CommandError> {
        let mut r = Reader::new(raw);
        Ok(Consumer {
            name,
            seen_time: r.u64()? as i64,
            pending: r.u64()?,
        })
    }
}

/// How XADD/XTRIM trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// The node size limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = none).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub bytes: u64,
    pub entries: u64,
}

/// Redis's STREAM_LISTPACK_MAX_SIZE: no node grows past 1 GB.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;

impl NodeLimits {
    pub fn from_config(ctx: &Ctx) -> NodeLimits {
        let config = ctx.server.config.read();
        NodeLimits {
            bytes: u64::try_from(config.get_int("stream-node-max-bytes")).unwrap_or(0),
            entries: u64::try_from(config.get_int("stream-node-max-entries")).unwrap_or(0),
        }
    }
}

/// A stream loaded for a command.
pub struct Stream<'k> {
    pub key: &'k [u8],
    db: usize,
    pub meta: Meta,
    pub state: State,
}

impl<'k> Stream<'k> {
    /// A live stream for a read command (counts a hit or miss); WRONGTYPE for another kind.
    pub fn read(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<Stream<'k>>, CommandError> {
        let meta = ctx.lookup_read(key)?;
        Stream::from_meta(ctx, key, meta)
    }

    /// A live stream for a write command; WRONGTYPE for another kind.
    pub fn write(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<Stream<'k>>, CommandError> {
        let meta = ctx.lookup(key)?;
        Stream::from_meta(ctx, key, meta)
    }

    /// A stream from metadata the caller already looked up (`None` for a missing key);
    /// WRONGTYPE for another kind.
    pub fn from_meta(
        ctx: &Ctx,
        key: &'k [u8],
        meta: Option<Meta>,
    ) -> Result<Option<Stream<'k>>, CommandError> {
        let Some(meta) = meta else {
            return Ok(None);
        };
        if meta.kind != Kind::Stream {
            return Err(CommandError::WrongType);
        }
        let state = State::decode(&meta.body)?;
        Ok(Some(Stream {
            key,
            db: ctx.db(),
            meta,
            state,
        }))
    }

    /// A new empty stream (not stored until [`Stream::save`]).
    pub fn create(ctx: &Ctx, key: &'k [u8]) -> Stream<'k> {
        let state = State::default();
        Stream {
            key,
            db: ctx.db(),
            meta: Meta::collection(
                Kind::Stream,
                ctx.server.engine.new_version(),
                0,
                state.encode(),
            ),
            state,
        }
    }

    /// Stores the metadata record after a change, counting `changes` in `dirty`.
    pub fn save(mut self, ctx: &mut Ctx, changes: u64) -> Result<(), CommandError> {
        let dirty = ctx.dirty;
        self.meta.body = self.state.encode();
        ctx.put_in(self.db, self.key, self.meta)?;
        ctx.dirty = dirty + changes;
        Ok(())
    }

    /// Stores the metadata record without signalling the key as modified (Redis's XSETID
    /// invalidates no WATCH and wakes no reader), counting `changes` in `dirty`.
    pub fn save_unsignalled(mut self, ctx: &mut Ctx, changes: u64) -> Result<(), CommandError> {
        self.meta.body = self.state.encode();
        ctx.txn.put_unsignalled(self.db, self.key, self.meta)?;
        ctx.dirty += changes;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.meta.count
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    fn instance(&self) -> Instance<'k> {
        Instance {
            db: self.db,
            key: self.key,
            version: self.meta.version,
        }
    }

    // ----- entries and nodes -----

    /// Appends an entry with ID `id` (greater than the last ID: the caller checks), starting a
    /// new node where Redis would.
    pub fn append(
        &mut self,
        ctx: &mut Ctx,
        id: StreamId,
        pairs: &[Pair],
        limits: NodeLimits,
    ) -> Result<(), CommandError> {
        let payload: u64 = pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
        let max_bytes = match limits.bytes {
            0 => LISTPACK_MAX_SIZE,
            b => b.min(LISTPACK_MAX_SIZE),
        };
        let tail = self.edge_node(ctx, Order::Descending)?;
        let mut node = match tail {
            Some(node)
                if node.listpack_bytes() + payload < max_bytes
                    && (limits.entries == 0 || node.live + node.deleted < limits.entries) =>
            {
                node
            }
            _ => {
                if self.state.nodes == 0 {
                    self.state.head = id;
                }
                self.state.nodes += 1;
                self.state.tail = id;
                Node {
                    master: id,
                    live: 0,
                    deleted: 0,
                    fields: pairs.iter().map(|(f, _)| f.clone()).collect(),
                    entry_bytes: 0,
                    last: id,
                }
            }
        };
        let same = node.same_fields(pairs);
        node.entry_bytes += entry_bytes(&node, id, pairs, same);
        node.live += 1;
        node.last = id;
        self.put_node(ctx, &node)?;
        ctx.txn
            .element_put(self.instance(), &entry_key(id), encode_pairs(pairs))?;
        self.meta.count += 1;
        self.state.entries_added += 1;
        self.state.last_id = id;
        if self.meta.count == 1 {
            self.state.first_id = id;
        }
        Ok(())
    }

    /// Entries with IDs in `from..=to`, in `order`, at most `limit`.
    pub fn range(
        &self,
        ctx: &Ctx,
        from: StreamId,
        to: StreamId,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Entry>, CommandError> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let (start, end) = (entry_key(from), entry_key(to));
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&start),
            Bound::Included(&end),
            order,
            limit,
        )?;
        raw.into_iter()
            .map(|(field, value)| {
                Ok(Entry {
                    id: id_after_tag(&field)?,
                    pairs: decode_pairs(&value)?,
                })
            })
            .collect()
    }

    /// One entry, if it exists.
    pub fn entry(&self, ctx: &Ctx, id: StreamId) -> Result<Option<Entry>, CommandError> {
        match ctx.txn.element_get(self.instance(), &entry_key(id))? {
            Some(raw) => Ok(Some(Entry {
                id,
                pairs: decode_pairs(&raw)?,
            })),
            None => Ok(None),
        }
    }

    /// The first or last entry's ID.
    pub fn edge_id(&self, ctx: &Ctx, order: Order) -> Result<Option<StreamId>, CommandError> {
        let ids = self.range(ctx, StreamId::ZERO, StreamId::MAX, order, 1)?;
        Ok(ids.first().map(|e| e.id))
    }

    /// Deletes one entry (XDEL): marks it deleted in its node, drops a node left without live
    /// entries, and updates the first and max-deleted IDs as Redis does. Returns whether it
    /// existed.
    pub fn delete(&mut self, ctx: &mut Ctx, id: StreamId) -> Result<bool, CommandError> {
        let key = entry_key(id);
        if ctx.txn.element_get(self.instance(), &key)?.is_none() {
            return Ok(false);
        }
        ctx.txn.element_delete(self.instance(), &key)?;
        let mut node = self
            .node_holding(ctx, id)?
            .ok_or_else(|| corrupt(WHAT, "entry outside every node"))?;
        if node.live <= 1 {
            self.remove_node(ctx, node.master)?;
        } else {
            node.live -= 1;
            node.deleted += 1;
            self.put_node(ctx, &node)?;
        }
        self.meta.count -= 1;
        if id > self.state.max_deleted {
            self.state.max_deleted = id;
        }
        Ok(true)
    }

    /// Refreshes the first entry's ID after deletions (Redis: 0-0 once empty after XDEL).
    pub fn refresh_first_id(&mut self, ctx: &Ctx) -> Result<(), CommandError> {
        self.state.first_id = if self.meta.count == 0 {
            StreamId::ZERO
        } else {
            self.edge_id(ctx, Order::Ascending)?
                .unwrap_or(StreamId::ZERO)
        };
        Ok(())
    }

    /// Redis's streamTrim: removes whole nodes from the head while the rule allows, then (unless
    /// `approx`) entries of the first node that remains. `limit` bounds the entries removed (0:
    /// none). Returns the number removed.
    pub fn trim(
        &mut self,
        ctx: &mut Ctx,
        rule: Trim,
        approx: bool,
        limit: u64,
    ) -> Result<u64, CommandError> {
        let mut removed = 0u64;
        loop {
            if let Trim::MaxLen(max) = rule {
                if self.meta.count <= max {
                    break;
                }
            }
            let Some(node) = self.edge_node(ctx, Order::Ascending)? else {
                break;
            };
            if limit != 0 && removed + node.live > limit {
                break;
            }
            let whole = match rule {
                Trim::MaxLen(max) => self.meta.count - node.live >= max,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                self.drop_node_entries(ctx, &node)?;
                self.remove_node(ctx, node.master)?;
                self.meta.count -= node.live;
                removed += node.live;
                continue;
            }
            if approx {
                break;
            }
            removed += self.trim_inside(ctx, node, rule)?;
            break;
        }
        if removed > 0 {
            self.refresh_first_id(ctx)?;
        }
        Ok(removed)
    }

    /// Exact trimming inside one node: deletes its entries from the head while the rule wants.
    fn trim_inside(
        &mut self,
        ctx: &mut Ctx,
        mut node: Node,
        rule: Trim,
    ) -> Result<u64, CommandError> {
        let mut removed = 0;
        let end = self.node_end(ctx, &node)?;
        let mut from = node.master;
        'pages: loop {
            let page = self.range(ctx, from, end, Order::Ascending, PAGE)?;
            let full = page.len() == PAGE;
            for entry in &page {
                let stop = match rule {
                    Trim::MaxLen(max) => self.meta.count <= max,
                    Trim::MinId(min) => entry.id >= min,
                };
                if stop {
                    break 'pages;
                }
                ctx.txn
                    .element_delete(self.instance(), &entry_key(entry.id))?;
                self.meta.count -= 1;
                removed += 1;
            }
            match page.last().and_then(|e| e.id.next()) {
                Some(next) if full => from = next,
                _ => break,
            }
        }
        node.live -= removed;
        node.deleted += removed;
        self.put_node(ctx, &node)?;
        Ok(removed)
    }

    /// Deletes the entry records of a node that is dropped whole.
    fn drop_node_entries(&self, ctx: &mut Ctx, node: &Node) -> Result<(), CommandError> {
        let end = self.node_end(ctx, node)?;
        let mut from = node.master;
        loop {
            let page = self.range(ctx, from, end, Order::Ascending, PAGE)?;
            for entry in &page {
                ctx.txn
                    .element_delete(self.instance(), &entry_key(entry.id))?;
            }
            match page.last().and_then(|e| e.id.next()) {
                Some(next) if page.len() == PAGE => from = next,
                _ => return Ok(()),
            }
        }
    }

    /// The last ID a node may hold: just before the next node's master ID.
    fn node_end(&self, ctx: &Ctx, node: &Node) -> Result<StreamId, CommandError> {
        let Some(after) = node.master.next() else {
            return Ok(StreamId::MAX);
        };
        let next = self.nodes_from(ctx, after, Order::Ascending, 1)?;
        Ok(next
            .first()
            .and_then(|n| n.master.prev())
            .unwrap_or(StreamId::MAX))
    }

    /// The first or last node.
    fn edge_node(&self, ctx: &Ctx, order: Order) -> Result<Option<Node>, CommandError> {
        if self.state.nodes == 0 {
            return Ok(None);
        }
        let master = match order {
            Order::Ascending => self.state.head,
            Order::Descending => self.state.tail,
        };
        let raw = ctx
            .txn
            .element_get(self.instance(), &node_key(master))?
            .ok_or_else(|| corrupt(WHAT, "edge node missing"))?;
        Ok(Some(Node::decode(master, &raw)?))
    }

    /// The master IDs of every node, in order (XINFO's radix tree figures).
    pub fn node_ids(&self, ctx: &Ctx) -> Result<Vec<StreamId>, CommandError> {
        let mut ids = Vec::new();
        let mut from = StreamId::ZERO;
        loop {
            let page = self.nodes_from(ctx, from, Order::Ascending, PAGE)?;
            ids.extend(page.iter().map(|n| n.master));
            match page.last().and_then(|n| n.master.next()) {
                Some(next) if page.len() == PAGE => from = next,
                _ => return Ok(ids),
            }
        }
    }

    /// Up to `limit` nodes from `start` in `order` (inclusive).
    fn nodes_from(
        &self,
        ctx: &Ctx,
        start: StreamId,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Node>, CommandError> {
        let at = node_key(start);
        let (lower, upper) = match order {
            Order::Ascending => (
                Bound::Included(&at[..]),
                Bound::Included(&[TAG_NODE + 1][..]),
            ),
            Order::Descending => (Bound::Included(&[TAG_NODE][..]), Bound::Included(&at[..])),
        };
        let raw = ctx
            .txn
            .element_range(self.instance(), lower, upper, order, limit)?;
        raw.into_iter()
            .filter(|(field, _)| field.first() == Some(&TAG_NODE))
            .map(|(field, value)| Node::decode(id_after_tag(&field)?, &value))
            .collect()
    }

    /// The node an entry belongs to: the last one whose master ID is not above it.
    fn node_holding(&self, ctx: &Ctx, id: StreamId) -> Result<Option<Node>, CommandError> {
        Ok(self.nodes_from(ctx, id, Order::Descending, 1)?.pop())
    }

    fn put_node(&self, ctx: &mut Ctx, node: &Node) -> Result<(), CommandError> {
        ctx.txn
            .element_put(self.instance(), &node_key(node.master), node.encode())?;
        Ok(())
    }

    fn remove_node(&mut self, ctx: &mut Ctx, master: StreamId) -> Result<(), CommandError> {
        ctx.txn.element_delete(self.instance(), &node_key(master))?;
        self.state.nodes -= 1;
        if self.state.nodes > 0 && master == self.state.head {
            let next = self.nodes_from(ctx, StreamId::ZERO, Order::Ascending, 1)?;
            self.state.head = next.first().map_or(StreamId::ZERO, |n| n.master);
        }
        if self.state.nodes > 0 && master == self.state.tail {
            let prev = self.nodes_from(ctx, StreamId::MAX, Order::Descending, 1)?;
            self.state.tail = prev.first().map_or(StreamId::ZERO, |n| n.master);
        }
        Ok(())
    }

    // ----- consumer groups -----

    pub fn group(&self, ctx: &Ctx, name: &[u8]) -> Result<Option<Group>, CommandError> {
        let raw = ctx.txn.element_get(self.instance(), &group_key(name))?;
        raw.map(|raw| Group::decode(Bytes::copy_from_slice(name), &raw))
            .transpose()
    }

    /// Every group, in name order.
    pub fn groups(&self, ctx: &Ctx) -> Result<Vec<Group>, CommandError> {
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&[TAG_GROUP][..]),
            Bound::Excluded(&[TAG_GROUP + 1][..]),
            Order::Ascending,
            usize::MAX,
        )?;
        raw.into_iter()
            .map(|(field, value)| Group::decode(Bytes::copy_from_slice(&field[1..]), &value))
            .collect()
    }

    /// Creates or updates a group record.
    pub fn put_group(&self, ctx: &mut Ctx, group: &Group) -> Result<(), CommandError> {
        ctx.txn
            .element_put(self.instance(), &group_key(&group.name), group.encode())?;
        Ok(())
    }

    /// Destroys a group with its pending entries and consumers.
    pub fn destroy_group(&self, ctx: &mut Ctx, name: &[u8]) -> Result<(), CommandError> {
        ctx.txn.element_delete(self.instance(), &group_key(name))?;
        for tag in [TAG_PEL, TAG_CONSUMER, TAG_CONSUMER_PEL] {
            self.delete_prefixed(ctx, &scoped(tag, name))?;
        }
        Ok(())
    }

    /// Deletes every element record whose field starts with `prefix`.
    fn delete_prefixed(&self, ctx: &mut Ctx, prefix: &[u8]) -> Result<(), CommandError> {
        let end = prefix_successor(prefix);
        loop {
            let page = ctx.txn.element_range(
                self.instance(),
                Bound::Included(prefix),
                end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                Order::Ascending,
                PAGE,
            )?;
            for (field, _) in &page {
                ctx.txn.element_delete(self.instance(), field)?;
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }

    // ----- pending entries -----

    pub fn nack(
        &self,
        ctx: &Ctx,
        group: &[u8],
        id: StreamId,
    ) -> Result<Option<Nack>, CommandError> {
        let raw = ctx.txn.element_get(self.instance(), &pel_key(group, id))?;
        raw.map(|raw| Nack::decode(id, &raw)).transpose()
    }

    /// A group's pending entries with IDs in `from..=to`, in ID order, at most `limit`.
    pub fn pending(
        &self,
        ctx: &Ctx,
        group: &[u8],
        from: StreamId,
        to: StreamId,
        limit: usize,
    ) -> Result<Vec<Nack>, CommandError> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let (start, end) = (pel_key(group, from), pel_key(group, to));
        let prefix_len = start.len() - 16;
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&start),
            Bound::Included(&end),
            Order::Ascending,
            limit,
        )?;
        raw.into_iter()
            .map(|(field, value)| {
                let id = StreamId::decode(&field[prefix_len..])
                    .ok_or_else(|| corrupt(WHAT, "short pending key"))?;
                Nack::decode(id, &value)
            })
            .collect()
    }

    /// The greatest pending ID of a group.
    pub fn last_pending_id(
        &self,
        ctx: &Ctx,
        group: &[u8],
    ) -> Result<Option<StreamId>, CommandError> {
        let (start, end) = (
            pel_key(group, StreamId::ZERO),
            pel_key(group, StreamId::MAX),
        );
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&start),
            Bound::Included(&end),
            Order::Descending,
            1,
        )?;
        raw.first()
            .map(|(field, _)| {
                StreamId::decode(&field[start.len() - 16..])
                    .ok_or_else(|| corrupt(WHAT, "short pending key"))
            })
            .transpose()
    }

    /// The IDs a consumer has pending in `from..=to`, in order, at most `limit`.
    pub fn consumer_pending(
        &self,
        ctx: &Ctx,
        group: &[u8],
        consumer: &[u8],
        from: StreamId,
        to: StreamId,
        limit: usize,
    ) -> Result<Vec<StreamId>, CommandError> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let (start, end) = (
            consumer_pel_key(group, consumer, from),
            consumer_pel_key(group, consumer, to),
        );
        let prefix_len = start.len() - 16;
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&start),
            Bound::Included(&end),
            Order::Ascending,
            limit,
        )?;
        raw.into_iter()
            .map(|(field, _)| {
                StreamId::decode(&field[prefix_len..])
                    .ok_or_else(|| corrupt(WHAT, "short pending key"))
            })
            .collect()
    }

    /// Stores a pending entry; `previous_owner` is the consumer that held it before (if any),
    /// whose own list loses it. Counts are the caller's business.
    pub fn put_nack(
        &self,
        ctx: &mut Ctx,
        group: &[u8],
        nack: &Nack,
        previous_owner: Option<&[u8]>,
    ) -> Result<(), CommandError> {
        if let Some(owner) = previous_owner {
            ctx.txn
                .element_delete(self.instance(), &consumer_pel_key(group, owner, nack.id))?;
        }
        ctx.txn
            .element_put(self.instance(), &pel_key(group, nack.id), nack.encode())?;
        ctx.txn.element_put(
            self.instance(),
            &consumer_pel_key(group, &nack.consumer, nack.id),
            Vec::new(),
        )?;
        Ok(())
    }

    /// Removes a pending entry from the group's and its owner's lists.
    pub fn delete_nack(
        &self,
        ctx: &mut Ctx,
        group: &[u8],
        nack: &Nack,
    ) -> Result<(), CommandError> {
        ctx.txn
            .element_delete(self.instance(), &pel_key(group, nack.id))?;
        ctx.txn.element_delete(
            self.instance(),
            &consumer_pel_key(group, &nack.consumer, nack.id),
        )?;
        Ok(())
    }

    // ----- consumers -----

    pub fn consumer(
        &self,
        ctx: &Ctx,
        group: &[u8],
        name: &[u8],
    ) -> Result<Option<Consumer>, CommandError> {
        let raw = ctx
            .txn
            .element_get(self.instance(), &consumer_key(group, name))?;
        raw.map(|raw| Consumer::decode(Bytes::copy_from_slice(name), &raw))
            .transpose()
    }

    /// A group's consumers in name order.
    pub fn consumers(&self, ctx: &Ctx, group: &[u8]) -> Result<Vec<Consumer>, CommandError> {
        let prefix = scoped(TAG_CONSUMER, group);
        let end = prefix_successor(&prefix);
        let raw = ctx.txn.element_range(
            self.instance(),
            Bound::Included(&prefix),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            Order::Ascending,
            usize::MAX,
        )?;
        raw.into_iter()
            .map(|(field, value)| {
                Consumer::decode(Bytes::copy_from_slice(&field[prefix.len()..]), &value)
            })
            .collect()
    }

    pub fn put_consumer(
        &self,
        ctx: &mut Ctx,
        group: &[u8],
        consumer: &Consumer,
    ) -> Result<(), CommandError> {
        ctx.txn.element_put(
            self.instance(),
            &consumer_key(group, &consumer.name),
            consumer.encode(),
        )?;
        Ok(())
    }

    /// Removes a consumer record (its pending entries are the caller's business).
    pub fn delete_consumer(
        &self,
        ctx: &mut Ctx,
        group: &[u8],
        name: &[u8],
    ) -> Result<(), CommandError> {
        ctx.txn
            .element_delete(self.instance(), &consumer_key(group, name))?;
        Ok(())
    }
}

// ----- record keys and values -----

fn entry_key(id: StreamId) -> Vec<u8> {
    let mut key = vec![TAG_ENTRY];
    key.extend_from_slice(&id.encode());
    key
}

fn node_key(master: StreamId) -> Vec<u8> {
    let mut key = vec![TAG_NODE];
    key.extend_from_slice(&master.encode());
    key
}

fn group_key(name: &[u8]) -> Vec<u8> {
    let mut key = vec![TAG_GROUP];
    key.extend_from_slice(name);
    key
}

/// `tag | len(group) | group`: the start of a group's records in one space.
fn scoped(tag: u8, group: &[u8]) -> Vec<u8> {
    let mut key = vec![tag];
    put_bytes(&mut key, group);
    key
}

fn pel_key(group: &[u8], id: StreamId) -> Vec<u8> {
    let mut key = scoped(TAG_PEL, group);
    key.extend_from_slice(&id.encode());
    key
}

fn consumer_key(group: &[u8], name: &[u8]) -> Vec<u8> {
    let mut key = scoped(TAG_CONSUMER, group);
    key.extend_from_slice(name);
    key
}

fn consumer_pel_key(group: &[u8], consumer: &[u8], id: StreamId) -> Vec<u8> {
    let mut key = scoped(TAG_CONSUMER_PEL, group);
    put_bytes(&mut key, consumer);
    key.extend_from_slice(&id.encode());
    key
}

fn id_after_tag(field: &[u8]) -> Result<StreamId, CommandError> {
    StreamId::decode(field.get(1..).unwrap_or_default())
        .ok_or_else(|| corrupt(WHAT, "short ID key"))
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn encode_pairs(pairs: &[Pair]) -> Vec<u8> {
    let size: usize = pairs.iter().map(|(f, v)| f.len() + v.len() + 8).sum();
    let mut out = Vec::with_capacity(size + 4);
    put_len(&mut out, pairs.len());
    for (field, value) in pairs {
        put_bytes(&mut out, field);
        put_bytes(&mut out, value);
    }
    out
}

fn decode_pairs(raw: &[u8]) -> Result<Vec<Pair>, CommandError> {
    let mut r = Reader::new(raw);
    let count = r.len()?;
    (0..count).map(|_| Ok((r.bytes()?, r.bytes()?))).collect()
}

/// Reads the fixed-width numbers and length-prefixed strings of a record.
struct Reader<'a> {
    raw: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(raw: &'a [u8]) -> Reader<'a> {
        Reader { raw }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CommandError> {
        if self.raw.len() < n {
            return Err(corrupt(WHAT, "truncated"));
        }
        let (head, tail) = self.raw.split_at(n);
        self.raw = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, CommandError> {
        let raw = self.take(8)?;
        Ok(u64::from_be_bytes(raw.try_into().unwrap_or_default()))
    }

    fn len(&mut self) -> Result<usize, CommandError> {
        let raw = self.take(4)?;
        Ok(u32::from_be_bytes(raw.try_into().unwrap_or_default()) as usize)
    }

    fn id(&mut self) -> Result<StreamId, CommandError> {
        StreamId::decode(self.take(16)?).ok_or_else(|| corrupt(WHAT, "truncated ID"))
    }

    fn bytes(&mut self) -> Result<Bytes, CommandError> {
        let len = self.len()?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let state = State {
            last_id: StreamId::new(5, 1),
            first_id: StreamId::new(1, 0),
            max_deleted: StreamId::new(3, 3),
            entries_added: 9,
            nodes: 2,
            head: StreamId::new(1, 0),
            tail: StreamId::new(4, 4),
        };
        assert_eq!(State::decode(&state.encode()).unwrap(), state);
        let node = Node {
            master: StreamId::new(7, 0),
            live: 3,
            deleted: 1,
            fields: vec![Bytes::from_static(b"a"), Bytes::from_static(b"")],
            entry_bytes: 40,
            last: StreamId::new(9, 9),
        };
        assert_eq!(Node::decode(node.master, &node.encode()).unwrap(), node);
        let pairs = vec![(Bytes::from_static(b"f"), Bytes::from_static(b"v\x00"))];
        assert_eq!(decode_pairs(&encode_pairs(&pairs)).unwrap(), pairs);
        assert!(decode_pairs(&[0, 0, 0, 2, 0]).is_err());
        let group = Group {
            name: Bytes::from_static(b"g"),
            last_id: StreamId::new(2, 2),
            entries_read: None,
            pending: 4,
            consumers: 2,
        };
        assert_eq!(
            Group::decode(group.name.clone(), &group.encode()).unwrap(),
            group
        );
    }

    #[test]
    fn node_bytes_follow_redis_layout() {
        // A node made by `XADD s 1-1 a 1`: master entry count 1, deleted 0, one field "a", 0
        // terminator; the entry: flags 2, deltas 0 0, value "1", lp-count 4.
        let mut node = Node {
            master: StreamId::new(1, 1),
            live: 1,
            deleted: 0,
            fields: vec![Bytes::from_static(b"a")],
            entry_bytes: 0,
            last: StreamId::new(1, 1),
        };
        let pairs = vec![(Bytes::from_static(b"a"), Bytes::from_static(b"1"))];
        node.entry_bytes = entry_bytes(&node, StreamId::new(1, 1), &pairs, true);
        // 7 (header, end) + 2+2+2+3+2 (master entry) + 2+2+2+2+2 (entry).
        assert_eq!(node.listpack_bytes(), 7 + 11 + 10);
    }
}

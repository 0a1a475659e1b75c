//! A list value as the list commands see it.
//!
//! Redis 7.0 keeps every list in a quicklist, so there is no small inline form: the metadata
//! record's `count` is the length and its body is `head(u64 BE)`, the sequence number of the
//! first element. Element `i` is the element record whose field is `head + i` as a big-endian
//! u64, so field byte order is list order and an index is one point read. A new list starts at
//! `1 << 63`, leaving room to grow both ways: LPUSH takes `head - 1`, RPUSH `head + count`.
//!
//! Sequence numbers stay contiguous. Removing or inserting in the middle (LREM, LINSERT)
//! rewrites the elements on the cheaper side of the change, one record per shifted element:
//! O(n) like the memmove Redis itself does inside a quicklist node, but without a second index.

use std::ops::Bound;

use engine::{EngineError, Instance, Kind, Meta, Order};

use crate::commands::collection::Stored;
use crate::error::CommandError;
use crate::server::Ctx;

/// Sequence number of the first element of a new list.
const START: u64 = 1 << 63;
/// Element records read per step while walking a list.
const PAGE: usize = 1024;
/// Ranges up to this many elements are read with point lookups rather than an iterator.
const POINT_READS_MAX: u64 = 8;

/// One end of a list (Redis's LIST_HEAD / LIST_TAIL, LEFT / RIGHT in commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// Parses LEFT or RIGHT, case-insensitively ("ERR syntax error" otherwise).
    pub fn parse(arg: &[u8]) -> Result<End, CommandError> {
        if arg.eq_ignore_ascii_case(b"left") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Ok(End::Right)
        } else {
            Err(CommandError::Syntax)
        }
    }

    /// LEFT or RIGHT, as [`parse_mpop`](crate::commands::args::parse_mpop) reads a side.
    pub fn side(arg: &[u8]) -> Option<End> {
        End::parse(arg).ok()
    }

    /// LEFT or RIGHT, as commands name it (for propagated LMOVE).
    pub fn name(self) -> &'static str {
        match self {
            End::Left => "LEFT",
            End::Right => "RIGHT",
        }
    }

    /// The plain pop at this end: LPOP or RPOP (what blocking and multi-key pops propagate as).
    pub fn pop_command(self) -> &'static str {
        match self {
            End::Left => "LPOP",
            End::Right => "RPOP",
        }
    }

    /// The walking order that starts at this end.
    fn order(self) -> Order {
        match self {
            End::Left => Order::Ascending,
            End::Right => Order::Descending,
        }
    }
}

/// A list loaded for a command.
pub struct List<'k> {
    key: &'k [u8],
    db: usize,
    pub meta: Meta,
    head: u64,
}

impl<'k> List<'k> {
    /// A live list for a read command (counts a keyspace hit or miss); WRONGTYPE for another
    /// kind.
    pub fn read(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<List<'k>>, CommandError> {
        let meta = ctx.lookup_read(key)?;
        List::from_meta(ctx, key, meta)
    }

    /// A live list for a write command (no hit/miss accounting); WRONGTYPE for another kind.
    pub fn write(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<List<'k>>, CommandError> {
        let meta = ctx.lookup(key)?;
        List::from_meta(ctx, key, meta)
    }

    /// The list at `key`, or a new empty one.
    pub fn write_or_create(ctx: &mut Ctx, key: &'k [u8]) -> Result<List<'k>, CommandError> {
        if let Some(list) = List::write(ctx, key)? {
            return Ok(list);
        }
        Ok(List {
            key,
            db: ctx.db(),
            meta: Meta::collection(Kind::List, ctx.server.engine.new_version(), 0, Vec::new()),
            head: START,
        })
    }

    /// A list from metadata the caller already looked up (`None` for a missing key);
    /// WRONGTYPE for another kind.
    pub fn from_meta(
        ctx: &Ctx,
        key: &'k [u8],
        meta: Option<Meta>,
    ) -> Result<Option<List<'k>>, CommandError> {
        let Some(meta) = meta else {
            return Ok(None);
        };
        if meta.kind != Kind::List {
            return Err(CommandError::WrongType);
        }
        let head = decode_seq(&meta.body)?;
        Ok(Some(List {
            key,
            db: ctx.db(),
            meta,
            head,
        }))
    }

    fn instance(&self) -> Instance<'k> {
        Instance {
            db: self.db,
            key: self.key,
            version: self.meta.version,
        }
    }

    /// The field of the element at `index`.
    fn field(&self, index: u64) -> [u8; 8] {
        field_at(self.head, index)
    }

    pub fn len(&self) -> u64 {
        self.meta.count
    }

    /// Turns a possibly negative index into a position, `None` when out of range.
    pub fn position(&self, index: i64) -> Option<u64> {
        let index = if index < 0 {
            index.checked_add_unsigned(self.len())?
        } else {
            index
        };
        u64::try_from(index).ok().filter(|&i| i < self.len())
    }

    pub fn get(&self, ctx: &Ctx, index: u64) -> Result<Option<Vec<u8>>, CommandError> {
        Ok(ctx.txn.element_get(self.instance(), &self.field(index))?)
    }

    pub fn set(&self, ctx: &mut Ctx, index: u64, value: Vec<u8>) -> Result<(), CommandError> {
        Ok(ctx
            .txn
            .element_put(self.instance(), &self.field(index), value)?)
    }

    pub fn push(&mut self, ctx: &mut Ctx, end: End, value: Vec<u8>) -> Result<(), CommandError> {
        let index = match end {
            End::Left => {
                self.head = self.head.wrapping_sub(1);
                0
            }
            End::Right => self.len(),
        };
        self.meta.count += 1;
        self.set(ctx, index, value)
    }

    /// Calls `visit(ctx, index, value)` for the elements at positions `lo..hi`, walking from
    /// `from`, page by page, until it returns false. `visit` may write elements the walk has
    /// already passed: each page is read after the previous one's writes.
    pub fn walk<F>(
        &self,
        ctx: &mut Ctx,
        lo: u64,
        hi: u64,
        from: End,
        mut visit: F,
    ) -> Result<(), CommandError>
    where
        F: FnMut(&mut Ctx, u64, Vec<u8>) -> Result<bool, CommandError>,
    {
        if lo >= hi {
            return Ok(());
        }
        let instance = self.instance();
        let (first, last) = (self.field(lo), self.field(hi - 1));
        let mut cursor: Option<Vec<u8>> = None;
        loop {
            let (start, end) = match (from, &cursor) {
                (_, None) => (Bound::Included(&first[..]), Bound::Included(&last[..])),
                (End::Left, Some(c)) => (Bound::Excluded(&c[..]), Bound::Included(&last[..])),
                (End::Right, Some(c)) => (Bound::Included(&first[..]), Bound::Excluded(&c[..])),
            };
            let page = ctx
                .txn
                .element_range(instance, start, end, from.order(), PAGE)?;
            let done = page.len() < PAGE;
            for (field, value) in page {
                let index = decode_seq(&field)?.wrapping_sub(self.head);
                cursor = Some(field);
                if !visit(ctx, index, value)? {
                    return Ok(());
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    /// The elements at positions `lo..hi`, walking from `from`.
    pub fn range(
        &self,
        ctx: &mut Ctx,
        lo: u64,
        hi: u64,
        from: End,
    ) -> Result<Vec<Vec<u8>>, CommandError> {
        let mut out = Vec::new();
        if hi.saturating_sub(lo) <= POINT_READS_MAX {
            // A few elements (LPOP, LINDEX-like ranges): point reads beat creating an iterator.
            let mut read = |index: u64| -> Result<(), CommandError> {
                out.extend(self.get(ctx, index)?);
                Ok(())
            };
            match from {
                End::Left => (lo..hi).try_for_each(&mut read)?,
                End::Right => (lo..hi).rev().try_for_each(&mut read)?,
            }
            return Ok(out);
        }
        self.walk(ctx, lo, hi, from, |_, _, value| {
            out.push(value);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Removes up to `n` elements from one end; returns them in the order they were removed.
    pub fn pop(&mut self, ctx: &mut Ctx, end: End, n: u64) -> Result<Vec<Vec<u8>>, CommandError> {
        let n = n.min(self.len());
        let (lo, hi) = match end {
            End::Left => (0, n),
            End::Right => (self.len() - n, self.len()),
        };
        let values = self.range(ctx, lo, hi, end)?;
        self.trim(ctx, lo..hi)?;
        Ok(values)
    }

    /// Deletes the elements at positions `lo..hi`, which must touch one end of the list.
    pub fn trim(
        &mut self,
        ctx: &mut Ctx,
        removed: std::ops::Range<u64>,
    ) -> Result<(), CommandError> {
        let instance = self.instance();
        for index in removed.clone() {
            ctx.txn.element_delete(instance, &self.field(index))?;
        }
        let n = removed.end - removed.start;
        if removed.start == 0 {
            self.head = self.head.wrapping_add(n);
        }
        self.meta.count -= n;
        Ok(())
    }

    /// Inserts `value` so that it ends up at position `index` (0..=len), shifting the shorter
    /// side of the list by one.
    pub fn insert(
        &mut self,
        ctx: &mut Ctx,
        index: u64,
        value: Vec<u8>,
    ) -> Result<(), CommandError> {
        let instance = self.instance();
        let head = self.head;
        let len = self.len();
        if index <= len / 2 {
            // Elements 0..index move one place towards the head.
            self.walk(ctx, 0, index, End::Left, |ctx, i, v| {
                let field = head.wrapping_add(i).wrapping_sub(1).to_be_bytes();
                ctx.txn.element_put(instance, &field, v)?;
                Ok(true)
            })?;
            self.head = head.wrapping_sub(1);
        } else {
            // Elements index..len move one place towards the tail.
            self.walk(ctx, index, len, End::Right, |ctx, i, v| {
                let field = head.wrapping_add(i).wrapping_add(1).to_be_bytes();
                ctx.txn.element_put(instance, &field, v)?;
                Ok(true)
            })?;
        }
        self.meta.count += 1;
        self.set(ctx, index, value)
    }

    /// Removes up to `limit` elements equal to `value` (all of them for `None`), walking from
    /// `from`; returns how many were removed. The survivors past the first removal close the gap
    /// as the walk goes, and the freed records at the far end are deleted.
    pub fn remove(
        &mut self,
        ctx: &mut Ctx,
        value: &[u8],
        limit: Option<u64>,
        from: End,
    ) -> Result<u64, CommandError> {
        let instance = self.instance();
        let head = self.head;
        let mut removed = 0u64;
        self.walk(ctx, 0, self.len(), from, |ctx, i, v| {
            if v == value && limit.is_none_or(|l| removed < l) {
                removed += 1;
            } else if removed > 0 {
                let target = match from {
                    End::Left => i - removed,
                    End::Right => i + removed,
                };
                ctx.txn
                    .element_put(instance, &head.wrapping_add(target).to_be_bytes(), v)?;
            }
            Ok(true)
        })?;
        let len = self.len();
        match from {
            End::Left => self.trim(ctx, len - removed..len)?,
            End::Right => self.trim(ctx, 0..removed)?,
        }
        Ok(removed)
    }

    /// Stores the list after a command changed it, or deletes the key when it is empty,
    /// counting `changes` keyspace changes as Redis's `server.dirty` does.
    pub fn save(mut self, ctx: &mut Ctx, changes: u64) -> Result<(), CommandError> {
        let dirty = ctx.dirty;
        if self.meta.count == 0 {
            ctx.delete_in(self.db, self.key)?;
        } else {
            self.meta.body = self.head.to_be_bytes().to_vec();
            ctx.put_in(self.db, self.key, self.meta)?;
        }
        ctx.dirty = dirty + changes;
        Ok(())
    }
}

/// A list read whole from an RDB file, as the RPUSHes that rebuild it store it.
pub fn build(items: Vec<Vec<u8>>) -> Stored {
    let count = items.len() as u64;
    let records = (0..)
        .zip(items)
        .map(|(index, item)| (field_at(START, index).to_vec(), item))
        .collect();
    let meta = Meta::collection(Kind::List, 0, count, START.to_be_bytes().to_vec());
    (meta, records)
}

/// The field of the element at `index` of a list whose first element is `head`.
fn field_at(head: u64, index: u64) -> [u8; 8] {
    head.wrapping_add(index).to_be_bytes()
}

fn decode_seq(raw: &[u8]) -> Result<u64, CommandError> {
    let bytes: [u8; 8] = raw.try_into().map_err(|_| {
        CommandError::Storage(EngineError::Corrupt {
            what: "list sequence number",
            detail: format!("{} bytes instead of 8", raw.len()),
        })
    })?;
    Ok(u64::from_be_bytes(bytes))
}

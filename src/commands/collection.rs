//! The shape hashes and sorted sets share: a collection loaded for a command is its key, its
//! database, its metadata record, and, in its small form, the entries decoded from that record.
//!
//! The record's body starts with a tag: [`INLINE`] (Redis's listpack) means the entries follow
//! in the body itself, in Redis's listpack order, so a point read is the whole value;
//! [`ELEMENTS`] (Redis's hashtable or skiplist) means the body is that one byte and the entries
//! are element records under the record's version. Each type says how its inline entries decode
//! ([`InlineForm`]) and keeps its own operations in an `impl Loaded<'_, ItsEntry>` block.

use engine::{EngineError, Instance, Kind, Meta};

use crate::config::Config;
use crate::error::CommandError;
use crate::server::Ctx;

/// Body tag of a collection stored in its metadata record.
pub const INLINE: u8 = 0;
/// Body tag of a collection stored as element records.
pub const ELEMENTS: u8 = 1;

/// An entry type of a collection with an inline form.
pub trait InlineForm: Sized {
    /// The key type holding such entries.
    const KIND: Kind;
    /// What a corrupt record is called in errors ("hash body", ...).
    const WHAT: &'static str;
    /// The config directives bounding the inline form: (entries, value length).
    const LIMIT_DIRECTIVES: (&'static str, &'static str);
    /// Decodes the inline entries (the body after its tag).
    fn decode(raw: &[u8]) -> Result<Vec<Self>, CommandError>;
    /// Encodes the inline entries as a whole body, [`INLINE`] tag included.
    fn encode(entries: &[Self]) -> Vec<u8>;

    /// Decodes a whole stored body: `Some(entries)` for an inline one, `None` for one whose
    /// entries are element records. Types with more body tags than [`INLINE`] and [`ELEMENTS`]
    /// (hashes with field TTLs) say how those decode.
    fn decode_body(body: &[u8]) -> Result<Option<Vec<Self>>, CommandError> {
        match body.first() {
            Some(&INLINE) => Ok(Some(Self::decode(&body[1..])?)),
            Some(&ELEMENTS) => Ok(None),
            _ => Err(corrupt(Self::WHAT, "unknown body tag")),
        }
    }

    /// Brings type-specific metadata up to date before the value is stored (a hash's earliest
    /// field expire time).
    fn before_save(_value: &mut Loaded<'_, Self>, _ctx: &Ctx) -> Result<(), CommandError> {
        Ok(())
    }
}

/// Redis's listpack conversion thresholds of one type (`*-max-listpack-entries`,
/// `*-max-listpack-value`), read from the config once per command.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub entries: u64,
    pub value: usize,
}

/// A collection loaded for a command.
pub struct Loaded<'k, T> {
    pub(crate) key: &'k [u8],
    pub(crate) db: usize,
    pub meta: Meta,
    /// The entries of an inline collection in order; `None` for an element-bodied one.
    pub(crate) inline: Option<Vec<T>>,
    /// The body tag stored while the entries are element records ([`ELEMENTS`], or a
    /// type-specific one).
    pub(crate) elements_tag: u8,
}

impl<'k, T: InlineForm> Loaded<'k, T> {
    /// A live value for a read command (counts a keyspace hit or miss); WRONGTYPE for another
    /// kind.
    pub fn read(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<Loaded<'k, T>>, CommandError> {
        let meta = ctx.lookup_read(key)?;
        Loaded::from_meta(ctx, key, meta)
    }

    /// A live value for a write command (no hit/miss accounting); WRONGTYPE for another kind.
    pub fn write(ctx: &mut Ctx, key: &'k [u8]) -> Result<Option<Loaded<'k, T>>, CommandError> {
        let meta = ctx.lookup(key)?;
        Loaded::from_meta(ctx, key, meta)
    }

    /// A value from metadata the caller already looked up (`None` for a missing key);
    /// WRONGTYPE for another kind.
    pub fn from_meta(
        ctx: &Ctx,
        key: &'k [u8],
        meta: Option<Meta>,
    ) -> Result<Option<Loaded<'k, T>>, CommandError> {
        let Some(meta) = meta else {
            return Ok(None);
        };
        if meta.kind != T::KIND {
            return Err(CommandError::WrongType);
        }
        let inline = T::decode_body(&meta.body)?;
        let elements_tag = match (&inline, meta.body.first()) {
            (None, Some(&tag)) => tag,
            _ => ELEMENTS,
        };
        Ok(Some(Loaded {
            key,
            db: ctx.db(),
            meta,
            inline,
            elements_tag,
        }))
    }

    /// Where the element records of this value live.
    pub(crate) fn instance(&self) -> Instance<'k> {
        Instance {
            db: self.db,
            key: self.key,
            version: self.meta.version,
        }
    }

    pub fn len(&self) -> u64 {
        self.meta.count
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    /// Whether the value is in Redis's listpack form.
    pub fn is_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// This type's conversion thresholds.
    pub fn limits(ctx: &Ctx) -> Limits {
        Self::configured_limits(&ctx.server.config.read())
    }

    /// This type's conversion thresholds in `config`.
    pub fn configured_limits(config: &Config) -> Limits {
        let (entries, value) = T::LIMIT_DIRECTIVES;
        Limits {
            entries: u64::try_from(config.get_int(entries)).unwrap_or(0),
            value: usize::try_from(config.get_int(value)).unwrap_or(0),
        }
    }

    /// Stores the value after a command changed it, or deletes the key when it has no entry
    /// left, counting `changes` keyspace changes as Redis's `server.dirty` does. Returns whether
    /// the key was deleted.
    pub fn save(mut self, ctx: &mut Ctx, changes: u64) -> Result<bool, CommandError> {
        let dirty = ctx.dirty;
        let deleted = self.meta.count == 0;
        if deleted {
            ctx.delete_in(self.db, self.key)?;
        } else {
            T::before_save(&mut self, ctx)?;
            self.meta.body = match &self.inline {
                Some(entries) => T::encode(entries),
                None => vec![self.elements_tag],
            };
            ctx.put_in(self.db, self.key, self.meta)?;
        }
        ctx.dirty = dirty + changes;
        Ok(deleted)
    }
}

/// What a whole collection is stored as: its metadata record (version 0 until its writer gives
/// it one) and, for one stored as element records, those records as (field, value) pairs.
pub type Stored = (Meta, Vec<(Vec<u8>, Vec<u8>)>);

/// The error for a stored record that does not decode.
pub fn corrupt(what: &'static str, detail: &str) -> CommandError {
    CommandError::Storage(EngineError::Corrupt {
        what,
        detail: detail.into(),
    })
}

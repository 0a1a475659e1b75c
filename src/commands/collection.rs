//! The shape hashes and sorted sets share: a collection loaded for a command is its key, its
//! database, its metadata record, and, in its small form, the entries decoded from that record.
//!
//! The record's body starts with a tag: [`INLINE`] (Redis's listpack) means the entries follow
//! in the body itself, in Redis's listpack order, so a point read is the whole value;
//! [`ELEMENTS`] (Redis's hashtable or skiplist) means the body is that one byte and the entries
//! are element records under the record's version. Each type says how its inline entries decode
//! ([`InlineForm`]) and keeps its own operations in an `impl Loaded<'_, ItsEntry>` block.

use engine::{EngineError, Instance, Kind, Meta};

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
    /// Decodes the inline entries (the body after its tag).
    fn decode(raw: &[u8]) -> Result<Vec<Self>, CommandError>;
}

/// A collection loaded for a command.
pub struct Loaded<'k, T> {
    pub(crate) key: &'k [u8],
    pub(crate) db: usize,
    pub meta: Meta,
    /// The entries of an inline collection in order; `None` for an element-bodied one.
    pub(crate) inline: Option<Vec<T>>,
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
        let inline = match meta.body.first() {
            Some(&INLINE) => Some(T::decode(&meta.body[1..])?),
            Some(&ELEMENTS) => None,
            _ => return Err(corrupt(T::WHAT, "unknown body tag")),
        };
        Ok(Some(Loaded {
            key,
            db: ctx.db(),
            meta,
            inline,
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
}

/// The error for a stored record that does not decode.
pub fn corrupt(what: &'static str, detail: &str) -> CommandError {
    CommandError::Storage(EngineError::Corrupt {
        what,
        detail: detail.into(),
    })
}

//! A sorted set as the commands (and GEO, and SORT) see it, in either of its two stored forms.
//!
//! The metadata record's `count` is the number of members; the body's first byte is the form:
//! - [`INLINE`] (Redis's "listpack"): the entries follow in the body in Redis's listpack order
//!   (score, then member bytes), each as `member_len(u32 BE) | member | score(f64 bits, BE)`.
//!   A point read of the metadata record is the whole set.
//! - [`ELEMENTS`] (Redis's "skiplist"): the body is that one byte, and every member has two
//!   element records under the key's version:
//!   - `'m' | member` → the score's f64 bits (big-endian): the member → score map, which is also
//!     the set in member byte order (what lexicographical ranges walk);
//!   - `'o' | order(score) | member` → the score's f64 bits: the score index, where
//!     `order(score)` is an 8-byte encoding whose byte order is the numeric order (with -0 and
//!     0 encoded alike, since Redis compares them equal). Its byte order is Redis's skiplist
//!     order, so score ranges and ranks are bounded iterations over it. The exact score (-0
//!     included) is the record's value.
//!
//! Ranks in the element form are found by counting index records from one end (O(rank)):
//! rockslot keeps no skiplist spans. Everything else reads only the records a reply needs
//! (plus the skipped ones of a LIMIT offset or a rank range's start).
//!
//! A listpack keeps scores as `d2string` text, which turns -0 into 0; the inline form stores
//! scores the same way, while the element form keeps -0 as Redis's skiplist does.
//!
//! A sorted set converts from inline to elements exactly when Redis 7.0 converts its listpack
//! (ZADD creates a set with elements when `zset-max-listpack-entries` is 0 or its first member
//! is longer than `zset-max-listpack-value`, see [`ZSet::create`]; `zsetAdd` converts before
//! inserting a member that would make the set longer than `zset-max-listpack-entries` or that
//! is longer than `zset-max-listpack-value`); it never converts back. Results stored by *STORE
//! commands take the form Redis's `zsetConvertToListpackIfNeeded` would leave them in
//! ([`store`]).
//!
//! # API for other families (GEO, SORT)
//! Open a set with [`ZSet::read`] / [`ZSet::write`] (or create one with [`ZSet::create`]),
//! change it with [`ZSet::add`] / [`ZSet::remove`], then [`ZSet::save`] it (which deletes the
//! key when the set became empty). Reads: [`ZSet::score`], [`ZSet::rank`],
//! [`ZSet::range_by_rank`], [`ZSet::range_by_score`], [`ZSet::count_by_score`],
//! [`ZSet::range_by_lex`], [`ZSet::all`]. A computed result replaces a key with [`store`].

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use engine::{Kind, Meta, Order};

use crate::commands::args::parse_f64;
pub use crate::commands::collection::Limits;
use crate::commands::collection::{self, InlineForm, Loaded, Stored};
use crate::error::CommandError;
use crate::server::{notify, Ctx};

pub use crate::commands::collection::{ELEMENTS, INLINE};

/// Element field tag of the member → score records.
const MEMBER: u8 = b'm';
/// Element field tag of the score index records.
const INDEX: u8 = b'o';

/// Element records read per step while walking an element-bodied set.
pub const PAGE: usize = 512;

/// A member and its score.
pub type Entry = (Vec<u8>, f64);

/// A span of element fields, as (start, end) bounds.
type Span = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Which records of a walk are visited: `skip` of them are passed over, then at most `take`
/// (`None`: all the rest).
#[derive(Debug, Clone, Copy)]
struct Window {
    skip: u64,
    take: Option<u64>,
}

impl Window {
    const ALL: Window = Window {
        skip: 0,
        take: None,
    };
}

/// Every score index record.
fn whole_index() -> Span {
    (
        Bound::Included(vec![INDEX]),
        Bound::Excluded(vec![INDEX + 1]),
    )
}

/// The error of a score computation that gives NaN (`inf + -inf`).
pub fn nan_error() -> CommandError {
    CommandError::other("ERR resulting score is not a number (NaN)")
}

/// Redis's skiplist / listpack order: score, then member bytes.
pub fn entry_order(a: &Entry, b: &Entry) -> Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

/// A score interval (Redis's `zrangespec`): `min`/`max` with exclusive flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Parses `min` and `max` as Redis's `zslParseRange` does: an optional `(` makes a bound
    /// exclusive; the rest is a `strtod` number that is not NaN ("ERR min or max is not a
    /// float").
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CommandError> {
        let bound = |arg: &[u8]| -> Result<(f64, bool), CommandError> {
            let (text, exclusive) = match arg.strip_prefix(b"(") {
                Some(rest) => (rest, true),
                None => (arg, false),
            };
            range_strtod(text)
                .map(|value| (value, exclusive))
                .ok_or_else(|| CommandError::other("ERR min or max is not a float"))
        };
        let (min, min_exclusive) = bound(min)?;
        let (max, max_exclusive) = bound(max)?;
        Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// Whether no score can lie in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }

    pub fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    pub fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    pub fn contains(&self, score: f64) -> bool {
        self.above_min(score) && self.below_max(score)
    }

    /// The index records of the range (`None` when it is empty).
    fn index_span(&self) -> Option<Span> {
        if self.is_empty() {
            return None;
        }
        let low = order_bits(self.min);
        let low = if self.min_exclusive {
            low.checked_add(1)?
        } else {
            low
        };
        let high = order_bits(self.max);
        let end = if self.max_exclusive {
            Bound::Excluded(index_prefix(high))
        } else {
            match high.checked_add(1) {
                Some(next) => Bound::Excluded(index_prefix(next)),
                None => Bound::Excluded(vec![INDEX + 1]),
            }
        };
        Some((Bound::Included(index_prefix(low)), end))
    }
}

/// One end of a lexicographical range (Redis's `zlexrangespec` items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`
    Min,
    /// `+`
    Max,
    /// `[member`
    Inclusive(Vec<u8>),
    /// `(member`
    Exclusive(Vec<u8>),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg.split_first() {
            Some((b'+', [])) => Some(LexBound::Max),
            Some((b'-', [])) => Some(LexBound::Min),
            Some((b'[', rest)) => Some(LexBound::Inclusive(rest.to_vec())),
            Some((b'(', rest)) => Some(LexBound::Exclusive(rest.to_vec())),
            _ => None,
        }
    }

    /// Redis's `sdscmplex` of a member against this bound's string.
    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Greater,
            LexBound::Max => Ordering::Less,
            LexBound::Inclusive(s) | LexBound::Exclusive(s) => member.cmp(s),
        }
    }

    /// `+` and `-` count as exclusive, as in Redis.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }

    fn rank(&self) -> u8 {
        match self {
            LexBound::Min => 0,
            LexBound::Inclusive(_) | LexBound::Exclusive(_) => 1,
            LexBound::Max => 2,
        }
    }

    /// This end as a bound of a walk over the member records.
    fn member_bound(&self) -> Bound<Vec<u8>> {
        match self {
            LexBound::Min => Bound::Included(vec![MEMBER]),
            LexBound::Max => Bound::Excluded(vec![MEMBER + 1]),
            LexBound::Inclusive(s) => Bound::Included(member_field(s)),
            LexBound::Exclusive(s) => Bound::Excluded(member_field(s)),
        }
    }
}

/// A lexicographical interval (Redis's `zlexrangespec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// Parses `min` and `max` as Redis's `zslParseLexRange` does ("ERR min or max not valid
    /// string range item").
    pub fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CommandError> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CommandError::other(
                "ERR min or max not valid string range item",
            )),
        }
    }

    /// The member records of the range.
    fn member_span(&self) -> Span {
        (self.min.member_bound(), self.max.member_bound())
    }

    /// Whether the range is empty whatever the set holds (`sdscmplex(min, max)` test).
    pub fn is_empty(&self) -> bool {
        let cmp = match (&self.min, &self.max) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
            (a, b) if a.rank() != b.rank() => a.rank().cmp(&b.rank()),
            (a, b) => match (a, b) {
                (
                    LexBound::Inclusive(x) | LexBound::Exclusive(x),
                    LexBound::Inclusive(y) | LexBound::Exclusive(y),
                ) => x.cmp(y),
                _ => Ordering::Equal,
            },
        };
        cmp == Ordering::Greater
            || (cmp == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }

    pub fn above_min(&self, member: &[u8]) -> bool {
        let cmp = self.min.cmp_member(member);
        if self.min.exclusive() {
            cmp == Ordering::Greater
        } else {
            cmp != Ordering::Less
        }
    }

    pub fn below_max(&self, member: &[u8]) -> bool {
        let cmp = self.max.cmp_member(member);
        if self.max.exclusive() {
            cmp == Ordering::Less
        } else {
            cmp != Ordering::Greater
        }
    }
}

/// ZADD's conditions (Redis's `ZADD_IN_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    /// The score is an increment of the current one (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

/// What [`ZSet::add`] did (Redis's `ZADD_OUT_*` flags and `newscore`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Added {
    /// A new member.
    Added(f64),
    /// An existing member got a different score.
    Updated(f64),
    /// The member was already there with this (equal) score; nothing changed.
    Unchanged(f64),
    /// NX / XX / GT / LT prevented the operation.
    Skipped,
}

/// A sorted set loaded for a command: its metadata and, for the inline form, its entries (see
/// [`Loaded`]).
pub type ZSet<'k> = Loaded<'k, Entry>;

impl InlineForm for Entry {
    const KIND: Kind = Kind::ZSet;
    const WHAT: &'static str = "sorted set body";

    const LIMIT_DIRECTIVES: (&'static str, &'static str) =
        ("zset-max-listpack-entries", "zset-max-listpack-value");

    fn decode(raw: &[u8]) -> Result<Vec<Entry>, CommandError> {
        decode(raw)
    }

    fn encode(entries: &[Entry]) -> Vec<u8> {
        encode(entries)
    }
}

impl<'k> Loaded<'k, Entry> {
    /// A new empty set for `key` (not stored until [`ZSet::save`]): inline unless `size_hint`
    /// members or a `value_len_hint`-byte member exceed the limits. ZADD creates with
    /// `size_hint` 1 and its first member's length, as Redis 7.0's `zaddGenericCommand` does.
    pub fn create(
        ctx: &Ctx,
        key: &'k [u8],
        limits: Limits,
        size_hint: u64,
        value_len_hint: usize,
    ) -> ZSet<'k> {
        let inline = size_hint <= limits.entries && value_len_hint <= limits.value;
        ZSet {
            key,
            db: ctx.db(),
            meta: Meta::collection(
                Kind::ZSet,
                ctx.server.engine.new_version(),
                0,
                vec![if inline { INLINE } else { ELEMENTS }],
            ),
            inline: inline.then(Vec::new),
            elements_tag: ELEMENTS,
        }
    }

    /// The score of `member`.
    pub fn score(&self, ctx: &Ctx, member: &[u8]) -> Result<Option<f64>, CommandError> {
        match &self.inline {
            Some(entries) => Ok(entries
                .iter()
                .find(|(m, _)| m.as_slice() == member)
                .map(|&(_, s)| s)),
            None => match ctx
                .txn
                .element_get(self.instance(), &member_field(member))?
            {
                Some(raw) => Ok(Some(decode_score(&raw)?)),
                None => Ok(None),
            },
        }
    }

    /// Redis's `zsetAdd`: adds `member` or updates its score under `flags`, converting the form
    /// first when the new member would not fit the listpack. A NaN score (given, or from an
    /// increment) is [`nan_error`].
    pub fn add(
        &mut self,
        ctx: &mut Ctx,
        limits: Limits,
        score: f64,
        member: &[u8],
        flags: AddFlags,
    ) -> Result<Added, CommandError> {
        if score.is_nan() {
            return Err(nan_error());
        }
        match self.score(ctx, member)? {
            Some(current) => {
                if flags.nx {
                    return Ok(Added::Skipped);
                }
                let score = if flags.incr { score + current } else { score };
                if score.is_nan() {
                    return Err(nan_error());
                }
                if (flags.lt && score >= current) || (flags.gt && score <= current) {
                    return Ok(Added::Skipped);
                }
                if score == current {
                    return Ok(Added::Unchanged(score));
                }
                self.remove_known(ctx, member, current)?;
                self.insert_new(ctx, member, score)?;
                Ok(Added::Updated(score))
            }
            None if flags.xx => Ok(Added::Skipped),
            None => {
                if self.is_inline()
                    && (self.meta.count + 1 > limits.entries || member.len() > limits.value)
                {
                    self.convert(ctx)?;
                }
                self.insert_new(ctx, member, score)?;
                self.meta.count += 1;
                Ok(Added::Added(score))
            }
        }
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, ctx: &mut Ctx, member: &[u8]) -> Result<bool, CommandError> {
        match self.score(ctx, member)? {
            Some(score) => {
                self.remove_known(ctx, member, score)?;
                self.meta.count -= 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes a member known to be absent (the count is the caller's business).
    fn insert_new(&mut self, ctx: &mut Ctx, member: &[u8], score: f64) -> Result<(), CommandError> {
        let instance = self.instance();
        match &mut self.inline {
            Some(entries) => {
                // A listpack holds scores as text from `d2string`, which prints -0 as "0".
                let entry = (member.to_vec(), if score == 0.0 { 0.0 } else { score });
                let at = entries
                    .binary_search_by(|probe| entry_order(probe, &entry))
                    .unwrap_or_else(|at| at);
                entries.insert(at, entry);
            }
            None => {
                for (field, value) in element_records(member, score) {
                    ctx.txn.element_put(instance, &field, value)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a member known to be present with `score` (the count is the caller's business).
    fn remove_known(
        &mut self,
        ctx: &mut Ctx,
        member: &[u8],
        score: f64,
    ) -> Result<(), CommandError> {
        let instance = self.instance();
        match &mut self.inline {
            Some(entries) => entries.retain(|(m, _)| m.as_slice() != member),
            None => {
                ctx.txn.element_delete(instance, &member_field(member))?;
                ctx.txn
                    .element_delete(instance, &index_field(score, member))?;
            }
        }
        Ok(())
    }

    /// Moves an inline set's entries to element records (Redis's `zsetConvert`); SORT converts
    /// a sorted set it reads, as Redis does.
    pub fn convert(&mut self, ctx: &mut Ctx) -> Result<(), CommandError> {
        if let Some(entries) = self.inline.take() {
            for (member, score) in entries {
                self.insert_new(ctx, &member, score)?;
            }
        }
        Ok(())
    }

    /// The 0-based rank of `member` counted from the lowest score (from the highest with
    /// `reverse`), with its score. O(rank) in the element form.
    pub fn rank(
        &self,
        ctx: &Ctx,
        member: &[u8],
        reverse: bool,
    ) -> Result<Option<(u64, f64)>, CommandError> {
        let Some(score) = self.score(ctx, member)? else {
            return Ok(None);
        };
        let below = match &self.inline {
            Some(entries) => entries
                .iter()
                .position(|(m, _)| m.as_slice() == member)
                .unwrap_or(0) as u64,
            None => {
                let end = Bound::Excluded(index_field(score, member));
                self.count_records(ctx, (Bound::Included(vec![INDEX]), end))?
            }
        };
        let rank = if reverse {
            self.len().saturating_sub(below + 1)
        } else {
            below
        };
        Ok(Some((rank, score)))
    }

    /// The entries of ranks `start..=end` (0-based, `start <= end < len`), counted from the
    /// lowest score, or from the highest with `reverse`, in that direction's order.
    pub fn range_by_rank(
        &self,
        ctx: &Ctx,
        start: u64,
        end: u64,
        reverse: bool,
    ) -> Result<Vec<Entry>, CommandError> {
        if start > end {
            return Ok(Vec::new());
        }
        let take = end - start + 1;
        match &self.inline {
            Some(entries) => Ok(in_direction(entries, reverse)
                .skip(start as usize)
                .take(take as usize)
                .cloned()
                .collect()),
            None => self.walk_index(
                ctx,
                whole_index(),
                reverse,
                Window {
                    skip: start,
                    take: Some(take),
                },
            ),
        }
    }

    /// The entries whose scores lie in `range`, in score order (descending with `reverse`),
    /// after skipping `offset` of them and at most `limit` of them (Redis's LIMIT semantics:
    /// a negative offset gives nothing, `None` is no limit).
    pub fn range_by_score(
        &self,
        ctx: &Ctx,
        range: &ScoreRange,
        reverse: bool,
        offset: i64,
        limit: Option<u64>,
    ) -> Result<Vec<Entry>, CommandError> {
        let Ok(offset) = u64::try_from(offset) else {
            return Ok(Vec::new());
        };
        match &self.inline {
            Some(entries) => Ok(in_direction(entries, reverse)
                .filter(|(_, s)| range.contains(*s))
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)))
                .cloned()
                .collect()),
            None => match range.index_span() {
                Some(span) => self.walk_index(
                    ctx,
                    span,
                    reverse,
                    Window {
                        skip: offset,
                        take: limit,
                    },
                ),
                None => Ok(Vec::new()),
            },
        }
    }

    /// How many scores lie in `range`.
    pub fn count_by_score(&self, ctx: &Ctx, range: &ScoreRange) -> Result<u64, CommandError> {
        match &self.inline {
            Some(entries) => Ok(entries.iter().filter(|(_, s)| range.contains(*s)).count() as u64),
            None => match range.index_span() {
                Some(span) => self.count_records(ctx, span),
                None => Ok(0),
            },
        }
    }

    /// The entries whose members lie in `range` (meaningful when all scores are equal, as in
    /// Redis), ascending (descending with `reverse`), with LIMIT semantics as
    /// [`ZSet::range_by_score`]. The inline form follows Redis's listpack walk exactly (first
    /// member in range from the start, then on while below the far end); the element form walks
    /// the member records, the same thing when the scores are equal.
    pub fn range_by_lex(
        &self,
        ctx: &Ctx,
        range: &LexRange,
        reverse: bool,
        offset: i64,
        limit: Option<u64>,
    ) -> Result<Vec<Entry>, CommandError> {
        let Ok(offset) = u64::try_from(offset) else {
            return Ok(Vec::new());
        };
        if range.is_empty() {
            return Ok(Vec::new());
        }
        match &self.inline {
            Some(entries) => Ok(lex_walk(entries, range, reverse)
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)))
                .take_while(|(m, _)| {
                    if reverse {
                        range.above_min(m)
                    } else {
                        range.below_max(m)
                    }
                })
                .cloned()
                .collect()),
            None => self.walk_members(
                ctx,
                range.member_span(),
                reverse,
                Window {
                    skip: offset,
                    take: limit,
                },
            ),
        }
    }

    /// How many members [`ZSet::range_by_lex`] would return without a LIMIT.
    pub fn count_by_lex(&self, ctx: &Ctx, range: &LexRange) -> Result<u64, CommandError> {
        if range.is_empty() {
            return Ok(0);
        }
        match &self.inline {
            Some(entries) => Ok(lex_walk(entries, range, false)
                .take_while(|(m, _)| range.below_max(m))
                .count() as u64),
            None => self.count_records(ctx, range.member_span()),
        }
    }

    /// Every entry in score order (for the commands that read the whole set).
    pub fn all(&self, ctx: &Ctx) -> Result<Vec<Entry>, CommandError> {
        match &self.inline {
            Some(entries) => Ok(entries.clone()),
            None => self.walk_index(ctx, whole_index(), false, Window::ALL),
        }
    }

    /// Up to `limit` entries of an element-bodied set in member byte order, after `after`
    /// (from the first for `None`): ZSCAN's pages. An inline set returns everything.
    pub fn page_by_member(
        &self,
        ctx: &Ctx,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, CommandError> {
        if let Some(entries) = &self.inline {
            return Ok(entries.clone());
        }
        let start = match after {
            Some(member) => Bound::Excluded(member_field(member)),
            None => Bound::Included(vec![MEMBER]),
        };
        self.walk_members(
            ctx,
            (start, Bound::Excluded(vec![MEMBER + 1])),
            false,
            Window {
                skip: 0,
                take: Some(limit as u64),
            },
        )
    }

    /// The entries at `ranks` (lowest score first; any order, repeats allowed), in the order
    /// given (ZRANDMEMBER). The index is read once from the lowest to the highest rank, keeping
    /// only the wanted entries, so memory stays proportional to the ranks asked for.
    pub fn at_ranks(&self, ctx: &Ctx, ranks: &[u64]) -> Result<Vec<Entry>, CommandError> {
        let (Some(&low), Some(&high)) = (ranks.iter().min(), ranks.iter().max()) else {
            return Ok(Vec::new());
        };
        if let Some(entries) = &self.inline {
            return Ok(ranks
                .iter()
                .filter_map(|&rank| usize::try_from(rank).ok().and_then(|i| entries.get(i)))
                .cloned()
                .collect());
        }
        let wanted: BTreeSet<u64> = ranks.iter().copied().collect();
        let mut found: HashMap<u64, Entry> = HashMap::with_capacity(wanted.len());
        let mut rank = low;
        let window = Window {
            skip: low,
            take: Some(high - low + 1),
        };
        self.walk(ctx, whole_index(), false, window, |field, value| {
            if wanted.contains(&rank) {
                let member = field.get(9..).ok_or_else(|| corrupt("short index field"))?;
                found.insert(rank, (member.to_vec(), decode_score(value)?));
            }
            rank += 1;
            Ok(())
        })?;
        Ok(ranks.iter().filter_map(|r| found.get(r)).cloned().collect())
    }

    /// Index records in `span` as entries.
    fn walk_index(
        &self,
        ctx: &Ctx,
        span: Span,
        reverse: bool,
        window: Window,
    ) -> Result<Vec<Entry>, CommandError> {
        let mut out = Vec::new();
        self.walk(ctx, span, reverse, window, |field, value| {
            let member = field.get(9..).ok_or_else(|| corrupt("short index field"))?;
            out.push((member.to_vec(), decode_score(value)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Member records in `span` as entries.
    fn walk_members(
        &self,
        ctx: &Ctx,
        span: Span,
        reverse: bool,
        window: Window,
    ) -> Result<Vec<Entry>, CommandError> {
        let mut out = Vec::new();
        self.walk(ctx, span, reverse, window, |field, value| {
            out.push((field[1..].to_vec(), decode_score(value)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Pages through the element records in `span`, in order (reversed with `reverse`),
    /// visiting those `window` selects.
    fn walk(
        &self,
        ctx: &Ctx,
        (mut low, mut high): Span,
        reverse: bool,
        window: Window,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut skip = window.skip;
        let mut left = window.take.unwrap_or(u64::MAX);
        let order = if reverse {
            Order::Descending
        } else {
            Order::Ascending
        };
        while left > 0 {
            let want = skip.saturating_add(left).min(PAGE as u64) as usize;
            let page = ctx.txn.element_range(
                self.instance(),
                low.as_ref().map(Vec::as_slice),
                high.as_ref().map(Vec::as_slice),
                order,
                want,
            )?;
            let done = page.len() < want;
            if let Some((last, _)) = page.last() {
                if reverse {
                    high = Bound::Excluded(last.clone());
                } else {
                    low = Bound::Excluded(last.clone());
                }
            }
            for (field, value) in &page {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                if left == 0 {
                    return Ok(());
                }
                visit(field, value)?;
                left -= 1;
            }
            if done {
                break;
            }
        }
        Ok(())
    }

    /// The number of element records in `span`.
    fn count_records(&self, ctx: &Ctx, span: Span) -> Result<u64, CommandError> {
        let mut count = 0;
        self.walk(ctx, span, false, Window::ALL, |_, _| {
            count += 1;
            Ok(())
        })?;
        Ok(count)
    }
}

/// Stores a computed result at `key` (ZRANGESTORE, ZUNIONSTORE and the other *STORE commands,
/// GEO's STORE options) with Redis's bookkeeping: a non-empty result counts `changes` keyspace
/// changes and reports `event`; an empty one deletes `key`, reporting "del" if it existed.
/// Returns the stored length.
pub fn replace(
    ctx: &mut Ctx,
    key: &[u8],
    entries: Vec<Entry>,
    event: &'static str,
    changes: u64,
) -> Result<u64, CommandError> {
    if entries.is_empty() {
        if ctx.delete(key)? {
            ctx.notify(notify::GENERIC, "del", key);
        }
        return Ok(0);
    }
    let limits = ZSet::limits(ctx);
    let dirty = ctx.dirty;
    let stored = store(ctx, key, limits, entries)?;
    ctx.dirty = dirty + changes;
    ctx.notify(notify::ZSET, event, key);
    Ok(stored)
}

/// Replaces `key` with a new sorted set of `entries` (distinct members, any order, at least
/// one), without an expire, in the form [`build`] gives it. Returns the stored length. Dirty
/// counting and keyspace events are the caller's.
fn store(
    ctx: &mut Ctx,
    key: &[u8],
    limits: Limits,
    entries: Vec<Entry>,
) -> Result<u64, CommandError> {
    let (mut meta, records) = build(entries, limits);
    meta.version = ctx.server.engine.new_version();
    let instance = engine::Instance {
        db: ctx.db(),
        key,
        version: meta.version,
    };
    for (field, value) in records {
        ctx.txn.element_put(instance, &field, value)?;
    }
    let len = meta.count;
    ctx.put(key, meta)?;
    Ok(len)
}

/// A sorted set of `entries` (distinct members, no NaN score, any order) in the form Redis's
/// `zsetConvertToListpackIfNeeded` leaves a computed result in, which is also the form the ZADDs
/// rebuilding a set read from an RDB file leave it in: inline (scores as a listpack keeps them,
/// -0 as 0) when it has at most `zset-max-listpack-entries` members, none longer than
/// `zset-max-listpack-value`; element records otherwise.
pub fn build(mut entries: Vec<Entry>, limits: Limits) -> Stored {
    let len = entries.len() as u64;
    let longest = entries.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    if len <= limits.entries && longest <= limits.value {
        for entry in &mut entries {
            if entry.1 == 0.0 {
                entry.1 = 0.0;
            }
        }
        entries.sort_by(entry_order);
        return (
            Meta::collection(Kind::ZSet, 0, len, encode(&entries)),
            Vec::new(),
        );
    }
    let records = entries
        .iter()
        .flat_map(|(member, score)| element_records(member, *score))
        .collect();
    (
        Meta::collection(Kind::ZSet, 0, len, vec![ELEMENTS]),
        records,
    )
}

/// The element records of a member of an element-bodied set: member → score, and its score
/// index entry.
fn element_records(member: &[u8], score: f64) -> [(Vec<u8>, Vec<u8>); 2] {
    let value = score.to_bits().to_be_bytes().to_vec();
    [
        (member_field(member), value.clone()),
        (index_field(score, member), value),
    ]
}

/// A range bound's number as `zslParseRange` reads it: C's `strtod` up to the string's first
/// NUL, which skips leading whitespace, takes the empty string as 0 and accepts overflow (to
/// ±inf) and underflow; what follows the number must be nothing, and NaN is refused.
fn range_strtod(text: &[u8]) -> Option<f64> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(text.len());
    let text = &text[start..];
    if let Ok(value) = parse_f64(text) {
        return Some(value);
    }
    // What `parse_f64` refuses beyond that is overflow and underflow of decimal numbers.
    if text
        .iter()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
    {
        return std::str::from_utf8(text).ok()?.parse().ok();
    }
    None
}

/// The inline entries in ascending or descending order.
fn in_direction(entries: &[Entry], reverse: bool) -> Box<dyn Iterator<Item = &Entry> + '_> {
    if reverse {
        Box::new(entries.iter().rev())
    } else {
        Box::new(entries.iter())
    }
}

/// Redis's listpack lex walk: nothing unless `zzlIsInLexRange`; else from the first entry at
/// or above the near end (`zzlFirstInLexRange` / `zzlLastInLexRange`, which must also be
/// within the far end) onwards. The caller stops at the far end.
fn lex_walk<'e>(
    entries: &'e [Entry],
    range: &LexRange,
    reverse: bool,
) -> Box<dyn Iterator<Item = &'e Entry> + 'e> {
    let in_range = match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => range.above_min(&last.0) && range.below_max(&first.0),
        _ => false,
    };
    if !in_range || range.is_empty() {
        return Box::new(std::iter::empty());
    }
    let start = if reverse {
        entries
            .iter()
            .rposition(|(m, _)| range.below_max(m))
            .filter(|&i| range.above_min(&entries[i].0))
    } else {
        entries
            .iter()
            .position(|(m, _)| range.above_min(m))
            .filter(|&i| range.below_max(&entries[i].0))
    };
    match start {
        None => Box::new(std::iter::empty()),
        Some(i) if reverse => Box::new(entries[..=i].iter().rev()),
        Some(i) => Box::new(entries[i..].iter()),
    }
}

/// An 8-byte encoding of a score whose byte order is the numeric order, -0 and 0 alike.
fn order_bits(score: f64) -> u64 {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn index_prefix(order: u64) -> Vec<u8> {
    let mut field = Vec::with_capacity(9);
    field.push(INDEX);
    field.extend_from_slice(&order.to_be_bytes());
    field
}

fn index_field(score: f64, member: &[u8]) -> Vec<u8> {
    let mut field = index_prefix(order_bits(score));
    field.extend_from_slice(member);
    field
}

fn member_field(member: &[u8]) -> Vec<u8> {
    let mut field = Vec::with_capacity(1 + member.len());
    field.push(MEMBER);
    field.extend_from_slice(member);
    field
}

fn decode_score(raw: &[u8]) -> Result<f64, CommandError> {
    let bits = raw
        .try_into()
        .map_err(|_| corrupt("score record is not 8 bytes"))?;
    Ok(f64::from_bits(u64::from_be_bytes(bits)))
}

fn corrupt(detail: &str) -> CommandError {
    collection::corrupt(<Entry as InlineForm>::WHAT, detail)
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let size: usize = entries.iter().map(|(m, _)| 12 + m.len()).sum();
    let mut out = Vec::with_capacity(1 + size);
    out.push(INLINE);
    for (member, score) in entries {
        // Inline members are at most `zset-max-listpack-value` bytes, far below u32::MAX,
        // unless the limit is configured absurdly high.
        out.extend_from_slice(&(member.len() as u32).to_be_bytes());
        out.extend_from_slice(member);
        out.extend_from_slice(&score.to_bits().to_be_bytes());
    }
    out
}

fn decode(mut raw: &[u8]) -> Result<Vec<Entry>, CommandError> {
    let mut entries = Vec::new();
    while !raw.is_empty() {
        let (len, rest) = raw
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("truncated length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len + 8 {
            return Err(corrupt("truncated entry"));
        }
        let (member, rest) = rest.split_at(len);
        let (score, rest) = rest.split_at(8);
        entries.push((member.to_vec(), decode_score(score)?));
        raw = rest;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_body_round_trips() {
        let entries = vec![
            (b"".to_vec(), f64::NEG_INFINITY),
            (b"a".to_vec(), -0.0),
            (b"x\0y".to_vec(), 1.5),
        ];
        let body = encode(&entries);
        assert_eq!(body[0], INLINE);
        let back = decode(&body[1..]).unwrap();
        assert_eq!(back, entries);
        assert!(back[1].1.is_sign_negative());
        assert!(decode(&body[1..body.len() - 1]).is_err());
    }

    #[test]
    fn order_encoding_sorts_numerically() {
        let scores = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for pair in scores.windows(2) {
            assert!(order_bits(pair[0]) < order_bits(pair[1]), "{pair:?}");
        }
        assert_eq!(order_bits(-0.0), order_bits(0.0));
    }

    #[test]
    fn lex_ranges_like_redis() {
        let range = |a: &str, b: &str| LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
        assert!(range("-", "-").is_empty());
        assert!(range("+", "-").is_empty());
        assert!(range("+", "+").is_empty());
        assert!(!range("-", "+").is_empty());
        assert!(range("(a", "[a").is_empty());
        assert!(!range("[a", "[a").is_empty());
        assert!(range("[b", "[a").is_empty());
        assert!(range("[a", "(b").below_max(b"a"));
        assert!(!range("[a", "(b").below_max(b"b"));
        assert!(LexRange::parse(b"a", b"+").is_err());
        assert!(LexRange::parse(b"+x", b"+").is_err());
    }
}

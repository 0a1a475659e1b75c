//! SORT and SORT_RO over lists, sets and sorted sets, with Redis 7.0's `sort.c` rules.
//!
//! Options are parsed first (LIMIT's numbers and unknown words fail there), then the key is read
//! and must be a list, set or sorted set (a missing key sorts as an empty list). BY with a
//! pattern without `*` means "do not sort": a list or sorted set keeps its order (reversed by
//! DESC, cut by LIMIT as it is read), a set keeps its iteration order (unless the result is
//! STOREd, when Redis sorts it ALPHA so replicas agree). Otherwise every element gets a weight:
//! its own value, or the value its BY pattern designates ([`pattern`]), compared as a number
//! (`strtod`; a missing weight is 0, a bad one fails the whole command with "One or more
//! scores can't be converted into double") or, with ALPHA, as text (C's `strcoll` in the C
//! locale, which stops at a NUL byte, or binary comparison when storing; a missing BY weight
//! sorts first). Equal numeric weights fall back to comparing the elements. The sort itself is
//! the C library's or Redis's partial one ([`qsort`]), so equal ALPHA weights stay in Redis's
//! order.
//!
//! The reply lists the elements, or for each element the values of its GET patterns (nulls for
//! missing ones). STORE writes that as a new list instead (missing values as empty strings),
//! deleting the destination when there is nothing, and replies with the length. Sorting a
//! sorted set converts it to Redis's "skiplist" encoding for good, as Redis does.

mod pattern;
pub mod qsort;

use std::cmp::Ordering;

use bytes::Bytes;
use engine::{Kind, Meta};
use formats::resp::Reply;

use super::args::{parse_f64, parse_i64};
use super::list::store::{End, List};
use super::set::value as set_value;
use super::table::Handler;
use super::zset::store::ZSet;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    sort_generic(ctx, args, true)
}

/// The parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

impl<'a> Options<'a> {
    fn parse(args: &'a [Bytes], readonly: bool) -> Result<Options<'a>, CommandError> {
        let mut options = Options {
            desc: false,
            alpha: false,
            limit_start: 0,
            limit_count: -1,
            store: None,
            by: None,
            dont_sort: false,
            gets: Vec::new(),
        };
        let mut j = 2;
        while j < args.len() {
            let left = args.len() - j - 1;
            let word = &args[j][..];
            let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
            if is("asc") {
                options.desc = false;
            } else if is("desc") {
                options.desc = true;
            } else if is("alpha") {
                options.alpha = true;
            } else if is("limit") && left >= 2 {
                // `getLongFromObjectOrReply`: a C `long`, 64 bits here.
                options.limit_start = parse_i64(&args[j + 1])?;
                options.limit_count = parse_i64(&args[j + 2])?;
                j += 2;
            } else if !readonly && is("store") && left >= 1 {
                options.store = Some(&args[j + 1][..]);
                j += 1;
            } else if is("by") && left >= 1 {
                let by = &args[j + 1][..];
                options.by = Some(by);
                // A constant pattern: nothing to weigh, nothing to sort.
                options.dont_sort = !pattern::has_wildcard(by);
                j += 1;
            } else if is("get") && left >= 1 {
                options.gets.push(&args[j + 1][..]);
                j += 1;
            } else {
                return Err(CommandError::Syntax);
            }
            j += 1;
        }
        Ok(options)
    }
}

/// One element being sorted (`redisSortObject`).
struct Item {
    element: Vec<u8>,
    score: f64,
    /// The ALPHA weight from a BY pattern.
    weight: Option<Vec<u8>>,
}

impl Item {
    fn new(element: Vec<u8>) -> Item {
        Item {
            element,
            score: 0.0,
            weight: None,
        }
    }
}

/// How `sortCompare` compares.
#[derive(Clone, Copy)]
struct Compare {
    desc: bool,
    alpha: bool,
    by_pattern: bool,
    store: bool,
}

/// C's `strcoll` in the C / C.UTF-8 locale: `strcmp`, which stops at the first NUL.
fn strcoll(a: &[u8], b: &[u8]) -> Ordering {
    let c_str = |s: &[u8]| s.split(|&b| b == 0).next().unwrap_or_default().to_vec();
    c_str(a).cmp(&c_str(b))
}

impl Compare {
    /// Redis's `sortCompare`.
    fn cmp(self, a: &Item, b: &Item) -> Ordering {
        let cmp = if !self.alpha {
            if a.score > b.score {
                Ordering::Greater
            } else if a.score < b.score {
                Ordering::Less
            } else {
                a.element.cmp(&b.element)
            }
        } else if self.by_pattern {
            match (&a.weight, &b.weight) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) if self.store => x.cmp(y),
                (Some(x), Some(y)) => strcoll(x, y),
            }
        } else if self.store {
            a.element.cmp(&b.element)
        } else {
            strcoll(&a.element, &b.element)
        };
        if self.desc {
            cmp.reverse()
        } else {
            cmp
        }
    }
}

/// A weight read as SORT reads it: C's `strtod` up to the first NUL (leading whitespace
/// allowed, the empty string is 0), refusing trailing text, NaN, overflow and underflow.
fn weight_score(value: &[u8]) -> Option<f64> {
    let text = value.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    parse_f64(&text[start..])
        .ok()
        .filter(|v| *v == 0.0 || !v.is_subnormal())
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CommandResult {
    let mut options = Options::parse(args, readonly)?;
    let key = &args[1][..];
    let source = Source::open(ctx, key)?;
    // An unsorted set would be stored in its arbitrary order: Redis sorts it instead.
    if options.dont_sort && matches!(source, Source::Set(_)) && options.store.is_some() {
        options.dont_sort = false;
        options.alpha = true;
        options.by = None;
    }
    let length = source.len() as i64;
    // LIMIT, clamped to the object's size as Redis does.
    let mut start = options.limit_start.max(0).min(length);
    let limit_count = options.limit_count.max(-1).min(length);
    let mut end = if limit_count < 0 {
        length - 1
    } else {
        start + limit_count - 1
    };
    if start >= length {
        start = length - 1;
        end = length - 2;
    }
    if end >= length {
        end = length - 1;
    }
    // An unsorted list or sorted set is read in its final order, only the LIMIT range of it;
    // the output range is then the whole vector (Redis skips this for an empty list range).
    let read_in_place = options.dont_sort
        && match source {
            Source::List(_) => end >= start,
            Source::ZSet(_) => true,
            _ => false,
        };
    let mut items = source.load(ctx, key, &options, start, end)?;
    if read_in_place {
        end -= start;
        start = 0;
    }
    let mut conversion_error = false;
    if !options.dont_sort {
        for item in &mut items {
            let weight = match options.by {
                Some(by) => match pattern::lookup(ctx, by, &item.element)? {
                    Some(weight) => weight,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if options.alpha {
                if options.by.is_some() {
                    item.weight = Some(weight);
                }
            } else {
                match weight_score(&weight) {
                    Some(score) => item.score = score,
                    None => {
                        conversion_error = true;
                        item.score = f64::NAN;
                    }
                }
            }
        }
        let compare = Compare {
            desc: options.desc,
            alpha: options.alpha,
            by_pattern: options.by.is_some(),
            store: options.store.is_some(),
        };
        let len = items.len() as i64;
        if options.by.is_some() && (start != 0 || end != len - 1) {
            qsort::pqsort(
                &mut items,
                |a, b| compare.cmp(a, b),
                start.max(0) as usize,
                end,
            );
        } else {
            qsort::qsort(&mut items, |a, b| compare.cmp(a, b));
        }
    }
    if conversion_error {
        return Err(CommandError::other(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let selected: &[Item] = match (usize::try_from(start), usize::try_from(end)) {
        (Ok(start), Ok(end)) if end >= start => items.get(start..=end).unwrap_or_default(),
        _ => &[],
    };
    match options.store {
        None => {
            let mut out = Vec::new();
            for item in selected {
                if options.gets.is_empty() {
                    out.push(Reply::Bulk(item.element.clone().into()));
                }
                for get in &options.gets {
                    out.push(
                        pattern::lookup(ctx, get, &item.element)?
                            .map_or(Reply::Null, |v| Reply::Bulk(v.into())),
                    );
                }
            }
            Ok(Reply::Array(out))
        }
        Some(dest) => {
            let mut values = Vec::new();
            for item in selected {
                if options.gets.is_empty() {
                    values.push(item.element.clone());
                }
                for get in &options.gets {
                    values.push(pattern::lookup(ctx, get, &item.element)?.unwrap_or_default());
                }
            }
            store(ctx, dest, values)
        }
    }
}

/// The value being sorted.
enum Source<'k> {
    List(List<'k>),
    Set(Meta),
    ZSet(ZSet<'k>),
    /// A missing key sorts as an empty list.
    Missing,
}

impl<'k> Source<'k> {
    /// The key's value, which must be a list, a set or a sorted set (counts a hit or a miss).
    fn open(ctx: &mut Ctx, key: &'k [u8]) -> Result<Source<'k>, CommandError> {
        let Some(meta) = ctx.lookup_read(key)? else {
            return Ok(Source::Missing);
        };
        let source = match meta.kind {
            Kind::List => {
                List::from_meta(ctx, key, Some(meta))?.map_or(Source::Missing, Source::List)
            }
            Kind::Set => Source::Set(meta),
            Kind::ZSet => {
                ZSet::from_meta(ctx, key, Some(meta))?.map_or(Source::Missing, Source::ZSet)
            }
            _ => return Err(CommandError::WrongType),
        };
        Ok(source)
    }

    fn len(&self) -> u64 {
        match self {
            Source::List(list) => list.len(),
            Source::Set(meta) => meta.count,
            Source::ZSet(zset) => zset.len(),
            Source::Missing => 0,
        }
    }

    /// The elements to sort, loaded as Redis fills its vector. Unsorted, a list or sorted set
    /// gives only the LIMIT range (`start..=end`), in the requested direction.
    fn load(
        self,
        ctx: &mut Ctx,
        key: &[u8],
        options: &Options,
        start: i64,
        end: i64,
    ) -> Result<Vec<Item>, CommandError> {
        let elements = match self {
            Source::List(list) => {
                let len = list.len();
                if !options.dont_sort {
                    list.range(ctx, 0, len, End::Left)?
                } else if end < start {
                    Vec::new()
                } else {
                    let (lo, hi) = (start as u64, end as u64 + 1);
                    if options.desc {
                        list.range(ctx, len - hi, len - lo, End::Right)?
                    } else {
                        list.range(ctx, lo, hi, End::Left)?
                    }
                }
            }
            Source::Set(meta) => set_value::members(ctx, key, &meta)?,
            Source::ZSet(zset) => {
                let entries = if !options.dont_sort {
                    zset.all(ctx)?
                } else if end < start {
                    Vec::new()
                } else {
                    zset.range_by_rank(ctx, start as u64, end as u64, options.desc)?
                };
                if zset.is_inline() {
                    // Redis converts a sorted set it sorts to its skiplist encoding.
                    let mut zset = zset;
                    zset.convert(ctx)?;
                    zset.save(ctx, 0)?;
                }
                entries.into_iter().map(|(member, _)| member).collect()
            }
            Source::Missing => Vec::new(),
        };
        Ok(elements.into_iter().map(Item::new).collect())
    }
}

/// SORT ... STORE: replaces `dest` with a list of `values` (Redis's `setKey`, dropping any
/// expire), or deletes it when there are none; replies with the stored length.
fn store(ctx: &mut Ctx, dest: &[u8], values: Vec<Vec<u8>>) -> CommandResult {
    let stored = values.len() as u64;
    let dirty = ctx.dirty;
    if stored == 0 {
        if ctx.delete(dest)? {
            ctx.notify(notify::GENERIC, "del", dest);
        }
        return Ok(Reply::Integer(0));
    }
    ctx.delete(dest)?;
    let mut list = List::write_or_create(ctx, dest)?;
    for value in values {
        list.push(ctx, End::Right, value)?;
    }
    list.save(ctx, 0)?;
    ctx.dirty = dirty + stored;
    ctx.notify(notify::LIST, "sortstore", dest);
    Ok(Reply::Integer(stored as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Redis 7.0.15 accepts as a SORT weight.
    #[test]
    fn weights_like_strtod() {
        assert_eq!(weight_score(b" 4"), Some(4.0));
        assert_eq!(weight_score(b""), Some(0.0));
        assert_eq!(weight_score(b"0x10"), Some(16.0));
        assert_eq!(weight_score(b"3\0abc"), Some(3.0));
        assert_eq!(weight_score(b"  "), None);
        assert_eq!(weight_score(b"4 "), None);
        assert_eq!(weight_score(b"nan"), None);
        assert_eq!(weight_score(b"1e400"), None);
        assert_eq!(weight_score(b"1e-310"), None);
    }

    #[test]
    fn strcoll_stops_at_nul() {
        assert_eq!(strcoll(b"a\0c", b"a\0b"), Ordering::Equal);
        assert_eq!(strcoll(b"\xc3\xa9", b"\xff"), Ordering::Less);
        assert_eq!(strcoll(b"B", b"a"), Ordering::Less);
    }
}

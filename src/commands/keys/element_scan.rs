//! What HSCAN, SSCAN and ZSCAN share (Redis's `scanGenericCommand` for one key): the options,
//! the cursor protocol and the reply.
//!
//! The cursor is parsed before the key is looked up and the options only for an existing key,
//! as in Redis. A value in its small encoding (listpack, intset) is returned whole with cursor 0
//! whatever COUNT says, as Redis does. A big one is walked in element order: a cursor number
//! names the position `1 | last element returned` (the leading byte lets the empty element be a
//! position too), pages hold at most COUNT elements and never more than [`MAX_PAGE`], and MATCH
//! filters a page after it was read, so a page may come back empty with a non-zero cursor.

use bytes::Bytes;
use formats::glob::string_match;
use formats::resp::Reply;

use crate::commands::args::parse_i64;
use crate::error::CommandError;
use crate::server::Ctx;

/// Redis's default COUNT.
const DEFAULT_COUNT: usize = 10;
/// The largest page read at once, whatever COUNT asks for.
pub const MAX_PAGE: usize = 1024;

/// `[MATCH pattern] [COUNT count]`.
pub struct ScanOptions<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    /// Parses the options after `key cursor` (`args[3..]`).
    pub fn parse(args: &'a [Bytes]) -> Result<ScanOptions<'a>, CommandError> {
        let mut options = ScanOptions {
            count: DEFAULT_COUNT,
            pattern: None,
        };
        for pair in args.get(3..).unwrap_or_default().chunks(2) {
            let [option, value] = pair else {
                return Err(CommandError::Syntax);
            };
            if option.eq_ignore_ascii_case(b"count") {
                let count = parse_i64(value)?;
                if count < 1 {
                    return Err(CommandError::Syntax);
                }
                options.count = usize::try_from(count).unwrap_or(usize::MAX);
            } else if option.eq_ignore_ascii_case(b"match") {
                options.pattern = (&value[..] != b"*").then_some(&value[..]);
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(options)
    }

    /// Whether MATCH keeps an element.
    pub fn keeps(&self, element: &[u8]) -> bool {
        self.pattern.is_none_or(|p| string_match(p, element, false))
    }
}

/// One page of a big collection from the position `cursor` names. `read(ctx, after, limit)`
/// returns up to `limit` items following `after` (`None`: from the start) in element order;
/// `element` names an item's element. Returns the page (MATCH not applied) and the next
/// cursor (0 when the walk is over).
pub fn page<T>(
    ctx: &mut Ctx,
    cursor: u64,
    options: &ScanOptions,
    element: impl Fn(&T) -> &[u8],
    read: impl FnOnce(&mut Ctx, Option<&[u8]>, usize) -> Result<Vec<T>, CommandError>,
) -> Result<(Vec<T>, u64), CommandError> {
    let position = ctx.shared.scan_cursors.position(cursor);
    let after = position.get(1..).filter(|_| position.first() == Some(&1));
    let limit = options.count.min(MAX_PAGE);
    // One more than the page tells whether the walk is over.
    let mut items = read(ctx, after, limit + 1)?;
    if items.len() <= limit {
        return Ok((items, 0));
    }
    items.truncate(limit);
    let mut next = vec![1];
    next.extend_from_slice(items.last().map(&element).unwrap_or_default());
    Ok((items, ctx.shared.scan_cursors.issue(next)))
}

/// The reply `[cursor, [items...]]`.
pub fn reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}

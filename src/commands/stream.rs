//! Streams and consumer groups, as Redis 7.0 has them.
//!
//! - [`id`]: entry IDs and the ways commands read them;
//! - [`store`]: the engine encoding (entries, Redis's node boundaries, groups, pending entries,
//!   consumers as element records) and the operations on it;
//! - [`entries`]: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE, XSETID;
//! - [`read`]: XREAD and XREADGROUP, blocking included;
//! - [`group`]: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM;
//! - [`info`]: XINFO STREAM / GROUPS / CONSUMERS.
//!
//! Consumer-group bookkeeping follows Redis's: `entries-read` and lag are kept with the same
//! estimates ([`lag`]), so XINFO agrees with Redis after deletions and XSETID.

pub mod entries;
pub mod group;
pub mod id;
pub mod info;
pub mod read;
pub mod store;

use bytes::Bytes;
use formats::resp::Reply;

use id::StreamId;
use store::{Entry, Group, Stream};

/// An ID as replies carry it: a bulk string.
pub fn id_reply(id: StreamId) -> Reply {
    Reply::bulk(id.text())
}

/// `[id, [field, value, ...]]`.
pub fn entry_reply(entry: Entry) -> Reply {
    let flat = entry
        .pairs
        .into_iter()
        .flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)])
        .collect();
    Reply::Array(vec![id_reply(entry.id), Reply::Array(flat)])
}

pub fn entries_reply(entries: Vec<Entry>) -> Reply {
    Reply::Array(entries.into_iter().map(entry_reply).collect())
}

/// The text of a key or name inside an error message (Redis prints it with `%s`).
pub fn shown(bytes: &Bytes) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Redis's lag bookkeeping (SCG_INVALID_ENTRIES_READ is `None`).
pub mod lag {
    use super::{Group, Stream, StreamId};

    /// Whether a tombstone may lie in `start..=end` (Redis's streamRangeHasTombstones).
    pub fn has_tombstones(stream: &Stream, start: StreamId, end: StreamId) -> bool {
        let state = &stream.state;
        if stream.is_empty() || state.max_deleted.is_zero() {
            return false;
        }
        if state.first_id > state.max_deleted {
            return false;
        }
        start <= state.max_deleted && state.max_deleted <= end
    }

    /// The logical read counter of `id` (Redis's streamEstimateDistanceFromFirstEverEntry).
    pub fn entries_read_at(stream: &Stream, id: StreamId) -> Option<u64> {
        let state = &stream.state;
        if state.entries_added == 0 {
            return Some(0);
        }
        if stream.is_empty() && id <= state.last_id {
            return Some(state.entries_added);
        }
        if id == state.last_id {
            return Some(state.entries_added);
        }
        if id > state.last_id {
            return None;
        }
        if state.max_deleted.is_zero() || state.max_deleted < state.first_id {
            if id < state.first_id {
                return Some(state.entries_added - stream.len());
            }
            if id == state.first_id {
                return Some(state.entries_added - stream.len() + 1);
            }
        }
        None
    }

    /// A group's lag (`None`: unknown), as XINFO reports it; negative when a group was told
    /// it read more than the stream ever had.
    pub fn of_group(stream: &Stream, group: &Group) -> Option<i64> {
        let added = stream.state.entries_added as i64;
        if added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read {
            if !has_tombstones(stream, group.last_id, StreamId::MAX) {
                return Some(added.wrapping_sub(read as i64));
            }
        }
        entries_read_at(stream, group.last_id).map(|read| added.wrapping_sub(read as i64))
    }

    /// Moves a group's counter when it delivers entry `id` past its last ID (XREADGROUP).
    pub fn advance(stream: &Stream, group: &mut Group, id: StreamId) {
        if let Some(read) = group.entries_read {
            if !has_tombstones(stream, id, StreamId::MAX) {
                group.entries_read = Some(read + 1);
                group.last_id = id;
                return;
            }
        }
        if stream.state.entries_added > 0 {
            group.entries_read = entries_read_at(stream, id);
        }
        group.last_id = id;
    }
}

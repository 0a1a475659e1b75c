//! Keyspace notifications (`notify-keyspace-events`).
//!
//! Commands report what they did to a key with [`Ctx::notify`](super::Ctx::notify), naming the
//! event class and the event exactly as Redis 7.0's `notifyKeyspaceEvent` calls do (class
//! `STRING` and event `"set"` for SET, class `GENERIC` and `"del"` for DEL, ...). The events are
//! buffered in the command's context and published after its batch commits, in the order the
//! command produced them, on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` as the
//! configured flags select ([`super::pubsub::publish_keyspace_events`]). Nothing is recorded
//! for a class the flags leave out, so notifications cost nothing while they are off. The
//! `expired` events of lazy expiry come from `Ctx::lookup_in`, those of the active cycle from
//! [`super::expiry`]; `new` (a key added) from `Ctx::put_in`, `keymiss` from `Ctx::lookup_read`.

/// Event classes: Redis's `NOTIFY_*` bits, with the flag characters of `notify-keyspace-events`.
pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const MODULE: u32 = 1 << 13; // d
pub const NEW: u32 = 1 << 14; // n

/// One keyspace event produced by a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub class: u32,
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

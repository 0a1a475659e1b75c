//! MULTI/EXEC state and WATCH invalidation, with Redis 7.0's rules.
//!
//! A client in MULTI has its commands queued instead of executed (all but EXEC, DISCARD, MULTI,
//! WATCH, QUIT and RESET); a command rejected while queueing (unknown, wrong arity, not allowed
//! in a transaction, NOAUTH) flags the transaction so that EXEC answers `EXECABORT`. EXEC runs the
//! queue inside the one engine transaction of the EXEC command, so the block commits as one batch
//! and is atomic to every observer.
//!
//! WATCH remembers (db, key) pairs per client, and the server keeps the reverse index. After
//! every batch commits, the keys it changed (creation, overwrite, deletion, lazy or active
//! expiry) mark their watchers "dirty", and a dirty client's EXEC answers a null array. As in
//! Redis 7.0, a key that was already logically expired when it was watched does not dirty the
//! client when its deletion is finally applied (logically nothing changed), but a watched key
//! that expires after WATCH does (checked at EXEC). FLUSHDB, FLUSHALL and SWAPDB touch the
//! watched keys that exist in the databases they empty or swap.

use std::collections::HashMap;

use bytes::Bytes;

use super::{ClientState, Ctx, Shared};
use crate::error::CommandError;

/// A client's open MULTI block.
#[derive(Debug, Default)]
pub struct Multi {
    /// Queued commands, in order.
    pub queue: Vec<Vec<Bytes>>,
    /// Set when a command was rejected while queueing: EXEC must abort.
    pub failed: bool,
}

/// One key a client watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
    /// The key existed but was logically expired when WATCH ran.
    pub expired: bool,
}

/// (db, key) → the clients watching it, in WATCH order.
#[derive(Default)]
pub struct Watchers {
    by_key: HashMap<(usize, Vec<u8>), Vec<u64>>,
}

impl Watchers {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Registers `client` as a watcher of `key` (once).
    pub fn add(&mut self, client: &mut ClientState, db: usize, key: &[u8], expired: bool) {
        if client.watched.iter().any(|w| w.db == db && w.key == key) {
            return;
        }
        client.watched.push(WatchedKey {
            db,
            key: key.to_vec(),
            expired,
        });
        self.by_key
            .entry((db, key.to_vec()))
            .or_default()
            .push(client.id);
    }

    /// Forgets every key `client` watches and clears its dirty flag (Redis's unwatchAllKeys).
    pub fn unwatch_all(&mut self, client: &mut ClientState) {
        for watched in client.watched.drain(..) {
            let id = (watched.db, watched.key);
            if let Some(clients) = self.by_key.get_mut(&id) {
                clients.retain(|c| *c != client.id);
                if clients.is_empty() {
                    self.by_key.remove(&id);
                }
            }
        }
        client.dirty_cas = false;
    }

    /// The clients watching `key` of `db`.
    fn watching(&self, db: usize, key: &[u8]) -> Option<&Vec<u64>> {
        self.by_key.get(&(db, key.to_vec()))
    }

    /// Every watched key of database `db`.
    fn keys_in(&self, db: usize) -> Vec<Vec<u8>> {
        self.by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

/// Calls `f` with every client watching `key` of `db` and that client's [`WatchedKey`].
/// `current` is the client whose command runs, lent out of the registry while it executes.
fn for_each_watcher(
    shared: &mut Shared,
    mut current: Option<&mut ClientState>,
    db: usize,
    key: &[u8],
    mut f: impl FnMut(&mut WatchedKey) -> bool,
) {
    let Some(ids) = shared.watchers.watching(db, key).cloned() else {
        return;
    };
    for id in ids {
        let client = match current.as_deref_mut() {
            Some(client) if client.id == id => client,
            _ => match shared.clients.get_mut(&id) {
                Some(client) => client,
                None => continue,
            },
        };
        let Some(watched) = client
            .watched
            .iter_mut()
            .find(|w| w.db == db && w.key == key)
        else {
            continue;
        };
        if f(watched) {
            client.dirty_cas = true;
        }
    }
}

/// Applies one changed key to its watchers (Redis's touchWatchedKey). `exists` says whether the
/// key exists after the change; `current` is the client whose command changed it, if any.
pub fn touch(
    shared: &mut Shared,
    current: Option<&mut ClientState>,
    db: usize,
    key: &[u8],
    exists: bool,
) {
    for_each_watcher(shared, current, db, key, |watched| {
        if watched.expired && !exists {
            // The key was already logically gone when watched; deleting it changes nothing,
            // and from now on it is an ordinary missing key.
            watched.expired = false;
            return false;
        }
        true
    });
}

/// Touches the watched keys of database `emptied` before FLUSHDB/FLUSHALL empty it or SWAPDB
/// replaces its contents with `replaced_with`'s (Redis's touchAllWatchedKeysInDb).
pub fn touch_db(
    ctx: &mut Ctx,
    emptied: usize,
    replaced_with: Option<usize>,
) -> Result<(), CommandError> {
    for key in ctx.shared.watchers.keys_in(emptied) {
        let in_emptied = ctx.txn.get(emptied, &key)?.is_some();
        let replacement = match replaced_with {
            Some(other) => ctx.txn.get(other, &key)?.map(|m| m.is_expired(ctx.now_ms)),
            None => None,
        };
        if !in_emptied && replacement.is_none() {
            continue;
        }
        for_each_watcher(
            ctx.shared,
            Some(&mut *ctx.client),
            emptied,
            &key,
            |watched| {
                match replacement {
                    // An expired key now deleted: no logical change.
                    None if watched.expired => {
                        watched.expired = false;
                        false
                    }
                    // An expired key replaced by an expired key stays expired.
                    Some(true) if watched.expired => false,
                    // A missing key replaced by an expired key.
                    Some(true) if !in_emptied => {
                        watched.expired = true;
                        false
                    }
                    _ => true,
                }
            },
        );
    }
    Ok(())
}

/// Whether a key the client watches expired after it was watched (Redis 7.0's
/// isWatchedKeyExpired, checked by EXEC).
pub fn watched_key_expired(ctx: &mut Ctx) -> Result<bool, CommandError> {
    let watched = ctx.client.watched.clone();
    for w in watched.iter().filter(|w| !w.expired) {
        if ctx
            .txn
            .get(w.db, &w.key)?
            .is_some_and(|m| m.is_expired(ctx.now_ms))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a command is queued inside MULTI (everything but the commands that drive the
/// transaction itself and the connection-level QUIT and RESET).
pub fn is_queued(name: &str) -> bool {
    !matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

//! What a command handler works with: the server, the calling client, the engine transaction,
//! and the keyspace rules every command shares (lazy expiry, type checks, dirty counting).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::{Kind, Meta, Txn};
use formats::resp::Reply;

use super::blocking::{Blocked, ServeFn};
use super::notify::{self, Event};
use super::propagate::{CallPropagation, Op};
use super::{stats::Stats, ClientState, Server, Shared};
use crate::error::CommandError;

/// Things a command asks the connection to do after its reply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct After {
    /// Close the connection once the reply is written (QUIT, CLIENT KILL of oneself).
    pub close: bool,
    /// The connection stops running commands and does something else (see [`Handover`]).
    pub handover: Option<Handover>,
}

/// What a connection does instead of running the next command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// PSYNC / SYNC: it becomes a replica link (`replication::primary`).
    Sync(crate::replication::primary::SyncRequest),
    /// WAIT: it waits until `replicas` replicas acknowledged `offset`, or `deadline` passes,
    /// then replies with how many did.
    Wait {
        offset: i64,
        replicas: i64,
        deadline: Option<std::time::Instant>,
    },
}

/// The execution context of one command (or one MULTI/EXEC block).
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub shared: &'a mut Shared,
    pub client: &'a mut ClientState,
    pub txn: Txn<'a>,
    /// Command time: one clock reading per command, as Redis uses for expiry decisions.
    pub now_ms: i64,
    pub after: After,
    /// Number of keyspace changes this command made (INFO `rdb_changes_since_last_save`).
    pub dirty: u64,
    /// Keyspace events to publish once the batch commits (see [`super::notify`]).
    pub events: Vec<Event>,
    /// Set by a blocking command that found nothing to serve (see [`Ctx::block`]).
    pub blocked: Option<Blocked>,
    /// Keys (db, key) ready for blocked clients although their record did not change: XGROUP
    /// DESTROY wakes the group's readers (with an error) as Redis signals the key.
    pub signalled: Vec<(usize, Vec<u8>)>,
    /// What this execution unit propagates, in order (see [`super::propagate`]).
    pub ops: Vec<Op>,
    /// The running command's own propagation requests (reset by every `dispatch::call`).
    pub call_prop: CallPropagation,
    /// The last clock reading of [`super::dispatch::call`]'s statistics: a call made inside
    /// another (EXEC's queued commands) starts where the previous reading left off, so each
    /// call reads the clock once.
    pub clock: Option<std::time::Instant>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        server: &'a Server,
        shared: &'a mut Shared,
        client: &'a mut ClientState,
        now_ms: i64,
    ) -> Ctx<'a> {
        Ctx {
            server,
            shared,
            client,
            txn: Txn::new(&server.engine),
            now_ms,
            after: After::default(),
            dirty: 0,
            events: Vec::new(),
            blocked: None,
            signalled: Vec::new(),
            ops: Vec::new(),
            call_prop: CallPropagation::default(),
            clock: None,
        }
    }

    /// Propagates `args` instead of the running command (Redis's rewriteClientCommandVector).
    pub fn rewrite_propagated(&mut self, args: Vec<Bytes>) {
        self.call_prop.rewritten = Some(args);
    }

    /// Propagates `args` (in the client's database) in addition to whatever the running command
    /// propagates, before it (Redis's alsoPropagate).
    pub fn also_propagate(&mut self, args: Vec<Bytes>) {
        let db = self.client.db;
        self.also_propagate_in(db, args);
    }

    /// [`Ctx::also_propagate`] for database `db`.
    pub fn also_propagate_in(&mut self, db: usize, args: Vec<Bytes>) {
        if self.server.propagating.load(Ordering::Relaxed) {
            self.ops.push(Op { db, args });
        }
    }

    /// The running command deleted `key` of its database because the expire time it was given
    /// has passed: it propagates as that deletion (DEL, or UNLINK with `lazyfree-lazy-expire`),
    /// not as itself (EXPIRE with a past time, GETEX EXAT ...).
    pub fn propagate_as_expired(&mut self, key: &[u8]) {
        let lazy = self
            .server
            .tunables
            .lazyfree_lazy_expire
            .load(Ordering::Relaxed);
        self.prevent_propagation();
        let db = self.client.db;
        self.propagate_deletion(db, key, lazy);
    }

    /// The running command removed `key` whole as a side effect (SPOP of every member, RESTORE
    /// with a past TTL over an existing key): it propagates as DEL, or UNLINK with
    /// `lazyfree-lazy-server-del`.
    pub fn propagate_as_server_del(&mut self, key: &[u8]) {
        let lazy = self
            .server
            .tunables
            .lazyfree_lazy_server_del
            .load(Ordering::Relaxed);
        let command: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
        self.rewrite_propagated(vec![
            Bytes::from_static(command),
            Bytes::copy_from_slice(key),
        ]);
    }

    /// The running command itself is not propagated (Redis's preventCommandPropagation).
    pub fn prevent_propagation(&mut self) {
        self.call_prop.prevent = true;
    }

    /// The running command is propagated even if it changed nothing (FLUSHALL on an empty
    /// dataset: Redis's forceCommandPropagation).
    pub fn force_propagation(&mut self) {
        self.call_prop.force = true;
    }

    /// Propagates the deletion of `key` in `db` the way Redis's propagateDeletion does: `UNLINK`
    /// when the deletion was lazy (`lazy` is the lazyfree directive that governs it), else `DEL`.
    pub fn propagate_deletion(&mut self, db: usize, key: &[u8], lazy: bool) {
        let command: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
        self.also_propagate_in(
            db,
            vec![Bytes::from_static(command), Bytes::copy_from_slice(key)],
        );
    }

    /// Whether a blocking command may block now: not inside MULTI/EXEC, where it behaves as if
    /// its timeout had already expired (Redis's CLIENT_DENY_BLOCKING).
    pub fn may_block(&self) -> bool {
        self.client.multi.is_none()
    }

    /// Blocks the client on `keys` of its database (see [`super::blocking`]): the dispatcher
    /// sends no reply now; `serve` answers later from a key that became ready, or the client
    /// gets `timeout_reply` once `timeout` (`None` = never) has passed.
    pub fn block(
        &mut self,
        keys: &[Bytes],
        args: &[Bytes],
        timeout: Option<Duration>,
        serve: ServeFn,
        timeout_reply: Reply,
    ) {
        self.blocked = Some(Blocked {
            db: self.client.db,
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            args: args.to_vec(),
            serve,
            deadline: timeout.map(|t| Instant::now() + t),
            timeout_reply,
            silent: false,
        });
    }

    /// Makes `key` (of the client's database) ready for blocked clients after this command,
    /// changed or not (see [`Ctx::signalled`]).
    pub fn signal_ready(&mut self, key: &[u8]) {
        self.signalled.push((self.client.db, key.to_vec()));
    }

    /// Records a keyspace event on `key` of the client's database (Redis's
    /// `notifyKeyspaceEvent(class, event, key, db)`); `class` is one of [`super::notify`]'s bits.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        self.notify_in(db, class, event, key);
    }

    /// The event of a removal from the collection at `key`, followed by a generic "del" when the
    /// removal `emptied` it (and so deleted the key), in Redis's order.
    pub fn notify_and_del(&mut self, class: u32, event: &'static str, key: &[u8], emptied: bool) {
        self.notify(class, event, key);
        if emptied {
            self.notify(notify::GENERIC, "del", key);
        }
    }

    /// [`Ctx::notify`] for a key of database `db`.
    pub fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        if !self.notifies(class) {
            return;
        }
        self.events.push(Event {
            class,
            event,
            db,
            key: key.to_vec(),
        });
    }

    /// Whether `notify-keyspace-events` publishes events of `class` at all.
    fn notifies(&self, class: u32) -> bool {
        let flags = self
            .server
            .tunables
            .notify_keyspace_events
            .load(Ordering::Relaxed);
        flags & class != 0 && flags & (notify::KEYSPACE | notify::KEYEVENT) != 0
    }

    pub fn db(&self) -> usize {
        self.client.db
    }

    /// A live key's metadata in database `db`, applying lazy expiry: an expired key is deleted
    /// (and counted in `expired_keys`) and reported as missing; a hash's fields whose own expire
    /// time has come are deleted first (the key with its last field). A replica deletes nothing
    /// (its primary sends the DEL): its clients see the key missing, its primary still sees it,
    /// as in Redis 7.0's expireIfNeeded.
    pub fn lookup_in(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        let expired = match self.txn.get(db, key)? {
            None => return Ok(None),
            // A replica leaves due fields to its primary's HDEL, as it leaves keys to its DEL.
            Some(meta)
                if !meta.is_expired(self.now_ms)
                    && meta.field_expire_ms != 0
                    && meta.field_expire_ms <= self.now_ms
                    && !self.server.tunables.replica.load(Ordering::Relaxed) =>
            {
                let meta = meta.clone();
                return crate::commands::hash::store::expire_fields(
                    self,
                    db,
                    key,
                    meta,
                    usize::MAX,
                );
            }
            Some(meta) if !meta.is_expired(self.now_ms) => return Ok(Some(meta.clone())),
            Some(meta) if self.server.tunables.replica.load(Ordering::Relaxed) => {
                return Ok(
                    (self.client.client_type == super::client::ClientType::Primary)
                        .then(|| meta.clone()),
                );
            }
            Some(_) => true,
        };
        if expired {
            self.txn.delete(db, key)?;
            Stats::bump(&self.server.stats.expired_keys, 1);
            self.notify_in(db, notify::EXPIRED, "expired", key);
            let lazy = self
                .server
                .tunables
                .lazyfree_lazy_expire
                .load(Ordering::Relaxed);
            self.propagate_deletion(db, key, lazy);
        }
        Ok(None)
    }

    /// [`Ctx::lookup_in`] for the client's current database.
    pub fn lookup(&mut self, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        self.lookup_in(self.client.db, key)
    }

    /// Like [`Ctx::lookup`], also counting a keyspace hit or miss (read commands).
    pub fn lookup_read(&mut self, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        let found = self.lookup(key)?;
        let counter = if found.is_some() {
            &self.server.stats.keyspace_hits
        } else {
            self.notify(notify::KEY_MISS, "keymiss", key);
            &self.server.stats.keyspace_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(found)
    }

    /// A live key that must be a string (WRONGTYPE otherwise). Counts hits and misses.
    pub fn get_string(&mut self, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        match self.lookup_read(key)? {
            Some(meta) if meta.kind != Kind::String => Err(CommandError::WrongType),
            found => Ok(found),
        }
    }

    /// A live key that must be a string, for a write command (no hit/miss accounting).
    pub fn get_string_for_write(&mut self, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        match self.lookup(key)? {
            Some(meta) if meta.kind != Kind::String => Err(CommandError::WrongType),
            found => Ok(found),
        }
    }

    /// Stores a key in database `db` (creating or replacing it).
    /// A key that did not exist (or had expired) raises the `new` event, as Redis's `dbAdd`.
    pub fn put_in(&mut self, db: usize, key: &[u8], meta: Meta) -> Result<(), CommandError> {
        if self.notifies(notify::NEW)
            && self
                .txn
                .get(db, key)?
                .is_none_or(|old| old.is_expired(self.now_ms))
        {
            self.notify_in(db, notify::NEW, "new", key);
        }
        self.txn.put(db, key, meta)?;
        self.dirty += 1;
        Ok(())
    }

    /// Stores a key in the client's database.
    pub fn put(&mut self, key: &[u8], meta: Meta) -> Result<(), CommandError> {
        self.put_in(self.client.db, key, meta)
    }

    /// Deletes a live key from database `db`; returns whether it existed (expired keys count as
    /// missing, as in Redis).
    pub fn delete_in(&mut self, db: usize, key: &[u8]) -> Result<bool, CommandError> {
        if self.lookup_in(db, key)?.is_none() {
            return Ok(false);
        }
        self.txn.delete(db, key)?;
        self.dirty += 1;
        Ok(true)
    }

    /// Deletes a live key from the client's database.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, CommandError> {
        self.delete_in(self.client.db, key)
    }

    /// Validates a logical database index given by a client.
    pub fn check_db(&self, db: i64) -> Result<usize, CommandError> {
        if db < 0 || db as usize >= self.server.engine.databases() {
            return Err(CommandError::DbIndexOutOfRange);
        }
        Ok(db as usize)
    }
}

//! Pub/Sub: who listens to what, and delivery of messages to subscribers.
//!
//! The server keeps one [`Registry`] (under the execution lock) mapping every channel, pattern
//! and shard channel to the IDs of its subscribers, in subscription order; each client keeps
//! its own side in [`Subscriptions`]. Both sides change together, in the subscribe commands
//! (src/commands/pubsub.rs), at RESET and when a connection closes ([`Registry::forget`]).
//!
//! Delivery ([`publish`]) encodes each message once per protocol of the receiving client (an
//! array in RESP2, a `>` push frame in RESP3) and hands it to the client's push queue
//! ([`ClientSignals::send`]), which its connection task writes out, before the reply of the next
//! command it runs, so a client publishing to itself sees the message before the reply, as in
//! Redis. A subscriber whose queued messages exceed the hard `client-output-buffer-limit` of the
//! pubsub class is disconnected instead of buffering without bound, as Redis does. Keyspace
//! notifications ([`publish_keyspace_events`]) are ordinary publications on
//! `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`, made once a command's batch has
//! committed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use bytes::Bytes;
use formats::glob::string_match;
use formats::resp::Reply;

use super::client::{ClientState, ClientType};
use super::notify::{self, Event};
use super::{Server, Shared};

/// The three Pub/Sub namespaces, with the names their replies and messages carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    pub fn subscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    pub fn unsubscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// One client's subscriptions. Channels are a hash set as in Redis (so unsubscribing from all
/// goes in no defined order); patterns keep their subscription order, as Redis 7.0's list does.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: HashSet<Bytes>,
    pub patterns: Vec<Bytes>,
    pub shard_channels: HashSet<Bytes>,
}

impl Subscriptions {
    /// The count subscribe replies carry: channels and patterns together, shard channels apart
    /// (Redis's `clientSubscriptionsCount` / `clientShardSubscriptionsCount`).
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard_channels.len(),
        }
    }

    /// Every subscription; non-zero puts the client in Pub/Sub mode.
    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    fn contains(&self, kind: Kind, name: &Bytes) -> bool {
        match kind {
            Kind::Channel => self.channels.contains(name),
            Kind::Pattern => self.patterns.contains(name),
            Kind::Shard => self.shard_channels.contains(name),
        }
    }

    fn insert(&mut self, kind: Kind, name: Bytes) {
        match kind {
            Kind::Channel => {
                self.channels.insert(name);
            }
            Kind::Pattern => self.patterns.push(name),
            Kind::Shard => {
                self.shard_channels.insert(name);
            }
        }
    }

    fn remove(&mut self, kind: Kind, name: &Bytes) -> bool {
        match kind {
            Kind::Channel => self.channels.remove(name),
            Kind::Pattern => {
                let before = self.patterns.len();
                self.patterns.retain(|p| p != name);
                self.patterns.len() != before
            }
            Kind::Shard => self.shard_channels.remove(name),
        }
    }

    /// Every name of one kind, in the order unsubscribing from all visits them.
    pub fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.iter().cloned().collect(),
            Kind::Pattern => self.patterns.clone(),
            Kind::Shard => self.shard_channels.iter().cloned().collect(),
        }
    }
}

/// The server side: channel, pattern and shard channel → subscriber IDs in subscription order.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<Bytes, Vec<u64>>,
    patterns: HashMap<Bytes, Vec<u64>>,
    shard_channels: HashMap<Bytes, Vec<u64>>,
}

impl Registry {
    fn map(&self, kind: Kind) -> &HashMap<Bytes, Vec<u64>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn map_mut(&mut self, kind: Kind) -> &mut HashMap<Bytes, Vec<u64>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Subscribes `client`; returns false if it already was subscribed.
    pub fn subscribe(&mut self, client: &mut ClientState, kind: Kind, name: &Bytes) -> bool {
        if client.subscriptions.contains(kind, name) {
            return false;
        }
        client.subscriptions.insert(kind, name.clone());
        self.map_mut(kind)
            .entry(name.clone())
            .or_default()
            .push(client.id);
        if client.client_type == ClientType::Normal {
            client.client_type = ClientType::PubSub;
        }
        true
    }

    /// Unsubscribes `client`; returns false if it was not subscribed. A name nobody listens to
    /// any more is dropped, so that unused channels cost nothing.
    pub fn unsubscribe(&mut self, client: &mut ClientState, kind: Kind, name: &Bytes) -> bool {
        if !client.subscriptions.remove(kind, name) {
            return false;
        }
        let map = self.map_mut(kind);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|id| *id != client.id);
            if ids.is_empty() {
                map.remove(name);
            }
        }
        if client.subscriptions.total() == 0 && client.client_type == ClientType::PubSub {
            client.client_type = ClientType::Normal;
        }
        true
    }

    /// Drops every subscription of a client without replying (RESET, disconnection).
    pub fn forget(&mut self, client: &mut ClientState) {
        for kind in [Kind::Channel, Kind::Shard, Kind::Pattern] {
            for name in client.subscriptions.names(kind) {
                self.unsubscribe(client, kind, &name);
            }
        }
    }

    /// Active channels (or shard channels) matching an optional glob pattern.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind)
            .keys()
            .filter(|name| pattern.is_none_or(|p| string_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// Number of subscribers of one channel (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.map(kind).get(name).map_or(0, Vec::len)
    }

    /// Number of distinct channels, patterns or shard channels (INFO, PUBSUB NUMPAT).
    pub fn len(&self, kind: Kind) -> usize {
        self.map(kind).len()
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }
}

/// A subscribe/unsubscribe confirmation frame: `[subscribe, name, count]`, with a null name
/// when unsubscribing from all found nothing.
pub fn confirmation(verb: &'static str, name: Option<&Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk(verb),
        name.map_or(Reply::Null, |n| Reply::Bulk(n.clone())),
        Reply::Integer(count as i64),
    ])
}

/// A message as one client protocol encodes it, made at most once per protocol.
struct Encoded {
    frame: Reply,
    by_protocol: [Option<Bytes>; 2],
}

impl Encoded {
    fn new(frame: Reply) -> Encoded {
        Encoded {
            frame,
            by_protocol: [None, None],
        }
    }

    fn get(&mut self, protocol: u8) -> Bytes {
        let slot = usize::from(protocol >= 3);
        self.by_protocol[slot]
            .get_or_insert_with(|| self.frame.to_bytes(protocol))
            .clone()
    }
}

/// Publishes `message` on `channel` (a shard channel when `shard`) and returns the number of
/// receivers: channel subscribers plus one per matching (pattern, subscriber) pair.
///
/// `current` is the client executing the command, which is lent out of `shared.clients`.
pub fn publish(
    server: &Server,
    shared: &Shared,
    current: Option<&ClientState>,
    channel: &Bytes,
    message: &Bytes,
    shard: bool,
) -> usize {
    let registry = &shared.pubsub;
    let limit = server.tunables.pubsub_hard_limit.load(Ordering::Relaxed);
    let find = |id: u64| match current {
        Some(c) if c.id == id => Some(c),
        _ => shared.clients.get(&id).map(|c| &**c),
    };
    let mut receivers = 0;
    let kind = if shard { Kind::Shard } else { Kind::Channel };
    if let Some(ids) = registry.map(kind).get(channel) {
        let verb = if shard { "smessage" } else { "message" };
        let mut encoded = Encoded::new(Reply::Push(vec![
            Reply::bulk(verb),
            Reply::Bulk(channel.clone()),
            Reply::Bulk(message.clone()),
        ]));
        for client in ids.iter().filter_map(|id| find(*id)) {
            deliver(client, encoded.get(client.protocol), limit);
            receivers += 1;
        }
    }
    if shard {
        return receivers;
    }
    for (pattern, ids) in &registry.patterns {
        if !string_match(pattern, channel, false) {
            continue;
        }
        let mut encoded = Encoded::new(Reply::Push(vec![
            Reply::bulk("pmessage"),
            Reply::Bulk(pattern.clone()),
            Reply::Bulk(channel.clone()),
            Reply::Bulk(message.clone()),
        ]));
        for client in ids.iter().filter_map(|id| find(*id)) {
            deliver(client, encoded.get(client.protocol), limit);
            receivers += 1;
        }
    }
    receivers
}

/// Queues one encoded message for a subscriber, disconnecting it when it is too far behind.
fn deliver(client: &ClientState, message: Bytes, limit: u64) {
    if client.signals.is_killed() {
        return;
    }
    if !client.signals.send(message, limit) {
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer \
             limits.",
            client.id,
            client.addr
        );
        client.signals.kill();
    }
}

/// Publishes a committed command's keyspace events as `notify-keyspace-events` selects them
/// (Redis's `notifyKeyspaceEvent`).
pub fn publish_keyspace_events(
    server: &Server,
    shared: &Shared,
    current: Option<&ClientState>,
    events: &[Event],
) {
    let flags = server
        .tunables
        .notify_keyspace_events
        .load(Ordering::Relaxed);
    if shared.pubsub.is_empty() {
        return;
    }
    for event in events.iter().filter(|e| flags & e.class != 0) {
        let name = Bytes::from_static(event.event.as_bytes());
        if flags & notify::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", event.db).into_bytes();
            channel.extend_from_slice(&event.key);
            publish(server, shared, current, &channel.into(), &name, false);
        }
        if flags & notify::KEYEVENT != 0 {
            let channel = Bytes::from(format!("__keyevent@{}__:{}", event.db, event.event));
            let key = Bytes::copy_from_slice(&event.key);
            publish(server, shared, current, &channel, &key, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;

    use super::*;
    use crate::server::ClientSignals;

    fn client(id: u64) -> ClientState {
        let (push, _) = mpsc::channel(1);
        let addr = "127.0.0.1:1".parse().expect("address");
        ClientState::new(id, addr, addr, -1, Arc::new(ClientSignals::new(push)))
    }

    #[test]
    fn counts_follow_redis() {
        let mut registry = Registry::default();
        let mut c = client(1);
        let name = Bytes::from_static(b"news");
        assert!(registry.subscribe(&mut c, Kind::Channel, &name));
        assert!(!registry.subscribe(&mut c, Kind::Channel, &name));
        assert!(registry.subscribe(&mut c, Kind::Pattern, &name));
        assert!(registry.subscribe(&mut c, Kind::Shard, &name));
        // Channels and patterns share one count, shard channels have their own.
        assert_eq!(c.subscriptions.count(Kind::Channel), 2);
        assert_eq!(c.subscriptions.count(Kind::Shard), 1);
        assert_eq!(c.client_type, ClientType::PubSub);
        assert_eq!(registry.subscribers(Kind::Channel, b"news"), 1);
        assert_eq!(registry.len(Kind::Pattern), 1);
        assert!(registry.unsubscribe(&mut c, Kind::Channel, &name));
        assert!(!registry.unsubscribe(&mut c, Kind::Channel, &name));
        assert_eq!(registry.subscribers(Kind::Channel, b"news"), 0);
        assert_eq!(registry.len(Kind::Channel), 0);
        registry.forget(&mut c);
        assert!(registry.is_empty());
        assert_eq!(c.subscriptions.total(), 0);
        assert_eq!(c.client_type, ClientType::Normal);
    }

    #[test]
    fn patterns_keep_subscription_order() {
        let mut registry = Registry::default();
        let mut c = client(7);
        for p in ["p3", "p1", "p2"] {
            registry.subscribe(&mut c, Kind::Pattern, &Bytes::from(p));
        }
        assert_eq!(
            c.subscriptions.names(Kind::Pattern),
            vec![Bytes::from("p3"), Bytes::from("p1"), Bytes::from("p2")]
        );
    }

    #[test]
    fn confirmation_frames_in_both_protocols() {
        let frame = confirmation("unsubscribe", None, 0);
        assert_eq!(
            &frame.to_bytes(2)[..],
            b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert_eq!(
            &frame.to_bytes(3)[..],
            b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
        );
    }
}

//! Commands, one file per family. Each family exports `COMMANDS`: its (name, handler) pairs,
//! subcommands named `container|sub` as Redis names them. Arity, flags, key positions and docs
//! come from the one command table (`table`, built from `meta`), never from the handlers.

pub mod args;
pub mod bits;
pub mod client;
pub mod collection;
pub mod command;
pub mod config;
pub mod connection;
pub mod debug;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod info;
pub mod keys;
pub mod list;
pub mod meta;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod table;
pub mod transaction;
pub mod zset;

use table::Handler;

/// Every command rockslot implements.
pub fn registrations() -> Vec<(&'static str, Handler)> {
    [
        bits::COMMANDS,
        client::COMMANDS,
        command::COMMANDS,
        config::COMMANDS,
        connection::COMMANDS,
        debug::COMMANDS,
        function::COMMANDS,
        geo::COMMANDS,
        hash::COMMANDS,
        hash::ttl::COMMANDS,
        hll::COMMANDS,
        info::COMMANDS,
        keys::COMMANDS,
        list::COMMANDS,
        list::blocking::COMMANDS,
        pubsub::COMMANDS,
        replication::COMMANDS,
        server::COMMANDS,
        set::COMMANDS,
        sort::COMMANDS,
        stream::entries::COMMANDS,
        stream::read::COMMANDS,
        stream::group::COMMANDS,
        stream::info::COMMANDS,
        string::COMMANDS,
        transaction::COMMANDS,
        zset::COMMANDS,
        zset::blocking::COMMANDS,
    ]
    .concat()
}

//! Offline tools run as subcommands of the `rockslot` binary, like the `redis-check-*` programs
//! Redis ships: they read files with the same `formats` codecs the node uses and never start a
//! server. `rockslot check-rdb FILE` is [`check_rdb`], `rockslot check-aof [--fix] FILE` is
//! [`check_aof`].

pub mod check_aof;
pub mod check_rdb;

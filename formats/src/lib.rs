//! Sans-IO codecs shared by the rockslot node, its tools and its tests.
//!
//! Every module here works on bytes only: no sockets, no files, no runtime. That keeps the codecs
//! usable from the server, from `rockslot check-rdb` / `check-aof`, from fuzzers and from tests.

pub mod aof;
pub mod glob;
pub mod listpack;
pub mod rdb;
pub mod resp;
pub mod resp_reply;
pub mod slot;
pub mod text;

//! (being written)

use super::table::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];

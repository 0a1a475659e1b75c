//! AOF: Redis's append-only file, its Redis 7 manifest and its command log, without I/O.
//!
//! BACKGROUND. An AOF logs every write as the command that made it, in the RESP multibulk form
//! clients send (`*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument), with a `SELECT`
//! whenever the database changes and `MULTI` ... `EXEC` around transactions. Redis 7.0 may put a
//! `#TS:<unix seconds>\r\n` annotation line before a command (`aof-timestamp-enabled`); any line
//! that starts with `#` is an annotation and is skipped. An AOF rewrite writes the whole dataset
//! again, either as commands or, with `aof-use-rdb-preamble yes`, as an RDB file (magic `REDIS`)
//! that commands then follow.
//!
//! Two layouts exist. Before 7.0 the AOF is one file, `dir/appendfilename` (`appendonly.aof`),
//! with or without an RDB preamble. From 7.0 it is a directory `dir/appenddirname`
//! (`appendonlydir`) holding a *base* file (`appendonly.aof.<seq>.base.rdb` or `.base.aof`, the
//! last rewrite), *incr* files (`appendonly.aof.<seq>.incr.aof`, the commands since, in order)
//! and *history* files (those a rewrite superseded, deleted in the background), all listed by the
//! manifest `appendonly.aof.manifest` ([`manifest`]). A 7.0 server that finds an old single file
//! and no manifest moves the file into the directory as the base of a new manifest.
//!
//! BEHAVIOR. [`manifest`] parses and prints manifests exactly as Redis 7.0's `aof.c` does and
//! names the files; [`reader`] yields the commands of an AOF's command part as Redis's loader
//! (`loadSingleAppendOnlyFile`) reads them, from input fed in chunks of any size; [`check`] reads
//! the same bytes with the stricter grammar of `redis-check-aof`. Replaying the commands, and the
//! RDB part (see [`crate::rdb`]), is the caller's job.
//!
//! FAILURE. A command cut off by the end of the input is *truncated*: Redis either drops the
//! incomplete tail and goes on (`aof-load-truncated yes`, only in the last file) or refuses to
//! start; the reader reports the offset just after the last complete command so the caller can
//! truncate there. Anything else that is not the grammar (a line that starts with neither `*` nor
//! `#`, an argument count below one, an argument without `$`) is a *format* error at the offset
//! of the bad command, which Redis never loads past. No input makes these readers panic.

pub mod check;
pub mod manifest;
pub mod reader;

mod input;

pub use manifest::{AofFile, FileKind, Manifest, ManifestError};
pub use reader::{AofError, ErrorKind, Item, Poll, Reader};

/// The longest line Redis's loader reads at once (`AOF_ANNOTATION_LINE_MAX_LEN`, a `fgets`
/// buffer): longer lines are read in pieces of one byte less.
pub const LINE_MAX: usize = 1024;

/// The first bytes of an RDB file: an AOF that starts with them has an RDB part.
pub const RDB_MAGIC: &[u8] = b"REDIS";

/// Whether a file starting with `head` (its first five bytes or more) begins with an RDB part,
/// as Redis's loader decides it.
pub fn starts_with_rdb(head: &[u8]) -> bool {
    head.starts_with(RDB_MAGIC)
}

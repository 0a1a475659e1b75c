//! Propagation: the deterministic command stream that the AOF (and the replication stream)
//! receive, with Redis 7.0's rules.
//!
//! A command that changed the dataset (its dirty count moved) is propagated after it ran, in
//! the form a replica or an AOF loader can apply without guessing: handlers whose effect depends
//! on the clock or on chance rewrite what is propagated (`SET k v EX 10` → `SET k v PXAT <ms>`,
//! `EXPIRE` → `PEXPIREAT`, `SPOP` → `SREM`, `INCRBYFLOAT` → `SET ... KEEPTTL`, a served `BLPOP`
//! → `LPOP`, `XADD k * ...` → the ID it chose, ...), add commands of their own (a key found
//! expired is propagated as `DEL`, as Redis's `propagateDeletion`), or propagate nothing
//! (Redis's `preventCommandPropagation`); FLUSHALL and FLUSHDB are propagated even when nothing
//! changed (`forceCommandPropagation`).
//!
//! Everything one execution unit (a command, a whole MULTI/EXEC block, one blocked client
//! served, one expired key) propagates is an ordered list of [`Op`]s, each naming the database it
//! applies to. A unit of more than one op is wrapped in `MULTI` ... `EXEC` so that it stays
//! atomic for whoever replays it (Redis 7.0's propagatePendingCommands: EXEC itself is never
//! propagated, a MULTI block with a single write propagates that write alone). Each sink keeps
//! its own idea of the selected database and emits `SELECT` when an op's database differs
//! ([`StreamEncoder`]), the way Redis tracks `slaveseldb` and `aof_selected_db` separately.

use bytes::{Bytes, BytesMut};
use formats::resp::encode_command;

use crate::persistence::aof::writer::AofWriter;
use crate::replication::ReplState;

/// Where the stream goes. Only changed with the execution lock held (commits), or briefly to
/// hand the pending bytes to the OS.
pub struct Feed {
    /// The AOF, while `appendonly` is on.
    pub aof: Option<AofWriter>,
    /// The replication stream, its backlog and the replicas.
    pub repl: ReplState,
}

impl Feed {
    /// Whether anything takes the stream (commands need not record what they propagate
    /// otherwise: see `Server::propagating`).
    pub fn wanted(&self) -> bool {
        self.aof.is_some() || self.repl.active()
    }
}

/// One command of the stream: its arguments and the database it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// What the running command asked about its own propagation (Redis's per-call client flags
/// and `rewriteClientCommandVector`).
#[derive(Debug, Default)]
pub struct CallPropagation {
    /// Propagate these arguments instead of the command as it arrived.
    pub rewritten: Option<Vec<Bytes>>,
    /// Do not propagate the command itself (ops added with `also_propagate` still go).
    pub prevent: bool,
    /// Propagate the command even if it changed nothing.
    pub force: bool,
}

/// How a committed batch's ops form execution units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// One unit (a command, a MULTI/EXEC block, a served blocked client).
    Atomic,
    /// One unit per op (the active expire cycle: each expired key on its own).
    EachOp,
}

/// Encodes execution units for one sink, remembering which database the sink has selected.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    selected: Option<usize>,
}

impl StreamEncoder {
    /// Forgets the selected database: the next op starts with a `SELECT` (a new AOF file, a new
    /// replication history).
    pub fn reset(&mut self) {
        self.selected = None;
    }

    /// Appends a batch's ops, as one atomic unit or as one unit per op.
    pub fn encode(&mut self, ops: &[Op], unit: Unit, out: &mut BytesMut) {
        match unit {
            Unit::Atomic => self.encode_unit(ops, out),
            Unit::EachOp => ops
                .iter()
                .for_each(|op| self.encode_unit(std::slice::from_ref(op), out)),
        }
    }

    /// Appends one execution unit to `out`.
    fn encode_unit(&mut self, ops: &[Op], out: &mut BytesMut) {
        let wrap = ops.len() > 1;
        for (i, op) in ops.iter().enumerate() {
            self.select(op.db, out);
            if wrap && i == 0 {
                encode_command(&[&b"MULTI"[..]], out);
            }
            encode_command(&op.args, out);
        }
        if wrap {
            encode_command(&[&b"EXEC"[..]], out);
        }
    }

    fn select(&mut self, db: usize, out: &mut BytesMut) {
        if self.selected != Some(db) {
            encode_command(&[&b"SELECT"[..], db.to_string().as_bytes()], out);
            self.selected = Some(db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(db: usize, args: &[&str]) -> Op {
        Op {
            db,
            args: args.iter().map(|a| Bytes::from(a.to_string())).collect(),
        }
    }

    fn encode(encoder: &mut StreamEncoder, ops: &[Op]) -> String {
        let mut out = BytesMut::new();
        encoder.encode_unit(ops, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn selects_once_per_database_change() {
        let mut encoder = StreamEncoder::default();
        assert_eq!(
            encode(&mut encoder, &[op(0, &["SET", "k", "v"])]),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        );
        assert_eq!(
            encode(&mut encoder, &[op(0, &["DEL", "k"])]),
            "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        );
        assert!(encode(&mut encoder, &[op(3, &["DEL", "k"])])
            .starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"));
        encoder.reset();
        assert!(encode(&mut encoder, &[op(3, &["DEL", "k"])]).starts_with("*2\r\n$6\r\nSELECT"));
    }

    #[test]
    fn wraps_units_of_several_ops_in_multi_exec() {
        let mut encoder = StreamEncoder::default();
        let text = encode(
            &mut encoder,
            &[op(1, &["DEL", "a"]), op(2, &["SET", "b", "1"])],
        );
        assert_eq!(
            text,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n\
             *1\r\n$4\r\nEXEC\r\n"
        );
    }
}

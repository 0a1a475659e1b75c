//! Generated propagation test: proptest draws command sequences from every area (the `mixed`
//! strategy of `generated.rs`), rockslot runs them with `appendonly yes`, and Debian's
//! redis-server 7.0.15 then loads a copy of rockslot's `appendonlydir`: both must report the
//! same `DEBUG DIGEST`. The AOF holds exactly the stream replicas receive, so this checks every
//! command's propagated form (relative expiries made absolute, random pops as SREM, float
//! increments as SET, server-chosen stream IDs and approximate trims made exact, consumer-group
//! reads as XCLAIM and XGROUP SETID, lazy expiry as DEL, MULTI/EXEC wrapping, SELECT).
//!
//! The replies are not compared here (`generated.rs` does that); a failing case is shrunk to a
//! minimal sequence whose AOF real Redis loads into a different dataset. `PROPTEST_CASES=<n>`
//! changes the number of sequences (default [`CASES`]).

use std::cell::RefCell;

use proptest::collection::vec;
use proptest::strategy::Strategy;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use super::generated::{config, mixed_steps};
use super::generators::GenCtx;
use super::Cmd;
use crate::aof::{redis_loading_aof, AOF_ON};
use crate::support::resp::Conn;
use crate::support::server::{Flavor, Server};

/// Sequences per run; each costs a start of redis-server on the AOF.
const CASES: u32 = 48;
const MAX_LEN: usize = 100;
const REGRESSIONS: &str = "tests/proptest-regressions/differential-aof.txt";

fn digest(conn: &mut Conn) -> Result<Vec<u8>, String> {
    let reply = conn.call(&["DEBUG", "DIGEST"]).map_err(|e| e.to_string())?;
    reply
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("DEBUG DIGEST replied {reply:?}"))
}

/// Runs `cmds` after a FLUSHALL (which the AOF records too) and compares the digests.
fn run_case(server: &Server, cmds: &[Cmd]) -> Result<(), String> {
    let mut conn = Conn::connect(server.port()).map_err(|e| e.to_string())?;
    conn.call(&["FLUSHALL"]).map_err(|e| e.to_string())?;
    for cmd in cmds {
        conn.call(&cmd.args).map_err(|e| format!("{cmd:?}: {e}"))?;
    }
    // A fresh connection: the sequence may end inside MULTI or in another database.
    drop(conn);
    let mut conn = Conn::connect(server.port()).map_err(|e| e.to_string())?;
    let ours = digest(&mut conn)?;
    let redis = redis_loading_aof(&server.data_dir().join("appendonlydir"));
    let theirs = digest(&mut redis.conn())?;
    if ours != theirs {
        return Err(format!(
            "rockslot's digest {} but redis-server loading its AOF has {} after:\n{cmds:#?}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        ));
    }
    Ok(())
}

#[test]
fn real_redis_replaying_the_aof_reaches_the_same_dataset() {
    let server = RefCell::new(Server::start(Flavor::Rockslot, AOF_ON));
    let mut runner = TestRunner::new(config(REGRESSIONS, CASES));
    let sequence = vec(mixed_steps(&GenCtx::now()), 1..=MAX_LEN).prop_map(|steps| steps.concat());
    let result = runner.run(&sequence, |cmds| {
        let mut server = server.borrow_mut();
        if !server.is_running() {
            server.start_again();
        }
        run_case(&server, &cmds).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, _)) => panic!("AOF replay differs after shrinking:\n{reason}"),
        Err(TestError::Abort(reason)) => panic!("generated AOF run aborted: {reason}"),
    }
}

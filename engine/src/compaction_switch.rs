//! Automatic compactions, turned off while bulk loads ingest table files and back on when the
//! last one ends.
//!
//! Each chunk a bulk load ingests overlaps the ones before it, so every ingest would set
//! compactions going on the cores the load needs; they run once the load is over instead. Turning
//! them off or on is one `SetOptions` per column family, and RocksDB rewrites and re-reads its
//! whole OPTIONS file for each: about a tenth of a second for the slot families and the expire
//! indexes, which a load would otherwise spend on its critical path. So the load's writer thread
//! turns them off before its first ingest (it waits for the parser most of the time), and a
//! thread of its own turns them back on after the load (the node serves meanwhile).
//!
//! Loads may follow each other (DEBUG RELOAD in a loop): the switch counts the loads in progress
//! under its lock, so a late "back on" never lands in the middle of the next load.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rocksdb::DB;

use crate::Result;

pub(crate) struct CompactionSwitch {
    db: Arc<DB>,
    /// The families switched: the slot families and the expire indexes.
    names: Vec<String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bulk loads that turned compactions off and have not ended.
    loads: usize,
    /// Threads turning them back on that may not have finished.
    turning_on: Vec<JoinHandle<()>>,
}

impl CompactionSwitch {
    pub(crate) fn new(db: Arc<DB>, names: Vec<String>) -> Arc<CompactionSwitch> {
        Arc::new(CompactionSwitch {
            db,
            names,
            state: Mutex::new(State::default()),
        })
    }

    /// A bulk load is about to ingest: compactions go off. Whatever the outcome, the load
    /// counts as started: [`Self::load_ended`] follows.
    pub(crate) fn load_started(&self) -> Result<()> {
        let mut state = self.state.lock();
        state.loads += 1;
        match state.loads {
            1 => self.set(false),
            _ => Ok(()),
        }
    }

    /// A load that called [`Self::load_started`] is over: compactions go back on, on a thread
    /// of their own, unless another load started meanwhile.
    pub(crate) fn load_ended(switch: &Arc<CompactionSwitch>) {
        let mut state = switch.state.lock();
        state.loads = state.loads.saturating_sub(1);
        let background = Arc::clone(switch);
        let spawned = std::thread::Builder::new()
            .name("compactions-on".into())
            .spawn(move || background.turn_on_when_idle());
        match spawned {
            Ok(thread) => {
                state.turning_on.retain(|t| !t.is_finished());
                state.turning_on.push(thread);
            }
            Err(e) => {
                tracing::warn!("cannot start a thread to turn compactions on: {e}");
                drop(state);
                switch.turn_on_when_idle();
            }
        }
    }

    fn turn_on_when_idle(&self) {
        let state = self.state.lock();
        if state.loads == 0 {
            if let Err(e) = self.set(true) {
                tracing::warn!("cannot turn compactions back on after a bulk load: {e}");
            }
        }
    }

    /// Waits for the threads turning compactions on (before the database closes).
    pub(crate) fn settle(&self) {
        let threads = std::mem::take(&mut self.state.lock().turning_on);
        for thread in threads {
            let _ = thread.join();
        }
    }

    fn set(&self, on: bool) -> Result<()> {
        let value = if on { "false" } else { "true" };
        for name in &self.names {
            if let Some(family) = self.db.cf_handle(name) {
                self.db
                    .set_options_cf(family, &[("disable_auto_compactions", value)])?;
            }
        }
        Ok(())
    }
}

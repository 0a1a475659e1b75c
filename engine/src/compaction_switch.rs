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
//! under its lock, so a late "back on" never lands in the middle of the next load. A node may
//! open its families with compactions off and count its startup as a load in progress
//! (`EngineOptions::compactions_after_startup`): a load at startup then switches nothing.

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

struct State {
    /// Bulk loads that turned compactions off and have not ended (the startup counting as one
    /// while `startup_pending`).
    loads: usize,
    startup_pending: bool,
    /// Threads turning them back on that may not have finished.
    turning_on: Vec<JoinHandle<()>>,
}

impl CompactionSwitch {
    /// `off_at_startup`: the families were opened with compactions off, which counts as a load
    /// until [`Self::startup_pending`] first answers.
    pub(crate) fn new(
        db: Arc<DB>,
        names: Vec<String>,
        off_at_startup: bool,
    ) -> Arc<CompactionSwitch> {
        Arc::new(CompactionSwitch {
            db,
            names,
            state: Mutex::new(State {
                loads: usize::from(off_at_startup),
                startup_pending: off_at_startup,
                turning_on: Vec::new(),
            }),
        })
    }

    /// Whether the startup still counts as a load; true once at most, the caller then ending it.
    pub(crate) fn startup_pending(&self) -> bool {
        std::mem::take(&mut self.state.lock().startup_pending)
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{Engine, EngineOptions, Meta, Txn};

    /// Writes one key and flushes: one more level-0 file in its family.
    fn one_more_file(engine: &Engine, at: u32) {
        let mut txn = Txn::new(engine);
        let meta = Meta::string(b"v".to_vec(), 0);
        txn.put(0, format!("{{same-slot}}{at}").as_bytes(), meta)
            .unwrap();
        txn.commit(false).unwrap();
        engine.flush().unwrap();
    }

    /// Level-0 files of the (one) slot family.
    fn level0_files(engine: &Engine) -> u64 {
        let family = engine.cf(&engine.family_names[0]);
        let files = engine
            .db
            .property_int_value_cf(family, "rocksdb.num-files-at-level0");
        files.unwrap().unwrap()
    }

    #[test]
    fn compactions_deferred_to_the_end_of_startup_stay_off_through_loads_until_then() {
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions {
            slot_families: 1,
            compactions_after_startup: true,
            ..EngineOptions::default()
        };
        let engine = Engine::open(dir.path(), &options).unwrap();
        // A load started and ended during the startup leaves them off.
        engine.compactions.load_started().unwrap();
        super::CompactionSwitch::load_ended(&engine.compactions);
        engine.compactions.settle();
        for at in 0..6 {
            one_more_file(&engine, at);
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            level0_files(&engine),
            6,
            "compacted before the startup ended"
        );

        engine.startup_done();
        engine.compactions.settle();
        // The next write's flush lets RocksDB see its level-0 files over the trigger.
        one_more_file(&engine, 6);
        let deadline = Instant::now() + Duration::from_secs(20);
        while level0_files(&engine) > 4 {
            assert!(Instant::now() < deadline, "no compaction after the startup");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

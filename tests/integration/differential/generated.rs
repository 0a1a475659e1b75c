//! Generated differential tests: proptest draws command sequences from the generators of one
//! area (or of all areas at once, `mixed`, which also draws DEBUG DIGEST and DIGEST-VALUE), runs
//! each sequence on both servers in RESP2 and in RESP3, and on a difference shrinks it to a
//! minimal sequence that still differs. Every sequence ends with a DEBUG DIGEST, so the whole
//! datasets (every database, value and expire flag) must agree, not only the replies.
//!
//! Reproducing a failure: proptest records the failing case's seed in
//! `tests/proptest-regressions/differential-<area>.txt` and replays recorded seeds first on
//! every run (commit the file to keep a regression). `PROPTEST_RNG_SEED=<n>` fixes the seed of
//! a whole run; `PROPTEST_CASES=<n>` changes the number of sequences (default [`CASES`]).

use std::cell::RefCell;

use proptest::collection::vec;
use proptest::strategy::{BoxedStrategy, Strategy, Union};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use super::generators::{self, GenCtx};
use super::{cmd, Cmd, Pair};

/// Sequences per area. Each runs twice (RESP2 and RESP3), so an area sends about
/// `CASES * MAX_LEN` commands to each server, a few seconds' work.
const CASES: u32 = 256;
/// Longest generated sequence, in steps; lengths are uniform in `1..=MAX_LEN`, short ones help
/// shrinking.
const MAX_LEN: usize = 100;
/// Bound on shrinking, in milliseconds, so a failing run still ends in reasonable time.
pub(crate) const MAX_SHRINK_MS: u32 = 120_000;

/// A generator: the commands of one area as a proptest strategy. A generator draws single
/// commands, or steps of several commands that belong together (see [`Step`]).
type Generator = fn(&GenCtx) -> BoxedStrategy<Vec<Cmd>>;

/// What one draw of an area's `command` strategy adds to a sequence: one command, or several
/// that must stay together (streams: a bulk of XADDs, an XADD that makes a `*` ID
/// deterministic before the XADD using it). Shrinking removes whole steps.
trait Step {
    fn into_cmds(self) -> Vec<Cmd>;
}

impl Step for Cmd {
    fn into_cmds(self) -> Vec<Cmd> {
        vec![self]
    }
}

impl Step for Vec<Cmd> {
    fn into_cmds(self) -> Vec<Cmd> {
        self
    }
}

/// Declares one test per area and the list of all generators the `mixed` test draws from.
macro_rules! generated_tests {
    ($($area:ident),+ $(,)?) => {
        const ALL: &[Generator] =
            &[$(|ctx| generators::$area::command(ctx).prop_map(Step::into_cmds).boxed()),+];
        $(
            #[test]
            fn $area() {
                run(
                    stringify!($area),
                    concat!("tests/proptest-regressions/differential-", stringify!($area), ".txt"),
                    generators::$area::command(&GenCtx::now())
                        .prop_map(Step::into_cmds)
                        .boxed(),
                );
            }
        )+
    };
}

generated_tests!(
    strings,
    bitmaps,
    keyspace,
    expire,
    hashes,
    sets,
    lists,
    transactions,
    hll,
    zsets,
    geo,
    sort,
    streams
);

/// Every area's commands interleaved over the same keys: type clashes and cross-area effects,
/// with dataset and value digests taken along the way.
#[test]
fn mixed() {
    run(
        "mixed",
        "tests/proptest-regressions/differential-mixed.txt",
        mixed_steps(&GenCtx::now()),
    );
}

/// One step of any area, or a DEBUG DIGEST / DIGEST-VALUE.
pub(super) fn mixed_steps(ctx: &GenCtx) -> BoxedStrategy<Vec<Cmd>> {
    let digests = generators::digest::command()
        .prop_map(Step::into_cmds)
        .boxed();
    Union::new(
        ALL.iter()
            .map(|generator| generator(ctx))
            .chain(std::iter::once(digests)),
    )
    .boxed()
}

/// The runner settings of every generated test: seeds of failures recorded in `regressions`,
/// shrinking bounded in time, `cases` sequences unless `PROPTEST_CASES` says otherwise.
pub(crate) fn config(regressions: &'static str, cases: u32) -> Config {
    let mut config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        max_shrink_time: MAX_SHRINK_MS,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

fn run(area: &str, regressions: &'static str, step: BoxedStrategy<Vec<Cmd>>) {
    let config = config(regressions, CASES);
    // The runner wants an `Fn`; the servers are reused across cases, hence the RefCell.
    let pair = RefCell::new(Pair::start());
    let mut runner = TestRunner::new(config);
    let sequence = vec(step, 1..=MAX_LEN).prop_map(|steps| {
        let mut cmds = steps.concat();
        cmds.push(cmd!["DEBUG", "DIGEST"]);
        cmds
    });
    let result = runner.run(&sequence, |cmds| {
        pair.borrow_mut()
            .run_sequence(&cmds)
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        // The reason holds the transcript of the shrunk sequence up to the differing reply.
        Err(TestError::Fail(reason, _)) => {
            panic!("generated {area} sequence differs after shrinking:\n{reason}")
        }
        Err(TestError::Abort(reason)) => panic!("generated {area} run aborted: {reason}"),
    }
}

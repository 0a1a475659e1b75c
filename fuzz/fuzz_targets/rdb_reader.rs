//! Fuzz target: the streaming RDB reader on arbitrary bytes, fed in random chunk sizes.
//!
//! The input is the whole file, so real RDB files make a useful seed corpus as they are. The
//! chunk sizes and the reader options come from a small generator seeded by a hash of the input,
//! which keeps every run of one input reproducible. Two readers read the input: one fed all of
//! it at once, one fed chunk by chunk and polled to the end. The target fails (panics) when the
//! reader panics or never ends, when the two readers disagree on any event or error (the result
//! must not depend on how the input was cut), when an error names an offset past the input, or
//! when a reader asks for more input after it was told the input has ended.

#![no_main]

use formats::rdb::{Options, Poll, RdbError, Reader};
use libfuzzer_sys::fuzz_target;

/// Polls allowed per input byte (plus a constant) before the reader counts as stuck: every poll
/// that yields nothing consumes input or moves to the next part of a value.
const POLLS_PER_BYTE: usize = 64;

fuzz_target!(|data: &[u8]| check(data));

fn check(data: &[u8]) {
    let mut rng = SplitMix64(fnv1a(data));
    let bits = rng.next();
    let options = Options {
        skip_module_aux: bits & 1 == 1,
        skip_module_keys: bits & 2 == 2,
        pre_ga_functions: bits & 4 == 4,
    };
    let mut whole = Reader::new(options);
    whole.feed(data);
    whole.end_input();
    let mut chunked = Reader::new(options);
    let mut fed = 0;
    let mut polls_left = data.len().saturating_mul(POLLS_PER_BYTE) + 1024;
    loop {
        polls_left = polls_left.checked_sub(1).expect("the reader never ends");
        let got = chunked.poll();
        if let Ok(Poll::NeedMore) = got {
            if fed == data.len() {
                chunked.end_input();
            } else {
                let n = chunk_len(&mut rng, data.len() - fed);
                chunked.feed(&data[fed..fed + n]);
                fed += n;
            }
            continue;
        }
        let want = whole.poll();
        assert_eq!(
            format!("{got:?}"),
            format!("{want:?}"),
            "chunked and whole reads disagree"
        );
        match got {
            Ok(Poll::Event(_)) => {}
            Ok(Poll::Done) => {
                assert_eq!(chunked.consumed(), whole.consumed());
                assert!(chunked.consumed() <= data.len() as u64);
                assert_eq!(chunked.poll(), Ok(Poll::Done));
                return;
            }
            Ok(Poll::NeedMore) => unreachable!("handled above"),
            Err(e) => {
                check_error(&e, data);
                assert_eq!(chunked.poll(), Err(e), "errors are sticky");
                return;
            }
        }
    }
}

fn check_error(e: &RdbError, data: &[u8]) {
    assert!(
        e.offset <= data.len() as u64,
        "error offset {} past the input of {} bytes: {e}",
        e.offset,
        data.len()
    );
}

/// A chunk length from 1 to `left`, mostly small (so items straddle chunks), sometimes large.
fn chunk_len(rng: &mut SplitMix64, left: usize) -> usize {
    let r = rng.next();
    let max = match r % 4 {
        0 => 1,
        1 => 16,
        2 => 512,
        _ => 64 * 1024,
    };
    1 + ((r >> 8) as usize % max).min(left - 1)
}

/// FNV-1a over the input: the seed of the chunking.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64, a small deterministic generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

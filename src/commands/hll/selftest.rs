//! PFSELFTEST: Redis's self-test of the register code. It sets random values into every dense
//! register a thousand times and reads them back, then adds ten million distinct 64-bit
//! elements to a dense and a sparse HLL side by side, checking at every power of ten that the
//! sparse one is still sparse while small, that both estimate the same, and that the error
//! stays within six standard errors.

use rand::Rng;

use super::dense::{self, REGISTERS};
use super::value::{self, HEADER};

const CYCLES: usize = 1000;
const ELEMENTS: u64 = 10_000_000;

/// Runs the test; the error is the `TESTFAILED ...` reply.
pub fn run(max_sparse: u64) -> Result<(), String> {
    let mut rng = rand::thread_rng();
    let mut registers = vec![0u8; dense::BYTES];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..CYCLES {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = rng.gen_range(0..64);
            dense::set(&mut registers, index, *slot);
        }
        for (index, &want) in expected.iter().enumerate() {
            let got = dense::get(&registers, index);
            if got != want {
                return Err(format!(
                    "TESTFAILED Register {index} should be {want} but is {got}"
                ));
            }
        }
    }

    let mut dense_hll = value::new_sparse();
    value::make_dense(&mut dense_hll).map_err(|_| "TESTFAILED corrupt HLL".to_string())?;
    dense_hll[HEADER..].fill(0);
    let mut hll = value::new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed: u64 = rng.gen();
    let mut checkpoint = 1;
    for j in 1..=ELEMENTS {
        let element = (j ^ seed).to_ne_bytes();
        let added = value::add(&mut dense_hll, &element, max_sparse)
            .and_then(|_| value::add(&mut hll, &element, max_sparse));
        if added.is_err() {
            return Err("TESTFAILED corrupt HLL".to_string());
        }
        if j != checkpoint {
            continue;
        }
        if j < max_sparse / 2 && value::is_dense(&hll) {
            return Err("TESTFAILED sparse encoding not used".to_string());
        }
        let estimate = value::count(&dense_hll).unwrap_or_default();
        if value::count(&hll).ok() != Some(estimate) {
            return Err("TESTFAILED dense/sparse disagree".to_string());
        }
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        let error = checkpoint.abs_diff(estimate);
        if error > max_error {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

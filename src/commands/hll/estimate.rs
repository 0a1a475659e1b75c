//! The cardinality estimate of Redis 7.0's `hllCount`: Otmar Ertl's improved estimator ("New
//! cardinality estimation algorithms for HyperLogLog sketches", arXiv:1702.01284) over the
//! register histogram, with the same floating-point operations in the same order so the
//! rounded result is Redis's to the unit.

use super::dense::{Histogram, REGISTERS};
use super::hash::Q;

/// 0.5 / ln(2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which compilers and libm compute exactly as this square.
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram, as the unsigned 64-bit value Redis caches and
/// replies (a degenerate histogram gives `llroundl`'s out-of-range result, 2^63).
pub fn cardinality(histogram: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    let estimate = ALPHA_INF * m * m / z;
    // llroundl: halves away from zero, and LLONG_MIN when the result does not fit.
    let rounded = estimate.round();
    if rounded >= i64::MIN as f64 && rounded < -(i64::MIN as f64) {
        rounded as i64 as u64
    } else {
        i64::MIN as u64
    }
}

/// The histogram of one byte per register (`hllRawRegHisto`, PFCOUNT of several keys).
pub fn raw_histogram(registers: &[u8]) -> Histogram {
    let mut histogram = [0; super::dense::HISTOGRAM];
    for &value in registers {
        histogram[usize::from(value & 63)] += 1;
    }
    histogram
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_degenerate_histograms() {
        let mut histogram = [0; super::super::dense::HISTOGRAM];
        histogram[0] = REGISTERS as u64;
        assert_eq!(cardinality(&histogram), 0);
        // Every register at 63 (a hand-made dense string): Redis replies -9223372036854775808.
        let mut histogram = [0; super::super::dense::HISTOGRAM];
        histogram[63] = REGISTERS as u64;
        assert_eq!(cardinality(&histogram) as i64, i64::MIN);
    }

    #[test]
    fn small_counts_are_exact() {
        // One register at 2 (PFADD of "a"): Redis answers 1.
        let mut histogram = [0; super::super::dense::HISTOGRAM];
        histogram[0] = REGISTERS as u64 - 1;
        histogram[2] = 1;
        assert_eq!(cardinality(&histogram), 1);
    }
}

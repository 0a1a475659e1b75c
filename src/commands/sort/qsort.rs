//! The two C sorts whose results SORT and the GEO searches reply in.
//!
//! Redis sorts with the C library's `qsort` when it needs the whole array in order, and with its
//! own `pqsort` (NetBSD's quicksort, only recursing into partitions that overlap the wanted
//! range) when a LIMIT or COUNT asks for part of it. Elements that compare equal end up in an
//! order that depends on the algorithm, and both commands have such ties (SORT ... BY with ALPHA,
//! GEO points at the same distance), so both algorithms are ported step by step:
//! - [`qsort`] is glibc's `qsort`, a top-down merge sort (stable), the algorithm glibc uses
//!   whenever the array fits in memory;
//! - [`pqsort`] is Redis 7.0's `pqsort.c` (without the "no swaps: switch to insertion sort"
//!   shortcut of the BSD original, which Redis dropped).
//!
//! Comparators may be inconsistent (NaN distances): the ports then make the same choices as the
//! C code instead of failing.

use std::cmp::Ordering;

/// glibc's `qsort` (`msort_with_tmp`): a stable top-down merge sort.
pub fn qsort<T, F>(items: &mut Vec<T>, mut cmp: F)
where
    F: FnMut(&T, &T) -> Ordering,
{
    let mut order: Vec<usize> = (0..items.len()).collect();
    let mut tmp = Vec::with_capacity(items.len());
    msort(&mut order, &mut tmp, &mut |a, b| cmp(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

fn msort(b: &mut [usize], tmp: &mut Vec<usize>, cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    msort(&mut b[..n1], tmp, cmp);
    msort(&mut b[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(b[i], b[j]) != Ordering::Greater {
            tmp.push(b[i]);
            i += 1;
        } else {
            tmp.push(b[j]);
            j += 1;
        }
    }
    // What is left of the first half goes after the merged part; the rest of the second half is
    // already in place.
    tmp.extend_from_slice(&b[i..n1]);
    let merged = tmp.len();
    b[..merged].copy_from_slice(tmp);
}

/// Redis's `pqsort(a, n, es, cmp, lrange, rrange)`: sorts enough of `items` that positions
/// `lrange..=rrange` hold what a full sort would put there (`rrange` may be `lrange - 1`).
pub fn pqsort<T, F>(items: &mut [T], mut cmp: F, lrange: usize, rrange: i64)
where
    F: FnMut(&T, &T) -> Ordering,
{
    let n = items.len();
    partial(items, 0, n, &mut cmp, lrange as i64, rrange + 1);
}

/// Whether the partition `start..start + len` lies wholly outside the wanted range
/// (`lrange..rrange_end`), in which case Redis does not sort it.
fn outside(start: usize, len: usize, lrange: i64, rrange_end: i64) -> bool {
    let (start, end) = (start as i64, (start + len) as i64);
    (lrange < start && rrange_end <= start) || (lrange >= end && rrange_end > end)
}

fn med3<T, F>(items: &[T], a: usize, b: usize, c: usize, cmp: &mut F) -> usize
where
    F: FnMut(&T, &T) -> Ordering,
{
    let lt = Ordering::Less;
    let gt = Ordering::Greater;
    if cmp(&items[a], &items[b]) == lt {
        if cmp(&items[b], &items[c]) == lt {
            b
        } else if cmp(&items[a], &items[c]) == lt {
            c
        } else {
            a
        }
    } else if cmp(&items[b], &items[c]) == gt {
        b
    } else if cmp(&items[a], &items[c]) == lt {
        a
    } else {
        c
    }
}

fn insertion<T, F>(items: &mut [T], a: usize, n: usize, cmp: &mut F)
where
    F: FnMut(&T, &T) -> Ordering,
{
    for pm in a + 1..a + n {
        let mut pl = pm;
        while pl > a && cmp(&items[pl - 1], &items[pl]) == Ordering::Greater {
            items.swap(pl, pl - 1);
            pl -= 1;
        }
    }
}

/// Swaps the `n` elements at `a` with the `n` elements at `b`.
fn vecswap<T>(items: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        items.swap(a + i, b + i);
    }
}

/// `_pqsort` on the elements `a..a + n`.
fn partial<T, F>(items: &mut [T], mut a: usize, mut n: usize, cmp: &mut F, lr: i64, rr_end: i64)
where
    F: FnMut(&T, &T) -> Ordering,
{
    loop {
        if n < 7 {
            insertion(items, a, n, cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(items, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(items, pm - d, pm, pm + d, cmp);
                pn = med3(items, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(items, pl, pm, pn, cmp);
        }
        items.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let result = cmp(&items[pb], &items[a]);
                if result == Ordering::Greater {
                    break;
                }
                if result == Ordering::Equal {
                    items.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let result = cmp(&items[pc], &items[a]);
                if result == Ordering::Less {
                    break;
                }
                if result == Ordering::Equal {
                    items.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            items.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(items, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(items, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r, lr, rr_end) {
            partial(items, a, r, cmp, lr, rr_end);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, n, lr, rr_end) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsort_is_stable() {
        let mut v: Vec<(u8, u8)> = vec![(2, 0), (1, 1), (2, 2), (1, 3), (0, 4)];
        qsort(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, [(0, 4), (1, 1), (1, 3), (2, 0), (2, 2)]);
    }

    #[test]
    fn pqsort_sorts_the_wanted_range() {
        let original: Vec<u32> = (0..200u32).map(|i| (i * 7919) % 211).collect();
        let mut sorted = original.clone();
        sorted.sort_unstable();
        for (lo, hi) in [(0usize, 9i64), (50, 59), (190, 199), (0, 199), (5, 4)] {
            let mut v = original.clone();
            pqsort(&mut v, |a, b| a.cmp(b), lo, hi);
            if hi >= lo as i64 {
                assert_eq!(v[lo..=hi as usize], sorted[lo..=hi as usize], "{lo}..={hi}");
            }
        }
        // Redis 7.0.15: SORT of [B c c b c c c] BY weights where only b has one, ALPHA LIMIT 0 6
        // replies c c c B c c (the elements here are labelled by position).
        let mut ties: Vec<(bool, u8)> = (0..7u8).map(|i| (i == 3, i)).collect();
        pqsort(&mut ties, |a, b| a.0.cmp(&b.0), 0, 5);
        let labels: Vec<u8> = ties.iter().map(|t| t.1).collect();
        assert_eq!(labels, [6, 1, 2, 0, 4, 5, 3]);
        let mut small = vec![3, 1, 2];
        pqsort(&mut small, |a, b| a.cmp(b), 0, 0);
        assert_eq!(small, [1, 2, 3]);
    }
}

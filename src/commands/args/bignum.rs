//! A small unsigned big integer: just what exact decimal ⇄ binary float conversion needs.
//!
//! Redis reads floats with the C library (`strtod`, `strtold`) and prints INCRBYFLOAT results
//! with `printf("%.17Lf")`; both are exact (correctly rounded) operations over numbers that may
//! span thousands of digits (`1e4932` is a valid long double). Reproducing them bit for bit needs
//! exact integers wider than `u128`, but only a handful of operations on them, none of them on
//! the hot path: multiply by a small factor, shift, compare, subtract, a division whose quotient
//! is a few dozen bits, and conversion to decimal text.

use std::cmp::Ordering;

/// Little-endian base-2³² limbs, without high zero limbs (zero has no limbs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Big {
    limbs: Vec<u32>,
}

impl Big {
    pub(super) fn from_u64(value: u64) -> Big {
        let mut big = Big {
            limbs: vec![value as u32, (value >> 32) as u32],
        };
        big.trim();
        big
    }

    /// Parses ASCII digits of `radix` (10 or 16); the caller has validated them.
    pub(super) fn from_digits(digits: &[u8], radix: u32) -> Big {
        let mut big = Big::default();
        for &d in digits {
            let value = (d as char).to_digit(radix).unwrap_or(0);
            big.mul_add_small(radix, value);
        }
        big
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// `self = self * factor + addend`.
    pub(super) fn mul_add_small(&mut self, factor: u32, addend: u32) {
        let mut carry = addend as u64;
        for limb in &mut self.limbs {
            let product = *limb as u64 * factor as u64 + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// `self *= 10^exponent`.
    pub(super) fn mul_pow10(&mut self, mut exponent: u32) {
        const STEP: u32 = 9;
        while exponent >= STEP {
            self.mul_add_small(1_000_000_000, 0);
            exponent -= STEP;
        }
        self.mul_add_small(10u32.pow(exponent), 0);
    }

    pub(super) fn pow10(exponent: u32) -> Big {
        let mut big = Big::from_u64(1);
        big.mul_pow10(exponent);
        big
    }

    /// Number of significant bits (0 for zero).
    pub(super) fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() as u64 * 32 - top.leading_zeros() as u64,
        }
    }

    pub(super) fn bit(&self, index: u64) -> bool {
        let limb = (index / 32) as usize;
        self.limbs
            .get(limb)
            .is_some_and(|l| l >> (index % 32) & 1 == 1)
    }

    /// Whether any bit below position `index` is set.
    pub(super) fn any_below(&self, index: u64) -> bool {
        let whole = ((index / 32) as usize).min(self.limbs.len());
        if self.limbs[..whole].iter().any(|&l| l != 0) {
            return true;
        }
        let rest = index % 32;
        rest != 0
            && self
                .limbs
                .get(whole)
                .is_some_and(|l| l & ((1u32 << rest) - 1) != 0)
    }

    /// The 64 bits starting at bit position `from`.
    pub(super) fn bits_from(&self, from: u64) -> u64 {
        (0..64)
            .filter(|i| self.bit(from + i))
            .fold(0u64, |acc, i| acc | 1 << i)
    }

    pub(super) fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let limbs = (bits / 32) as usize;
        let rest = (bits % 32) as u32;
        let mut out = vec![0u32; limbs];
        out.reserve(self.limbs.len() + 1);
        let mut carry = 0u32;
        for &limb in &self.limbs {
            if rest == 0 {
                out.push(limb);
            } else {
                out.push(limb << rest | carry);
                carry = limb >> (32 - rest);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        Big { limbs: out }
    }

    pub(super) fn add(&self, other: &Big) -> Big {
        let (long, short) = if self.limbs.len() >= other.limbs.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.limbs.len() + 1);
        let mut carry = 0u64;
        for (i, &limb) in long.limbs.iter().enumerate() {
            let sum = limb as u64 + *short.limbs.get(i).unwrap_or(&0) as u64 + carry;
            out.push(sum as u32);
            carry = sum >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big { limbs: out }
    }

    /// `self -= other`; requires `self >= other`.
    pub(super) fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let diff = *limb as i64 - *other.limbs.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = (diff < 0) as i64;
            *limb = diff.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    /// Quotient and remainder. The loop runs once per quotient bit, so callers keep quotients
    /// to a few dozen bits.
    pub(super) fn div_rem(&self, divisor: &Big) -> (Big, Big) {
        let mut remainder = self.clone();
        let mut quotient = Big::default();
        if divisor.is_zero() || self.cmp(divisor) == Ordering::Less {
            return (quotient, remainder);
        }
        let span = self.bit_len() - divisor.bit_len();
        for shift in (0..=span).rev() {
            let step = divisor.shl(shift);
            if remainder.cmp(&step) != Ordering::Less {
                remainder.sub_assign(&step);
                quotient = quotient.add(&Big::from_u64(1).shl(shift));
            }
        }
        (quotient, remainder)
    }

    /// Decimal text ("0" for zero).
    pub(super) fn to_decimal(&self) -> String {
        let mut chunks = Vec::new();
        let mut rest = self.limbs.clone();
        while !rest.is_empty() {
            let mut remainder = 0u64;
            for limb in rest.iter_mut().rev() {
                let current = remainder << 32 | *limb as u64;
                *limb = (current / 1_000_000_000) as u32;
                remainder = current % 1_000_000_000;
            }
            while rest.last() == Some(&0) {
                rest.pop();
            }
            chunks.push(remainder as u32);
        }
        let mut text = chunks
            .last()
            .map_or_else(|| "0".to_string(), |top| top.to_string());
        for chunk in chunks.iter().rev().skip(1) {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let a = Big::from_digits(b"123456789012345678901234567890", 10);
        assert_eq!(a.to_decimal(), "123456789012345678901234567890");
        assert_eq!(Big::pow10(20).to_decimal(), format!("1{}", "0".repeat(20)));
        let (q, r) = a.div_rem(&Big::from_u64(1_000_000_007));
        assert_eq!(
            q.to_decimal(),
            (123456789012345678901234567890u128 / 1_000_000_007).to_string()
        );
        assert_eq!(
            r.to_decimal(),
            (123456789012345678901234567890u128 % 1_000_000_007).to_string()
        );
        assert_eq!(Big::from_u64(3).shl(100).bit_len(), 102);
        assert!(Big::from_u64(1).shl(70).bit(70));
        assert!(!Big::from_u64(1).shl(70).any_below(70));
        assert!(Big::from_u64(1).shl(70).add(&Big::from_u64(4)).any_below(3));
        assert_eq!(Big::from_u64(0xffff_0000_0000).bits_from(16), 0xffff_0000);
        assert_eq!(Big::from_digits(b"ff", 16).to_decimal(), "255");
        assert_eq!(Big::default().to_decimal(), "0");
        let mut x = Big::from_u64(1).shl(64);
        x.sub_assign(&Big::from_u64(1));
        assert_eq!(x, Big::from_u64(u64::MAX));
    }
}

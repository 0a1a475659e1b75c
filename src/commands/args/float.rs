//! Floats the way Redis reads and prints them.
//!
//! Redis parses float arguments with the C library: `strtod` for doubles (ZADD scores, ...) and
//! `strtold` for the x87 80-bit `long double` of INCRBYFLOAT and HINCRBYFLOAT, rejecting leading
//! spaces, trailing garbage, NaN and results that overflow (or underflow to zero). It prints the
//! INCRBYFLOAT result with `printf("%.17Lf")` and trims trailing zeros. Because the value is then
//! stored as that text and read back on the next increment, the exact digits matter: adding 0.1
//! ten times gives "1" in long double arithmetic and "0.99999999999999989" in double arithmetic.
//!
//! Rust has no `long double`, so [`LongDouble`] is a software x87 extended-precision number
//! (64-bit significand, 15-bit exponent, subnormals) with exactly the operations Redis uses:
//! correctly rounded parsing (the `strtold` grammar, decimal and hexadecimal), correctly rounded
//! addition, and `%.17Lf` formatting (round half to even, as glibc does).

use super::bignum::Big;

/// Longest text `string2ld` accepts (`MAX_LONG_DOUBLE_CHARS` − 1).
const MAX_LONG_DOUBLE_TEXT: usize = 5 * 1024 - 1;

/// Exponents beyond this are saturated while scanning: every format here overflows or
/// underflows long before.
const EXPONENT_CLAMP: i64 = 1 << 40;

/// Hex digits that can matter: 96 bits cover a 64-bit significand, the rounding bits and up to
/// three leading zero bits of the first digit.
const MAX_HEX_DIGITS: usize = 24;

/// A binary floating-point format: values are `mantissa × 2^exponent` with `mantissa < 2^bits`
/// and `exponent` in `min_exponent..=max_exponent` (normal numbers have the top bit set; the
/// smallest exponent also holds the subnormals).
struct Format {
    bits: u32,
    min_exponent: i64,
    max_exponent: i64,
}

/// x87 extended precision: 1 ≤ significand < 2 with 64 bits, exponents −16382..=16383.
const X87: Format = Format {
    bits: 64,
    min_exponent: -16382 - 63,
    max_exponent: 16383 - 63,
};
/// IEEE 754 binary64.
const BINARY64: Format = Format {
    bits: 53,
    min_exponent: -1022 - 52,
    max_exponent: 1023 - 52,
};

/// Outcome of rounding an exact value into a [`Format`].
#[derive(Debug, PartialEq, Eq)]
enum Rounded {
    Zero,
    Finite { mantissa: u64, exponent: i64 },
    Overflow,
}

/// Rounds `n × 2^exponent` (plus, if `sticky`, something positive smaller than `2^exponent`) to
/// the nearest value of `format`, ties to even. Callers pass at least two bits more than the
/// format keeps whenever `sticky` is set, so the sticky part always lies below the rounding point.
fn round(n: &Big, exponent: i64, sticky: bool, format: &Format) -> Rounded {
    if n.is_zero() {
        return Rounded::Zero;
    }
    let top = exponent + n.bit_len() as i64 - 1;
    let lsb = (top - (format.bits as i64 - 1)).max(format.min_exponent);
    let (mut mantissa, mut exponent) = if lsb <= exponent {
        // Every bit of n is representable: the value is exact.
        ((n.bits_from(0) as u128) << (exponent - lsb), lsb)
    } else {
        let shift = (lsb - exponent) as u64;
        let kept = n.bits_from(shift) as u128;
        let half = n.bit(shift - 1);
        let below_half = sticky || n.any_below(shift - 1);
        let up = half && (below_half || kept & 1 == 1);
        (kept + up as u128, lsb)
    };
    if mantissa >> format.bits != 0 {
        // Rounding carried into a new top bit.
        mantissa >>= 1;
        exponent += 1;
    }
    if mantissa == 0 {
        Rounded::Zero
    } else if exponent > format.max_exponent {
        Rounded::Overflow
    } else {
        Rounded::Finite {
            mantissa: mantissa as u64,
            exponent,
        }
    }
}

/// The pieces of a number in the `strtod` grammar.
#[derive(Debug, PartialEq, Eq)]
enum Scanned<'a> {
    Infinity,
    /// `int.frac × base^exponent` where base is 10 (decimal) or 2 (hexadecimal digits, `p`
    /// exponent).
    Digits {
        hex: bool,
        int: &'a [u8],
        frac: &'a [u8],
        exponent: i64,
    },
}

/// Splits a whole string in the C library's float grammar (without leading spaces, which Redis
/// rejects): `[+-]` then `inf`/`infinity`, or decimal digits with optional `.` and `e` exponent,
/// or `0x` hex digits with optional `.` and `p` exponent. NaN and anything else → `None`.
fn scan(text: &[u8]) -> Option<(bool, Scanned<'_>)> {
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some((negative, Scanned::Infinity));
    }
    let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
    let (digits_of, exponent_mark, body) = if hex {
        (u8::is_ascii_hexdigit as fn(&u8) -> bool, b'p', &body[2..])
    } else {
        (u8::is_ascii_digit as fn(&u8) -> bool, b'e', body)
    };
    let int_len = body.iter().take_while(|b| digits_of(b)).count();
    let (int, rest) = body.split_at(int_len);
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let len = after.iter().take_while(|b| digits_of(b)).count();
            after.split_at(len)
        }
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exponent = match rest.split_first() {
        None => 0,
        Some((mark, digits)) if mark | 0x20 == exponent_mark => scan_exponent(digits)?,
        Some(_) => return None,
    };
    Some((
        negative,
        Scanned::Digits {
            hex,
            int,
            frac,
            exponent,
        },
    ))
}

/// `[+-]digits`, saturated at ±[`EXPONENT_CLAMP`].
fn scan_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, d| {
        (acc * 10 + (d - b'0') as i64).min(EXPONENT_CLAMP)
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Rounds the exact value of scanned digits into `format`.
fn round_digits(hex: bool, int: &[u8], frac: &[u8], exponent: i64, format: &Format) -> Rounded {
    let mut digits: Vec<u8> = int
        .iter()
        .chain(frac)
        .copied()
        .skip_while(|&d| d == b'0')
        .collect();
    let trailing = digits.iter().rev().take_while(|&&d| d == b'0').count();
    digits.truncate(digits.len() - trailing);
    if digits.is_empty() {
        return Rounded::Zero;
    }
    let count = digits.len() as i64;
    if hex {
        // Each hex digit is 4 bits; the exponent counts bits.
        let lsb = exponent - 4 * (frac.len() as i64 - trailing as i64);
        // 2^(top-4) <= value < 2^top.
        let top = lsb + 4 * count;
        if top - 4 > format.max_exponent + format.bits as i64 {
            return Rounded::Overflow;
        }
        if top < format.min_exponent - 2 {
            return Rounded::Zero;
        }
        // Only the leading digits can be kept; the others just say "something below" (the last
        // digit is nonzero after trimming). This also bounds the work on very long input.
        let kept = digits.len().min(MAX_HEX_DIGITS);
        let dropped = (digits.len() - kept) as i64;
        let n = Big::from_digits(&digits[..kept], 16);
        return round(&n, lsb + 4 * dropped, dropped > 0, format);
    }
    // Decimal: value = digits × 10^lsb, and 10^(lsb+count-1) ≤ value < 10^(lsb+count).
    let lsb = exponent - (frac.len() as i64 - trailing as i64);
    // Conservative decimal bounds of the format (log10 2 < 0.30103): beyond them the result is
    // certainly infinite or zero, and the exact arithmetic below is skipped.
    let max_decimal = (format.max_exponent + format.bits as i64) * 30103 / 100_000 + 2;
    let min_decimal = (format.min_exponent - 2) * 30103 / 100_000 - 2;
    if lsb + count - 1 > max_decimal {
        return Rounded::Overflow;
    }
    if lsb + count < min_decimal {
        return Rounded::Zero;
    }
    let mut n = Big::from_digits(&digits, 10);
    if lsb >= 0 {
        n.mul_pow10(lsb as u32);
        return round(&n, 0, false, format);
    }
    // n / 10^k: scale n so that the quotient keeps two bits more than the format, then let the
    // remainder decide the sticky bit.
    let divisor = Big::pow10((-lsb) as u32);
    let scale = (divisor.bit_len() + format.bits as u64 + 3).saturating_sub(n.bit_len());
    let (quotient, remainder) = n.shl(scale).div_rem(&divisor);
    round(&quotient, -(scale as i64), !remainder.is_zero(), format)
}

/// Parses a double with Redis's `getDoubleFromObject` rules (`strtod` on the whole string):
/// `inf`/`infinity` accepted, NaN, spaces, empty text, overflow and underflow to zero rejected.
pub(super) fn strtod(text: &[u8]) -> Option<f64> {
    let (negative, scanned) = scan(text)?;
    let value = match scanned {
        Scanned::Infinity => f64::INFINITY,
        Scanned::Digits { hex: false, .. } => {
            // The grammar is Rust's own decimal grammar: its parser rounds correctly.
            let parsed: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
            let nonzero = text
                .iter()
                .take_while(|&&b| b | 0x20 != b'e')
                .any(|b| (b'1'..=b'9').contains(b));
            if parsed.is_infinite() || parsed == 0.0 && nonzero {
                return None;
            }
            return Some(parsed);
        }
        Scanned::Digits {
            hex: true,
            int,
            frac,
            exponent,
        } => match round_digits(true, int, frac, exponent, &BINARY64) {
            Rounded::Zero if int.iter().chain(frac).any(|&d| d != b'0') => return None,
            Rounded::Zero => 0.0,
            Rounded::Overflow => return None,
            Rounded::Finite { mantissa, exponent } => binary64(mantissa, exponent),
        },
    };
    Some(if negative { -value } else { value })
}

/// Builds `mantissa × 2^exponent` from a [`BINARY64`] rounding result.
fn binary64(mantissa: u64, exponent: i64) -> f64 {
    if mantissa >> 52 == 0 {
        return f64::from_bits(mantissa); // subnormal: exponent is the minimum
    }
    let biased = (exponent + 52 + 1023) as u64;
    f64::from_bits(biased << 52 | mantissa & ((1 << 52) - 1))
}

/// An x87 80-bit extended-precision number, as Redis's INCRBYFLOAT computes with. NaN cannot be
/// represented: every operation that would produce one reports failure instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    magnitude: Magnitude,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magnitude {
    /// `mantissa × 2^exponent`, normalised as in [`X87`]; zero has mantissa 0.
    Finite {
        mantissa: u64,
        exponent: i64,
    },
    Infinite,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        magnitude: Magnitude::Finite {
            mantissa: 0,
            exponent: 0,
        },
    };

    fn finite(negative: bool, rounded: Rounded) -> Option<LongDouble> {
        let magnitude = match rounded {
            Rounded::Zero => Magnitude::Finite {
                mantissa: 0,
                exponent: 0,
            },
            Rounded::Finite { mantissa, exponent } => Magnitude::Finite { mantissa, exponent },
            Rounded::Overflow => return None,
        };
        Some(LongDouble {
            negative,
            magnitude,
        })
    }

    /// Parses with Redis's `string2ld` rules (`strtold` on the whole string, at most 5119 bytes):
    /// `None` for invalid text, NaN, overflow, or a nonzero number that underflows to zero.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.len() > MAX_LONG_DOUBLE_TEXT {
            return None;
        }
        let (negative, scanned) = scan(text)?;
        let Scanned::Digits {
            hex,
            int,
            frac,
            exponent,
        } = scanned
        else {
            return Some(LongDouble {
                negative,
                magnitude: Magnitude::Infinite,
            });
        };
        let rounded = round_digits(hex, int, frac, exponent, &X87);
        if rounded == Rounded::Zero && int.iter().chain(frac).any(|&d| d != b'0') {
            return None; // strtold's ERANGE underflow
        }
        LongDouble::finite(negative, rounded)
    }

    /// `self + other` rounded to nearest, or `None` when the sum is infinite or NaN (Redis's
    /// "increment would produce NaN or Infinity").
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (
            Magnitude::Finite {
                mantissa: ma,
                exponent: ea,
            },
            Magnitude::Finite {
                mantissa: mb,
                exponent: eb,
            },
        ) = (self.magnitude, other.magnitude)
        else {
            return None;
        };
        // Exact sum on a common exponent, then one rounding.
        let base = ea.min(eb);
        let a = Big::from_u64(ma).shl((ea - base) as u64);
        let b = Big::from_u64(mb).shl((eb - base) as u64);
        let (negative, sum) = if self.negative == other.negative {
            (self.negative, a.add(&b))
        } else if a >= b {
            let mut difference = a;
            difference.sub_assign(&b);
            (self.negative, difference)
        } else {
            let mut difference = b;
            difference.sub_assign(&a);
            (other.negative, difference)
        };
        // x + (−x) is +0 when rounding to nearest; −0 + −0 stays −0.
        let negative = if sum.is_zero() {
            self.negative && other.negative
        } else {
            negative
        };
        LongDouble::finite(negative, round(&sum, base, false, &X87))
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, trailing zeros (and a bare point)
    /// trimmed, "-0" printed as "0".
    pub fn to_human(self) -> String {
        let (mantissa, exponent) = match self.magnitude {
            Magnitude::Infinite => {
                return if self.negative {
                    "-inf".into()
                } else {
                    "inf".into()
                }
            }
            Magnitude::Finite { mantissa, exponent } => (mantissa, exponent),
        };
        let sign = if self.negative { "-" } else { "" };
        if exponent >= 0 {
            // An integer: the 17 decimals are all zeros and get trimmed.
            let digits = Big::from_u64(mantissa).shl(exponent as u64).to_decimal();
            return if digits == "0" {
                "0".into()
            } else {
                format!("{sign}{digits}")
            };
        }
        // value × 10^17 rounded half to even; fits in u128 because mantissa < 2^64 and
        // 10^17 < 2^57.
        const SCALE: u128 = 100_000_000_000_000_000;
        let scaled = mantissa as u128 * SCALE;
        let shift = (-exponent) as u32;
        let fixed = if shift >= 128 {
            0 // below 2^-128 × 2^121: less than half a unit of the 17th decimal
        } else {
            let whole = scaled >> shift;
            let rest = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            whole + (rest > half || rest == half && whole & 1 == 1) as u128
        };
        let fraction = format!("{:017}", fixed % SCALE);
        let fraction = fraction.trim_end_matches('0');
        let int = fixed / SCALE;
        let text = if fraction.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{fraction}")
        };
        if text == "-0" {
            "0".into()
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(text: &str) -> LongDouble {
        LongDouble::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text} should parse"))
    }

    /// INCRBYFLOAT: parse the stored value and the increment, add, print.
    fn incr(current: &str, by: &str) -> Option<String> {
        ld(current).checked_add(ld(by)).map(LongDouble::to_human)
    }

    #[test]
    fn grammar_like_strtold() {
        for ok in [
            "1",
            "-1",
            "+2",
            "1.",
            ".5",
            "1e5",
            "1E+5",
            "1e-5",
            "0x10",
            "0X1.8p1",
            "0x.8",
            "inf",
            "-Infinity",
            "00.100",
        ] {
            assert!(LongDouble::parse(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "", " 1", "1 ", "nan", "-nan", ".", "e5", "1e", "1e+", "0x", "0xp1", "1.2.3", "1\0",
            "--1", "0x1p", "infx",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(LongDouble::parse("1".repeat(5120).as_bytes()).is_none());
        assert!(LongDouble::parse(format!("0.{}", "0".repeat(100)).as_bytes()).is_some());
    }

    #[test]
    fn range_like_x87() {
        assert!(LongDouble::parse(b"1e400").is_some());
        assert!(LongDouble::parse(b"1e-400").is_some());
        assert!(LongDouble::parse(b"1e5000").is_none());
        assert!(LongDouble::parse(b"1e-5000").is_none());
        assert!(LongDouble::parse(b"0e-5000").is_some());
        assert!(LongDouble::parse(b"1e99999999999999999999999").is_none());
        assert!(LongDouble::parse(b"4e-4951").is_some()); // subnormal
        assert!(LongDouble::parse(b"1e-4952").is_none()); // rounds to zero
    }

    /// Expected strings are Redis 7.0.15's INCRBYFLOAT replies.
    #[test]
    fn formats_like_redis() {
        let mut value = "0".to_string();
        let mut seen = Vec::new();
        for _ in 0..11 {
            value = incr(&value, "0.1").unwrap();
            seen.push(value.clone());
        }
        assert_eq!(
            seen,
            ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1", "1.1"]
        );
        assert_eq!(incr("0", "5.0e3").unwrap(), "5000");
        assert_eq!(incr("0", "-0").unwrap(), "0");
        assert_eq!(incr("-0", "-0").unwrap(), "0");
        assert_eq!(incr("0", "-1e-20").unwrap(), "0");
        assert_eq!(incr("0", "1e-5").unwrap(), "0.00001");
        assert_eq!(incr("0", "0x10").unwrap(), "16");
        assert_eq!(incr("16", "0x1.8p1").unwrap(), "19");
        assert_eq!(incr("0", "3.0000000000000000001").unwrap(), "3");
        assert_eq!(incr("10.5", "-10.5").unwrap(), "0");
        assert_eq!(incr("3", "1.5").unwrap(), "4.5");
        assert_eq!(
            incr("9223372036854775807", "1").unwrap(),
            "9223372036854775808"
        );
        assert_eq!(
            incr("0", "123456789012345678901234567890").unwrap(),
            "123456789012345678899921813504"
        );
        assert_eq!(
            incr("0", "0.123456789012345678901").unwrap(),
            "0.12345678901234568"
        );
        assert_eq!(
            incr("0", "1e300").unwrap(),
            "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497\
             1903503725086142748359035925561846729839130962605207486462873271356418436532940842551076060167897266\
             5293237003055138294762099454029477278188962060617926761162709741065056718738610569008942491510400614\
             4"
        );
        assert_eq!(
            incr("0", "1.7976931348623157e308").unwrap(),
            "1797693134862315699959210467741044340483864469443291784853144207651766285231243963547018686083870855\
             6442879341942552068930870836345113605535789727802647761707349897768628839483561816329404559443492953\
             7447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863\
             339536384"
        );
        assert_eq!(incr("1.18e4932", "1.18e4932"), None);
        assert_eq!(incr("0", "inf"), None);
        assert_eq!(incr("0", "-inf"), None);
        assert_eq!(incr("1e4932", "0").unwrap().len(), 4933);
    }

    #[test]
    fn ties_round_to_even() {
        // 2^-18 × 10^17 = 5^17 / 2: an exact tie at the 17th decimal.
        assert_eq!(incr("0", "0x1p-18").unwrap(), "0.00000381469726562");
        assert_eq!(incr("0", "0x3p-18").unwrap(), "0.00001144409179688");
    }

    #[test]
    fn doubles_like_strtod() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(strtod(b"0x1p-1"), Some(0.5));
        assert_eq!(strtod(b"-0x10"), Some(-16.0));
        assert_eq!(strtod(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(strtod(b"4.9e-324"), Some(f64::from_bits(1)));
        assert_eq!(strtod(b"0e-999"), Some(0.0));
        assert_eq!(strtod(b"1.e5"), Some(100000.0));
        assert_eq!(strtod(b"-.5e1"), Some(-5.0));
        // Very long hex input stays cheap: the dropped digits only feed the sticky bit.
        let zeros = "0".repeat(1_000_000);
        assert_eq!(strtod(format!("0x1{zeros}1p0").as_bytes()), None);
        assert_eq!(strtod(format!("0x1.{zeros}1p0").as_bytes()), Some(1.0));
        assert_eq!(
            strtod(format!("0x1.{}{zeros}1p0", "0".repeat(12)).as_bytes()),
            Some(1.0)
        );
        assert_eq!(strtod(b"0x1.00000000000008p0"), Some(1.0)); // tie: to even
        assert_eq!(
            strtod(format!("0x1.00000000000008{zeros}1p0").as_bytes()),
            Some(1.0 + f64::EPSILON)
        );
        assert_eq!(strtod(b"1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(strtod(b"0x1.fffffffffffff8p1023"), None); // rounds up to infinity
        assert_eq!(strtod(b"0x1.fffffffffffff7p1023"), Some(f64::MAX));
        for bad in [
            "",
            " 1",
            "1 ",
            "nan",
            "1e400",
            "1e-400",
            "0x1p-1080",
            "abc",
            "1e",
            "1,5",
        ] {
            assert_eq!(strtod(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn rounding_edges() {
        // 2^64 + 1 needs 65 bits: rounds to even (down), 2^64 + 3 rounds up.
        let n = Big::from_u64(1).shl(64).add(&Big::from_u64(1));
        assert_eq!(
            round(&n, 0, false, &X87),
            Rounded::Finite {
                mantissa: 1 << 63,
                exponent: 1
            }
        );
        let n = Big::from_u64(1).shl(64).add(&Big::from_u64(3));
        assert_eq!(
            round(&n, 0, false, &X87),
            Rounded::Finite {
                mantissa: (1 << 63) + 2,
                exponent: 1
            }
        );
        // All ones plus a half rounds up into a new binade.
        let n = Big::from_u64(u64::MAX).shl(1).add(&Big::from_u64(1));
        assert_eq!(
            round(&n, 0, false, &X87),
            Rounded::Finite {
                mantissa: 1 << 63,
                exponent: 2
            }
        );
        assert_eq!(
            round(&Big::from_u64(1), X87.max_exponent + 64, false, &X87),
            Rounded::Overflow
        );
        assert_eq!(
            round(&Big::from_u64(1), X87.min_exponent - 2, false, &X87),
            Rounded::Zero
        );
        assert_eq!(
            round(&Big::from_u64(3), X87.min_exponent - 1, false, &X87),
            Rounded::Finite {
                mantissa: 2,
                exponent: X87.min_exponent
            }
        );
    }
}

//! Redis's own text conventions for numbers and quoting, shared by the protocol parser, the
//! config parser and the commands: `string2ll` (the strict integer syntax every integer argument
//! and protocol length uses) and `sdscatrepr` (the quoting MONITOR, CONFIG REWRITE and error
//! messages print bytes with).

use std::fmt::Write as _;

/// Quotes bytes like Redis's `sdscatrepr`: `"..."` with `\\ \" \n \r \t \a \b` escaped and other
/// non-printable bytes as `\xHH`. The result parses back to the same bytes with `split_args`.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// Redis's `string2ll`: a plain decimal with an optional `-`, no `+`, no blanks, no leading
/// zeros, at most 20 bytes, within the `i64` range.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !digits.first().is_some_and(|d| (b'1'..=b'9').contains(d)) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis's `sdstrim(line, " \t\r\n")`: what config and manifest lines are trimmed with.
pub fn sdstrim(line: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|b| !blank(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_quotes_like_sdscatrepr() {
        assert_eq!(repr(b"a b\"c"), r#""a b\"c""#);
        assert_eq!(
            repr(b"\\\n\r\t\x07\x08\x01\xff"),
            r#""\\\n\r\t\a\b\x01\xff""#
        );
        assert_eq!(repr(b""), r#""""#);
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-2"), Some(-2));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
            b"0x5",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }
}

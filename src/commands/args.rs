//! Argument parsing shared by every command family, with Redis's exact acceptance rules.

use crate::error::CommandError;

/// Parses an integer the way Redis's `string2ll` does: no spaces, no `+`, no leading zeros.
pub fn parse_i64(arg: &[u8]) -> Result<i64, CommandError> {
    let text = std::str::from_utf8(arg).map_err(|_| CommandError::NotInteger)?;
    let valid = !text.is_empty()
        && !text.starts_with('+')
        && !(text.len() > 1 && text.starts_with('0'))
        && !text.starts_with("-0")
        && text.len() <= 20;
    if !valid {
        return Err(CommandError::NotInteger);
    }
    text.parse::<i64>().map_err(|_| CommandError::NotInteger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_string2ll() {
        assert_eq!(parse_i64(b"-42").unwrap(), -42);
        assert_eq!(parse_i64(b"0").unwrap(), 0);
        for bad in [&b""[..], b"+1", b"01", b"-0", b" 1", b"1 ", b"9223372036854775808", b"1.0"] {
            assert!(parse_i64(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_i64(b"9223372036854775807").unwrap(), i64::MAX);
    }
}

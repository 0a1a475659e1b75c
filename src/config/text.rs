//! The C text conventions redis.conf inherits from Redis's sources, reproduced exactly.
//!
//! Redis parses directive values with a mix of its own strict `string2ll`, libc's lenient
//! `strtoll` (which skips leading blanks, takes a sign and stops at the first non-digit) and
//! `memtoull` for sizes with units; it prints strings back with `sdscatrepr` quoting and OS errors
//! with `strerror`. Which parser a directive uses decides which values it accepts ("+5" is a valid
//! `save` count but not a valid `timeout`), so each is ported here rather than approximated.

use std::path::{Path, PathBuf};

pub use formats::text::{repr, string2ll};

/// What libc's `strtoll` reports: the value (saturated on overflow), whether it overflowed
/// (`errno == ERANGE`) and whether the whole input was consumed (`*endptr == '\0'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strtoll {
    pub value: i64,
    pub overflow: bool,
    pub complete: bool,
}

/// libc's `strtoll(s, &end, base)` for bases 8 and 10: leading C whitespace is skipped, one sign
/// is accepted, and when no digit follows nothing is consumed (the value is 0 and `complete`
/// holds only for an empty input, as `*end == '\0'` does in C).
pub fn strtoll(s: &[u8], base: u32) -> Strtoll {
    let mut i = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(digit) = s.get(i).and_then(|&b| char::from(b).to_digit(base)) {
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return Strtoll {
            value: 0,
            overflow: false,
            complete: s.is_empty(),
        };
    }
    let limit = if negative {
        i64::MAX as u64 + 1
    } else {
        i64::MAX as u64
    };
    if overflow || magnitude > limit {
        let value = if negative { i64::MIN } else { i64::MAX };
        return Strtoll {
            value,
            overflow: true,
            complete: i == s.len(),
        };
    }
    let value = if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    };
    Strtoll {
        value,
        overflow: false,
        complete: i == s.len(),
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Redis's `memtoull`: digits followed by an optional case-insensitive unit `b`, `k` (1000), `kb`
/// (1024), `m`, `mb`, `g` or `gb`. Like Redis it saturates an overlong number at `u64::MAX`,
/// lets the multiplication wrap, and reads no digits at all as 0.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = s[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let value = s[..digits].iter().fold(0u64, |v, &d| {
        v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(value.wrapping_mul(mul))
}

/// Redis's `rewriteConfigFormatMemory`: the largest of `gb`, `mb`, `kb` that divides the value
/// exactly, or plain bytes. The value is read as a C `long long`, as Redis does.
pub fn format_memory(bytes: i64) -> String {
    const KB: i64 = 1024;
    const MB: i64 = 1024 * KB;
    const GB: i64 = 1024 * MB;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// The `strerror` text of an OS error ("No such file or directory"), without the
/// " (os error N)" suffix Rust adds, because Redis embeds the bare text in its replies.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if e.raw_os_error().is_some() => text[..at].to_string(),
        _ => text,
    }
}

/// Redis's `sdstrim`, applied to every config line it reads.
pub use formats::text::sdstrim as trim;

/// Redis's `getAbsolutePath`: a path with leading blanks trimmed, joined to `cwd` when relative,
/// each leading `../` removing one component of `cwd`.
pub fn absolute_path(cwd: &Path, path: &str) -> PathBuf {
    let path = path.trim_matches(|c| matches!(c, ' ' | '\r' | '\n' | '\t'));
    if path.starts_with('/') {
        return PathBuf::from(path);
    }
    let mut base = cwd.to_path_buf();
    let mut rest = path;
    while let Some(stripped) = rest.strip_prefix("../") {
        rest = stripped;
        base.pop();
    }
    base.join(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoll_is_lenient() {
        let r = strtoll(b" +5", 10);
        assert_eq!((r.value, r.complete, r.overflow), (5, true, false));
        let r = strtoll(b"5x", 10);
        assert_eq!((r.value, r.complete), (5, false));
        let r = strtoll(b"x", 10);
        assert_eq!((r.value, r.complete), (0, false));
        let r = strtoll(b"", 10);
        assert_eq!((r.value, r.complete), (0, true));
        let r = strtoll(b"-99999999999999999999", 10);
        assert_eq!((r.value, r.overflow), (i64::MIN, true));
        let r = strtoll(b"0777", 8);
        assert_eq!((r.value, r.complete), (0o777, true));
        assert!(!strtoll(b"8", 8).complete);
    }

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"2m"), Some(2_000_000));
        assert_eq!(memtoull(b"2Mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"3g"), Some(3_000_000_000));
        assert_eq!(memtoull(b"3gB"), Some(3 * 1024 * 1024 * 1024));
        assert_eq!(memtoull(b"7b"), Some(7));
        assert_eq!(memtoull(b"7"), Some(7));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"99999999999999999999"), Some(u64::MAX));
        for bad in [&b"-1"[..], b"1.5gb", b" 1", b"+1", b"1x", b"1 kb", b"1tb"] {
            assert_eq!(memtoull(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn memory_is_rewritten_with_the_largest_exact_unit() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1024), "1kb");
        assert_eq!(format_memory(1_048_576), "1mb");
        assert_eq!(format_memory(1_073_741_824), "1gb");
        assert_eq!(format_memory(1_024_000_000), "1000000kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(-1), "-1");
    }

    #[test]
    fn trims_blanks_and_carriage_returns() {
        assert_eq!(trim(b"  port 1 \r"), b"port 1");
        assert_eq!(trim(b" \t "), b"");
    }

    #[test]
    fn absolute_paths() {
        let cwd = Path::new("/a/b");
        assert_eq!(absolute_path(cwd, "/x.conf"), PathBuf::from("/x.conf"));
        assert_eq!(absolute_path(cwd, "x.conf"), PathBuf::from("/a/b/x.conf"));
        assert_eq!(absolute_path(cwd, "../x.conf"), PathBuf::from("/a/x.conf"));
        assert_eq!(
            absolute_path(cwd, " x.conf\n"),
            PathBuf::from("/a/b/x.conf")
        );
    }

    #[test]
    fn strerror_drops_the_rust_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}

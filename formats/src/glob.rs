//! Redis's glob-style pattern matching (`stringmatchlen` in util.c), used by KEYS, SCAN MATCH,
//! PSUBSCRIBE, CONFIG GET and ACL key patterns.
//!
//! BEHAVIOR. `*` matches any run of bytes (including none), `?` any single byte, `[abc]` one of the
//! listed bytes, `[^abc]` any byte but those, `[a-z]` a range (the ends may come in either order),
//! and `\x` the byte `x` literally, inside or outside brackets. A bracket left open at the end of
//! the pattern closes itself. With `nocase` the comparison folds ASCII letters, except for a
//! `\`-escaped byte inside brackets, which Redis compares exactly; this port keeps that quirk so
//! that replies match Redis byte for byte.
//!
//! Limits. A `*` that failed to match the rest of the pattern at every later position makes the
//! whole match fail at once (Redis 7.0.10's fix for exponential backtracking), and a pattern may
//! nest at most [`MAX_NESTING`] `*` recursions; deeper patterns simply do not match (Redis 7.2.6's
//! fix for stack exhaustion, adopted here because a hostile pattern must not crash the node).
//!
//! Quirk kept from Redis: nothing but the empty pattern matches the empty string, not even `*`;
//! callers that treat a lone `*` as "everything" must test for it first, as Redis's KEYS does.

/// How many `*` may be pending at once before a pattern is declared not to match.
pub const MAX_NESTING: usize = 1000;

/// Whether `s` matches the glob `pattern`, exactly as Redis's `stringmatchlen`.
pub fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer, 0)
}

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// The recursive core. `p` and `s` are the unmatched rests of pattern and string; reading past
/// their ends yields 0, as reading the NUL terminator does in C.
fn match_impl(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while at(p, 1) == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                // The rest of the pattern matches nowhere in the rest of the string, so no
                // earlier `*` can help by consuming more: stop the whole search.
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = at(p, 0) == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if at(p, 0) == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if at(p, 0) == b']' {
                        break;
                    } else if p.is_empty() {
                        // Unterminated class: behave as if it closed at the end of the pattern.
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = fold(s[0], nocase);
                        let (start, end) = (fold(start, nocase), fold(end, nocase));
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if fold(p[0], nocase) == fold(s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                // The shared step below consumes the closing `]`; an unterminated class has
                // nothing left to consume.
                if p.is_empty() {
                    break;
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0], nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            other => {
                if fold(other, nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while at(p, 0) == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        // Redis's loop never starts on an empty string, so not even `*` matches it (KEYS and
        // SCAN special-case a lone `*` before calling the matcher).
        assert!(!m("*", ""));
        assert!(m("**", "abc"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("?", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("*o*", "foo"));
        assert!(!m("*x*", "foo"));
        assert!(m("*-read-*", "slave-read-only"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range ends are swapped");
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[\\]]", "]"));
        // As in Redis, `[a-]` is the range from 'a' to ']' (swapped) and leaves the class open.
        assert!(m("[a-]", "^"));
        assert!(!m("[a-]", "-"));
        // Unterminated class closes at the end of the pattern.
        assert!(m("a[bc", "ab"));
        assert!(!m("a[bc", "ad"));
        assert!(!m("a[bc", "abx"));
    }

    #[test]
    fn escapes() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a\\?", "a?"));
        assert!(m("a\\", "a\\"), "a lone trailing backslash is literal");
    }

    #[test]
    fn nocase_folds_ascii() {
        assert!(string_match(b"PORT", b"port", true));
        assert!(string_match(b"P*t", b"port", true));
        assert!(string_match(b"[A-Z]ort", b"port", true));
        assert!(!string_match(b"PORT", b"port", false));
        // Redis compares an escaped byte inside brackets exactly, even with nocase.
        assert!(!string_match(b"[\\P]ort", b"port", true));
    }

    #[test]
    fn pathological_patterns_finish() {
        let s = "a".repeat(60);
        let p = format!("{}b", "a*".repeat(30));
        assert!(!m(&p, &s));
        let deep = "*a".repeat(MAX_NESTING + 10);
        assert!(!m(&deep, &"a".repeat(MAX_NESTING + 10)));
        let ok = "*a".repeat(100);
        assert!(m(&ok, &"a".repeat(100)));
    }
}

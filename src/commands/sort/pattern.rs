//! SORT's BY and GET patterns (Redis's `lookupKeyByPattern`).
//!
//! `#` stands for the element itself. Otherwise the first `*` of the pattern is replaced by the
//! element to make a key name; if the part after the `*` contains `->` followed by something,
//! what follows the first `->` is a hash field and the key must hold a hash, else the key must
//! hold a string. A pattern without `*`, a missing key, a key of the wrong type or a missing
//! field all give nothing. Redis scans the pattern as a C string, so a NUL byte ends the search
//! for `*` and `->` (but not the text copied into the key name or the field).

use engine::Kind;

use crate::commands::hash::store::Hash;
use crate::error::CommandError;
use crate::server::Ctx;

/// The pattern up to its first NUL byte, as C's string functions see it.
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// Whether `pattern` has a `*` where Redis's `strchr` finds one (BY without one means "do not
/// sort").
pub fn has_wildcard(pattern: &[u8]) -> bool {
    c_str(pattern).contains(&b'*')
}

/// Whether a GET pattern is `#`, the element itself.
pub fn is_element(pattern: &[u8]) -> bool {
    c_str(pattern) == b"#"
}

/// The value `pattern` designates for `element`.
pub fn lookup(
    ctx: &mut Ctx,
    pattern: &[u8],
    element: &[u8],
) -> Result<Option<Vec<u8>>, CommandError> {
    if is_element(pattern) {
        return Ok(Some(element.to_vec()));
    }
    let scanned = c_str(pattern);
    let Some(star) = scanned.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    // "->" must be followed by at least one (non-NUL) byte to name a field.
    let arrow = scanned[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| at + 2 < scanned.len());
    let (postfix_end, field) = match arrow {
        Some(at) => (at, Some(&pattern[at + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix_end - star);
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    let Some(meta) = ctx.lookup_read(&key)? else {
        return Ok(None);
    };
    match (field, meta.kind) {
        (None, Kind::String) => Ok(Some(meta.body)),
        (Some(field), Kind::Hash) => match Hash::from_meta(ctx, &key, Some(meta))? {
            Some(hash) => hash.get(ctx, field),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_rules() {
        assert!(has_wildcard(b"w_*"));
        assert!(!has_wildcard(b"w_\0*"));
        assert!(is_element(b"#"));
        assert!(is_element(b"#\0x"));
        assert!(!is_element(b"##"));
    }
}

//! Zipmap: the small-hash encoding of Redis before 2.6, RDB type 9.
//!
//! Layout: one count byte (254 means "254 or more, count them"), then per pair the field length,
//! the field, the value length, one "free" byte, the value and `free` unused bytes; the end byte
//! 0xFF closes it. A length is one byte under 254, or 254 followed by a u32 (little-endian).
//! Redis refuses a zipmap whose count byte disagrees with its pairs, or that holds no pairs, and
//! this decoder does the same.

use super::blob::{check_count, err, BlobError, Problem};

const NAME: &str = "zipmap";

/// A field and its value, borrowed from the blob.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a zipmap blob into its field/value pairs, in stored order.
pub fn decode(blob: &[u8]) -> Result<Vec<Pair<'_>>, BlobError> {
    let count = *blob.first().ok_or(err(NAME, 0, Problem::Truncated))?;
    let mut out = Vec::new();
    let mut p = 1;
    let len_at = |p: usize| -> Result<(usize, usize), BlobError> {
        match blob.get(p) {
            None => Err(err(NAME, p, Problem::Truncated)),
            Some(&b) if b < 254 => Ok((usize::from(b), 1)),
            Some(&254) => {
                let b = blob
                    .get(p + 1..p + 5)
                    .ok_or(err(NAME, p, Problem::Truncated))?;
                Ok((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5))
            }
            Some(&b) => Err(err(NAME, p, Problem::BadEncoding(b))),
        }
    };
    loop {
        match blob.get(p) {
            None => return Err(err(NAME, p, Problem::Truncated)),
            Some(&0xff) => break,
            Some(_) => {}
        }
        let (flen, s) = len_at(p)?;
        p += s;
        let field = blob
            .get(p..p + flen)
            .ok_or(err(NAME, p, Problem::Truncated))?;
        p += flen;
        let (vlen, s) = len_at(p)?;
        p += s;
        let free = usize::from(*blob.get(p).ok_or(err(NAME, p, Problem::Truncated))?);
        p += 1;
        let value = blob
            .get(p..p + vlen)
            .ok_or(err(NAME, p, Problem::Truncated))?;
        p += vlen + free;
        out.push((field, value));
    }
    if p != blob.len() - 1 {
        return Err(err(NAME, p + 1, Problem::TrailingBytes));
    }
    if out.is_empty() {
        return Err(err(NAME, 0, Problem::Empty));
    }
    check_count(NAME, 0, u64::from(count), 254, out.len())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_free_space_and_long_values() {
        let mut blob = vec![2, 1, b'a', 2, 1, b'x', b'y', 0, 1, b'b', 254];
        blob.extend_from_slice(&300u32.to_le_bytes());
        blob.push(0);
        blob.extend_from_slice(&[b'v'; 300]);
        blob.push(0xff);
        let pairs = decode(&blob).unwrap();
        assert_eq!(pairs[0], (&b"a"[..], &b"xy"[..]));
        assert_eq!(pairs[1].0, b"b");
        assert_eq!(pairs[1].1.len(), 300);
    }

    #[test]
    fn refuses_bad_counts_and_overruns() {
        assert!(decode(&[3, 1, b'a', 1, 0, b'x', 0xff]).is_err());
        assert!(decode(&[254, 1, b'a', 1, 0, b'x', 0xff]).is_ok());
        assert!(decode(&[0, 0xff]).is_err());
        assert!(decode(&[1, 1, b'a', 9, 0, b'x', 0xff]).is_err());
        assert!(decode(&[1, 1, b'a', 1, 0, b'x']).is_err());
    }
}

//! LZF decompression, the compression Redis applies to long strings in RDB files.
//!
//! An LZF stream is a sequence of runs, each introduced by a control byte. A control byte under
//! 32 starts a literal run of `ctrl + 1` bytes copied as they are. Any other control byte is a
//! back-reference: its top three bits give the match length minus 2 (7 means "add the next
//! byte"), its low five bits and the following byte give the distance back into the output
//! minus 1. Matches may overlap the bytes they produce, so they are copied byte by byte.
//!
//! Redis stores the uncompressed length beside the compressed data, so the decoder knows the
//! exact output size and refuses any stream that would produce more or fewer bytes, or that
//! refers to bytes before the start of the output.

use thiserror::Error;

/// Why an LZF stream could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LzfError {
    #[error("compressed data ends inside a run at byte {at}")]
    Truncated { at: usize },
    #[error("back-reference at byte {at} points before the start of the output")]
    BadReference { at: usize },
    #[error("output would exceed the declared {expected} bytes (run at byte {at})")]
    TooLong { expected: usize, at: usize },
    #[error("output is {found} bytes, the header declared {expected}")]
    TooShort { expected: usize, found: usize },
}

/// Decompresses `input` into exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    // The output is bounded by the declared length; the reservation is capped so a lying header
    // cannot make us allocate before the data proves it.
    let mut out: Vec<u8> = Vec::with_capacity(expected_len.min(input.len().saturating_mul(4) + 64));
    let mut ip = 0;
    while ip < input.len() {
        let at = ip;
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run).ok_or(LzfError::Truncated { at })?;
            if out.len() + run > expected_len {
                return Err(LzfError::TooLong {
                    expected: expected_len,
                    at,
                });
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Truncated { at })?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or(LzfError::Truncated { at })?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out
                .len()
                .checked_sub(back)
                .ok_or(LzfError::BadReference { at })?;
            let len = len + 2;
            if out.len() + len > expected_len {
                return Err(LzfError::TooLong {
                    expected: expected_len,
                    at,
                });
            }
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    if out.len() != expected_len {
        return Err(LzfError::TooShort {
            expected: expected_len,
            found: out.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_reference() {
        // "abc" literal, then a match of length 7 at distance 3: "abcabcabca".
        let input = [2, b'a', b'b', b'c', (5 << 5), 2];
        assert_eq!(decompress(&input, 10).unwrap(), b"abcabcabca");
    }

    #[test]
    fn long_match_uses_extra_length_byte() {
        // One literal 'x', then a match of 7 + 3 + 2 = 12 bytes at distance 1.
        let input = [0, b'x', 7 << 5, 3, 0];
        assert_eq!(decompress(&input, 13).unwrap(), vec![b'x'; 13]);
    }

    #[test]
    fn refuses_bad_streams() {
        assert_eq!(
            decompress(&[5, b'a'], 6),
            Err(LzfError::Truncated { at: 0 })
        );
        assert_eq!(
            decompress(&[1 << 5, 0], 3),
            Err(LzfError::BadReference { at: 0 })
        );
        assert_eq!(
            decompress(&[1, b'a', b'b'], 1),
            Err(LzfError::TooLong { expected: 1, at: 0 })
        );
        assert_eq!(
            decompress(&[0, b'a'], 2),
            Err(LzfError::TooShort {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(decompress(&[], 0), Ok(Vec::new()));
    }
}

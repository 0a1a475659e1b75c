//! LZF, the compression Redis applies to long strings in RDB files: decompression, and a
//! compressor whose output Redis's `lzf_decompress` accepts.
//!
//! An LZF stream is a sequence of runs, each introduced by a control byte. A control byte under
//! 32 starts a literal run of `ctrl + 1` bytes copied as they are. Any other control byte is a
//! back-reference: its top three bits give the match length minus 2 (7 means "add the next
//! byte"), its low five bits and the following byte give the distance back into the output
//! minus 1. Matches may overlap the bytes they produce (a distance of 1 repeats one byte), so
//! they are copied in doubling pieces of the repeated bytes.
//!
//! Redis stores the uncompressed length beside the compressed data, so the decoder knows the
//! exact output size and refuses any stream that would produce more or fewer bytes, or that
//! refers to bytes before the start of the output.
//!
//! The compressor follows liblzf's `lzf_c.c` in spirit: a hash of the next three bytes finds the
//! last position that started with the same hash; if that position is at most 8192 bytes back
//! and really matches, the match is extended (up to 264 bytes) and written as a back-reference,
//! otherwise the byte joins the current literal run (flushed every 32 bytes). The output is not
//! byte-identical to liblzf's (its hash and table size differ) but uses the same format.

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
            // An overlapping match repeats the `back` bytes at `start`; what is copied so far is
            // a whole number of repetitions, so the next copy may take all of it at once.
            let mut copied = 0;
            while copied < len {
                let chunk = (len - copied).min(back + copied);
                out.extend_from_within(start..start + chunk);
                copied += chunk;
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

/// Longest literal run one control byte can introduce.
const MAX_LITERAL: usize = 32;
/// Longest match: 2 + 7 + 255.
const MAX_MATCH: usize = 264;
/// Farthest back a match may start: 13 bits of distance minus one.
const MAX_DISTANCE: usize = 8192;
/// Hash table sizes (bits): the table covers about the input's length, within these bounds.
const MIN_HASH_BITS: u32 = 8;
const MAX_HASH_BITS: u32 = 14;

/// Compresses `input` into the LZF format. The result may be longer than the input when the
/// input does not compress (Redis then stores the string as it is).
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 16);
    // Position + 1 of the last occurrence of each 3-byte hash (0: none), sized for the input:
    // zeroing a full table for every short string would cost more than compressing it.
    let bits = (usize::BITS - input.len().leading_zeros()).clamp(MIN_HASH_BITS, MAX_HASH_BITS);
    TABLE.with_borrow_mut(|table| {
        table.clear();
        table.resize(1 << bits, 0);
        compress_with(input, table, bits, &mut out);
    });
    out
}

thread_local! {
    /// The hash table of [`compress`], kept per thread: a dump compresses millions of short
    /// strings, and a fresh table each time costs an allocation bigger than the string.
    static TABLE: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn compress_with(input: &[u8], table: &mut [usize], bits: u32, out: &mut Vec<u8>) {
    let mut literal_start = 0;
    let mut ip = 0;
    while ip + 2 < input.len() {
        let slot = hash3(&input[ip..ip + 3], bits);
        let candidate = table[slot];
        table[slot] = ip + 1;
        if let Some(len) = match_len(input, candidate, ip) {
            push_literals(out, &input[literal_start..ip]);
            push_match(out, len, ip - (candidate - 1));
            ip += len;
            literal_start = ip;
        } else {
            ip += 1;
        }
    }
    push_literals(out, &input[literal_start..]);
}

fn hash3(b: &[u8], bits: u32) -> usize {
    let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

/// The length of the match between the earlier position `candidate - 1` and `ip`, if there is
/// one of at least three bytes within reach.
fn match_len(input: &[u8], candidate: usize, ip: usize) -> Option<usize> {
    let r = candidate.checked_sub(1)?;
    let distance = ip - r;
    if distance == 0 || distance > MAX_DISTANCE || input[r..r + 3] != input[ip..ip + 3] {
        return None;
    }
    let max = MAX_MATCH.min(input.len() - ip);
    let mut len = 3;
    while len < max && input[r + len] == input[ip + len] {
        len += 1;
    }
    Some(len)
}

fn push_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let n = lit.len().min(MAX_LITERAL);
        out.push((n - 1) as u8);
        out.extend_from_slice(&lit[..n]);
        lit = &lit[n..];
    }
}

fn push_match(out: &mut Vec<u8>, len: usize, distance: usize) {
    let off = distance - 1;
    let l = len - 2;
    if l < 7 {
        out.push(((l << 5) | (off >> 8)) as u8);
    } else {
        out.push(((7 << 5) | (off >> 8)) as u8);
        out.push((l - 7) as u8);
    }
    out.push((off & 0xff) as u8);
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

    #[test]
    fn compress_round_trips() {
        let mut samples: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"a".to_vec(),
            b"abcabcabcabcabcabcabcabcabc".to_vec(),
            vec![b'x'; 10_000],
            (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ];
        let mut seed = 12345u64;
        samples.push(
            (0..50_000)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    b"abcd"[(seed >> 62) as usize]
                })
                .collect(),
        );
        for s in samples {
            let c = compress(&s);
            assert_eq!(decompress(&c, s.len()).unwrap(), s);
        }
        assert!(compress(&[b'x'; 10_000]).len() < 200);
    }
}

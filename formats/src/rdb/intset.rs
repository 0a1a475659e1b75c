//! Intset: Redis's sorted array of integers for small sets of integers (RDB type 11).
//!
//! The blob is a 4-byte little-endian element width (2, 4 or 8 bytes), a 4-byte little-endian
//! count, then the members as little-endian signed integers of that width, in ascending order
//! without duplicates. Redis checks exactly that on load, and so does this decoder.

use super::blob::{err, BlobError, Problem};

const NAME: &str = "intset";

/// Decodes an intset blob into its members, in ascending order.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, BlobError> {
    if blob.len() < 8 {
        return Err(err(NAME, 0, Problem::Truncated));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(err(NAME, 0, Problem::BadEncoding(blob[0])));
    }
    let count = u64::from(u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]));
    let body = &blob[8..];
    if count * width as u64 != body.len() as u64 {
        return Err(err(
            NAME,
            4,
            Problem::SizeMismatch {
                header: 8 + count * width as u64,
                actual: blob.len() as u64,
            },
        ));
    }
    let mut out = Vec::with_capacity(count as usize);
    for (i, chunk) in body.chunks_exact(width).enumerate() {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])),
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                i64::from_le_bytes(b)
            }
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err(err(NAME, 8 + i * width, Problem::NotSorted));
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(width: u32, members: &[i64]) -> Vec<u8> {
        let mut b = width.to_le_bytes().to_vec();
        b.extend_from_slice(&(members.len() as u32).to_le_bytes());
        for &m in members {
            b.extend_from_slice(&m.to_le_bytes()[..width as usize]);
        }
        b
    }

    #[test]
    fn widths() {
        assert_eq!(decode(&blob(2, &[-3, 1, 700])).unwrap(), vec![-3, 1, 700]);
        assert_eq!(decode(&blob(4, &[-70000, 5])).unwrap(), vec![-70000, 5]);
        assert_eq!(
            decode(&blob(8, &[i64::MIN, i64::MAX])).unwrap(),
            vec![i64::MIN, i64::MAX]
        );
        assert_eq!(decode(&blob(2, &[])).unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn refuses_corruption() {
        assert!(decode(&blob(2, &[5, 5])).is_err());
        assert!(decode(&blob(2, &[6, 5])).is_err());
        assert!(decode(&blob(3, &[1])).is_err());
        let mut short = blob(4, &[1, 2]);
        short.pop();
        assert!(decode(&short).is_err());
        assert!(decode(&[2, 0, 0]).is_err());
    }
}

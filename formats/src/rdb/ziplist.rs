//! Ziplist: the compact list encoding of Redis 2.6 to 6.2, found in RDB types 10 (list), 12
//! (sorted set), 13 (hash) and inside quicklist v1 nodes (type 14).
//!
//! Layout: `zlbytes` (u32 LE, whole blob size), `zltail` (u32 LE, offset of the last entry),
//! `zllen` (u16 LE, entry count, 65535 meaning "count them"), the entries, and the end byte
//! 0xFF. Each entry starts with the previous entry's length (one byte under 254, otherwise 0xFE
//! and a u32 LE), then an encoding:
//!
//! * `00pppppp` string of up to 63 bytes, `01pppppp qqqqqqqq` up to 16383 (big-endian 14 bits),
//!   `10000000` + u32 big-endian length;
//! * `11000000` i16, `11010000` i32, `11100000` i64, `11110000` 24-bit, `11111110` i8 (all LE);
//! * `1111xxxx` with xxxx in 0001..=1101: the integer xxxx - 1 (0 to 12) with no data.
//!
//! Decoding checks every length against the blob, every prevlen against the entry before it,
//! and the header's size and count, as Redis's deep integrity check does.

use super::blob::{check_count, err, BlobError, Element, Problem};

const NAME: &str = "ziplist";
const HEADER: usize = 10;

/// Decodes a ziplist blob into its entries, in order.
pub fn decode(blob: &[u8]) -> Result<Vec<Element<'_>>, BlobError> {
    if blob.len() < HEADER + 1 {
        return Err(err(NAME, 0, Problem::Truncated));
    }
    let zlbytes = u64::from(u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]));
    if zlbytes != blob.len() as u64 {
        return Err(err(
            NAME,
            0,
            Problem::SizeMismatch {
                header: zlbytes,
                actual: blob.len() as u64,
            },
        ));
    }
    let zllen = u16::from_le_bytes([blob[8], blob[9]]);
    let mut out = Vec::new();
    let mut p = HEADER;
    let mut prev_size = 0usize;
    loop {
        let first = *blob.get(p).ok_or(err(NAME, p, Problem::Truncated))?;
        if first == 0xff {
            break;
        }
        let at = p;
        // The previous entry's size, which must be the size we just walked over.
        let prevlen = if first < 254 {
            p += 1;
            usize::from(first)
        } else {
            let b = blob
                .get(p + 1..p + 5)
                .ok_or(err(NAME, p, Problem::Truncated))?;
            p += 5;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        if prevlen != prev_size {
            return Err(err(
                NAME,
                at,
                Problem::SizeMismatch {
                    header: prevlen as u64,
                    actual: prev_size as u64,
                },
            ));
        }
        let enc = *blob.get(p).ok_or(err(NAME, p, Problem::Truncated))?;
        let need = |p: usize, n: usize| -> Result<&[u8], BlobError> {
            blob.get(p..p + n).ok_or(err(NAME, at, Problem::Truncated))
        };
        let element = match enc >> 6 {
            0 => {
                let len = usize::from(enc & 0x3f);
                let data = need(p + 1, len)?;
                p += 1 + len;
                Element::Bytes(data)
            }
            1 => {
                let b = need(p, 2)?;
                let len = (usize::from(b[0] & 0x3f) << 8) | usize::from(b[1]);
                let data = need(p + 2, len)?;
                p += 2 + len;
                Element::Bytes(data)
            }
            2 => {
                if enc != 0x80 {
                    return Err(err(NAME, p, Problem::BadEncoding(enc)));
                }
                let b = need(p + 1, 4)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                let data = need(p + 5, len)?;
                p += 5 + len;
                Element::Bytes(data)
            }
            _ => {
                let (value, size) = match enc {
                    0xc0 => {
                        let b = need(p + 1, 2)?;
                        (i64::from(i16::from_le_bytes([b[0], b[1]])), 2)
                    }
                    0xd0 => {
                        let b = need(p + 1, 4)?;
                        (i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])), 4)
                    }
                    0xe0 => {
                        let b = need(p + 1, 8)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        (i64::from_le_bytes(a), 8)
                    }
                    0xf0 => {
                        let b = need(p + 1, 3)?;
                        (i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8), 3)
                    }
                    0xfe => {
                        let b = need(p + 1, 1)?;
                        (i64::from(b[0] as i8), 1)
                    }
                    0xf1..=0xfd => (i64::from(enc & 0x0f) - 1, 0),
                    _ => return Err(err(NAME, p, Problem::BadEncoding(enc))),
                };
                p += 1 + size;
                Element::Int(value)
            }
        };
        prev_size = p - at;
        out.push(element);
    }
    if p != blob.len() - 1 {
        return Err(err(NAME, p + 1, Problem::TrailingBytes));
    }
    check_count(NAME, 8, u64::from(zllen), u64::from(u16::MAX), out.len())?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ziplist from raw entries (encoding byte(s) and data, without prevlen).
    pub(crate) fn build(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        for e in entries {
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let total = HEADER + body.len() + 1;
        let mut b = (total as u32).to_le_bytes().to_vec();
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        b.extend_from_slice(&body);
        b.push(0xff);
        b
    }

    pub(crate) fn str_entry(s: &[u8]) -> Vec<u8> {
        let mut e = vec![s.len() as u8];
        e.extend_from_slice(s);
        e
    }

    #[test]
    fn every_encoding() {
        let mut long = vec![0x40 | 1, 44];
        long.extend_from_slice(&[b'y'; 300]);
        let mut huge = vec![0x80, 0, 0, 0x40, 0];
        huge.extend_from_slice(&[b'z'; 0x4000]);
        let blob = build(&[
            str_entry(b"abc"),
            long,
            huge,
            vec![0xc0, 0x34, 0x12],
            vec![0xd0, 0xff, 0xff, 0xff, 0xff],
            vec![0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80],
            vec![0xf0, 0xff, 0xff, 0x7f],
            vec![0xf0, 0x00, 0x00, 0x80],
            vec![0xfe, 0x80],
            vec![0xf1],
            vec![0xfd],
        ]);
        let got = decode(&blob).unwrap();
        assert_eq!(got[0], Element::Bytes(b"abc"));
        assert_eq!(got[1], Element::Bytes(&[b'y'; 300]));
        assert_eq!(got[2], Element::Bytes(&[b'z'; 0x4000]));
        let ints: Vec<_> = got[3..].iter().map(|e| e.as_int().unwrap()).collect();
        assert_eq!(
            ints,
            vec![0x1234, -1, i64::MIN, 8_388_607, -8_388_608, -128, 0, 12]
        );
    }

    #[test]
    fn refuses_corruption() {
        let good = build(&[str_entry(b"abc"), str_entry(b"de")]);
        assert!(decode(&good).is_ok());
        let mut bad_size = good.clone();
        bad_size[0] += 1;
        assert!(decode(&bad_size).is_err());
        let mut bad_count = good.clone();
        bad_count[8] = 3;
        assert!(decode(&bad_count).is_err());
        let mut overrun = good.clone();
        overrun[11] = 60;
        assert!(decode(&overrun).is_err());
        let mut bad_prevlen = good.clone();
        bad_prevlen[15] = 4;
        assert!(decode(&bad_prevlen).is_err());
        let mut bad_enc = good.clone();
        bad_enc[11] = 0x81;
        assert!(decode(&bad_enc).is_err());
        assert!(decode(&good[..5]).is_err());
    }
}

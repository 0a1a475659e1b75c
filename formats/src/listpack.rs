//! Redis's listpack: the sizes its elements take, a decoder for listpacks read from files, and
//! a [`Builder`] that writes them (stream nodes in RDB files).
//!
//! A listpack is a 6-byte header (total bytes as a 32-bit little-endian number, element count as
//! a 16-bit one), the elements, and an end byte 0xFF. Each element is an encoding byte (or two,
//! or five) with its data, followed by a "backlen": the length of encoding plus data, written
//! in 1 to 5 bytes so the list can be walked backwards.
//!
//! Integers take the smallest of these forms: 7-bit unsigned (0..=127) in the encoding byte
//! itself, then 13, 16, 24, 32 and 64-bit signed. Strings carry a 6-bit length (under 64
//! bytes), a 12-bit length (under 4096) or a 32-bit one. A string that reads as an integer
//! under Redis's `string2ll` rules is stored as that integer.
//!
//! Redis decides when to start a new stream node from the byte size of the tail node's
//! listpack, so rockslot computes the sizes Redis would have without building the listpack.
//!
//! [`decode`] reads a listpack found in an RDB file (hashes, sorted sets, sets, quicklist v2
//! nodes and stream nodes) and checks it the way Redis's deep integrity check does: the header
//! size and count, every element length and backlen, and the end byte.

use crate::rdb::blob::{check_count, err, BlobError, Element, Problem};
use crate::text::string2ll;

const NAME: &str = "listpack";
const HEADER: usize = 6;

/// Decodes a listpack blob into its elements, in order.
pub fn decode(blob: &[u8]) -> Result<Vec<Element<'_>>, BlobError> {
    if blob.len() < HEADER + 1 {
        return Err(err(NAME, 0, Problem::Truncated));
    }
    let total = u64::from(u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]));
    if total != blob.len() as u64 {
        return Err(err(
            NAME,
            0,
            Problem::SizeMismatch {
                header: total,
                actual: blob.len() as u64,
            },
        ));
    }
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    let mut out = Vec::new();
    let mut p = HEADER;
    loop {
        let at = p;
        let enc = *blob.get(p).ok_or(err(NAME, p, Problem::Truncated))?;
        if enc == 0xff {
            break;
        }
        let need = |from: usize, n: usize| -> Result<&[u8], BlobError> {
            blob.get(from..from + n)
                .ok_or(err(NAME, at, Problem::Truncated))
        };
        let (element, size) = match enc {
            0x00..=0x7f => (Element::Int(i64::from(enc)), 1),
            0x80..=0xbf => {
                let len = usize::from(enc & 0x3f);
                (Element::Bytes(need(p + 1, len)?), 1 + len)
            }
            0xc0..=0xdf => {
                let b = need(p, 2)?;
                let raw = (u16::from(b[0] & 0x1f) << 8) | u16::from(b[1]);
                // Sign-extend 13 bits.
                (Element::Int(i64::from(((raw << 3) as i16) >> 3)), 2)
            }
            0xe0..=0xef => {
                let b = need(p, 2)?;
                let len = (usize::from(b[0] & 0x0f) << 8) | usize::from(b[1]);
                (Element::Bytes(need(p + 2, len)?), 2 + len)
            }
            0xf0 => {
                let b = need(p + 1, 4)?;
                let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (Element::Bytes(need(p + 5, len)?), 5 + len)
            }
            0xf1 => {
                let b = need(p + 1, 2)?;
                (Element::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))), 3)
            }
            0xf2 => {
                let b = need(p + 1, 3)?;
                (
                    Element::Int(i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8)),
                    4,
                )
            }
            0xf3 => {
                let b = need(p + 1, 4)?;
                (
                    Element::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    5,
                )
            }
            0xf4 => {
                let b = need(p + 1, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (Element::Int(i64::from_le_bytes(a)), 9)
            }
            _ => return Err(err(NAME, p, Problem::BadEncoding(enc))),
        };
        let back_len = backlen_size(size as u64) as usize;
        let back = need(p + size, back_len)?;
        let mut value = 0u64;
        for (i, b) in back.iter().rev().enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
        }
        if value != size as u64 {
            return Err(err(
                NAME,
                p + size,
                Problem::SizeMismatch {
                    header: value,
                    actual: size as u64,
                },
            ));
        }
        p += size + back_len;
        out.push(element);
    }
    if p != blob.len() - 1 {
        return Err(err(NAME, p + 1, Problem::TrailingBytes));
    }
    check_count(NAME, 4, u64::from(count), u64::from(u16::MAX), out.len())?;
    Ok(out)
}

/// Bytes of an empty listpack: the header and the end byte.
pub const EMPTY_BYTES: u64 = 7;

/// Bytes an integer element takes, backlen included.
pub fn int_size(value: i64) -> u64 {
    let encoded = match value {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    encoded + backlen_size(encoded)
}

/// Bytes a string element takes, backlen included (as an integer if it reads as one).
pub fn string_size(value: &[u8]) -> u64 {
    if let Some(int) = string2ll(value) {
        return int_size(int);
    }
    let len = value.len() as u64;
    let encoded = match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    };
    encoded + backlen_size(encoded)
}

/// Bytes of the backlen of an element whose encoding and data take `encoded` bytes.
fn backlen_size(encoded: u64) -> u64 {
    match encoded {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Writes a listpack element by element, choosing the same encodings Redis's `lpAppend` does:
/// strings that read as integers under `string2ll` become integers.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            buf: vec![0; HEADER],
            count: 0,
        }
    }
}

impl Builder {
    /// Appends a string (as an integer when it reads as one).
    pub fn push_bytes(&mut self, value: &[u8]) {
        if let Some(int) = string2ll(value) {
            return self.push_int(int);
        }
        let start = self.buf.len();
        let len = value.len();
        match len {
            0..=63 => self.buf.push(0x80 | len as u8),
            64..=4095 => self
                .buf
                .extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]),
            _ => {
                self.buf.push(0xf0);
                self.buf.extend_from_slice(&(len as u32).to_le_bytes());
            }
        }
        self.buf.extend_from_slice(value);
        self.end_element(start);
    }

    /// Appends an integer in its smallest form.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let le = v.to_le_bytes();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v as u16) & 0x1fff;
                self.buf
                    .extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
            }
            -32768..=32767 => self.push_raw(0xf1, &le[..2]),
            -8_388_608..=8_388_607 => self.push_raw(0xf2, &le[..3]),
            -2_147_483_648..=2_147_483_647 => self.push_raw(0xf3, &le[..4]),
            _ => self.push_raw(0xf4, &le),
        }
        self.end_element(start);
    }

    fn push_raw(&mut self, encoding: u8, data: &[u8]) {
        self.buf.push(encoding);
        self.buf.extend_from_slice(data);
    }

    /// Writes the backlen of the element that starts at `start`: the highest 7 bits first, every
    /// byte after the first with the continuation bit, so that it reads backwards.
    fn end_element(&mut self, start: usize) {
        let l = (self.buf.len() - start) as u64;
        let n = backlen_size(l);
        for i in (0..n).rev() {
            let mut b = ((l >> (7 * i)) & 0x7f) as u8;
            if i != n - 1 {
                b |= 0x80;
            }
            self.buf.push(b);
        }
        self.count += 1;
    }

    /// Elements appended so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no element was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the finished listpack will take.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished listpack, or `None` if it would exceed the 32-bit total size.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        self.buf.push(0xff);
        let total = u32::try_from(self.buf.len()).ok()?;
        // Counts of 65535 and more are stored as 65535 ("walk to count").
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        Some(self.buf)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn integer_forms() {
        assert_eq!(int_size(0), 2);
        assert_eq!(int_size(127), 2);
        assert_eq!(int_size(128), 3);
        assert_eq!(int_size(-1), 3);
        assert_eq!(int_size(4095), 3);
        assert_eq!(int_size(4096), 4);
        assert_eq!(int_size(32767), 4);
        assert_eq!(int_size(32768), 5);
        assert_eq!(int_size(8_388_608), 6);
        assert_eq!(int_size(2_147_483_648), 10);
        assert_eq!(int_size(i64::MIN), 10);
    }

    /// Builds a listpack from raw elements (encoding and data, without backlen).
    pub(crate) fn build(elements: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in elements {
            body.extend_from_slice(e);
            let l = e.len() as u64;
            let n = backlen_size(l) as usize;
            let mut back = Vec::new();
            for i in (0..n).rev() {
                let mut b = ((l >> (7 * i)) & 0x7f) as u8;
                // Every byte but the first written carries the continuation bit.
                if i != n - 1 {
                    b |= 0x80;
                }
                back.push(b);
            }
            body.extend_from_slice(&back);
        }
        let total = HEADER + body.len() + 1;
        let mut b = (total as u32).to_le_bytes().to_vec();
        b.extend_from_slice(&(elements.len() as u16).to_le_bytes());
        b.extend_from_slice(&body);
        b.push(0xff);
        b
    }

    #[test]
    fn decodes_every_encoding() {
        let mut mid = vec![0xe0 | 1, 44];
        mid.extend_from_slice(&[b'm'; 300]);
        let mut big = vec![0xf0];
        big.extend_from_slice(&5000u32.to_le_bytes());
        big.extend_from_slice(&[b'b'; 5000]);
        let blob = build(&[
            vec![5],
            vec![0x80 | 3, b'a', b'b', b'c'],
            vec![0xc0 | 0x1f, 0xff],
            vec![0xc0 | 0x10, 0x00],
            mid,
            big,
            vec![0xf1, 0x00, 0x80],
            vec![0xf2, 0xff, 0xff, 0x7f],
            vec![0xf3, 0xff, 0xff, 0xff, 0xff],
            vec![0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ]);
        let got = decode(&blob).unwrap();
        assert_eq!(got[0], Element::Int(5));
        assert_eq!(got[1], Element::Bytes(b"abc"));
        assert_eq!(got[2], Element::Int(-1));
        assert_eq!(got[3], Element::Int(-4096));
        assert_eq!(got[4], Element::Bytes(&[b'm'; 300]));
        assert_eq!(got[5], Element::Bytes(&[b'b'; 5000]));
        assert_eq!(got[6], Element::Int(-32768));
        assert_eq!(got[7], Element::Int(8_388_607));
        assert_eq!(got[8], Element::Int(-1));
        assert_eq!(got[9], Element::Int(i64::MAX));
    }

    #[test]
    fn decode_refuses_corruption() {
        let good = build(&[vec![0x80 | 2, b'h', b'i'], vec![7]]);
        assert_eq!(decode(&good).unwrap().len(), 2);
        let mut bad_total = good.clone();
        bad_total[0] ^= 1;
        assert!(decode(&bad_total).is_err());
        let mut bad_count = good.clone();
        bad_count[4] = 3;
        assert!(decode(&bad_count).is_err());
        let mut bad_backlen = good.clone();
        bad_backlen[9] = 9;
        assert!(decode(&bad_backlen).is_err());
        let mut bad_len = good.clone();
        bad_len[6] = 0x80 | 50;
        assert!(decode(&bad_len).is_err());
        assert!(decode(&good[..4]).is_err());
        let mut no_end = good.clone();
        no_end.pop();
        assert!(decode(&no_end).is_err());
    }

    #[test]
    fn string_forms() {
        assert_eq!(string_size(b""), 2);
        assert_eq!(string_size(b"abc"), 5);
        assert_eq!(string_size(b"12"), 2);
        assert_eq!(string_size(b"012"), 5);
        assert_eq!(string_size(&[b'x'; 63]), 65);
        assert_eq!(string_size(&[b'x'; 64]), 67);
        // 2 + 126 = 128 bytes of encoding and data need a 2-byte backlen.
        assert_eq!(string_size(&[b'x'; 126]), 130);
        assert_eq!(string_size(&[b'x'; 4096]), 4096 + 5 + 2);
    }

    #[test]
    fn builder_round_trips_and_sizes_match() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            2_147_483_647,
            -2_147_483_648,
            2_147_483_648,
            i64::MAX,
            i64::MIN,
        ];
        let strings: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"abc".to_vec(),
            b"012".to_vec(),
            b"-17".to_vec(),
            vec![b'x'; 63],
            vec![b'x'; 64],
            vec![b'x'; 126],
            vec![b'x'; 4095],
            vec![b'x'; 4096],
            vec![b'y'; 20_000],
        ];
        let mut b = Builder::default();
        let mut size = EMPTY_BYTES;
        for &i in &ints {
            b.push_int(i);
            size += int_size(i);
        }
        for s in &strings {
            b.push_bytes(s);
            size += string_size(s);
        }
        assert_eq!(b.bytes() as u64, size);
        let blob = b.finish().unwrap();
        let got = decode(&blob).unwrap();
        assert_eq!(got.len(), ints.len() + strings.len());
        for (g, &i) in got.iter().zip(&ints) {
            assert_eq!(*g, Element::Int(i));
        }
        for (g, s) in got[ints.len()..].iter().zip(&strings) {
            assert_eq!(g.to_vec(), *s);
        }
    }
}

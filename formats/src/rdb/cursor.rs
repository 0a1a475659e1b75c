//! The RDB primitive encodings (lengths, strings, integers, doubles, times) read from a slice
//! that may hold only part of an item.
//!
//! A read that runs past the available bytes stops with [`Stop::Incomplete`], carrying how many
//! bytes (from the start of the slice) the item needs at least; the reader then waits for that
//! much input and parses the item again from its start. Every other problem is an [`RdbError`]
//! with the absolute offset of the byte that broke the rule.

use super::{lzf, ErrorKind, RdbError};

/// Why a parse stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// At least this many bytes, counted from the start of the item, are needed.
    Incomplete(usize),
    Error(RdbError),
}

impl From<RdbError> for Stop {
    fn from(e: RdbError) -> Self {
        Stop::Error(e)
    }
}

pub(crate) type Parse<T> = Result<T, Stop>;

/// A length, or the marker of a specially encoded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    Plain(u64),
    Encoded(u8),
}

pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`, whose first byte is at absolute offset `base`.
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Self { data, pos: 0, base }
    }

    /// The absolute offset of position `pos` of the slice.
    pub(crate) fn offset_of(&self, pos: usize) -> u64 {
        self.base + pos as u64
    }

    pub(crate) fn error(&self, pos: usize, kind: ErrorKind) -> Stop {
        Stop::Error(RdbError {
            offset: self.offset_of(pos),
            kind,
        })
    }

    pub(crate) fn take(&mut self, n: usize) -> Parse<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Stop::Incomplete(usize::MAX))?;
        let slice = self.data.get(self.pos..end).ok_or(Stop::Incomplete(end))?;
        self.pos = end;
        Ok(slice)
    }

    /// Takes a length as a byte count, refusing counts that cannot fit in memory.
    pub(crate) fn take_u64(&mut self, n: u64) -> Parse<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| Stop::Incomplete(usize::MAX))?;
        self.take(n)
    }

    pub(crate) fn u8(&mut self) -> Parse<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32_le(&mut self) -> Parse<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64_le(&mut self) -> Parse<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn u64_be(&mut self) -> Parse<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A length or an encoded-string marker.
    pub(crate) fn len_or_encoding(&mut self) -> Parse<Len> {
        let at = self.pos;
        let first = self.u8()?;
        match first >> 6 {
            0 => Ok(Len::Plain(u64::from(first & 0x3f))),
            1 => {
                let second = self.u8()?;
                Ok(Len::Plain(
                    (u64::from(first & 0x3f) << 8) | u64::from(second),
                ))
            }
            2 => match first {
                0x80 => Ok(Len::Plain(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().unwrap_or([0; 4]),
                )))),
                0x81 => Ok(Len::Plain(self.u64_be()?)),
                _ => Err(self.error(at, ErrorKind::BadLength(first))),
            },
            _ => Ok(Len::Encoded(first & 0x3f)),
        }
    }

    /// A plain length (an encoded-string marker here is an error).
    pub(crate) fn length(&mut self, what: &'static str) -> Parse<u64> {
        let at = self.pos;
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => Err(self.error(
                at,
                ErrorKind::EncodedLength {
                    what,
                    found: 0xc0 | e,
                },
            )),
        }
    }

    /// A string in any of its encodings; integers come back as decimal text.
    pub(crate) fn string(&mut self) -> Parse<Vec<u8>> {
        let at = self.pos;
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(self.take_u64(n)?.to_vec()),
            Len::Encoded(0) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Len::Encoded(1) => {
                let b = self.take(2)?;
                Ok(i16::from_le_bytes([b[0], b[1]]).to_string().into_bytes())
            }
            Len::Encoded(2) => Ok((self.u32_le()? as i32).to_string().into_bytes()),
            Len::Encoded(3) => {
                let clen = self.length("an LZF compressed length")?;
                let ulen = self.length("an LZF uncompressed length")?;
                let data_at = self.pos;
                let data = self.take_u64(clen)?;
                let ulen = usize::try_from(ulen).map_err(|_| {
                    self.error(
                        data_at,
                        ErrorKind::Unexpected {
                            expected: "an LZF length that fits in memory",
                            found: ulen.to_string(),
                        },
                    )
                })?;
                lzf::decompress(data, ulen).map_err(|e| self.error(data_at, ErrorKind::Lzf(e)))
            }
            Len::Encoded(e) => Err(self.error(at, ErrorKind::BadStringEncoding(0xc0 | e))),
        }
    }

    /// A sorted-set score of RDB types 3 (text with a one-byte length; 253 nan, 254 +inf,
    /// 255 -inf).
    pub(crate) fn text_double(&mut self) -> Parse<f64> {
        let at = self.pos;
        let len = self.u8()?;
        match len {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(usize::from(n))?;
                super::blob::parse_f64(text).ok_or_else(|| {
                    self.error(
                        at,
                        ErrorKind::Unexpected {
                            expected: "a score as decimal text",
                            found: String::from_utf8_lossy(text).into_owned(),
                        },
                    )
                })
            }
        }
    }

    /// A binary double (little-endian IEEE 754), RDB type 5 scores.
    pub(crate) fn binary_double(&mut self) -> Parse<f64> {
        Ok(f64::from_bits(self.u64_le()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(bytes: &[u8]) -> Parse<Len> {
        Cursor::new(bytes, 0).len_or_encoding()
    }

    #[test]
    fn lengths() {
        assert_eq!(len(&[0x05]).unwrap(), Len::Plain(5));
        assert_eq!(len(&[0x41, 0x02]).unwrap(), Len::Plain(0x102));
        assert_eq!(len(&[0x80, 0, 1, 0, 0]).unwrap(), Len::Plain(65536));
        assert_eq!(
            len(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap(),
            Len::Plain(1 << 32)
        );
        assert_eq!(len(&[0xc3]).unwrap(), Len::Encoded(3));
        assert!(matches!(len(&[0x82]), Err(Stop::Error(_))));
        assert!(matches!(len(&[0x41]), Err(Stop::Incomplete(2))));
        assert!(matches!(len(&[0x80, 0]), Err(Stop::Incomplete(5))));
    }

    #[test]
    fn strings() {
        let s = |b: &[u8]| Cursor::new(b, 0).string();
        assert_eq!(s(&[3, b'a', b'b', b'c']).unwrap(), b"abc");
        assert_eq!(s(&[0xc0, 0xff]).unwrap(), b"-1");
        assert_eq!(s(&[0xc1, 0x00, 0x80]).unwrap(), b"-32768");
        assert_eq!(s(&[0xc2, 0xff, 0xff, 0xff, 0x7f]).unwrap(), b"2147483647");
        // LZF: clen 5, ulen 6, literal "ab" then a 4-byte match at distance 2.
        assert_eq!(
            s(&[0xc3, 5, 6, 1, b'a', b'b', 2 << 5, 1]).unwrap(),
            b"ababab"
        );
        assert!(matches!(s(&[5, b'a']), Err(Stop::Incomplete(6))));
        assert_eq!(s(&[0]).unwrap(), b"");
        let err = Cursor::new(&[0xc4], 100).string();
        match err {
            Err(Stop::Error(e)) => {
                assert_eq!(
                    e.to_string(),
                    "at offset 100: expected a string encoding, found byte 0xc4"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn scores() {
        assert!(Cursor::new(&[253], 0).text_double().unwrap().is_nan());
        assert_eq!(Cursor::new(&[254], 0).text_double().unwrap(), f64::INFINITY);
        assert_eq!(
            Cursor::new(&[3, b'1', b'.', b'5'], 0)
                .text_double()
                .unwrap(),
            1.5
        );
        assert_eq!(
            Cursor::new(&1.25f64.to_le_bytes(), 0)
                .binary_double()
                .unwrap(),
            1.25
        );
    }
}

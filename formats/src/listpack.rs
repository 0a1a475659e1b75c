//! Redis's listpack: the sizes its elements take.
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

use crate::text::string2ll;

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

#[cfg(test)]
mod tests {
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
}

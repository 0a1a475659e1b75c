//! CRC-64 as Redis computes it ("Jones"): polynomial 0xad93d23594c935a9, reflected input and
//! output, initial value 0, no final xor. It protects whole RDB files (the 8 bytes after the EOF
//! opcode) and DUMP payloads. The check value for ASCII `123456789` is 0xe9c6d914c4b8d9ca.

use crc::{Crc, Digest, Table, CRC_64_REDIS};

/// Sixteen tables of 256 entries (32 KB): the checksum runs over every byte of a file being
/// loaded, and slicing by 16 makes it several times faster than one table.
static REDIS: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC-64/Jones of one buffer.
pub fn checksum(bytes: &[u8]) -> u64 {
    REDIS.checksum(bytes)
}

/// An incremental CRC-64/Jones, fed in pieces.
#[derive(Clone)]
pub struct Crc64 {
    digest: Digest<'static, u64, Table<16>>,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self {
            digest: REDIS.digest(),
        }
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc64").finish_non_exhaustive()
    }
}

impl Crc64 {
    /// Adds bytes to the running checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
    }

    /// The checksum of everything fed so far.
    pub fn value(&self) -> u64 {
        self.digest.clone().finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
        let mut c = Crc64::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.value(), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn dump_payload_from_the_reference() {
        // DUMP of "v0" in Redis 7.0.15: type, string, version 10, CRC-64 little-endian.
        let payload = [0x00, 0x02, b'v', b'0', 0x0a, 0x00];
        assert_eq!(
            checksum(&payload).to_le_bytes(),
            [0xe1, 0xdd, 0xf0, 0x90, 0xe2, 0x01, 0x6b, 0xaf]
        );
    }
}

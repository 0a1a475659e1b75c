//! The dense representation: 16384 6-bit registers packed from the least significant bit of
//! each byte upwards (`|11000000|22221111|33333322|...`), 12288 bytes after the header. These
//! are Redis's `HLL_DENSE_GET_REGISTER` / `HLL_DENSE_SET_REGISTER` macros, which may touch the
//! byte after the last register (the sds terminator in Redis, read as zero here and never
//! written, as the macros leave it unchanged).

/// Index bits: 2^14 registers.
pub const P: usize = 14;
pub const REGISTERS: usize = 1 << P;
const BITS: usize = 6;
const REGISTER_MAX: u64 = (1 << BITS) - 1;
/// Bytes of packed registers.
pub const BYTES: usize = (REGISTERS * BITS).div_ceil(8);
/// Slots of a register histogram: every 6-bit value.
pub const HISTOGRAM: usize = 1 << BITS;

/// Counts of registers per value, as `hllCount` builds them.
pub type Histogram = [u64; HISTOGRAM];

fn position(index: usize) -> (usize, usize) {
    (index * BITS / 8, (index * BITS) & 7)
}

/// Register `index` of packed `registers`.
pub fn get(registers: &[u8], index: usize) -> u8 {
    let (byte, fb) = position(index);
    let b0 = u64::from(registers.get(byte).copied().unwrap_or(0));
    let b1 = u64::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX) as u8
}

/// Sets register `index` to `value` (at most 63).
pub fn set(registers: &mut [u8], index: usize, value: u8) {
    let (byte, fb) = position(index);
    let value = u64::from(value);
    if let Some(b) = registers.get_mut(byte) {
        *b = ((u64::from(*b) & !(REGISTER_MAX << fb)) | (value << fb)) as u8;
    }
    if let Some(b) = registers.get_mut(byte + 1) {
        let fb8 = 8 - fb;
        *b = ((u64::from(*b) & !(REGISTER_MAX >> fb8)) | (value >> fb8)) as u8;
    }
}

/// `hllDenseSet`: raises register `index` to `count`; returns whether it changed.
pub fn raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > get(registers, index) {
        set(registers, index, count);
        true
    } else {
        false
    }
}

/// `hllDenseRegHisto`.
pub fn histogram(registers: &[u8]) -> Histogram {
    let mut histogram = [0; HISTOGRAM];
    for index in 0..REGISTERS {
        histogram[usize::from(get(registers, index))] += 1;
    }
    histogram
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_do_not_disturb_their_neighbours() {
        let mut registers = vec![0u8; BYTES];
        let value = |i: usize| ((i * 37 + 11) % 64) as u8;
        for i in 0..REGISTERS {
            set(&mut registers, i, value(i));
        }
        for i in 0..REGISTERS {
            assert_eq!(get(&registers, i), value(i), "register {i}");
        }
        set(&mut registers, 1, 0);
        assert_eq!(
            (get(&registers, 0), get(&registers, 1), get(&registers, 2)),
            (value(0), 0, value(2))
        );
    }

    #[test]
    fn packing_is_redis_layout() {
        // Register 1 = 0b111111 occupies the top two bits of byte 0 and the low four of byte 1.
        let mut registers = vec![0u8; BYTES];
        set(&mut registers, 1, 63);
        assert_eq!(&registers[..3], &[0b1100_0000, 0b0000_1111, 0]);
        set(&mut registers, REGISTERS - 1, 63);
        assert_eq!(registers[BYTES - 1], 0b1111_1100);
        assert!(raise(&mut registers, 5, 3));
        assert!(!raise(&mut registers, 5, 2));
        assert_eq!(histogram(&registers)[63], 2);
        assert_eq!(histogram(&registers)[3], 1);
    }
}

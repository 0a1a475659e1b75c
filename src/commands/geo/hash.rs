//! Geohashes as Redis 7.0's `geohash.c` computes them.
//!
//! A position is encoded by splitting the longitude range and the latitude range into 2^step
//! cells each and interleaving the two cell numbers bit by bit (longitude in the odd bits,
//! latitude in the even ones). GEO members store the 26-step hash (52 bits) as their sorted-set
//! score. The latitude range is Web Mercator's ±85.05112878 degrees, so GEOHASH re-encodes with
//! the standard ±90 range before printing the base32 text.
//!
//! The arithmetic follows the C code operation by operation (the same float expressions, the
//! same truncating conversions), because replies print decoded coordinates to 17 decimals and
//! search results depend on which side of a cell border a point falls.

/// Web Mercator limits, the only positions GEO accepts.
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;

/// The precision of stored hashes: 26 steps, 52 bits.
pub const STEP_MAX: u8 = 26;

/// A coordinate range (`GeoHashRange`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// Redis's ranges: the whole longitude span, the Mercator latitude span.
pub const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A hash of `step` steps in the low `2 * step` bits (`GeoHashBits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    /// Redis's `HASHISZERO`: the "no area" value neighbours are cleared to.
    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// `geohashAlign52Bits`: the hash as a 52-bit score prefix.
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// The cell of a hash (`GeoHashArea`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// The eight cells around a hash (`GeoHashNeighbors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Neighbors {
    pub north: Hash,
    pub east: Hash,
    pub west: Hash,
    pub south: Hash,
    pub north_east: Hash,
    pub south_east: Hash,
    pub north_west: Hash,
    pub south_west: Hash,
}

/// Interleaves the low 32 bits of `x` (even positions) and `y` (odd positions).
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = u64::from(xlo);
    let mut y = u64::from(ylo);
    for (b, s) in B.iter().zip(S).rev() {
        x = (x | (x << s)) & b;
        y = (y | (y << s)) & b;
    }
    x | (y << 1)
}

/// Undoes [`interleave64`]: the even bits in the low half, the odd bits in the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for (b, s) in B.iter().zip(S) {
        x = (x | (x >> s)) & b;
        y = (y | (y >> s)) & b;
    }
    x | (y << 32)
}

/// C's conversion of a non-negative double below 2^32 to `uint32_t` (truncation).
fn to_u32(value: f64) -> u32 {
    value as u32
}

/// `geohashEncode`: the cell of a position at `step` steps within the given ranges, or `None`
/// outside them (or outside the Mercator limits, whatever the ranges).
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    // Written like the C comparisons, which let NaN through (`contains` would not).
    #[allow(clippy::manual_range_contains)]
    if longitude > LONG_MAX || longitude < LONG_MIN || latitude > LAT_MAX || latitude < LAT_MIN {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let cells = (1u64 << step) as f64;
    lat_offset *= cells;
    long_offset *= cells;
    Some(Hash {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

/// `geohashEncodeWGS84`: [`encode`] with Redis's ranges.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Hash> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// `geohashDecode`: the cell of a hash within Redis's ranges; `None` for the zero hash.
pub fn decode(hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_scale = LAT_RANGE.max - LAT_RANGE.min;
    let long_scale = LONG_RANGE.max - LONG_RANGE.min;
    let ilato = separated as u32;
    let ilono = (separated >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    // `ilato + 1` is a 32-bit addition in C, wrapping at 2^32.
    Some(Area {
        latitude: Range {
            min: LAT_RANGE.min + (f64::from(ilato) * 1.0 / cells) * lat_scale,
            max: LAT_RANGE.min + (f64::from(ilato.wrapping_add(1)) * 1.0 / cells) * lat_scale,
        },
        longitude: Range {
            min: LONG_RANGE.min + (f64::from(ilono) * 1.0 / cells) * long_scale,
            max: LONG_RANGE.min + (f64::from(ilono.wrapping_add(1)) * 1.0 / cells) * long_scale,
        },
    })
}

/// `geohashDecodeAreaToLongLat`: the centre of a cell, clamped to the Mercator limits.
fn area_center(area: &Area) -> [f64; 2] {
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [longitude, latitude]
}

/// C's `(uint64_t)` conversion of a double as x86-64 compilers emit it: values below 2^63
/// (negative ones included) go through a signed conversion, larger ones are offset by 2^63;
/// out-of-range results are the "integer indefinite" 2^63.
fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let signed = |value: f64| {
        if (-TWO_63..TWO_63).contains(&value) {
            value as i64 as u64
        } else {
            1 << 63
        }
    };
    if score < TWO_63 {
        signed(score)
    } else {
        signed(score - TWO_63) ^ (1 << 63)
    }
}

/// Redis's `decodeGeohash`: the position a sorted-set score stands for, whatever the score.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = Hash {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    decode(hash).map(|area| area_center(&area))
}

/// The score GEOADD stores for a position already checked to be within the limits.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(Hash::align52)
}

/// GEOHASH's 11-character text of a stored score: the decoded position re-encoded over the
/// standard ±90 latitude range, 5 bits per character, the 11th character always '0'.
pub fn base32(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [longitude, latitude] = decode_score(score)?;
    let standard_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    // Redis ignores a failed encoding and prints the zeroed hash.
    let bits =
        encode(LONG_RANGE, standard_lat, longitude, latitude, STEP_MAX).map_or(0, |h| h.bits);
    let mut text = [b'0'; 11];
    for (i, slot) in text.iter_mut().enumerate().take(10) {
        let index = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *slot = ALPHABET[index as usize];
    }
    Some(text)
}

/// `geohash_move_x`: one cell east (`d > 0`) or west.
fn move_x(hash: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// `geohash_move_y`: one cell north (`d > 0`) or south.
fn move_y(hash: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// `geohashNeighbors`: the eight cells around `hash`, wrapping around the edges.
pub fn neighbors(hash: Hash) -> Neighbors {
    let moved = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: moved(1, 0),
        west: moved(-1, 0),
        south: moved(0, -1),
        north: moved(0, 1),
        north_west: moved(-1, 1),
        north_east: moved(1, 1),
        south_east: moved(1, -1),
        south_west: moved(-1, -1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are Redis 7.0.15's replies for GEOADD / GEOPOS / GEOHASH of Palermo.
    #[test]
    fn palermo_like_redis() {
        let score = score_of(13.361389, 38.115556).unwrap();
        assert_eq!(score, 3479099956230698);
        let [lon, lat] = decode_score(score as f64).unwrap();
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&base32(score as f64).unwrap(), b"sqc8b49rny0");
    }

    #[test]
    fn interleave_round_trips() {
        let bits = interleave64(0x3ffffff, 0x1234567);
        let separated = deinterleave64(bits);
        assert_eq!(separated as u32, 0x3ffffff);
        assert_eq!((separated >> 32) as u32, 0x1234567);
    }

    #[test]
    fn out_of_range_positions_do_not_encode() {
        assert!(encode_wgs84(180.1, 0.0, STEP_MAX).is_none());
        assert!(encode_wgs84(0.0, 85.06, STEP_MAX).is_none());
        assert!(encode_wgs84(0.0, 0.0, 0).is_none());
    }

    #[test]
    fn scores_convert_like_c() {
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(1.5), 1);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(
            score_bits(1.8446744073709552e19 / 2.0 * 1.5),
            13835058055282163712
        );
    }
}

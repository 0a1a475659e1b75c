//! Search areas and distances, as Redis 7.0's `geohash_helper.c` computes them.
//!
//! A search is a circle (BYRADIUS, GEORADIUS) or an axis-aligned box (BYBOX) around a centre.
//! Redis covers it with the centre's geohash cell at an estimated precision plus the eight
//! neighbouring cells (dropping the neighbours the search cannot reach), reads each cell as a
//! score range of the sorted set, and keeps the points that pass the exact test: the haversine
//! distance on a sphere of radius [`EARTH_RADIUS_IN_METERS`] for a circle, the east-west and
//! north-south distances for a box. The expressions keep the C evaluation order, so distances
//! (printed to 4 decimals) and the points on a border come out as Redis's.

use super::hash::{self, Area, Hash, Neighbors, LAT_RANGE, LONG_RANGE};

/// Earth's quadratic mean radius for WGS-84, in meters.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator projection's width, in meters.
const MERCATOR_MAX: f64 = 20037726.37;
/// Redis's `D_R`: degrees to radians.
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(angle: f64) -> f64 {
    angle * D_R
}

fn rad_deg(angle: f64) -> f64 {
    angle / D_R
}

/// What is searched around the centre, in the request's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search area (`GeoShape`): centre (longitude, latitude), extent, and the unit's size in
/// meters (`conversion`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub center: [f64; 2],
    pub extent: Extent,
    pub conversion: f64,
}

/// The cells a search reads (`GeoHashRadius`): the centre's and its neighbours, some zeroed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cover {
    pub hash: Hash,
    pub neighbors: Neighbors,
}

impl Cover {
    /// The nine cells in Redis's visiting order: centre, N, S, E, W, NE, NW, SE, SW.
    pub fn cells(&self) -> [Hash; 9] {
        let n = &self.neighbors;
        [
            self.hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// `geohashEstimateStepsByRadius`: the precision whose cells are about as large as the search.
fn estimate_steps(range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    // Wider cells towards the poles.
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Shape {
    /// Half the height and half the width of the area, in meters.
    fn half_extent_meters(&self) -> (f64, f64) {
        match self.extent {
            Extent::Radius(radius) => (self.conversion * radius, self.conversion * radius),
            Extent::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        }
    }

    /// `geohashBoundingBox`: [min longitude, min latitude, max longitude, max latitude].
    fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (height, width) = self.half_extent_meters();
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// `geohashCalculateAreasByShapeWGS84`: the cells that cover the area.
    pub fn cover(&self) -> Cover {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let [longitude, latitude] = self.center;
        let radius_meters = match self.extent {
            Extent::Radius(radius) => radius,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius_meters, latitude);
        let locate = |steps: u8| {
            // The centre is always within the limits; Redis would use a zeroed hash otherwise.
            let hash =
                hash::encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps).unwrap_or(Hash {
                    bits: 0,
                    step: steps,
                });
            let area = hash::decode(hash);
            (hash, hash::neighbors(hash), area)
        };
        let (mut center, mut neighbors, mut area) = locate(steps);
        // A search near a cell border can reach past the neighbours: use larger cells.
        let decoded = |h: Hash| hash::decode(h);
        let mut decrease = false;
        if let Some(north) = decoded(neighbors.north) {
            decrease |= north.latitude.max < max_lat;
        }
        if let Some(south) = decoded(neighbors.south) {
            decrease |= south.latitude.min > min_lat;
        }
        if let Some(east) = decoded(neighbors.east) {
            decrease |= east.longitude.max < max_lon;
        }
        if let Some(west) = decoded(neighbors.west) {
            decrease |= west.longitude.min > min_lon;
        }
        if steps > 1 && decrease {
            steps -= 1;
            (center, neighbors, area) = locate(steps);
        }
        if steps >= 2 {
            if let Some(area) = area {
                exclude_useless(&area, [min_lon, min_lat, max_lon, max_lat], &mut neighbors);
            }
        }
        Cover {
            hash: center,
            neighbors,
        }
    }

    /// `geoWithinShape` after decoding: the distance from the centre to `point` (in meters)
    /// when the point is inside the area.
    pub fn distance_if_within(&self, point: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = point;
        match self.extent {
            Extent::Radius(radius) => {
                // Only a distance beyond the radius is outside (a NaN one is not, as in C).
                let distance = distance(x1, y1, x2, y2);
                if distance > radius * self.conversion {
                    return None;
                }
                Some(distance)
            }
            Extent::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                let lon_distance = distance(x2, y2, x1, y2);
                let lat_distance = distance(x2, y2, x2, y1);
                if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }
}

/// Zeroes the neighbours on the sides where the centre cell already covers the area (written
/// with negated comparisons like the C code, which also lets NaN through).
fn exclude_useless(area: &Area, bounds: [f64; 4], neighbors: &mut Neighbors) {
    let [min_lon, min_lat, max_lon, max_lat] = bounds;
    let zero = Hash::default();
    if area.latitude.min < min_lat {
        neighbors.south = zero;
        neighbors.south_west = zero;
        neighbors.south_east = zero;
    }
    if area.latitude.max > max_lat {
        neighbors.north = zero;
        neighbors.north_east = zero;
        neighbors.north_west = zero;
    }
    if area.longitude.min < min_lon {
        neighbors.west = zero;
        neighbors.south_west = zero;
        neighbors.north_west = zero;
    }
    if area.longitude.max > max_lon {
        neighbors.east = zero;
        neighbors.south_east = zero;
        neighbors.north_east = zero;
    }
}

/// `geohashGetDistance`: the haversine great-circle distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis 7.0.15: GEODIST Palermo Catania is "166274.1516" m.
    #[test]
    fn haversine_like_redis() {
        let palermo = hash::decode_score(3479099956230698.0).unwrap();
        let catania = hash::decode_score(3479447370796909.0).unwrap();
        let d = distance(palermo[0], palermo[1], catania[0], catania[1]);
        assert_eq!(format!("{d:.4}"), "166274.1516");
    }

    #[test]
    fn steps_follow_the_radius() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(1.0, 0.0), 24);
        assert_eq!(estimate_steps(1.0, 70.0), 23);
        assert_eq!(estimate_steps(1.0, -81.0), 22);
        assert_eq!(estimate_steps(1e9, 0.0), 1);
    }
}

//! The GEO searches, all one function in Redis 7.0 (`georadiusGeneric`): GEORADIUS and
//! GEORADIUSBYMEMBER (with STORE / STOREDIST), their read-only _RO forms, GEOSEARCH and
//! GEOSEARCHSTORE.
//!
//! The steps and their order are Redis's, because they decide which error a bad request gets:
//! the source key's type is checked first, then the centre and extent of the fixed-position
//! forms, then the options one by one (a FROMMEMBER naming no member fails at once), then the
//! combination rules. A missing source answers an empty array (or stores nothing, deleting the
//! destination). Otherwise the centre cell and its neighbours ([`Shape::cover`]) are read as
//! score ranges in Redis's order, points outside the exact shape are dropped, and with ANY the
//! walk stops at COUNT points. Sorting uses the C sorts Redis uses (full `qsort`, or `pqsort`
//! of the first COUNT), so points at equal distances come out in Redis's order too; without
//! ASC/DESC (and without COUNT) the points stay in cell and score order.

use bytes::Bytes;
use formats::resp::Reply;

use super::hash::{self, Hash};
use super::shape::{Extent, Shape};
use super::{coordinate, distance_reply, long_lat, unit};
use crate::commands::args::{parse_f64, parse_i64};
use crate::commands::sort::qsort::{pqsort, qsort};
use crate::commands::zset::store::{self, ScoreRange, ZSet};
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

/// Which command is searching (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS / GEORADIUS_RO (`ro`: no STORE options).
    Radius { ro: bool },
    /// GEORADIUSBYMEMBER / GEORADIUSBYMEMBER_RO.
    ByMember { ro: bool },
    /// GEOSEARCH / GEOSEARCHSTORE.
    Search { store: bool },
}

impl Variant {
    fn is_search(self) -> bool {
        matches!(self, Variant::Search { .. })
    }

    /// Whether STORE / STOREDIST with a key are options of this command.
    fn takes_store_key(self) -> bool {
        matches!(
            self,
            Variant::Radius { ro: false } | Variant::ByMember { ro: false }
        )
    }
}

pub fn georadius(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::Radius { ro: false })
}

pub fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::Radius { ro: true })
}

pub fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::ByMember { ro: false })
}

pub fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::ByMember { ro: true })
}

pub fn geosearch(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::Search { store: false })
}

pub fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    generic(ctx, args, Variant::Search { store: true })
}

/// ASC / DESC, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortOrder {
    None,
    Asc,
    Desc,
}

/// A point found by a search (`geoPoint`).
struct Point {
    member: Vec<u8>,
    position: [f64; 2],
    /// In meters until the reply converts it to the request's unit.
    dist: f64,
    score: f64,
}

/// Redis's `extractDistanceOrReply`: a non-negative radius and its unit.
fn radius(value: &[u8], unit_arg: &[u8]) -> Result<(f64, f64), CommandError> {
    let radius = parse_f64(value).map_err(|_| CommandError::other("ERR need numeric radius"))?;
    if radius < 0.0 {
        return Err(CommandError::other("ERR radius cannot be negative"));
    }
    Ok((radius, unit(unit_arg)?))
}

/// Redis's `extractBoxOrReply`: non-negative width and height, and their unit.
fn box_extent(args: &[Bytes]) -> Result<(Extent, f64), CommandError> {
    let width = parse_f64(&args[0]).map_err(|_| CommandError::other("ERR need numeric width"))?;
    let height = parse_f64(&args[1]).map_err(|_| CommandError::other("ERR need numeric height"))?;
    if height < 0.0 || width < 0.0 {
        return Err(CommandError::other(
            "ERR height or width cannot be negative",
        ));
    }
    Ok((Extent::Box { width, height }, unit(&args[2])?))
}

/// Redis's `longLatFromMember`: the decoded position of a member of the source set.
fn member_position(ctx: &Ctx, zset: &ZSet, member: &[u8]) -> Result<[f64; 2], CommandError> {
    zset.score(ctx, member)?
        .and_then(hash::decode_score)
        .ok_or_else(|| CommandError::other("ERR could not decode requested zset member"))
}

/// What the options asked for.
#[derive(Default)]
struct Options<'a> {
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    any: bool,
    count: u64,
    store_key: Option<&'a [u8]>,
    store_dist: bool,
    from_member: bool,
    from_lonlat: bool,
    by_radius: bool,
    by_box: bool,
}

/// `georadiusGeneric`.
fn generic(ctx: &mut Ctx, args: &[Bytes], variant: Variant) -> CommandResult {
    let source_index = if variant == (Variant::Search { store: true }) {
        2
    } else {
        1
    };
    let zset = ZSet::read(ctx, &args[source_index])?;
    let mut center = [0.0; 2];
    let mut extent = Extent::Radius(0.0);
    let mut conversion = 1.0;
    let mut options = Options::default();
    let base = match variant {
        Variant::Radius { .. } => {
            center = long_lat(&args[2], &args[3])?;
            let (r, c) = radius(&args[4], &args[5])?;
            (extent, conversion) = (Extent::Radius(r), c);
            6
        }
        Variant::ByMember { .. } => {
            // Without a source there is nothing to decode, but the options are still parsed.
            if let Some(zset) = &zset {
                center = member_position(ctx, zset, &args[2])?;
                let (r, c) = radius(&args[3], &args[4])?;
                (extent, conversion) = (Extent::Radius(r), c);
            }
            5
        }
        Variant::Search { store } => {
            if store {
                options.store_key = Some(&args[1][..]);
                3
            } else {
                2
            }
        }
    };
    let mut sort = SortOrder::None;
    let rest = &args[base.min(args.len())..];
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i][..];
        let left = rest.len() - i - 1;
        let is = |name: &str| arg.eq_ignore_ascii_case(name.as_bytes());
        if is("withdist") {
            options.with_dist = true;
        } else if is("withhash") {
            options.with_hash = true;
        } else if is("withcoord") {
            options.with_coord = true;
        } else if is("any") {
            options.any = true;
        } else if is("asc") {
            sort = SortOrder::Asc;
        } else if is("desc") {
            sort = SortOrder::Desc;
        } else if is("count") && left >= 1 {
            let count = parse_i64(&rest[i + 1])?;
            if count <= 0 {
                return Err(CommandError::other("ERR COUNT must be > 0"));
            }
            options.count = count as u64;
            i += 1;
        } else if (is("store") || is("storedist")) && left >= 1 && variant.takes_store_key() {
            options.store_key = Some(&rest[i + 1][..]);
            options.store_dist = is("storedist");
            i += 1;
        } else if is("storedist") && variant == (Variant::Search { store: true }) {
            options.store_dist = true;
        } else if is("frommember") && left >= 1 && variant.is_search() && !options.from_lonlat {
            if let Some(zset) = &zset {
                center = member_position(ctx, zset, &rest[i + 1])?;
            }
            options.from_member = true;
            i += 1;
        } else if is("fromlonlat") && left >= 2 && variant.is_search() && !options.from_member {
            center = long_lat(&rest[i + 1], &rest[i + 2])?;
            options.from_lonlat = true;
            i += 2;
        } else if is("byradius") && left >= 2 && variant.is_search() && !options.by_box {
            let (r, c) = radius(&rest[i + 1], &rest[i + 2])?;
            (extent, conversion) = (Extent::Radius(r), c);
            options.by_radius = true;
            i += 2;
        } else if is("bybox") && left >= 3 && variant.is_search() && !options.by_radius {
            (extent, conversion) = box_extent(&rest[i + 1..i + 4])?;
            options.by_box = true;
            i += 3;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if options.store_key.is_some() && (options.with_dist || options.with_hash || options.with_coord)
    {
        let what = if variant == (Variant::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CommandError::other(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if variant.is_search() && !(options.from_member || options.from_lonlat) {
        return Err(CommandError::other(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if variant.is_search() && !(options.by_radius || options.by_box) {
        return Err(CommandError::other(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if options.any && options.count == 0 {
        return Err(CommandError::other(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let Some(zset) = zset else {
        return match options.store_key {
            Some(dest) => {
                store::replace(ctx, dest, Vec::new(), "", 0)?;
                Ok(Reply::Integer(0))
            }
            None => Ok(Reply::Array(Vec::new())),
        };
    };
    // The nearest COUNT points need sorting.
    if options.count != 0 && sort == SortOrder::None && !options.any {
        sort = SortOrder::Asc;
    }
    let shape = Shape {
        center,
        extent,
        conversion,
    };
    let limit = if options.any { options.count } else { 0 };
    let mut points = find_points(ctx, &zset, &shape, limit)?;
    let found = points.len() as u64;
    let returned = if options.count == 0 || found < options.count {
        found
    } else {
        options.count
    };
    if sort != SortOrder::None {
        let by_distance = |a: &Point, b: &Point| {
            // Redis's `sort_gp_asc`: NaN compares as "less" both ways, as in C.
            let asc = if a.dist > b.dist {
                std::cmp::Ordering::Greater
            } else if a.dist == b.dist {
                std::cmp::Ordering::Equal
            } else {
                std::cmp::Ordering::Less
            };
            if sort == SortOrder::Desc {
                asc.reverse()
            } else {
                asc
            }
        };
        if returned == found {
            qsort(&mut points, by_distance);
        } else {
            pqsort(&mut points, by_distance, 0, returned as i64 - 1);
        }
    }
    points.truncate(returned as usize);
    for point in &mut points {
        point.dist /= shape.conversion;
    }
    match options.store_key {
        None => Ok(reply(ctx, points, &options)),
        Some(dest) => {
            let event = if variant.is_search() {
                "geosearchstore"
            } else {
                "georadiusstore"
            };
            store_points(ctx, dest, points, options.store_dist, event)
        }
    }
}

/// `membersOfAllNeighbors`: the points inside `shape`, cell by cell in Redis's order, each cell
/// in score order; with a `limit`, stops once that many are found.
fn find_points(
    ctx: &Ctx,
    zset: &ZSet,
    shape: &Shape,
    limit: u64,
) -> Result<Vec<Point>, CommandError> {
    let cells = shape.cover().cells();
    let full = |points: &Vec<Point>| limit != 0 && points.len() as u64 >= limit;
    let mut points = Vec::new();
    let mut last: Option<Hash> = None;
    for (i, cell) in cells.into_iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge radii make neighbours coincide; Redis skips a cell equal to the last one read
        // (the centre cell does not count as "read" for this test).
        if i > 0 && last == Some(cell) {
            continue;
        }
        if full(&points) {
            break;
        }
        let next = Hash {
            bits: cell.bits + 1,
            step: cell.step,
        };
        let range = ScoreRange {
            min: cell.align52() as f64,
            max: next.align52() as f64,
            min_exclusive: false,
            max_exclusive: true,
        };
        for (member, score) in zset.range_by_score(ctx, &range, false, 0, None)? {
            if let Some(position) = hash::decode_score(score) {
                if let Some(dist) = shape.distance_if_within(position) {
                    points.push(Point {
                        member,
                        position,
                        dist,
                        score,
                    });
                }
            }
            if full(&points) {
                break;
            }
        }
        if i > 0 {
            last = Some(cell);
        }
    }
    Ok(points)
}

/// The reply of a search without STORE: members, or arrays of the member and the WITH* items.
fn reply(ctx: &Ctx, points: Vec<Point>, options: &Options) -> Reply {
    let extras = options.with_dist || options.with_hash || options.with_coord;
    let items = points
        .into_iter()
        .map(|point| {
            let member = Reply::Bulk(point.member.into());
            if !extras {
                return member;
            }
            let mut item = vec![member];
            if options.with_dist {
                item.push(distance_reply(point.dist));
            }
            if options.with_hash {
                item.push(Reply::Integer(point.score as i64));
            }
            if options.with_coord {
                let [x, y] = point.position;
                item.push(Reply::Array(vec![coordinate(ctx, x), coordinate(ctx, y)]));
            }
            Reply::Array(item)
        })
        .collect();
    Reply::Array(items)
}

/// STORE / STOREDIST / GEOSEARCHSTORE: the points as a new sorted set at `dest` (scores are
/// the geohashes, or the distances in the request's unit), or `dest` deleted when none.
fn store_points(
    ctx: &mut Ctx,
    dest: &[u8],
    points: Vec<Point>,
    store_dist: bool,
    event: &'static str,
) -> CommandResult {
    let count = points.len() as u64;
    let entries = points
        .into_iter()
        .map(|p| (p.member, if store_dist { p.dist } else { p.score }))
        .collect();
    // Redis counts one change per point stored.
    let stored = store::replace(ctx, dest, entries, event, count)?;
    Ok(Reply::Integer(stored as i64))
}

//! GEO commands: GEOADD, GEODIST, GEOHASH, GEOPOS, and the searches (GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms) in [`search`], with Redis
//! 7.0's `geo.c` rules.
//!
//! A GEO set is a sorted set whose scores are 52-bit geohashes ([`hash`]); there is no separate
//! type, so every sorted-set command works on it and GEO commands work on any sorted set
//! (decoding whatever scores it holds). GEOADD hands ZADD the computed scores, as Redis does.
//! Distances and the search areas are in [`shape`].
//!
//! Replies print numbers as Redis does: distances with `%.4f` (a bulk string in both
//! protocols), coordinates with `%.17Lf` trimmed of trailing zeros (a bulk string in RESP2, a
//! double in RESP3; see [`coordinate`]).

mod hash;
mod search;
mod shape;

use bytes::Bytes;
use formats::resp::Reply;

use super::args::parse_f64;
use super::table::Handler;
use super::zset::store::ZSet;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("geoadd", geoadd),
    ("geodist", geodist),
    ("geohash", geohash),
    ("geopos", geopos),
    ("geosearch", search::geosearch),
    ("geosearchstore", search::geosearchstore),
    ("georadius", search::georadius),
    ("georadius_ro", search::georadius_ro),
    ("georadiusbymember", search::georadiusbymember),
    ("georadiusbymember_ro", search::georadiusbymember_ro),
];

/// Redis's `extractLongLatOrReply`: a longitude and a latitude within the Mercator limits.
fn long_lat(longitude: &[u8], latitude: &[u8]) -> Result<[f64; 2], CommandError> {
    let xy = [parse_f64(longitude)?, parse_f64(latitude)?];
    if xy[0] < hash::LONG_MIN
        || xy[0] > hash::LONG_MAX
        || xy[1] < hash::LAT_MIN
        || xy[1] > hash::LAT_MAX
    {
        return Err(CommandError::other(format!(
            "ERR invalid longitude,latitude pair {:.6},{:.6}",
            xy[0], xy[1]
        )));
    }
    Ok(xy)
}

/// Redis's `extractUnitOrReply`: how many meters one unit is.
fn unit(arg: &[u8]) -> Result<f64, CommandError> {
    [
        (&b"m"[..], 1.0),
        (b"km", 1000.0),
        (b"ft", 0.3048),
        (b"mi", 1609.34),
    ]
    .into_iter()
    .find_map(|(name, meters)| arg.eq_ignore_ascii_case(name).then_some(meters))
    .ok_or_else(|| CommandError::other("ERR unsupported unit provided. please use M, KM, FT, MI"))
}

/// A distance as Redis's `addReplyDoubleDistance` prints it: `%.4f` (C's spelling of NaN
/// included), as a bulk string.
fn distance_reply(distance: f64) -> Reply {
    let text = match distance {
        d if d.is_nan() && d.is_sign_negative() => "-nan".to_string(),
        d if d.is_nan() => "nan".to_string(),
        d => format!("{d:.4}"),
    };
    Reply::bulk(text)
}

/// A coordinate as Redis's `addReplyHumanLongDouble` prints it: `%.17Lf` of the (exactly
/// widened) double with trailing zeros trimmed, "-0" as "0"; a bulk string in RESP2, a RESP3
/// double carrying that same text.
fn coordinate(ctx: &Ctx, value: f64) -> Reply {
    let text = format!("{value:.17}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    if ctx.client.protocol > 2 {
        Reply::Raw(Bytes::from(format!(",{text}\r\n")))
    } else {
        Reply::bulk(text.to_string())
    }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: as in Redis, the command is
/// rewritten into ZADD key [NX|XX] [CH] score member [...] with the members' geohashes as
/// scores, and ZADD does the rest (replies, events, dirty counting, encodings).
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while let Some(option) = args.get(first) {
        if option.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if option.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if !option.eq_ignore_ascii_case(b"ch") {
            break;
        }
        first += 1;
    }
    let triples = &args[first..];
    if !triples.len().is_multiple_of(3) || (xx && nx) {
        return Err(CommandError::Syntax);
    }
    let mut zadd_args = Vec::with_capacity(first + triples.len() / 3 * 2);
    zadd_args.push(Bytes::from_static(b"zadd"));
    zadd_args.extend_from_slice(&args[1..first]);
    for triple in triples.chunks_exact(3) {
        let [longitude, latitude] = long_lat(&triple[0], &triple[1])?;
        // Within the limits just checked, the encoding cannot fail.
        let score = hash::score_of(longitude, latitude).unwrap_or(0);
        zadd_args.push(Bytes::from(score.to_string()));
        zadd_args.push(triple[2].clone());
    }
    super::zset::zadd(ctx, &zadd_args)
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let meters_per_unit = match args.len() {
        5 => unit(&args[4])?,
        n if n > 5 => return Err(CommandError::Syntax),
        _ => 1.0,
    };
    let Some(zset) = ZSet::read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    let (Some(a), Some(b)) = (zset.score(ctx, &args[2])?, zset.score(ctx, &args[3])?) else {
        return Ok(Reply::Null);
    };
    match (hash::decode_score(a), hash::decode_score(b)) {
        (Some([x1, y1]), Some([x2, y2])) => Ok(distance_reply(
            shape::distance(x1, y1, x2, y2) / meters_per_unit,
        )),
        _ => Ok(Reply::Null),
    }
}

/// GEOHASH key [member ...]: 11-character standard geohashes, nulls for missing members.
fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let zset = ZSet::read(ctx, &args[1])?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &zset {
            Some(zset) => zset.score(ctx, member)?,
            None => None,
        };
        out.push(
            score
                .and_then(hash::base32)
                .map_or(Reply::Null, |text| Reply::bulk(text.to_vec())),
        );
    }
    Ok(Reply::Array(out))
}

/// GEOPOS key [member ...]: [longitude, latitude] pairs, null arrays for missing members.
fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let zset = ZSet::read(ctx, &args[1])?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &zset {
            Some(zset) => zset.score(ctx, member)?,
            None => None,
        };
        out.push(match score.and_then(hash::decode_score) {
            Some([x, y]) => Reply::Array(vec![coordinate(ctx, x), coordinate(ctx, y)]),
            None => Reply::NullArray,
        });
    }
    Ok(Reply::Array(out))
}

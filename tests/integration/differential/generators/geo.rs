//! GEO commands over the shared key space, with a few sorted-set and string commands on the
//! same keys (members with scores GEOADD never makes, WRONGTYPE, results read back).
//!
//! Positions come from small pools: clusters of nearby points (so radius and box searches find
//! several, some at equal distances, which exercises Redis's sort orders), the edges of the
//! accepted range (±180 longitude, ±85.05112878 latitude) and invalid or unparsable values
//! (but no overflowing or underflowing numbers: see the `sort` generator on `errno`).
//! Members repeat so GEOADD updates and NX / XX / CH matter. Search options are drawn as clauses
//! in any order, repeats and conflicts included, so the argument errors are compared too. Every
//! GEO reply is deterministic (unsorted results come in geohash-cell order), so everything is
//! compared exactly.

use proptest::prelude::*;

use super::{key, value, with, word, GenCtx};
use crate::differential::{cmd, Cmd};

pub fn command(_ctx: &GenCtx) -> BoxedStrategy<Cmd> {
    prop_oneof![
        8 => (key(), add_options(), prop::collection::vec(point_member(), 1..=4)).prop_map(
            |(k, o, points)| with(with(cmd!["GEOADD", k], o), points.concat())
        ),
        1 => key().prop_map(|k| cmd!["GEOADD", k, "1", "2"]),
        2 => (key(), member(), member(), prop::collection::vec(unit(), 0..=2))
            .prop_map(|(k, a, b, u)| with(cmd!["GEODIST", k, a, b], u)),
        2 => (key(), members()).prop_map(|(k, m)| with(cmd!["GEOHASH", k], m)),
        2 => (key(), members()).prop_map(|(k, m)| with(cmd!["GEOPOS", k], m)),
        4 => (word(&["GEORADIUS", "GEORADIUS_RO"]), key(), longitude(), latitude(), radius(),
              unit(), search_options(true))
            .prop_map(|(c, k, lon, lat, r, u, o)| with(cmd![c, k, lon, lat, r, u], o)),
        4 => (word(&["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]), key(), member(), radius(),
              unit(), search_options(true))
            .prop_map(|(c, k, m, r, u, o)| with(cmd![c, k, m, r, u], o)),
        6 => (key(), search_clauses(), search_options(false))
            .prop_map(|(k, s, o)| with(with(cmd!["GEOSEARCH", k], s), o)),
        4 => (key(), key(), search_clauses(), store_options())
            .prop_map(|(d, k, s, o)| with(with(cmd!["GEOSEARCHSTORE", d, k], s), o)),
        2 => key().prop_map(|k| cmd!["ZRANGE", k, "0", "-1", "WITHSCORES"]),
        1 => (key(), odd_score(), member()).prop_map(|(k, s, m)| cmd!["ZADD", k, s, m]),
        1 => (key(), value()).prop_map(|(k, v)| cmd!["SET", k, v]),
        1 => key().prop_map(|k| cmd!["TYPE", k]),
        1 => key().prop_map(|k| cmd!["DEL", k]),
        1 => key().prop_map(|k| cmd!["TTL", k]),
        1 => key().prop_map(|k| cmd!["EXPIRE", k, "1000"]),
    ]
    .boxed()
}

/// Longitudes: two clusters (Sicily, Manhattan), the edges and beyond, and junk.
fn longitude() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => word(&[
            "13.361389", "15.087269", "13.583333", "13.4", "14.0", "-73.9857", "-73.9851",
            "-73.99", "0", "-0", "180", "-180", "179.9999", "-179.99999", "0.0001",
        ]),
        1 => word(&["180.0001", "-181", "abc", "", "inf", "0x10", " 1"]),
    ]
    .boxed()
}

/// Latitudes: the same clusters, the Mercator limits and just beyond, and junk.
fn latitude() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => word(&[
            "38.115556", "37.502669", "37.316667", "38.1", "37.9", "40.7484", "40.7489",
            "40.75", "0", "-0", "85.05112878", "-85.05112878", "85", "-84.9", "70", "-81",
        ]),
        1 => word(&["85.05112879", "-90", "nan", "x"]),
    ]
    .boxed()
}

fn member() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "a", "b", "c", "d", "e", "Palermo", "Catania", "", "1", "x y",
    ])
}

fn members() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop::collection::vec(member(), 1..=3).boxed()
}

/// `longitude latitude member`, with positions repeated across members now and then.
fn point_member() -> BoxedStrategy<Vec<Vec<u8>>> {
    (longitude(), latitude(), member())
        .prop_map(|(lon, lat, m)| vec![lon, lat, m])
        .boxed()
}

/// GEOADD's options: NX / XX / CH in any order, conflicts included.
fn add_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        4 => Just(Vec::new()),
        3 => prop::collection::vec(word(&["NX", "XX", "CH", "ch", "nx"]), 1..=2),
        1 => word(&["GT", "INCR"]).prop_map(|w| vec![w]),
    ]
    .boxed()
}

fn unit() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["m", "km", "mi", "ft", "KM", "M"]),
        1 => word(&["meters", ""]),
    ]
    .boxed()
}

fn radius() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["0", "1", "100", "200", "500", "1000", "5000", "100000", "20000000", "0.5"]),
        1 => word(&["-1", "abc", "inf", ""]),
    ]
    .boxed()
}

/// GEOSEARCH's FROM... and BY... clauses: usually one of each, sometimes none, both or repeated.
fn search_clauses() -> BoxedStrategy<Vec<Vec<u8>>> {
    let from = prop_oneof![
        4 => member().prop_map(|m| vec![b"FROMMEMBER".to_vec(), m]),
        4 => (longitude(), latitude())
            .prop_map(|(lon, lat)| vec![b"FROMLONLAT".to_vec(), lon, lat]),
    ]
    .boxed();
    let by = prop_oneof![
        4 => (radius(), unit()).prop_map(|(r, u)| vec![b"BYRADIUS".to_vec(), r, u]),
        4 => (radius(), radius(), unit())
            .prop_map(|(w, h, u)| vec![b"BYBOX".to_vec(), w, h, u]),
    ]
    .boxed();
    prop_oneof![
        12 => (from.clone(), by.clone()).prop_map(|(f, b)| [f, b].concat()),
        2 => (from.clone(), by.clone()).prop_map(|(f, b)| [b, f].concat()),
        1 => prop::collection::vec(prop_oneof![from, by], 0..=3).prop_map(|c| c.concat()),
    ]
    .boxed()
}

/// The reply options of a search (WITH..., COUNT [ANY], ASC / DESC), and with `store` the
/// STORE / STOREDIST of GEORADIUS*, in any order.
fn search_options(store: bool) -> BoxedStrategy<Vec<Vec<u8>>> {
    let mut clauses: Vec<BoxedStrategy<Vec<Vec<u8>>>> = vec![
        word(&[
            "WITHDIST",
            "WITHHASH",
            "WITHCOORD",
            "withcoord",
            "ASC",
            "DESC",
            "ANY",
        ])
        .prop_map(|w| vec![w])
        .boxed(),
        count().prop_map(|n| vec![b"COUNT".to_vec(), n]).boxed(),
        count()
            .prop_map(|n| vec![b"COUNT".to_vec(), n, b"ANY".to_vec()])
            .boxed(),
    ];
    if store {
        clauses.push(
            (word(&["STORE", "STOREDIST"]), key())
                .prop_map(|(w, k)| vec![w, k])
                .boxed(),
        );
    }
    prop_oneof![
        2 => Just(Vec::new()),
        6 => prop::collection::vec(prop::strategy::Union::new(clauses), 1..=4)
            .prop_map(|c| c.concat()),
        1 => word(&["FOO", "COUNT", "STORE", "STOREDIST", "BYRADIUS"]).prop_map(|w| vec![w]),
    ]
    .boxed()
}

/// GEOSEARCHSTORE's options: STOREDIST, COUNT [ANY], ASC / DESC, and WITH... (refused).
fn store_options() -> BoxedStrategy<Vec<Vec<u8>>> {
    let clause = prop_oneof![
        3 => word(&["STOREDIST", "ASC", "DESC"]).prop_map(|w| vec![w]),
        2 => count().prop_map(|n| vec![b"COUNT".to_vec(), n]),
        1 => count().prop_map(|n| vec![b"COUNT".to_vec(), n, b"ANY".to_vec()]),
        1 => word(&["WITHDIST", "STORE", "ANY"]).prop_map(|w| vec![w]),
    ];
    prop::collection::vec(clause, 0..=3)
        .prop_map(|c| c.concat())
        .boxed()
}

fn count() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => word(&["1", "2", "3", "5", "100"]),
        1 => word(&["0", "-1", "x", "9223372036854775807"]),
    ]
    .boxed()
}

/// Scores GEOADD never stores: negative, fractional, beyond 52 bits, infinite.
fn odd_score() -> BoxedStrategy<Vec<u8>> {
    word(&[
        "0",
        "-1",
        "1.5",
        "4503599627370495",
        "4503599627370496",
        "9007199254740992",
        "1e300",
        "-inf",
        "inf",
        "3471579339700058",
    ])
}

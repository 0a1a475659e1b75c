//! Helpers shared by the RDB and AOF test binaries: where the real-Redis fixture corpus is, which
//! fixtures it holds, and how their expected-contents JSON is read.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value as Json;

/// Finds `shared/fixtures` by walking up from the crate directory.
pub fn fixtures_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ROCKSLOT_FIXTURES") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors() {
        let candidate = dir.join("shared").join("fixtures");
        if candidate.join("rdb").is_dir() {
            return candidate;
        }
    }
    panic!("shared/fixtures not found above {}", manifest.display());
}

pub fn rdb_files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(sub))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rdb") && p.is_file())
        .collect();
    files.sort();
    files
}

/// The AOF fixtures of a folder (`aof` or `bad`): multi-part directories (holding an
/// `appendonlydir`) and single `.aof` files, each with its expected-contents JSON.
pub fn aof_fixtures(sub: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(sub))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            (p.is_dir() && p.join("appendonlydir").is_dir())
                || (p.is_file() && p.extension().is_some_and(|x| x == "aof"))
        })
        .collect();
    found.sort();
    found
}

/// A byte string of the JSON: a string's UTF-8 bytes, or a `{"b64": ...}` object decoded.
pub fn json_bytes(j: &Json) -> Vec<u8> {
    match j {
        Json::String(s) => s.as_bytes().to_vec(),
        Json::Object(o) => base64::engine::general_purpose::STANDARD
            .decode(o["b64"].as_str().expect("b64 string"))
            .expect("base64"),
        other => panic!("not a byte string: {other}"),
    }
}

/// The expected-contents JSON beside a fixture (`NAME.json` or `NAME.json.gz`; a multi-part
/// fixture's is beside its directory).
pub fn expected_json(fixture: &Path) -> Json {
    let beside = |extension: &str| {
        if fixture.is_dir() {
            PathBuf::from(format!("{}.{extension}", fixture.display()))
        } else {
            fixture.with_extension(extension)
        }
    };
    let plain = beside("json");
    let text = if plain.exists() {
        std::fs::read_to_string(&plain).expect("read json")
    } else {
        let gz = beside("json.gz");
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("open json.gz"))
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    };
    serde_json::from_str(&text).expect("parse json")
}

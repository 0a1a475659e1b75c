//! Helpers shared by the RDB test binaries: where the real-Redis fixture corpus is and how its
//! expected-contents JSON is read.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

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

pub fn expected_json(rdb: &Path) -> Json {
    let plain = rdb.with_extension("json");
    let text = if plain.exists() {
        std::fs::read_to_string(&plain).expect("read json")
    } else {
        let gz = rdb.with_extension("json.gz");
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("open json.gz"))
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    };
    serde_json::from_str(&text).expect("parse json")
}

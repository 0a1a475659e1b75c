//! Checks of the workspace's shape that architecture.md makes invariants.

use std::process::Command;

/// Only the `engine` crate may depend on `rocksdb` directly (style.md, rule 4): the node talks
/// to storage through the engine's typed operations.
#[test]
fn only_engine_depends_on_rocksdb() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--workspace",
            "--invert",
            "rocksdb",
            "--edges",
            "normal",
            "--depth",
            "1",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let dependents: Vec<&str> = text
        .lines()
        .skip(1) // the rocksdb line itself
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(
        dependents,
        ["engine"],
        "direct dependents of rocksdb:\n{text}"
    );
}

use thiserror::Error;

/// Failures of the storage engine. These are storage faults, never domain meaning: a missing key
/// is `Ok(None)`, not an error.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("corrupt record in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("data directory layout mismatch: {0}")]
    Layout(String),
    #[error("database index {0} out of range")]
    DbIndex(usize),
    #[error("a bulk load needs an empty keyspace")]
    NotEmpty,
    /// A bulk load was given a key twice (physical database, key).
    #[error("a bulk load was given a key twice")]
    DuplicateKey { physical: u8, key: Vec<u8> },
    #[error("bulk load: {0}")]
    Io(#[from] std::io::Error),
}

//! The Redis 7 AOF manifest: which files of `appenddirname` make up the append-only file.
//!
//! Redis 7.0 splits the AOF into a *base* file (a snapshot: `<appendfilename>.<seq>.base.rdb`
//! with an RDB preamble, or `.base.aof` in command form), the *incr* files that follow it
//! (`<appendfilename>.<seq>.incr.aof`, commands appended since the base was taken, oldest
//! first), and *history* files (superseded by a rewrite, deleted once it completes). The
//! manifest `<appendfilename>.manifest` lists them one per line:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! Keys and values are split like `sdssplitargs` (a name with spaces or unprintable bytes is
//! quoted, as `sdscatrepr` writes it); lines starting with `#` are comments. Redis writes the base
//! first, then the history files, then the incr files in order, and that is what
//! [`Manifest::to_bytes`] produces.

use thiserror::Error;

use crate::resp::split_args;
use crate::text::repr;

/// What a file is to the AOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Base,
    History,
    Incr,
}

impl FileKind {
    fn tag(self) -> &'static str {
        match self {
            FileKind::Base => "b",
            FileKind::History => "h",
            FileKind::Incr => "i",
        }
    }
}

/// One file of the AOF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileKind,
}

/// A manifest that cannot be read; the texts are Redis 7.0's.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("Invalid AOF manifest file format")]
    Format,
    #[error("Found duplicate base file information")]
    DuplicateBase,
    #[error("Found a non-monotonic sequence number")]
    NonMonotonic,
    #[error("The AOF manifest file is invalid format")]
    Empty,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub history: Vec<AofFile>,
    /// Incr files, oldest first.
    pub incrs: Vec<AofFile>,
}

impl Manifest {
    /// Reads a manifest as Redis 7.0's aofLoadManifestFromFile does.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut manifest = Manifest::default();
        let mut lines = 0;
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                continue;
            }
            lines += 1;
            let args = split_args(trimmed).ok_or(ManifestError::Format)?;
            if args.len() % 2 != 0 {
                return Err(ManifestError::Format);
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in args.chunks(2) {
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                match &pair[0][..] {
                    b"file" => name = Some(value),
                    b"seq" => seq = Some(value.parse::<u64>().map_err(|_| ManifestError::Format)?),
                    b"type" => {
                        kind = Some(match value.as_str() {
                            "b" => FileKind::Base,
                            "h" => FileKind::History,
                            "i" => FileKind::Incr,
                            _ => return Err(ManifestError::Format),
                        })
                    }
                    // Unknown keys are skipped, for forward compatibility (as Redis does).
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(ManifestError::Format);
            };
            let file = AofFile { name, seq, kind };
            match kind {
                FileKind::Base if manifest.base.is_some() => {
                    return Err(ManifestError::DuplicateBase)
                }
                FileKind::Base => manifest.base = Some(file),
                FileKind::History => manifest.history.push(file),
                FileKind::Incr => {
                    if manifest.incrs.last().is_some_and(|last| last.seq >= seq) {
                        return Err(ManifestError::NonMonotonic);
                    }
                    manifest.incrs.push(file);
                }
            }
        }
        if lines == 0 {
            return Err(ManifestError::Empty);
        }
        Ok(manifest)
    }

    /// The manifest's text, as Redis 7.0 writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        let files = self.base.iter().chain(&self.history).chain(&self.incrs);
        for file in files {
            let name = if needs_repr(file.name.as_bytes()) {
                repr(file.name.as_bytes())
            } else {
                file.name.clone()
            };
            out.push_str(&format!(
                "file {name} seq {} type {}\n",
                file.seq,
                file.kind.tag()
            ));
        }
        out.into_bytes()
    }

    /// Sequence number for the next base file.
    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |b| b.seq + 1)
    }

    /// Sequence number for the next incr file.
    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |i| i.seq + 1)
    }
}

/// Redis's sdsneedsrepr: a name with spaces, quotes, backslashes or unprintable bytes.
fn needs_repr(name: &[u8]) -> bool {
    name.iter().any(|&b| {
        b.is_ascii_whitespace()
            || b == b'"'
            || b == b'\''
            || b == b'\\'
            || !(0x20..0x7f).contains(&b)
    })
}

/// `<appendfilename>.manifest`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

/// `<appendfilename>.<seq>.base.rdb` (RDB preamble) or `.base.aof` (commands).
pub fn base_name(appendfilename: &str, seq: u64, rdb: bool) -> String {
    let ext = if rdb { "rdb" } else { "aof" };
    format!("{appendfilename}.{seq}.base.{ext}")
}

/// `<appendfilename>.<seq>.incr.aof`.
pub fn incr_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}.incr.aof")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_redis_layout() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\n\
                     file appendonly.aof.1.base.rdb seq 1 type h\n\
                     file appendonly.aof.3.incr.aof seq 3 type i\n\
                     file appendonly.aof.4.incr.aof seq 4 type i\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(manifest.base.as_ref().unwrap().seq, 2);
        assert_eq!(manifest.history.len(), 1);
        assert_eq!(manifest.incrs.len(), 2);
        assert_eq!(manifest.next_incr_seq(), 5);
        assert_eq!(manifest.next_base_seq(), 3);
        assert_eq!(manifest.to_bytes(), text.to_vec());
    }

    #[test]
    fn rejects_bad_manifests() {
        assert_eq!(Manifest::parse(b""), Err(ManifestError::Empty));
        assert_eq!(
            Manifest::parse(b"file a seq x type i\n"),
            Err(ManifestError::Format)
        );
        assert_eq!(
            Manifest::parse(b"file a seq 1\n"),
            Err(ManifestError::Format)
        );
        assert_eq!(
            Manifest::parse(b"file a seq 1 type b\nfile b seq 2 type b\n"),
            Err(ManifestError::DuplicateBase)
        );
        assert_eq!(
            Manifest::parse(b"file a seq 2 type i\nfile b seq 1 type i\n"),
            Err(ManifestError::NonMonotonic)
        );
    }

    #[test]
    fn quotes_names_like_sdscatrepr() {
        let manifest = Manifest {
            incrs: vec![AofFile {
                name: "my file.1.incr.aof".into(),
                seq: 1,
                kind: FileKind::Incr,
            }],
            ..Manifest::default()
        };
        let text = manifest.to_bytes();
        assert_eq!(text, b"file \"my file.1.incr.aof\" seq 1 type i\n".to_vec());
        assert_eq!(Manifest::parse(&text).unwrap(), manifest);
    }
}

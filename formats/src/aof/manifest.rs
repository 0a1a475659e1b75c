//! The Redis 7.0 AOF manifest: which files make up the AOF, parsed and printed as `aof.c` does.
//!
//! A manifest is text, one file per line: `file <name> seq <n> type <t>`, where `t` is `b`
//! (base: the last rewrite, at most one), `h` (history: superseded by a rewrite, to be deleted)
//! or `i` (incr: commands since the base, in strictly increasing `seq` order). Redis writes the
//! base first, then history, then incr files; a name that needs it is quoted with `sdscatrepr`.
//!
//! Parsing follows `aofLoadManifestFromFile`: lines are read 1024 bytes at a time (a longer line
//! is an error), a line starting with `#` is a comment, other lines are trimmed of ` \t\r\n` and
//! split with `sdssplitargs`; keys come in pairs, match case-insensitively, unknown keys are
//! ignored (for forward compatibility) and the last of a repeated key wins; `seq` is read with
//! `atoll`, `type` is its first byte. Every failure is one of Redis's messages, with the line
//! number and the trimmed line when Redis prints them.
//!
//! File names follow Redis's rules: `<appendfilename>.<seq>.base.rdb` (or `.base.aof` without an
//! RDB preamble), `<appendfilename>.<seq>.incr.aof`, `<appendfilename>.manifest`, and the
//! `temp-` names used while writing.

use std::fmt;

use thiserror::Error;

use crate::resp::split_args;
use crate::text::{repr, sdstrim};

/// The longest manifest line Redis reads (`AOF_MANIFEST_MAX_LINE`).
pub const MAX_LINE: usize = 1024;

const BASE_SUFFIX: &str = ".base";
const INCR_SUFFIX: &str = ".incr";
const RDB_SUFFIX: &str = ".rdb";
const AOF_SUFFIX: &str = ".aof";
const MANIFEST_SUFFIX: &str = ".manifest";
const TEMP_PREFIX: &str = "temp-";

/// A file's role, with its one-byte code in the manifest (fixed by the format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Base,
    History,
    Incr,
}

impl FileKind {
    pub fn code(self) -> u8 {
        match self {
            FileKind::Base => b'b',
            FileKind::History => b'h',
            FileKind::Incr => b'i',
        }
    }

    pub fn from_code(code: u8) -> Option<FileKind> {
        match code {
            b'b' => Some(FileKind::Base),
            b'h' => Some(FileKind::History),
            b'i' => Some(FileKind::Incr),
            _ => None,
        }
    }
}

/// One file of the AOF: one line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    /// A bare file name inside the AOF directory.
    pub name: String,
    pub seq: u64,
    pub kind: FileKind,
}

impl AofFile {
    /// The manifest line, with its `\n` (`aofInfoFormat`).
    pub fn to_line(&self) -> Vec<u8> {
        let name = self.name.as_bytes();
        let shown = if needs_repr(name) {
            repr(name)
        } else {
            self.name.clone()
        };
        let mut line = format!("file {shown} seq {} type ", self.seq).into_bytes();
        line.push(self.kind.code());
        line.push(b'\n');
        line
    }
}

/// The files of a Redis 7 AOF, as the manifest lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    /// Superseded files, each rewrite's in front of the older ones, as Redis orders them.
    pub history: Vec<AofFile>,
    /// Incr files in strictly increasing sequence order.
    pub incrs: Vec<AofFile>,
}

/// Why a manifest was refused: Redis's message, and the line when Redis prints it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ManifestError {
    /// 1-based line number and the trimmed line, when Redis names them.
    pub line: Option<(usize, Vec<u8>)>,
    pub kind: ManifestErrorKind,
}

impl fmt::Display for ManifestError {
    /// The lines Redis logs after `*** FATAL AOF MANIFEST FILE ERROR ***`, joined by newlines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.report_lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl ManifestError {
    /// The report Redis logs, line by line, headline included.
    pub fn report_lines(&self) -> Vec<String> {
        let mut lines = vec!["*** FATAL AOF MANIFEST FILE ERROR ***".to_string()];
        if let Some((number, text)) = &self.line {
            lines.push(format!("Reading the manifest file, at line {number}"));
            lines.push(format!(">>> '{}'", String::from_utf8_lossy(text)));
        }
        lines.push(self.kind.to_string());
        lines
    }
}

/// Redis's manifest errors, with its exact wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ManifestErrorKind {
    #[error("Found an empty AOF manifest")]
    Empty,
    #[error("The AOF manifest file contains too long line")]
    LineTooLong,
    #[error("Invalid AOF manifest file format")]
    InvalidFormat,
    #[error("File can't be a path, just a filename")]
    PathNotAllowed,
    #[error("Found duplicate base file information")]
    DuplicateBase,
    #[error("Found a non-monotonic sequence number")]
    NonMonotonic,
    #[error("Unknown AOF file type")]
    UnknownType,
}

impl Manifest {
    /// Parses a manifest file's bytes.
    pub fn parse(data: &[u8]) -> Result<Manifest, ManifestError> {
        let mut manifest = Manifest::default();
        let mut rest = data;
        let mut number = 0;
        loop {
            if rest.is_empty() {
                if number == 0 {
                    return Err(ManifestError {
                        line: None,
                        kind: ManifestErrorKind::Empty,
                    });
                }
                return Ok(manifest);
            }
            // fgets(buf, MAX_LINE + 1): through '\n', at most MAX_LINE bytes.
            let window = &rest[..rest.len().min(MAX_LINE)];
            let len = window
                .iter()
                .position(|&b| b == b'\n')
                .map_or(window.len(), |nl| nl + 1);
            let raw = &rest[..len];
            rest = &rest[len..];
            number += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            // A C string ends at its first NUL.
            let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
            if !raw.contains(&b'\n') {
                return Err(ManifestError {
                    line: None,
                    kind: ManifestErrorKind::LineTooLong,
                });
            }
            let line = sdstrim(raw);
            let fail = |kind| ManifestError {
                line: Some((number, line.to_vec())),
                kind,
            };
            let entry = parse_line(line).map_err(fail)?;
            manifest.add(entry).map_err(fail)?;
        }
    }

    fn add(&mut self, file: AofFile) -> Result<(), ManifestErrorKind> {
        match file.kind {
            FileKind::Base => {
                if self.base.is_some() {
                    return Err(ManifestErrorKind::DuplicateBase);
                }
                self.base = Some(file);
            }
            FileKind::History => self.history.push(file),
            FileKind::Incr => {
                if self.incrs.last().is_some_and(|last| file.seq <= last.seq) {
                    return Err(ManifestErrorKind::NonMonotonic);
                }
                self.incrs.push(file);
            }
        }
        Ok(())
    }

    /// The manifest file's bytes (`getAofManifestAsString`): base, history, incr.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.base
            .iter()
            .chain(&self.history)
            .chain(&self.incrs)
            .flat_map(AofFile::to_line)
            .collect()
    }

    /// Whether the manifest names no base and no incr file (Redis then has no AOF to load).
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The files to load, in order: the base, then the incr files.
    pub fn files_to_load(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(&self.incrs)
    }

    /// The sequence number the next base file gets (Redis counts on from the base's).
    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |b| b.seq + 1)
    }

    /// The sequence number the next incr file gets (Redis counts on from the last incr's).
    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |i| i.seq + 1)
    }

    /// The manifest of an upgrade from a single pre-7.0 file (`aofUpgradePrepare`): that file,
    /// moved into the directory unrenamed, becomes the base with sequence 1.
    pub fn upgrade_from(&mut self, appendfilename: &str) {
        self.base = Some(AofFile {
            name: appendfilename.to_string(),
            seq: 1,
            kind: FileKind::Base,
        });
    }
}

/// `<appendfilename>.<seq>.base.rdb`, or `.base.aof` without an RDB preamble.
pub fn base_name(appendfilename: &str, seq: u64, rdb_preamble: bool) -> String {
    let format = if rdb_preamble { RDB_SUFFIX } else { AOF_SUFFIX };
    format!("{appendfilename}.{seq}{BASE_SUFFIX}{format}")
}

/// `<appendfilename>.<seq>.incr.aof`.
pub fn incr_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}{INCR_SUFFIX}{AOF_SUFFIX}")
}

/// `<appendfilename>.manifest`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}{MANIFEST_SUFFIX}")
}

/// `temp-<appendfilename>.manifest`, written and renamed over the manifest.
pub fn temp_manifest_name(appendfilename: &str) -> String {
    format!("{TEMP_PREFIX}{}", manifest_name(appendfilename))
}

/// `temp-<appendfilename>.incr`, the incr file written while a rewrite turns AOF on.
pub fn temp_incr_name(appendfilename: &str) -> String {
    format!("{TEMP_PREFIX}{appendfilename}{INCR_SUFFIX}")
}

/// Whether `name` has no `/` (Redis's `pathIsBaseName`).
pub fn is_base_name(name: &[u8]) -> bool {
    !name.contains(&b'/')
}

fn parse_line(line: &[u8]) -> Result<AofFile, ManifestErrorKind> {
    if line.is_empty() {
        return Err(ManifestErrorKind::InvalidFormat);
    }
    let args = split_args(line).ok_or(ManifestErrorKind::InvalidFormat)?;
    // 'argc < 6' leaves room for keys later versions may add.
    if args.len() < 6 || args.len() % 2 != 0 {
        return Err(ManifestErrorKind::InvalidFormat);
    }
    let (mut name, mut seq, mut code) = (None, 0i64, 0u8);
    for pair in args.chunks_exact(2) {
        let (key, value) = (&pair[0], &pair[1]);
        // Arguments are C strings: they end at a NUL.
        let value = value.split(|&b| b == 0).next().unwrap_or_default();
        if key.eq_ignore_ascii_case(b"file") {
            if !is_base_name(value) {
                return Err(ManifestErrorKind::PathNotAllowed);
            }
            name = Some(value.to_vec());
        } else if key.eq_ignore_ascii_case(b"seq") {
            seq = super::input::strtol(value).0;
        } else if key.eq_ignore_ascii_case(b"type") {
            code = value.first().copied().unwrap_or(0);
        }
    }
    let (Some(name), true, true) = (name, seq != 0, code != 0) else {
        return Err(ManifestErrorKind::InvalidFormat);
    };
    let kind = FileKind::from_code(code).ok_or(ManifestErrorKind::UnknownType)?;
    // Redis takes any bytes and any non-zero `long long`; rockslot's names are text and its
    // sequence numbers positive (what Redis itself writes).
    let (Ok(name), Ok(seq)) = (String::from_utf8(name), u64::try_from(seq)) else {
        return Err(ManifestErrorKind::InvalidFormat);
    };
    Ok(AofFile { name, seq, kind })
}

/// Redis's `sdsneedsrepr`: quoting, escapes, blanks or unprintable bytes.
fn needs_repr(name: &[u8]) -> bool {
    name.iter()
        .any(|&b| matches!(b, b'\\' | b'"' | 7 | 8) || !(0x20..0x7f).contains(&b) || b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &[u8] = b"file appendonly.aof.2.base.rdb seq 2 type b\n\
        file appendonly.aof.2.incr.aof seq 2 type i\n\
        file appendonly.aof.3.incr.aof seq 3 type i\n";

    #[test]
    fn parses_and_prints_a_real_manifest_byte_for_byte() {
        let manifest = Manifest::parse(REAL).expect("parse");
        assert_eq!(
            manifest.base.as_ref().map(|b| (b.name.as_str(), b.seq)),
            Some(("appendonly.aof.2.base.rdb", 2))
        );
        assert_eq!(manifest.incrs.len(), 2);
        assert_eq!((manifest.next_base_seq(), manifest.next_incr_seq()), (3, 4));
        assert_eq!(manifest.to_bytes(), REAL);
        let names: Vec<_> = manifest.files_to_load().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "appendonly.aof.2.base.rdb",
                "appendonly.aof.2.incr.aof",
                "appendonly.aof.3.incr.aof"
            ]
        );
    }

    #[test]
    fn errors_are_redis_messages() {
        use ManifestErrorKind::*;
        let long = [
            b"file ".to_vec(),
            vec![b'a'; 1100],
            b" seq 1 type b\n".to_vec(),
        ]
        .concat();
        let cases: Vec<(&[u8], ManifestErrorKind, Option<usize>)> = vec![
            (b"", Empty, None),
            (b"\n", InvalidFormat, Some(1)),
            (b"file a seq 2 type b", LineTooLong, None),
            (&long, LineTooLong, None),
            (b"file a/b seq 2 type b\n", PathNotAllowed, Some(1)),
            (b"file a seq 2 type x\n", UnknownType, Some(1)),
            (b"file a seq 0 type b\n", InvalidFormat, Some(1)),
            (b"file a seq 2 type b extra\n", InvalidFormat, Some(1)),
            (b"file \"a seq 2 type b\n", InvalidFormat, Some(1)),
            (
                b"file a seq 2 type b\nfile a seq 2 type b\n",
                DuplicateBase,
                Some(2),
            ),
            (
                b"file a seq 3 type i\nfile b seq 3 type i\n",
                NonMonotonic,
                Some(2),
            ),
        ];
        for (data, kind, line) in cases {
            let e = Manifest::parse(data).expect_err("refused");
            assert_eq!(e.kind, kind, "{}", String::from_utf8_lossy(data));
            assert_eq!(
                e.line.map(|l| l.0),
                line,
                "{}",
                String::from_utf8_lossy(data)
            );
        }
        let e = Manifest::parse(b"file a/b seq 2 type b\n").expect_err("refused");
        assert_eq!(
            e.report_lines(),
            [
                "*** FATAL AOF MANIFEST FILE ERROR ***",
                "Reading the manifest file, at line 1",
                ">>> 'file a/b seq 2 type b'",
                "File can't be a path, just a filename",
            ]
        );
    }

    #[test]
    fn lenient_where_redis_is() {
        // Comments, case-insensitive keys, atoll sequence numbers, the first byte of the type,
        // and unknown keys in pairs.
        let m = Manifest::parse(
            b"# comment\nFILE x.1.base.rdb SEQ 1x TYPE base\nfile y seq 2 type i k v\n",
        )
        .expect("parse");
        assert_eq!(
            m.base.map(|b| (b.name, b.seq)),
            Some(("x.1.base.rdb".to_string(), 1))
        );
        assert_eq!(m.incrs[0].name, "y");
        let only_comment = Manifest::parse(b"# nothing\n").expect("parse");
        assert!(only_comment.is_empty());
    }

    #[test]
    fn names_that_need_quoting_round_trip() {
        let file = AofFile {
            name: "my aof \"x\"\u{1}.aof".to_string(),
            seq: 7,
            kind: FileKind::Incr,
        };
        let line = file.to_line();
        assert_eq!(line, b"file \"my aof \\\"x\\\"\\x01.aof\" seq 7 type i\n");
        let parsed = Manifest::parse(&line).expect("parse");
        assert_eq!(parsed.incrs, vec![file]);
    }

    #[test]
    fn upgrade_and_names() {
        let mut old = Manifest::default();
        assert_eq!((old.next_base_seq(), old.next_incr_seq()), (1, 1));
        old.upgrade_from("appendonly.aof");
        assert_eq!(old.to_bytes(), b"file appendonly.aof seq 1 type b\n");
        assert_eq!(
            base_name("appendonly.aof", 1, false),
            "appendonly.aof.1.base.aof"
        );
        assert_eq!(
            base_name("appendonly.aof", 2, true),
            "appendonly.aof.2.base.rdb"
        );
        assert_eq!(incr_name("a", 12), "a.12.incr.aof");
        assert_eq!(manifest_name("appendonly.aof"), "appendonly.aof.manifest");
        assert_eq!(temp_manifest_name("a"), "temp-a.manifest");
        assert_eq!(temp_incr_name("a"), "temp-a.incr");
    }
}

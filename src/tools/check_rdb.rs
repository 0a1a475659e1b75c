//! `rockslot check-rdb FILE`: checks an RDB file the way `redis-check-rdb` does.
//!
//! BACKGROUND. Redis ships `redis-check-rdb` (the server binary under another name) to tell
//! whether a `dump.rdb` is sane before it is loaded or after a crash. It reads the file with the
//! server's own loader, prints a line per AUX field, database switch and module AUX block, then
//! either `\o/ RDB looks OK! \o/` with the number of keys, keys with an expire and keys whose
//! expire has already passed (exit code 0), or `--- RDB ERROR DETECTED ---` with the offset,
//! what it was doing, the key and type it was reading, and the same counters (exit code 1).
//!
//! BEHAVIOR. This tool reads the file in fixed-size chunks through the streaming reader of
//! `formats::rdb`, so memory stays bounded whatever the file's size, and prints Redis 7.0.15's
//! lines where they have a counterpart (`[offset N] AUX FIELD k = 'v'`, `Selecting DB ID n`,
//! `MODULE AUX for: name`, `Checksum OK`, the `[info]` counters), plus a summary Redis does not
//! give: the RDB version, each function library, and per database and per type the keys read
//! and the keys already expired. Offsets are bytes consumed when the line's item was complete,
//! as in Redis; an error names the offset where the problem is and what was expected there.
//! Like `redis-check-rdb`, it skips module AUX data and module keys of the self-describing
//! (Redis 4.0 GA and later) format instead of refusing them, and it declares an empty list,
//! set, hash or sorted set an error (Redis's loader skips such keys, its checker stops there).
//!
//! Functions saved by the 7.0 release candidates (opcode 246) are read, as 7.0.15 reads them.
//!
//! Differences from 7.0.15: RDB versions 11 and 12 (Redis 7.2 and 7.4) are read, not refused;
//! a `MODULE AUX for:` line carries the offset after the module's data, not before it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::Path;

use formats::rdb::{Checksum, ErrorKind, Event, Kind, Options, Poll, RdbError, Reader, ValuePart};

/// Bytes read from the file at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// The type names `redis-check-rdb` prints after "Reading type N", indexed by RDB type byte.
const RDB_TYPE_NAMES: [&str; 22] = [
    "string",
    "list-linked",
    "set-hashtable",
    "zset-v1",
    "hash-hashtable",
    "zset-v2",
    "module-pre-release",
    "module-value",
    "",
    "hash-zipmap",
    "list-ziplist",
    "set-intset",
    "zset-ziplist",
    "hash-ziplist",
    "quicklist",
    "stream",
    "hash-listpack",
    "zset-listpack",
    "quicklist-v2",
    "stream-v2",
    "set-listpack",
    "stream-v3",
];

/// Runs the subcommand on its arguments (those after `check-rdb`) and returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let [path] = args else {
        eprintln!("Usage: rockslot check-rdb <rdb-file-name>");
        return 1;
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = match check_file(Path::new(path), &mut out) {
        Ok(Verdict::Ok) => 0,
        Ok(Verdict::Corrupt) => 1,
        Err(e) => {
            let _ = out.flush();
            eprintln!("Cannot check {path}: {e}");
            1
        }
    };
    let _ = out.flush();
    code
}

/// Whether the file looked sane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Corrupt,
}

/// Checks the file at `path`, printing the report to `out`.
pub fn check_file(path: &Path, out: &mut impl Write) -> io::Result<Verdict> {
    writeln!(out, "[offset 0] Checking RDB file {}", path.display())?;
    let file = std::fs::File::open(path)?;
    check(file, out, now_ms())
}

/// Checks an RDB file read from `input`; keys whose expire time is before `now_ms` count as
/// already expired.
pub fn check(input: impl Read, out: &mut impl Write, now_ms: i64) -> io::Result<Verdict> {
    check_with(input, out, now_ms, Style::Full).map(|(verdict, _)| verdict)
}

/// Which lines a check prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// redis-check-rdb's lines plus rockslot's summary (version, functions, per db and type).
    Full,
    /// Only the lines redis-check-rdb 7.0.15 prints, as redis-check-aof shows an RDB part.
    Redis,
}

/// Checks the RDB file at the start of `input`; returns the verdict and how many bytes the RDB
/// file took (where an AOF tail starts; input past it is read but not checked).
pub fn check_with(
    mut input: impl Read,
    out: &mut impl Write,
    now_ms: i64,
    style: Style,
) -> io::Result<(Verdict, u64)> {
    let options = Options {
        skip_module_aux: true,
        skip_module_keys: true,
        pre_ga_functions: true,
    };
    let mut reader = Reader::new(options);
    let mut stats = Stats::new(now_ms, style);
    let mut chunk = vec![0u8; CHUNK_BYTES];
    loop {
        let polled = reader.poll();
        let offset = reader.consumed();
        match polled {
            Ok(Poll::Event(event)) => {
                if let Err(e) = stats.apply(event, offset, out)? {
                    return Ok((report_error(&mut stats, &e, out)?, offset));
                }
            }
            Ok(Poll::NeedMore) => {
                let n = input.read(&mut chunk)?;
                if n == 0 {
                    reader.end_input();
                } else {
                    reader.feed(&chunk[..n]);
                }
            }
            Ok(Poll::Done) => return Ok((report_ok(&stats, offset, out)?, offset)),
            Err(e) => return Ok((report_error(&mut stats, &e, out)?, offset)),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Keys counted in one database or of one type.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    keys: u64,
    expires: u64,
    already_expired: u64,
}

impl Counts {
    fn add(&mut self, expire_at_ms: Option<i64>, now_ms: i64) {
        self.keys += 1;
        if let Some(at) = expire_at_ms {
            self.expires += 1;
            if at < now_ms {
                self.already_expired += 1;
            }
        }
    }
}

/// The key being read: its name, RDB type, and how many elements it has shown so far.
#[derive(Debug)]
struct CurrentKey {
    name: Vec<u8>,
    rdb_type: u8,
    kind: Kind,
    elements: u64,
}

/// What the check has seen so far.
#[derive(Debug)]
struct Stats {
    now_ms: i64,
    style: Style,
    version: Option<u32>,
    /// The database of the last SELECTDB.
    db: u64,
    total: Counts,
    dbs: BTreeMap<u64, Counts>,
    types: BTreeMap<&'static str, Counts>,
    functions: u64,
    current: Option<CurrentKey>,
    checksum: Option<Checksum>,
}

impl Stats {
    fn new(now_ms: i64, style: Style) -> Stats {
        Stats {
            now_ms,
            style,
            version: None,
            db: 0,
            total: Counts::default(),
            dbs: BTreeMap::new(),
            types: BTreeMap::new(),
            functions: 0,
            current: None,
            checksum: None,
        }
    }

    /// Counts one key (at its header, as Redis counts it once the key name is read).
    fn count_key(&mut self, db: u64, type_name: &'static str, expire_at_ms: Option<i64>) {
        self.total.add(expire_at_ms, self.now_ms);
        self.dbs
            .entry(db)
            .or_default()
            .add(expire_at_ms, self.now_ms);
        self.types
            .entry(type_name)
            .or_default()
            .add(expire_at_ms, self.now_ms);
    }

    /// Applies one event, printing its line if it has one. The inner error is a problem found
    /// by the check itself rather than by the reader (an empty collection).
    fn apply(
        &mut self,
        event: Event,
        offset: u64,
        out: &mut impl Write,
    ) -> io::Result<Result<(), RdbError>> {
        match event {
            Event::Header { version } => {
                self.version = Some(version);
                if self.style == Style::Full {
                    writeln!(out, "[offset {offset}] RDB version {version}")?;
                }
            }
            Event::Aux { key, value } => writeln!(
                out,
                "[offset {offset}] AUX FIELD {} = '{}'",
                text(&key),
                text(&value)
            )?,
            Event::SelectDb { db } => {
                self.db = db;
                writeln!(out, "[offset {offset}] Selecting DB ID {db}")?
            }
            Event::ModuleAuxSkipped { module } => {
                writeln!(out, "[offset {offset}] MODULE AUX for: {module}")?
            }
            Event::ModuleKeySkipped {
                db,
                module,
                expire_at_ms,
                ..
            } => {
                self.count_key(db, "module", expire_at_ms);
                writeln!(
                    out,
                    "[offset {offset}] Skipped the value of a key of module type {module}"
                )?;
            }
            Event::Function { code } => {
                self.functions += 1;
                if self.style == Style::Redis {
                    return Ok(Ok(()));
                }
                writeln!(
                    out,
                    "[offset {offset}] Function library: {}",
                    text(library_header(&code))
                )?;
            }
            Event::Key(header) => {
                self.count_key(header.db, header.kind.name(), header.expire_at_ms);
                self.current = Some(CurrentKey {
                    name: header.key,
                    rdb_type: header.rdb_type,
                    kind: header.kind,
                    elements: 0,
                });
            }
            Event::Value(part) => {
                if let Some(current) = &mut self.current {
                    current.elements += elements_in(&part);
                }
            }
            Event::ValueEnd => return Ok(self.end_key(offset)),
            Event::Eof { checksum } => self.checksum = Some(checksum),
            Event::ResizeDb { .. } | Event::SlotInfo { .. } => {}
        }
        Ok(Ok(()))
    }

    fn end_key(&mut self, offset: u64) -> Result<(), RdbError> {
        let Some(current) = &self.current else {
            return Ok(());
        };
        let collection = !matches!(current.kind, Kind::String | Kind::Stream);
        if collection && current.elements == 0 {
            return Err(RdbError {
                offset,
                kind: ErrorKind::Unexpected {
                    expected: "a non-empty collection (Redis's loader skips empty keys, \
                               redis-check-rdb reports 'Unexpected EOF reading RDB file')",
                    found: format!("an empty {}", current.kind.name()),
                },
            });
        }
        self.current = None;
        Ok(())
    }
}

/// Elements a value part carries (a string counts as one).
fn elements_in(part: &ValuePart) -> u64 {
    let n = match part {
        ValuePart::String(_) => 1,
        ValuePart::ListItems(v) | ValuePart::SetMembers(v) => v.len(),
        ValuePart::HashFields(v) => v.len(),
        ValuePart::ZsetMembers(v) => v.len(),
        ValuePart::StreamEntries(v) => v.len(),
        _ => 0,
    };
    n as u64
}

/// The first line of a library's code: `#!lua name=mylib ...`.
fn library_header(code: &[u8]) -> &[u8] {
    code.split(|&b| b == b'\n').next().unwrap_or_default()
}

/// Bytes shown as text, invalid UTF-8 replaced (Redis prints the raw bytes).
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn report_ok(stats: &Stats, offset: u64, out: &mut impl Write) -> io::Result<Verdict> {
    match stats.checksum {
        Some(Checksum::Verified(_)) => writeln!(out, "[offset {offset}] Checksum OK")?,
        Some(Checksum::Disabled) => writeln!(
            out,
            "[offset {offset}] RDB file was saved with checksum disabled: no check performed."
        )?,
        Some(Checksum::Absent) | None => {}
    }
    writeln!(out, "[offset {offset}] \\o/ RDB looks OK! \\o/")?;
    out.write_all(summary(stats).as_bytes())?;
    Ok(Verdict::Ok)
}

fn report_error(stats: &mut Stats, error: &RdbError, out: &mut impl Write) -> io::Result<Verdict> {
    if let ErrorKind::ModuleKey(_) = error.kind {
        // The key's name was read before its module type was refused: Redis counts it.
        stats.count_key(stats.db, "module", None);
    }
    writeln!(out, "--- RDB ERROR DETECTED ---")?;
    writeln!(out, "[offset {}] {}", error.offset, error.kind)?;
    writeln!(
        out,
        "[additional info] While doing: {}",
        doing(stats, error)
    )?;
    if let Some(current) = &stats.current {
        writeln!(
            out,
            "[additional info] Reading key '{}'",
            text(&current.name)
        )?;
        let name = RDB_TYPE_NAMES
            .get(usize::from(current.rdb_type))
            .copied()
            .unwrap_or("unknown");
        writeln!(
            out,
            "[additional info] Reading type {} ({name})",
            current.rdb_type
        )?;
    }
    out.write_all(summary(stats).as_bytes())?;
    Ok(Verdict::Corrupt)
}

/// What the check was doing when the error came, in `redis-check-rdb`'s words.
fn doing(stats: &Stats, error: &RdbError) -> &'static str {
    match error.kind {
        ErrorKind::BadMagic(_) | ErrorKind::BadVersion(_) => "start",
        ErrorKind::Checksum { .. } => "check-sum",
        _ if stats.version.is_none() => "start",
        _ if stats.current.is_some() => "read-object-value",
        _ => "read-type",
    }
}

/// Redis's three counters, then the per-database and per-type breakdown.
fn summary(stats: &Stats) -> String {
    let mut s = String::new();
    let t = &stats.total;
    let _ = writeln!(s, "[info] {} keys read", t.keys);
    let _ = writeln!(s, "[info] {} expires", t.expires);
    let _ = writeln!(s, "[info] {} already expired", t.already_expired);
    if stats.style == Style::Redis {
        return s;
    }
    if let Some(version) = stats.version {
        let _ = writeln!(s, "[info] RDB version {version}");
    }
    for (db, c) in &stats.dbs {
        let _ = writeln!(
            s,
            "[info] db {db}: {} keys, {} expires, {} already expired",
            c.keys, c.expires, c.already_expired
        );
    }
    for (name, c) in &stats.types {
        let _ = writeln!(
            s,
            "[info] type {name}: {} keys, {} already expired",
            c.keys, c.already_expired
        );
    }
    let _ = writeln!(s, "[info] {} function libraries", stats.functions);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::rdb::types;

    /// A version-10 file around `body`, with its CRC-64.
    fn file(body: &[u8]) -> Vec<u8> {
        let mut data = b"REDIS0010".to_vec();
        data.extend_from_slice(body);
        data.push(0xff);
        let crc = formats::rdb::crc64::checksum(&data);
        data.extend_from_slice(&crc.to_le_bytes());
        data
    }

    fn run(data: &[u8]) -> (Verdict, String) {
        let mut out = Vec::new();
        let verdict = check(data, &mut out, 10_000).expect("in-memory I/O");
        (verdict, String::from_utf8(out).expect("utf-8 report"))
    }

    #[test]
    fn counts_keys_expires_and_types() {
        let data = file(
            &[
                &[0xfa, 3, b'k', b'e', b'y', 1, b'v'][..],
                &[0xfe, 2, 0xfc],
                &5_000u64.to_le_bytes(),
                &[types::STRING, 1, b'a', 1, b'1'],
                &[0xfc],
                &20_000u64.to_le_bytes(),
                &[types::SET, 1, b's', 1, 1, b'x'],
            ]
            .concat(),
        );
        let (verdict, report) = run(&data);
        assert_eq!(verdict, Verdict::Ok, "{report}");
        for line in [
            "[offset 9] RDB version 10",
            "[offset 16] AUX FIELD key = 'v'",
            "[offset 18] Selecting DB ID 2",
            "Checksum OK",
            "\\o/ RDB looks OK! \\o/",
            "[info] 2 keys read",
            "[info] 2 expires",
            "[info] 1 already expired",
            "[info] db 2: 2 keys, 2 expires, 1 already expired",
            "[info] type set: 1 keys, 0 already expired",
            "[info] type string: 1 keys, 1 already expired",
        ] {
            assert!(report.contains(line), "missing {line:?} in:\n{report}");
        }
    }

    #[test]
    fn corruption_names_offset_key_and_type() {
        let mut data = file(&[types::LIST, 1, b'l', 2, 1, b'x'][..]);
        data.truncate(14);
        let (verdict, report) = run(&data);
        assert_eq!(verdict, Verdict::Corrupt, "{report}");
        assert!(report.contains("--- RDB ERROR DETECTED ---"), "{report}");
        assert!(
            report.contains("[offset 14] the input ended while reading a value"),
            "{report}"
        );
        assert!(
            report.contains("While doing: read-object-value"),
            "{report}"
        );
        assert!(report.contains("Reading key 'l'"), "{report}");
        assert!(report.contains("Reading type 1 (list-linked)"), "{report}");
    }

    #[test]
    fn wrong_checksum_and_empty_collections_are_errors() {
        let mut data = file(&[types::STRING, 1, b'k', 1, b'v'][..]);
        let last = data.len() - 1;
        data[last] ^= 1;
        let (verdict, report) = run(&data);
        assert_eq!(verdict, Verdict::Corrupt, "{report}");
        assert!(report.contains("While doing: check-sum"), "{report}");

        let (verdict, report) = run(&file(&[types::HASH, 1, b'h', 0][..]));
        assert_eq!(verdict, Verdict::Corrupt, "{report}");
        assert!(report.contains("an empty hash"), "{report}");
    }
}

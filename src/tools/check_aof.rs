//! `rockslot check-aof [--fix] FILE|MANIFEST`: checks an AOF the way `redis-check-aof` 7.0.15
//! does.
//!
//! BACKGROUND. Redis ships `redis-check-aof` to find where an AOF stops being sound after a
//! crash or a full disk, and to cut it there (`--fix`) so the server can load it. Given a 7.0
//! manifest (a file starting with `file`, at least 30 bytes) it checks the base file (as an RDB
//! file when it starts with `REDIS`, else as commands) and every incr file in order; given any
//! other file it checks a pre-7.0 single AOF, with or without an RDB preamble.
//!
//! BEHAVIOR. Output, offsets, line counts and exit codes are redis-check-aof's: the RDB part is
//! checked by [`super::check_rdb`] printing redis-check-rdb's lines; the commands are checked
//! with redis-check-aof's grammar (`formats::aof::check`), reporting `AOF analyzed: filename=...,
//! size=..., ok_up_to=..., ok_up_to_line=..., diff=...`, then either that the file is valid or
//! that it is not (exit code 1). With `--fix`, a damaged last file is truncated to its sound part
//! after asking `Continue? [y/N]:` on standard input (anything but an answer starting with `y`
//! aborts, exit code 1); a damaged file that is not the last one cannot be fixed. Files are read
//! in chunks, so memory stays bounded whatever their size.
//!
//! Not supported: `--truncate-to-timestamp` (7.0's cut at a `#TS:` annotation).

use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use formats::aof::check::{Checker, Outcome, Poll};
use formats::aof::Manifest;

use super::check_rdb::{self, Style, Verdict};

/// Bytes read from a file at a time.
const CHUNK_BYTES: usize = 64 * 1024;
/// redis-check-aof's smallest manifest: `file a.1.incr.aof seq 1 type i`.
const MIN_MANIFEST_BYTES: u64 = 30;
/// An RDB header's size: a file must have room for it to be taken for RDB.
const MIN_RDB_BYTES: u64 = 8;

/// Why the check stopped with exit code 1 (what to say has been printed).
struct Exit;

/// How one file's check ended, when the check goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileCheck {
    Valid,
    Empty,
    Truncated,
}

/// Runs the subcommand on its arguments (those after `check-aof`) and returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let (path, fix) = match args {
        [path] => (path, false),
        [flag, path] if flag == "--fix" => (path, true),
        _ => {
            println!("Usage: rockslot check-aof [--fix] <file.manifest|file.aof>");
            return 1;
        }
    };
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut tool = Tool {
        out: stdout.lock(),
        answers: stdin.lock(),
        fix,
        line: 1,
    };
    let code = match tool.run(path) {
        Ok(()) => 0,
        Err(Exit) => 1,
    };
    let _ = tool.out.flush();
    code
}

/// The check's state: where it prints, where `--fix` reads its answer, and redis-check-aof's
/// line counter, which runs on across the files of a manifest.
struct Tool<W: Write, R: BufRead> {
    out: W,
    answers: R,
    fix: bool,
    line: u64,
}

impl<W: Write, R: BufRead> Tool<W, R> {
    fn say(&mut self, text: &str) -> Result<(), Exit> {
        writeln!(self.out, "{text}").map_err(|_| Exit)
    }

    /// Prints `text` and stops with exit code 1.
    fn fail<T>(&mut self, text: &str) -> Result<T, Exit> {
        self.say(text)?;
        Err(Exit)
    }

    fn run(&mut self, path: &str) -> Result<(), Exit> {
        let head = self.head(Path::new(path))?;
        if head.size >= MIN_MANIFEST_BYTES && head.bytes.starts_with(b"file") {
            let dir = parent_dir(path);
            return self.check_manifest(&dir, path);
        }
        self.say("Start checking Old-Style AOF")?;
        let preamble = head.is_rdb();
        let result = self.check_file(path, Path::new(path), true, preamble)?;
        match result {
            FileCheck::Valid => self.say(&format!("AOF {path} is valid")),
            FileCheck::Empty => self.say(&format!("AOF {path} is empty")),
            FileCheck::Truncated => self.say(&format!("Successfully truncated AOF {path}")),
        }
    }

    /// The size and first bytes of a file.
    fn head(&mut self, path: &Path) -> Result<Head, Exit> {
        let shown = path.display().to_string();
        let Ok(mut file) = std::fs::File::open(path) else {
            return self.fail(&format!("Cannot open file: {shown}"));
        };
        let Ok(meta) = file.metadata() else {
            return self.fail(&format!("Cannot stat file: {shown}"));
        };
        let mut bytes = Vec::new();
        let _ = (&mut file).take(8).read_to_end(&mut bytes);
        Ok(Head {
            size: meta.len(),
            bytes,
        })
    }

    fn check_manifest(&mut self, dir: &Path, manifest_path: &str) -> Result<(), Exit> {
        self.say("Start checking Multi Part AOF")?;
        let manifest = self.read_manifest(manifest_path)?;
        let files: Vec<_> = manifest.files_to_load().collect();
        for (i, entry) in files.iter().enumerate() {
            let name = &entry.name;
            let path = dir.join(name);
            let last_file = i + 1 == files.len();
            let is_base = manifest.base.as_ref() == Some(*entry);
            let rdb = is_base && self.head(&path)?.is_rdb();
            if is_base {
                let format = if rdb { "RDB" } else { "RESP" };
                self.say(&format!("Start to check BASE AOF ({format} format)."))?;
            } else if i == usize::from(manifest.base.is_some()) {
                self.say("Start to check INCR files.")?;
            }
            let role = if is_base { "BASE" } else { "INCR" };
            match self.check_file(name, &path, last_file, rdb)? {
                FileCheck::Valid => self.say(&format!("{role} AOF {name} is valid"))?,
                FileCheck::Empty => self.say(&format!("{role} AOF {name} is empty"))?,
                FileCheck::Truncated => self.say(&format!("Successfully truncated AOF {name}"))?,
            }
        }
        self.say("All AOF files and manifest are valid")
    }

    fn read_manifest(&mut self, path: &str) -> Result<Manifest, Exit> {
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(e) => {
                return self.fail(&format!(
                    "Fatal error: can't open the AOF manifest file {path} for reading: {}",
                    crate::config::text::strerror(&e)
                ))
            }
        };
        match Manifest::parse(&data) {
            Ok(manifest) => Ok(manifest),
            Err(e) => {
                for line in e.report_lines() {
                    self.say(&line)?;
                }
                Err(Exit)
            }
        }
    }

    /// `checkSingleAof`: the RDB part if any, then the commands; `name` is how messages name
    /// the file.
    fn check_file(
        &mut self,
        name: &str,
        path: &Path,
        last_file: bool,
        preamble: bool,
    ) -> Result<FileCheck, Exit> {
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .write(self.fix)
            .open(path)
        {
            Ok(file) => file,
            Err(e) => {
                return self.fail(&format!(
                    "Cannot open file {}: {}, aborting...",
                    path.display(),
                    crate::config::text::strerror(&e)
                ))
            }
        };
        let Ok(size) = file.metadata().map(|m| m.len()) else {
            return self.fail(&format!("Cannot stat file: {name}, aborting..."));
        };
        if size == 0 {
            return Ok(FileCheck::Empty);
        }
        let mut start = 0;
        if preamble {
            writeln!(self.out, "[offset 0] Checking RDB file {name}").map_err(|_| Exit)?;
            let now_ms = crate::server::unix_ms();
            match check_rdb::check_with(&mut file, &mut self.out, now_ms, Style::Redis) {
                Ok((Verdict::Ok, rdb_size)) => start = rdb_size,
                _ => return self.fail("RDB preamble of AOF file is not sane, aborting."),
            }
            self.say("RDB preamble is OK, proceeding with AOF tail...")?;
        }
        let outcome = self.check_commands(&mut file, start, &path.display().to_string())?;
        if outcome.format_error {
            self.say(&format!("AOF {name} format error"))?;
        }
        if let Some(error) = &outcome.error {
            self.say(error)?;
        }
        let ok_up_to = outcome.ok_up_to;
        let diff = size.saturating_sub(ok_up_to);
        self.say(&format!(
            "AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, \
             ok_up_to_line={}, diff={diff}",
            self.line
        ))?;
        if diff == 0 {
            return Ok(FileCheck::Valid);
        }
        if !self.fix {
            return self.fail(&format!(
                "AOF {name} is not valid. Use the --fix option to try fixing it."
            ));
        }
        if !last_file {
            return self.fail(&format!(
                "Failed to truncate AOF {name} because it is not the last file"
            ));
        }
        self.say(&format!(
            "This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {ok_up_to} \
             bytes"
        ))?;
        write!(self.out, "Continue? [y/N]: ").map_err(|_| Exit)?;
        self.out.flush().map_err(|_| Exit)?;
        let mut answer = String::new();
        let read = self.answers.read_line(&mut answer).unwrap_or(0);
        if read == 0 || !answer.starts_with(['y', 'Y']) {
            return self.fail("Aborting...");
        }
        if file.set_len(ok_up_to).is_err() {
            return self.fail(&format!("Failed to truncate AOF {name}"));
        }
        Ok(FileCheck::Truncated)
    }

    /// Runs redis-check-aof's command grammar over `file` from offset `start`.
    fn check_commands(
        &mut self,
        file: &mut std::fs::File,
        start: u64,
        path: &str,
    ) -> Result<Outcome, Exit> {
        if file.seek(SeekFrom::Start(start)).is_err() {
            return self.fail(&format!("Failed to fseek in AOF {path}"));
        }
        let mut checker = Checker::new(start, self.line, path);
        let mut chunk = vec![0u8; CHUNK_BYTES];
        loop {
            match checker.poll() {
                Poll::Done(outcome) => {
                    self.line = outcome.line;
                    return Ok(outcome);
                }
                Poll::NeedMore => match file.read(&mut chunk) {
                    Ok(0) => checker.end_input(),
                    Ok(n) => checker.feed(&chunk[..n]),
                    Err(_) => {
                        return self.fail(&format!("Failed to read from AOF {path}, aborting..."))
                    }
                },
            }
        }
    }
}

/// The size and first bytes of a file, to tell a manifest, an RDB start and commands apart.
struct Head {
    size: u64,
    bytes: Vec<u8>,
}

impl Head {
    fn is_rdb(&self) -> bool {
        self.size >= MIN_RDB_BYTES && formats::aof::starts_with_rdb(&self.bytes)
    }
}

/// C's `dirname`: the directory part of a path, `.` for a bare name.
fn parent_dir(path: &str) -> PathBuf {
    match Path::new(path).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &Path, fix: bool, answer: &str) -> (i32, String) {
        let mut tool = Tool {
            out: Vec::new(),
            answers: answer.as_bytes(),
            fix,
            line: 1,
        };
        let code = match tool.run(&path.display().to_string()) {
            Ok(()) => 0,
            Err(Exit) => 1,
        };
        (code, String::from_utf8(tool.out).expect("utf-8"))
    }

    #[test]
    fn fix_truncates_only_after_yes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("appendonly.aof");
        let sound = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
        std::fs::write(&path, [&sound[..], b"*3\r\n$3\r\nSET"].concat()).expect("write");

        let (code, out) = run(&path, false, "");
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("ok_up_to=23, ok_up_to_line=8, diff=11"),
            "{out}"
        );
        assert!(out.ends_with("is not valid. Use the --fix option to try fixing it.\n"));

        let (code, out) = run(&path, true, "n\n");
        assert_eq!(code, 1, "{out}");
        assert!(out.ends_with("Continue? [y/N]: Aborting...\n"), "{out}");
        assert_eq!(std::fs::metadata(&path).expect("stat").len(), 34);

        let (code, out) = run(&path, true, "y\n");
        assert_eq!(code, 0, "{out}");
        let truncated = format!("Successfully truncated AOF {}\n", path.display());
        assert!(out.ends_with(&truncated), "{out}");
        assert_eq!(std::fs::read(&path).expect("read"), sound);
    }

    #[test]
    fn dirname_like_c() {
        assert_eq!(parent_dir("x.aof"), PathBuf::from("."));
        assert_eq!(parent_dir("/a/b/m"), PathBuf::from("/a/b"));
    }
}

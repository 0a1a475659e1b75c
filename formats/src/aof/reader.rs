//! The AOF command reader: the commands of an AOF's command part, read as Redis 7.0's loader
//! (`loadSingleAppendOnlyFile`) reads them.
//!
//! The loader's grammar is lenient in Redis's own ways, and this reader keeps them: lines are
//! read like `fgets` with a 1024-byte buffer; a line starting with `#` is skipped; a command line
//! must start with `*` and its count is read with `atoi` (below one is a format error); each
//! argument line must start with `$` and its length is read with `strtol`; the two bytes after an
//! argument are skipped unchecked. Input that ends inside a command is truncation, not a format
//! error. A negative length, which makes Redis abort on a failed allocation, is a format error.
//!
//! Arguments are parsed incrementally, so a command with millions of arguments costs one pass;
//! the buffer holds the current item only (an argument in full, as the command needs it).

use bytes::Bytes;
use thiserror::Error;

use super::input::{atoi, strtol, Got, Input};
use super::LINE_MAX;

/// One item of the command part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A command with its arguments (the name first).
    Command(Vec<Bytes>),
    /// An annotation line (`#TS:1700000000\r\n`, say), as read.
    Annotation(Vec<u8>),
}

/// What [`Reader::poll`] has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Item(Item),
    /// More input is needed (feed it, or call [`Reader::end_input`] if there is none).
    NeedMore,
    /// The input ended cleanly, after a complete command or annotation.
    End,
}

/// Why the command part cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at offset {at} (the last complete command ends at offset {valid_up_to})")]
pub struct AofError {
    /// Offset just after the last complete command: where Redis truncates a truncated file.
    pub valid_up_to: u64,
    /// Offset of the problem.
    pub at: u64,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorKind {
    /// The input ends inside a command.
    #[error("the input ends inside a command")]
    Truncated,
    /// Bytes that are not the AOF grammar.
    #[error("expected {0}")]
    Format(&'static str),
    /// A NUL byte right after `*`, which Redis's loader takes for a read error.
    #[error("a NUL byte after '*'")]
    Unreadable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ItemStart,
    /// Reading the length line of argument `args.len()`.
    ArgLen,
    /// Reading an argument's bytes, then the two bytes after them.
    ArgData {
        len: u64,
    },
    ArgEnd,
    Failed,
}

/// The streaming command reader. Feed bytes with [`Reader::feed`], take items with
/// [`Reader::poll`], and call [`Reader::end_input`] when the input is over.
#[derive(Debug)]
pub struct Reader {
    input: Input,
    state: State,
    argc: usize,
    args: Vec<Bytes>,
    valid_up_to: u64,
    failed: Option<AofError>,
}

impl Reader {
    /// A reader of a command part that starts at absolute offset `start` of its file (the size
    /// of an RDB preamble, or 0), so offsets are the file's.
    pub fn new(start: u64) -> Self {
        Self {
            input: Input::starting_at(start),
            state: State::ItemStart,
            argc: 0,
            args: Vec::new(),
            valid_up_to: start,
            failed: None,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.input.feed(data);
    }

    /// Declares that no more input will come.
    pub fn end_input(&mut self) {
        self.input.end();
    }

    /// Offset just after the last complete command (Redis's `valid_up_to`).
    pub fn valid_up_to(&self) -> u64 {
        self.valid_up_to
    }

    /// Offset of the next byte to read.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The next item, a request for input, the end, or the error that stops the reader (it is
    /// returned again by every later call).
    pub fn poll(&mut self) -> Result<Poll, AofError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let polled = self.step();
        if let Err(e) = &polled {
            self.state = State::Failed;
            self.failed = Some(e.clone());
        }
        self.input.compact();
        polled
    }

    fn error(&self, at: u64, kind: ErrorKind) -> AofError {
        AofError {
            valid_up_to: self.valid_up_to,
            at,
            kind,
        }
    }

    fn step(&mut self) -> Result<Poll, AofError> {
        loop {
            match self.state {
                State::Failed => return Ok(Poll::End),
                State::ItemStart => {
                    let at = self.input.offset();
                    let Got::Bytes { start, end } = self.input.line(LINE_MAX) else {
                        return Ok(Poll::NeedMore);
                    };
                    let line = self.input.bytes(start, end);
                    match line.first() {
                        None => return Ok(Poll::End),
                        Some(b'#') => return Ok(Poll::Item(Item::Annotation(line.to_vec()))),
                        Some(b'*') => {}
                        Some(_) => return Err(self.error(at, ErrorKind::Format("'*' or '#'"))),
                    }
                    match line.get(1) {
                        None => return Err(self.error(at, ErrorKind::Truncated)),
                        Some(0) => return Err(self.error(at, ErrorKind::Unreadable)),
                        Some(_) => {}
                    }
                    let argc = atoi(&line[1..]);
                    if argc < 1 {
                        return Err(
                            self.error(at, ErrorKind::Format("an argument count of 1 or more"))
                        );
                    }
                    self.argc = argc as usize;
                    self.args = Vec::with_capacity(self.argc.min(1024));
                    self.state = State::ArgLen;
                }
                State::ArgLen => {
                    let at = self.input.offset();
                    let Got::Bytes { start, end } = self.input.line(LINE_MAX) else {
                        return Ok(Poll::NeedMore);
                    };
                    let line = self.input.bytes(start, end);
                    match line.first() {
                        None => return Err(self.error(at, ErrorKind::Truncated)),
                        Some(b'$') => {}
                        Some(_) => return Err(self.error(at, ErrorKind::Format("'$'"))),
                    }
                    let (len, _) = strtol(&line[1..]);
                    let Ok(len) = u64::try_from(len) else {
                        return Err(self.error(at, ErrorKind::Format("a length of 0 or more")));
                    };
                    self.state = State::ArgData { len };
                }
                State::ArgData { len } => {
                    let at = self.input.offset();
                    let Got::Bytes { start, end } = self.input.read(len) else {
                        return Ok(Poll::NeedMore);
                    };
                    if ((end - start) as u64) < len {
                        return Err(self.error(at, ErrorKind::Truncated));
                    }
                    let arg = Bytes::copy_from_slice(self.input.bytes(start, end));
                    self.args.push(arg);
                    self.state = State::ArgEnd;
                }
                State::ArgEnd => {
                    let at = self.input.offset();
                    let Got::Bytes { start, end } = self.input.read(2) else {
                        return Ok(Poll::NeedMore);
                    };
                    if end - start < 2 {
                        return Err(self.error(at, ErrorKind::Truncated));
                    }
                    if self.args.len() < self.argc {
                        self.state = State::ArgLen;
                        continue;
                    }
                    self.state = State::ItemStart;
                    self.valid_up_to = self.input.offset();
                    return Ok(Poll::Item(Item::Command(std::mem::take(&mut self.args))));
                }
            }
        }
    }
}

/// Reads a whole in-memory command part: the items, then how it ended.
pub fn read_all(data: &[u8]) -> (Vec<Item>, Result<(), AofError>) {
    let mut reader = Reader::new(0);
    reader.feed(data);
    reader.end_input();
    let mut items = Vec::new();
    loop {
        match reader.poll() {
            Ok(Poll::Item(item)) => items.push(item),
            Ok(Poll::NeedMore | Poll::End) => return (items, Ok(())),
            Err(e) => return (items, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&str]) -> Item {
        Item::Command(args.iter().map(|a| Bytes::from(a.to_string())).collect())
    }

    #[test]
    fn reads_commands_and_annotations() {
        let data = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1700000000\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
        let (items, end) = read_all(data);
        assert_eq!(end, Ok(()));
        assert_eq!(
            items,
            vec![
                command(&["SELECT", "0"]),
                Item::Annotation(b"#TS:1700000000\r\n".to_vec()),
                command(&["SET", "k", ""]),
            ]
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_items() {
        let data = b"*1\r\n$4\r\nPING\r\n#x\r\n*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n";
        let (whole, _) = read_all(data);
        let mut reader = Reader::new(0);
        let mut items = Vec::new();
        for &b in data.iter() {
            reader.feed(&[b]);
            while let Ok(Poll::Item(item)) = reader.poll() {
                items.push(item);
            }
        }
        reader.end_input();
        assert_eq!(reader.poll(), Ok(Poll::End));
        assert_eq!(items, whole);
    }

    #[test]
    fn truncation_reports_the_last_complete_command() {
        let data = b"*1\r\n$4\r\nPING\r\n#TS:1\r\n*2\r\n$4\r\nECHO\r\n$5\r\nab";
        for cut in 22..data.len() {
            let (items, end) = read_all(&data[..cut]);
            let e = end.expect_err("truncated");
            assert_eq!(e.kind, ErrorKind::Truncated, "cut at {cut}");
            assert_eq!(e.valid_up_to, 14, "cut at {cut}");
            assert_eq!(items.first(), Some(&command(&["PING"])));
        }
        for cut in 14..22 {
            let (_, end) = read_all(&data[..cut]);
            assert_eq!(
                end,
                Ok(()),
                "a whole command, then part of an annotation: {cut}"
            );
        }
        let (_, end) = read_all(b"*");
        assert_eq!(end.map_err(|e| e.kind), Err(ErrorKind::Truncated));
    }

    #[test]
    fn format_errors_name_the_bad_command() {
        for (data, at) in [
            (&b"*1\r\n$4\r\nPING\r\nGARBAGE\r\n"[..], 14),
            (b"*0\r\n", 0),
            (b"*1\r\n$4\r\nPING\r\n*1\r\nX4\r\nPING\r\n", 18),
            (b"*1\r\n$-4\r\nPING\r\n", 4),
        ] {
            let (_, end) = read_all(data);
            let e = end.expect_err("format error");
            assert!(matches!(e.kind, ErrorKind::Format(_)), "{e}");
            assert_eq!(e.at, at, "{e}");
        }
        let (_, end) = read_all(b"*\x00\r\n");
        assert_eq!(end.map_err(|e| e.kind), Err(ErrorKind::Unreadable));
    }

    #[test]
    fn the_two_bytes_after_an_argument_are_not_checked() {
        let (items, end) = read_all(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n");
        assert_eq!(end, Ok(()));
        assert_eq!(items, vec![command(&["PING"]), command(&["PING"])]);
    }

    #[test]
    fn damaged_input_never_panics() {
        let good = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1\r\n*1\r\n$5\r\nMULTI\r\n\
            *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*1\r\n$4\r\nEXEC\r\n";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cut in 0..=good.len() {
            let _ = read_all(&good[..cut]);
            let _ = super::super::check::check_all(&good[..cut], "f");
        }
        for _ in 0..5000 {
            let mut data = good.to_vec();
            for _ in 0..1 + next() % 4 {
                let at = (next() % data.len() as u64) as usize;
                data[at] = (next() % 256) as u8;
            }
            let _ = read_all(&data);
            let _ = super::super::check::check_all(&data, "f");
        }
    }

    #[test]
    fn offsets_continue_after_a_preamble() {
        let mut reader = Reader::new(100);
        reader.feed(b"*1\r\n$4\r\nPING\r\n*1");
        reader.end_input();
        assert_eq!(reader.poll(), Ok(Poll::Item(command(&["PING"]))));
        let e = reader.poll().expect_err("truncated");
        assert_eq!((e.valid_up_to, e.at), (114, 116));
    }
}

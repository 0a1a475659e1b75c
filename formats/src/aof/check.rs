//! The command part of an AOF read with `redis-check-aof`'s grammar, which is stricter than the
//! loader's (see [`super::reader`]): every count and length line must end in `\r\n` right after
//! its number, every argument must be followed by `\r\n`, and MULTI/EXEC must pair up. The
//! checker finds the offset up to which the file is sound (`ok_up_to`: the start of the first bad
//! command, or of the MULTI of an unfinished transaction), the line count and the error message
//! exactly as redis-check-aof 7.0.15 prints them, including its quirks: the error offset is where
//! the last line or argument read began, a count below one is accepted, and bytes above 0x7f are
//! printed as sign-extended C `char`s.

use super::input::{strtol, Got, Input};
use super::LINE_MAX;

/// redis-check-aof's buffer for count and length lines.
const NUMBER_LINE_MAX: usize = 128;

/// What the check found once the input ended or a problem stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Offset up to which the file is sound.
    pub ok_up_to: u64,
    /// redis-check-aof's line counter after the check (it counts on across the files of a
    /// manifest).
    pub line: u64,
    /// The input had a byte that starts neither a command nor an annotation
    /// (`AOF <name> format error`).
    pub format_error: bool,
    /// The error line, `0x<offset>: <message>`, if any.
    pub error: Option<String>,
}

/// What [`Checker::poll`] has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    NeedMore,
    Done(Outcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ItemStart,
    Annotation,
    Count,
    ArgLen,
    ArgData { len: u64 },
}

/// The streaming checker. Feed bytes with [`Checker::feed`] until [`Checker::poll`] is done,
/// calling [`Checker::end_input`] at the end of the input.
#[derive(Debug)]
pub struct Checker {
    input: Input,
    /// The file's path as redis-check-aof names it in MULTI/EXEC errors.
    path: String,
    state: State,
    line: u64,
    epos: u64,
    multi: i64,
    ok_up_to: u64,
    argc: i64,
    arg: i64,
    eof: bool,
}

impl Checker {
    /// A checker of a command part starting at offset `start` of its file (after an RDB
    /// preamble, or 0), with redis-check-aof's line counter at `line` (1 for the first file).
    pub fn new(start: u64, line: u64, path: &str) -> Checker {
        Checker {
            input: Input::starting_at(start),
            path: path.to_string(),
            state: State::ItemStart,
            line,
            epos: 0,
            multi: 0,
            ok_up_to: start,
            argc: 0,
            arg: 0,
            eof: false,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.input.feed(data);
    }

    pub fn end_input(&mut self) {
        self.input.end();
    }

    pub fn poll(&mut self) -> Poll {
        let polled = self.step();
        self.input.compact();
        polled
    }

    fn done(&self, format_error: bool, error: Option<String>) -> Poll {
        let error = match error {
            None if self.eof && self.multi != 0 => {
                Some(self.error("Reached EOF before reading EXEC for MULTI"))
            }
            error => error,
        };
        Poll::Done(Outcome {
            ok_up_to: self.ok_up_to,
            line: self.line,
            format_error,
            error,
        })
    }

    fn error(&self, message: &str) -> String {
        format!("0x{:>16x}: {message}", self.epos)
    }

    /// `consumeNewline`: the two bytes at `at` of `bytes` (NUL past its end, like the C string)
    /// must be `\r\n`.
    fn newline(&mut self, bytes: &[u8], at: usize) -> Result<(), String> {
        let b0 = bytes.get(at).copied().unwrap_or(0);
        let b1 = bytes.get(at + 1).copied().unwrap_or(0);
        if (b0, b1) != (b'\r', b'\n') {
            return Err(self.error(&format!(
                "Expected \\r\\n, got: {}{}",
                c_char_hex(b0),
                c_char_hex(b1)
            )));
        }
        self.line += 1;
        Ok(())
    }

    /// `readLong`: a line `<prefix><number>\r\n`; `Ok(None)` at the end of the input.
    fn number_line(&mut self, prefix: u8) -> Result<Option<i64>, Option<String>> {
        self.epos = self.input.offset();
        let Got::Bytes { start, end } = self.input.line(NUMBER_LINE_MAX) else {
            return Err(None);
        };
        let line = self.input.bytes(start, end).to_vec();
        let Some(&first) = line.first() else {
            self.eof = true;
            return Ok(None);
        };
        if first != prefix {
            return Err(Some(self.error(&format!(
                "Expected prefix '{}', got: '{}'",
                char::from(prefix),
                char::from(first)
            ))));
        }
        let (value, used) = strtol(&line[1..]);
        self.newline(&line, 1 + used).map_err(Some)?;
        Ok(Some(value))
    }

    fn step(&mut self) -> Poll {
        loop {
            match self.state {
                State::ItemStart => {
                    if self.multi == 0 {
                        self.ok_up_to = self.input.offset();
                    }
                    match self.input.peek() {
                        None if self.input.ended() => {
                            self.eof = true;
                            return self.done(false, None);
                        }
                        None => return Poll::NeedMore,
                        Some(b'#') => self.state = State::Annotation,
                        Some(b'*') => self.state = State::Count,
                        Some(_) => return self.done(true, None),
                    }
                }
                State::Annotation => {
                    self.epos = self.input.offset();
                    if self.input.line(LINE_MAX) == Got::NeedMore {
                        return Poll::NeedMore;
                    }
                    self.state = State::ItemStart;
                }
                State::Count => match self.number_line(b'*') {
                    Err(None) => return Poll::NeedMore,
                    Err(Some(error)) => return self.done(false, Some(error)),
                    Ok(None) => return self.done(false, None),
                    Ok(Some(argc)) => {
                        self.argc = argc;
                        self.arg = 0;
                        self.state = if argc > 0 {
                            State::ArgLen
                        } else {
                            State::ItemStart
                        };
                    }
                },
                State::ArgLen => match self.number_line(b'$') {
                    Err(None) => return Poll::NeedMore,
                    Err(Some(error)) => return self.done(false, Some(error)),
                    Ok(None) => return self.done(false, None),
                    Ok(Some(len)) => {
                        if !(0..=i64::MAX - 2).contains(&len) {
                            let message = format!(
                                "Expected to read string of {len} bytes, which is not in the \
                                 suitable range"
                            );
                            return self.done(false, Some(self.error(&message)));
                        }
                        self.state = State::ArgData { len: len as u64 };
                    }
                },
                State::ArgData { len } => {
                    self.epos = self.input.offset();
                    let want = len + 2;
                    let Got::Bytes { start, end } = self.input.read(want) else {
                        return Poll::NeedMore;
                    };
                    let got = (end - start) as u64;
                    if got < want {
                        self.eof = true;
                        let message = format!("Expected to read {want} bytes, got {got} bytes");
                        return self.done(false, Some(self.error(&message)));
                    }
                    let data = self.input.bytes(start, end).to_vec();
                    if let Err(error) = self.newline(&data, data.len() - 2) {
                        return self.done(false, Some(error));
                    }
                    if self.arg == 0 {
                        if let Err(error) = self.transaction(&data[..data.len() - 2]) {
                            return self.done(false, Some(error));
                        }
                    }
                    self.arg += 1;
                    self.state = if self.arg < self.argc {
                        State::ArgLen
                    } else {
                        State::ItemStart
                    };
                }
            }
        }
    }

    /// MULTI and EXEC must alternate (compared as C strings, case-insensitively).
    fn transaction(&mut self, name: &[u8]) -> Result<(), String> {
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if name.eq_ignore_ascii_case(b"multi") {
            self.multi += 1;
            if self.multi > 1 {
                return Err(self.error(&format!("Unexpected MULTI in AOF {}", self.path)));
            }
        } else if name.eq_ignore_ascii_case(b"exec") {
            self.multi -= 1;
            if self.multi != 0 {
                return Err(self.error(&format!("Unexpected EXEC in AOF {}", self.path)));
            }
        }
        Ok(())
    }
}

/// `printf("%02x", c)` of a C `char`: bytes above 0x7f are negative and print as 8 hex digits.
fn c_char_hex(b: u8) -> String {
    if b < 0x80 {
        format!("{b:02x}")
    } else {
        format!("{:08x}", i32::from(b as i8))
    }
}

/// Checks a whole in-memory command part from offset 0, line 1.
pub fn check_all(data: &[u8], path: &str) -> Outcome {
    let mut checker = Checker::new(0, 1, path);
    checker.feed(data);
    checker.end_input();
    match checker.poll() {
        Poll::Done(outcome) => outcome,
        Poll::NeedMore => unreachable!("the input has ended"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input, then redis-check-aof's ok_up_to, line, format error and error line.
    type Case<'a> = (&'a [u8], u64, u64, bool, Option<&'a str>);

    /// Outputs of redis-check-aof 7.0.15 on these inputs.
    #[test]
    fn matches_redis_check_aof() {
        let cases: &[Case] = &[
            (b"*1\r\n$1\r\nA\r\n", 11, 4, false, None),
            (
                b"*1\r\n$4\r\nPING\r\n*1\r\nX4\r\nPING\r\n",
                14,
                5,
                false,
                Some("0x              12: Expected prefix '$', got: 'X'"),
            ),
            (
                b"*1\r\n$-4\r\nPING\r\n",
                0,
                3,
                false,
                Some(
                    "0x               4: Expected to read string of -4 bytes, which is not in \
                     the suitable range",
                ),
            ),
            (
                b"*abc\r\n",
                0,
                1,
                false,
                Some("0x               0: Expected \\r\\n, got: 6162"),
            ),
            (
                b"*3\n",
                0,
                1,
                false,
                Some("0x               0: Expected \\r\\n, got: 0a00"),
            ),
            (b"*0\r\n*1\r\n$1\r\nA\r\n", 15, 5, false, None),
            (
                b"*1\r\n$5\r\nmulti\r\n*1\r\n$5\r\nMULTI\r\n",
                0,
                7,
                false,
                Some("0x              17: Unexpected MULTI in AOF x.aof"),
            ),
            (
                b"*1\r\n$4\r\nexec\r\n",
                0,
                4,
                false,
                Some("0x               8: Unexpected EXEC in AOF x.aof"),
            ),
            (
                b"*1\r\n$5\r\nmulti\r\n*1\r\n$1\r\nA\r\n",
                0,
                7,
                false,
                Some("0x              17: Reached EOF before reading EXEC for MULTI"),
            ),
            (b"#TS:1\r\n*1\r\n$1\r\nA\r\n#x", 20, 4, false, None),
            (b"*1\r\n$1\r\nA\r\n\xff", 11, 4, true, None),
            (
                b"*1\r\n$1\r\nA\xff\xfe",
                0,
                3,
                false,
                Some("0x               8: Expected \\r\\n, got: fffffffffffffffe"),
            ),
            (b"\r\n", 0, 1, true, None),
            (
                b"*1\r\n$1\r\nA\r\n*1\r\n$2\r\nB",
                11,
                6,
                false,
                Some("0x              13: Expected to read 4 bytes, got 1 bytes"),
            ),
        ];
        for &(data, ok_up_to, line, format_error, error) in cases {
            let outcome = check_all(data, "x.aof");
            assert_eq!(
                outcome,
                Outcome {
                    ok_up_to,
                    line,
                    format_error,
                    error: error.map(str::to_string),
                },
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn chunked_input_gives_the_same_outcome() {
        let data =
            b"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n#TS:9\r\n";
        let whole = check_all(data, "f");
        let mut checker = Checker::new(0, 1, "f");
        let mut outcome = None;
        for &b in data.iter() {
            checker.feed(&[b]);
            if let Poll::Done(o) = checker.poll() {
                outcome = Some(o);
            }
        }
        checker.end_input();
        if let Poll::Done(o) = checker.poll() {
            outcome = Some(o);
        }
        assert_eq!(outcome, Some(whole));
    }
}

//! The input buffer both AOF readers parse from, with C stdio's reading primitives: `fgets` (a
//! line through its `\n`, at most `size - 1` bytes, or what is left at the end) and `fread` (a
//! number of bytes, or fewer at the end). A primitive either completes or asks for more input
//! without consuming anything, so the readers resume a step exactly where it stopped.

/// What a primitive got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Got {
    /// The bytes `start..end` of the buffer (see [`Input::bytes`]), now consumed.
    Bytes { start: usize, end: usize },
    /// Not enough input yet.
    NeedMore,
}

#[derive(Debug, Default)]
pub(crate) struct Input {
    buf: Vec<u8>,
    pos: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    ended: bool,
}

impl Input {
    pub(crate) fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// An empty buffer whose first byte will be at absolute offset `base` of its file.
    pub(crate) fn starting_at(base: u64) -> Input {
        Input {
            base,
            ..Input::default()
        }
    }

    pub(crate) fn end(&mut self) {
        self.ended = true;
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Absolute offset of the next unread byte (C's `ftello`).
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes fed and not read yet.
    pub(crate) fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn bytes(&self, start: usize, end: usize) -> &[u8] {
        &self.buf[start..end]
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Drops what was read, once it is most of the buffer, so memory holds one item at most.
    pub(crate) fn compact(&mut self) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
    }

    /// `fgets(buf, size, fp)`: through the next `\n`, at most `size - 1` bytes, or whatever is
    /// left once the input has ended (an empty result means end of input).
    pub(crate) fn line(&mut self, size: usize) -> Got {
        let limit = size.saturating_sub(1).max(1);
        let rest = &self.buf[self.pos..];
        let window = &rest[..rest.len().min(limit)];
        let len = match window.iter().position(|&b| b == b'\n') {
            Some(nl) => nl + 1,
            None if window.len() == limit => limit,
            None if self.ended => window.len(),
            None => return Got::NeedMore,
        };
        self.take_now(len)
    }

    /// `fread(buf, 1, n, fp)`: exactly `n` bytes, or fewer once the input has ended.
    pub(crate) fn read(&mut self, n: u64) -> Got {
        let available = self.available() as u64;
        if available >= n {
            // `n` fits in the buffer, hence in usize.
            self.take_now(n as usize)
        } else if self.ended {
            self.take_now(available as usize)
        } else {
            Got::NeedMore
        }
    }

    fn take_now(&mut self, len: usize) -> Got {
        let start = self.pos;
        self.pos += len;
        Got::Bytes {
            start,
            end: self.pos,
        }
    }
}

/// C's `strtol(s, &end, 10)` clamped to `i64`: leading blanks, a sign, digits; returns the value
/// and how many bytes were parsed (0 when no digits, as `end` then points at `s`).
pub(crate) fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut value: i128 = 0;
    while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
        value = (value * 10 + i128::from(d - b'0')).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    if i == digits_start {
        return (0, 0);
    }
    let value = if negative { -value } else { value };
    let clamped = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    (clamped as i64, i)
}

/// C's `atoi`: `strtol` truncated to a 32-bit int.
pub(crate) fn atoi(s: &[u8]) -> i32 {
    strtol(s).0 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_fgets() {
        let mut input = Input::default();
        input.feed(b"abc\r\nde");
        assert_eq!(input.line(1024), Got::Bytes { start: 0, end: 5 });
        assert_eq!(input.line(1024), Got::NeedMore);
        assert_eq!(input.line(2), Got::Bytes { start: 5, end: 6 });
        input.end();
        assert_eq!(input.line(1024), Got::Bytes { start: 6, end: 7 });
        assert_eq!(input.line(1024), Got::Bytes { start: 7, end: 7 });
        assert_eq!(input.available(), 0);
    }

    #[test]
    fn reads_are_short_only_at_the_end() {
        let mut input = Input::default();
        input.feed(b"abcd");
        assert_eq!(input.read(6), Got::NeedMore);
        assert_eq!(input.read(2), Got::Bytes { start: 0, end: 2 });
        input.end();
        assert_eq!(input.read(6), Got::Bytes { start: 2, end: 4 });
    }

    #[test]
    fn numbers_parse_like_c() {
        assert_eq!(strtol(b"12\r\n"), (12, 2));
        assert_eq!(strtol(b" -7x"), (-7, 3));
        assert_eq!(strtol(b"abc"), (0, 0));
        assert_eq!(strtol(b"99999999999999999999"), (i64::MAX, 20));
        assert_eq!(atoi(b"4294967297"), 1);
    }
}

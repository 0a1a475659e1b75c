//! The replication backlog: one fixed-size ring holding the newest bytes of the replication
//! stream, from which a replica that lost its link continues (`+CONTINUE`) instead of syncing
//! everything again.
//!
//! Offsets are Redis's: byte `n` of the stream has offset `n` (the first byte ever produced has
//! offset 1), `master_repl_offset` is the offset of the last byte produced, and the backlog holds
//! the `histlen` bytes ending there, the first of which is at `first_byte_offset` (INFO
//! `repl_backlog_first_byte_offset`). A replica asking `PSYNC <replid> <offset>` wants the bytes
//! from `offset` on (its own offset + 1); the backlog can serve it when `first_byte_offset <=
//! offset <= master_repl_offset + 1`. Writing never allocates: the ring is allocated once per
//! size (`repl-backlog-size`, changed by CONFIG SET) and old bytes are overwritten.

/// The ring.
#[derive(Debug)]
pub struct Backlog {
    buf: Vec<u8>,
    /// Index in `buf` of the next byte to write.
    head: usize,
    /// Bytes held (at most `buf.len()`).
    histlen: usize,
    /// Offset of the last byte written (`master_repl_offset`).
    end_offset: i64,
}

impl Backlog {
    /// An empty backlog of `size` bytes whose stream so far ends at `end_offset`.
    pub fn new(size: usize, end_offset: i64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            head: 0,
            histlen: 0,
            end_offset,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// INFO `repl_backlog_first_byte_offset`: the offset of the oldest byte held (the next one
    /// to come when nothing is held).
    pub fn first_byte_offset(&self) -> i64 {
        self.end_offset - self.histlen as i64 + 1
    }

    /// Appends stream bytes, overwriting the oldest when full.
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.end_offset += bytes.len() as i64;
        let size = self.buf.len();
        if bytes.len() >= size {
            bytes = &bytes[bytes.len() - size..];
            self.buf.copy_from_slice(bytes);
            self.head = 0;
            self.histlen = size;
            return;
        }
        let first = bytes.len().min(size - self.head);
        self.buf[self.head..self.head + first].copy_from_slice(&bytes[..first]);
        self.buf[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        self.head = (self.head + bytes.len()) % size;
        self.histlen = (self.histlen + bytes.len()).min(size);
    }

    /// The bytes from `offset` to the end, if the backlog still holds them (`offset` may be one
    /// past the end: nothing is missing).
    pub fn read_from(&self, offset: i64) -> Option<Vec<u8>> {
        if offset < self.first_byte_offset() || offset > self.end_offset + 1 {
            return None;
        }
        let wanted = (self.end_offset + 1 - offset) as usize;
        let size = self.buf.len();
        let start = (self.head + size - wanted) % size;
        let mut out = Vec::with_capacity(wanted);
        let first = wanted.min(size - start);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..wanted - first]);
        Some(out)
    }

    /// A backlog of `size` bytes keeping the newest bytes this one holds (CONFIG SET
    /// repl-backlog-size).
    pub fn resized(&self, size: usize) -> Backlog {
        let mut fresh = Backlog::new(size, self.first_byte_offset() - 1);
        if let Some(bytes) = self.read_from(self.first_byte_offset()) {
            fresh.push(&bytes);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_what_it_still_holds() {
        let mut backlog = Backlog::new(8, 100);
        assert_eq!(backlog.first_byte_offset(), 101);
        assert_eq!(backlog.read_from(101), Some(Vec::new()));
        backlog.push(b"abcde");
        assert_eq!(backlog.first_byte_offset(), 101);
        assert_eq!(backlog.read_from(103), Some(b"cde".to_vec()));
        backlog.push(b"fghij");
        // 10 bytes written into 8: the first two are gone.
        assert_eq!(backlog.histlen(), 8);
        assert_eq!(backlog.first_byte_offset(), 103);
        assert_eq!(backlog.read_from(102), None);
        assert_eq!(backlog.read_from(103), Some(b"cdefghij".to_vec()));
        assert_eq!(backlog.read_from(110), Some(b"j".to_vec()));
        assert_eq!(backlog.read_from(111), Some(Vec::new()));
        assert_eq!(backlog.read_from(112), None);
    }

    #[test]
    fn a_write_longer_than_the_ring_keeps_its_tail() {
        let mut backlog = Backlog::new(4, 0);
        backlog.push(b"0123456789");
        assert_eq!(backlog.first_byte_offset(), 7);
        assert_eq!(backlog.read_from(7), Some(b"6789".to_vec()));
        backlog.push(b"ab");
        assert_eq!(backlog.read_from(9), Some(b"89ab".to_vec()));
    }

    #[test]
    fn resizing_keeps_the_newest_bytes() {
        let mut backlog = Backlog::new(8, 0);
        backlog.push(b"abcdefgh");
        let smaller = backlog.resized(3);
        assert_eq!(smaller.first_byte_offset(), 6);
        assert_eq!(smaller.read_from(6), Some(b"fgh".to_vec()));
        let bigger = smaller.resized(16);
        assert_eq!(bigger.read_from(6), Some(b"fgh".to_vec()));
        assert_eq!(bigger.size(), 16);
    }
}

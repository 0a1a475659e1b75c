//! SCAN cursors.
//!
//! Redis cursors are numbers that encode a position in its hash table. rockslot's natural
//! position is the next key in storage order, which does not fit in a number, so each cursor
//! handed out is a fresh number mapped to that position. The map is bounded: the oldest cursors
//! are forgotten first, and a forgotten or invented cursor restarts the iteration from the
//! beginning, which keeps SCAN's guarantee (every key present for the whole iteration is
//! returned at least once) at the price of repeats.

use std::collections::{HashMap, VecDeque};

/// Cursors remembered at once.
const CURSORS_KEPT: usize = 64 * 1024;

#[derive(Default)]
pub struct CursorMap {
    next: u64,
    positions: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

impl CursorMap {
    /// Remembers `position` and returns the cursor number for it (never 0).
    pub fn issue(&mut self, position: Vec<u8>) -> u64 {
        self.next = self.next.wrapping_add(1).max(1);
        let cursor = self.next;
        if self.order.len() >= CURSORS_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.positions.remove(&oldest);
            }
        }
        self.positions.insert(cursor, position);
        self.order.push_back(cursor);
        cursor
    }

    /// The position of `cursor`; empty (the beginning) for 0 or an unknown cursor.
    pub fn position(&self, cursor: u64) -> Vec<u8> {
        self.positions.get(&cursor).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_forgets_oldest() {
        let mut map = CursorMap::default();
        let first = map.issue(b"a".to_vec());
        assert_ne!(first, 0);
        assert_eq!(map.position(first), b"a");
        assert!(map.position(12345).is_empty());
        for i in 0..CURSORS_KEPT {
            map.issue(i.to_be_bytes().to_vec());
        }
        assert!(map.position(first).is_empty());
    }
}

//! Collection elements: the sub-key records of lists, hashes, sets, sorted sets and streams.
//!
//! A collection instance is identified by (database, key, version); its elements live under
//! `layout::sub_prefix(slot, db, key, version)` followed by a field chosen by the collection type
//! (a hash field, a set member, a list sequence number, a score-ordered index entry, ...). Types
//! that need several element spaces (a sorted set's member→score map and its score index)
//! start their fields with a tag byte of their own.
//!
//! Element writes go into the transaction's ordered overlay, so reads and range scans in the same
//! transaction see them, and reach RocksDB in the same batch as the metadata record that owns
//! them. Range scans merge the overlay with a RocksDB iterator bounded to the instance's prefix;
//! they return at most `limit` elements, so callers page through big collections instead of
//! loading them.

use std::collections::BTreeMap;
use std::ops::Bound;

use formats::slot::key_slot;
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::layout;
use crate::write_behind::PendingElement;
use crate::{Result, Txn};

/// One collection instance.
#[derive(Debug, Clone, Copy)]
pub struct Instance<'a> {
    pub db: usize,
    pub key: &'a [u8],
    pub version: u64,
}

/// Which way a range scan walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// Pending element writes of a transaction: raw sub key → value (`None` = delete).
pub(crate) type ElementOverlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl<'e> Txn<'e> {
    fn element_prefix(&self, instance: Instance<'_>) -> Result<(u16, Vec<u8>)> {
        let slot = key_slot(instance.key);
        let physical = self.physical(instance.db)?;
        Ok((
            slot,
            layout::sub_prefix(slot, physical, instance.key, instance.version),
        ))
    }

    /// One element's value.
    pub fn element_get(&self, instance: Instance<'_>, field: &[u8]) -> Result<Option<Vec<u8>>> {
        let (slot, mut raw) = self.element_prefix(instance)?;
        raw.extend_from_slice(field);
        if let Some(pending) = self.elements.get(&raw) {
            return Ok(pending.clone());
        }
        if self.flushed.contains(&raw[3]) {
            return Ok(None);
        }
        let cf = self.engine.slot_cf(slot);
        match self.snapshot {
            Some(snapshot) => Ok(self
                .engine
                .db
                .get_cf_opt(cf, &raw, &snapshot.read_options())?),
            None => {
                let family = self.engine.slot_family_id(slot);
                match self.engine.write_behind.pending_element(family, &raw) {
                    PendingElement::Written(value) => return Ok(value),
                    PendingElement::Unknown => self.engine.settle()?,
                    PendingElement::Untouched => {}
                }
                Ok(self.engine.db.get_cf(cf, &raw)?)
            }
        }
    }

    /// Creates or replaces an element.
    pub fn element_put(
        &mut self,
        instance: Instance<'_>,
        field: &[u8],
        value: Vec<u8>,
    ) -> Result<()> {
        let (_, mut raw) = self.element_prefix(instance)?;
        raw.extend_from_slice(field);
        self.elements.insert(raw, Some(value));
        Ok(())
    }

    /// Removes an element (whether or not it exists).
    pub fn element_delete(&mut self, instance: Instance<'_>, field: &[u8]) -> Result<()> {
        let (_, mut raw) = self.element_prefix(instance)?;
        raw.extend_from_slice(field);
        self.elements.insert(raw, None);
        Ok(())
    }

    /// Up to `limit` elements whose fields lie within (`start`, `end`), in `order`, as
    /// (field, value) pairs.
    pub fn element_range(
        &self,
        instance: Instance<'_>,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (slot, prefix) = self.element_prefix(instance)?;
        let with_prefix = |field: &[u8]| {
            let mut raw = prefix.clone();
            raw.extend_from_slice(field);
            raw
        };
        // Raw bounds: the instance prefix narrows an unbounded side.
        let lower: Bound<Vec<u8>> = match start {
            Bound::Included(f) => Bound::Included(with_prefix(f)),
            Bound::Excluded(f) => Bound::Excluded(with_prefix(f)),
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let upper: Bound<Vec<u8>> = match end {
            Bound::Included(f) => Bound::Included(with_prefix(f)),
            Bound::Excluded(f) => Bound::Excluded(with_prefix(f)),
            Bound::Unbounded => match prefix_successor(&prefix) {
                Some(next) => Bound::Excluded(next),
                None => Bound::Unbounded,
            },
        };
        let beyond_lower = |raw: &[u8]| match &lower {
            Bound::Included(l) => raw < l.as_slice(),
            Bound::Excluded(l) => raw <= l.as_slice(),
            Bound::Unbounded => false,
        };
        let beyond_upper = |raw: &[u8]| match &upper {
            Bound::Included(u) => raw > u.as_slice(),
            Bound::Excluded(u) => raw >= u.as_slice(),
            Bound::Unbounded => false,
        };

        let pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = match order {
            Order::Ascending => self
                .elements
                .range((lower.clone(), upper.clone()))
                .collect(),
            Order::Descending => self
                .elements
                .range((lower.clone(), upper.clone()))
                .rev()
                .collect(),
        };
        let mut pending = pending.into_iter().peekable();

        let mut opts = match self.snapshot {
            Some(snapshot) => snapshot.element_read_options(),
            None => {
                self.engine.settle()?;
                ReadOptions::default()
            }
        };
        if let Bound::Included(l) | Bound::Excluded(l) = &lower {
            opts.set_iterate_lower_bound(l.clone());
        }
        if let Some(next) = prefix_successor(&prefix) {
            opts.set_iterate_upper_bound(next);
        }
        let flushed = self.flushed.contains(&prefix[3]);
        let cf = self.engine.slot_cf(slot);
        let seek_to = match (order, &lower, &upper) {
            (Order::Ascending, Bound::Included(l) | Bound::Excluded(l), _) => l.clone(),
            (Order::Descending, _, Bound::Included(u) | Bound::Excluded(u)) => u.clone(),
            _ => prefix.clone(),
        };
        let mode = match order {
            Order::Ascending => IteratorMode::From(&seek_to, Direction::Forward),
            Order::Descending if matches!(upper, Bound::Unbounded) => IteratorMode::End,
            Order::Descending => IteratorMode::From(&seek_to, Direction::Reverse),
        };
        let mut stored = self.engine.db.iterator_cf_opt(cf, opts, mode).peekable();

        let mut out = Vec::new();
        let before = |a: &[u8], b: &[u8]| match order {
            Order::Ascending => a < b,
            Order::Descending => a > b,
        };
        while out.len() < limit {
            let next_stored = if flushed {
                None
            } else {
                loop {
                    match stored.peek() {
                        Some(Ok((k, _))) if beyond_lower(k) || beyond_upper(k) => {
                            // Bounds RocksDB cannot express (an excluded start, or the far end
                            // when walking backwards): skip until inside, stop once past it.
                            let past = match order {
                                Order::Ascending => beyond_upper(k),
                                Order::Descending => beyond_lower(k),
                            };
                            if past {
                                break None;
                            }
                            stored.next();
                        }
                        Some(Ok((k, v))) => break Some((k.to_vec(), v.to_vec())),
                        Some(Err(_)) => {
                            if let Some(Err(e)) = stored.next() {
                                return Err(e.into());
                            }
                        }
                        None => break None,
                    }
                }
            };
            let next_pending = pending.peek().map(|(k, v)| ((*k).clone(), (*v).clone()));
            let (raw, value) = match (next_stored, next_pending) {
                (None, None) => break,
                (Some(s), None) => {
                    stored.next();
                    (s.0, Some(s.1))
                }
                (None, Some(p)) => {
                    pending.next();
                    p
                }
                (Some(s), Some(p)) => {
                    if s.0 == p.0 {
                        stored.next();
                        pending.next();
                        p
                    } else if before(&s.0, &p.0) {
                        stored.next();
                        (s.0, Some(s.1))
                    } else {
                        pending.next();
                        p
                    }
                }
            };
            if let Some(value) = value {
                out.push((raw[prefix.len()..].to_vec(), value));
            }
        }
        Ok(out)
    }
}

/// The smallest byte string greater than every string starting with `prefix`.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::open;

    fn fields(items: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
        items
            .iter()
            .map(|(f, _)| String::from_utf8(f.clone()).unwrap())
            .collect()
    }

    #[test]
    fn overlay_merges_with_stored_elements() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let h = Instance {
            db: 0,
            key: b"h",
            version: 7,
        };
        let other = Instance {
            db: 0,
            key: b"h",
            version: 8,
        };
        let mut txn = Txn::new(&engine);
        for f in ["a", "c", "e", "g"] {
            txn.element_put(h, f.as_bytes(), f.as_bytes().to_vec())
                .unwrap();
        }
        txn.element_put(other, b"zzz", vec![]).unwrap();
        txn.commit(false).unwrap();

        let mut txn = Txn::new(&engine);
        txn.element_put(h, b"b", b"B".to_vec()).unwrap();
        txn.element_delete(h, b"e").unwrap();
        txn.element_put(h, b"c", b"C".to_vec()).unwrap();
        assert_eq!(txn.element_get(h, b"c").unwrap(), Some(b"C".to_vec()));
        assert_eq!(txn.element_get(h, b"e").unwrap(), None);
        assert_eq!(txn.element_get(h, b"g").unwrap(), Some(b"g".to_vec()));

        let all = txn
            .element_range(h, Bound::Unbounded, Bound::Unbounded, Order::Ascending, 100)
            .unwrap();
        assert_eq!(fields(&all), ["a", "b", "c", "g"]);
        assert_eq!(all[2].1, b"C");
        let rev = txn
            .element_range(
                h,
                Bound::Unbounded,
                Bound::Unbounded,
                Order::Descending,
                100,
            )
            .unwrap();
        assert_eq!(fields(&rev), ["g", "c", "b", "a"]);
        let page = txn
            .element_range(
                h,
                Bound::Excluded(&b"a"[..]),
                Bound::Included(&b"g"[..]),
                Order::Ascending,
                2,
            )
            .unwrap();
        assert_eq!(fields(&page), ["b", "c"]);
        let back = txn
            .element_range(
                h,
                Bound::Included(&b"b"[..]),
                Bound::Excluded(&b"g"[..]),
                Order::Descending,
                10,
            )
            .unwrap();
        assert_eq!(fields(&back), ["c", "b"]);
        txn.commit(false).unwrap();

        let txn = Txn::new(&engine);
        let all = txn
            .element_range(h, Bound::Unbounded, Bound::Unbounded, Order::Ascending, 100)
            .unwrap();
        assert_eq!(fields(&all), ["a", "b", "c", "g"]);
        let others = txn
            .element_range(
                other,
                Bound::Unbounded,
                Bound::Unbounded,
                Order::Descending,
                100,
            )
            .unwrap();
        assert_eq!(fields(&others), ["zzz"]);
    }

    #[test]
    fn flushed_db_hides_elements() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let s = Instance {
            db: 2,
            key: b"s",
            version: 1,
        };
        let mut txn = Txn::new(&engine);
        txn.element_put(s, b"x", vec![]).unwrap();
        txn.commit(false).unwrap();
        let mut txn = Txn::new(&engine);
        txn.flush_db(2).unwrap();
        assert_eq!(txn.element_get(s, b"x").unwrap(), None);
        assert!(txn
            .element_range(s, Bound::Unbounded, Bound::Unbounded, Order::Ascending, 10)
            .unwrap()
            .is_empty());
        txn.element_put(s, b"y", vec![1]).unwrap();
        txn.commit(false).unwrap();
        let txn = Txn::new(&engine);
        let all = txn
            .element_range(s, Bound::Unbounded, Bound::Unbounded, Order::Ascending, 10)
            .unwrap();
        assert_eq!(fields(&all), ["y"]);
    }

    #[test]
    fn successor_of_prefixes() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
    }
}

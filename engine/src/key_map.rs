//! Maps keyed by (physical database, key), looked up without copying the key.
//!
//! The transaction's touched keys and the metadata cache are probed on every command. With
//! `std`'s map a probe needs an owned `(u8, Vec<u8>)`, an allocation and a copy of the key just
//! to ask; [`KeyRef`] asks with the borrowed key instead. The hasher stays `std`'s keyed
//! SipHash: the keys come from clients, so the map must not be open to crafted collisions.

use std::hash::{Hash, RandomState};

/// (physical database, key), owned: what the maps store.
pub(crate) type KeyId = (u8, Vec<u8>);

/// A map from [`KeyId`], probed with [`KeyRef`].
pub(crate) type KeyMap<V> = hashbrown::HashMap<KeyId, V, RandomState>;

/// (physical database, key), borrowed. It hashes exactly as the owned [`KeyId`] does (a tuple
/// hashes its fields in order, and a `Vec<u8>` as its slice).
#[derive(Hash)]
pub(crate) struct KeyRef<'a>(pub u8, pub &'a [u8]);

impl hashbrown::Equivalent<KeyId> for KeyRef<'_> {
    fn equivalent(&self, id: &KeyId) -> bool {
        self.0 == id.0 && self.1 == id.1.as_slice()
    }
}

impl KeyRef<'_> {
    pub(crate) fn owned(&self) -> KeyId {
        (self.0, self.1.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn borrowed_and_owned_ids_hash_alike() {
        let state = RandomState::new();
        for (db, key) in [(0u8, &b""[..]), (3, b"k"), (255, b"a longer key \x00\xff")] {
            let owned: KeyId = (db, key.to_vec());
            assert_eq!(state.hash_one(&owned), state.hash_one(KeyRef(db, key)));
        }
        let mut map: KeyMap<u32> = KeyMap::default();
        map.insert((1, b"k".to_vec()), 7);
        assert_eq!(map.get(&KeyRef(1, b"k")), Some(&7));
        assert_eq!(map.get(&KeyRef(0, b"k")), None);
        assert_eq!(map.get(&KeyRef(1, b"kk")), None);
    }
}

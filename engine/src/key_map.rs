//! Maps keyed by (physical database, key), looked up without copying the key.
//!
//! The transaction's touched keys and the metadata cache are probed on every command. With
//! `std`'s map a probe needs an owned `(u8, Vec<u8>)`, an allocation and a copy of the key just
//! to ask; [`KeyRef`] asks with the borrowed key instead. The hasher stays `std`'s keyed
//! SipHash: the keys come from clients, so the map must not be open to crafted collisions.
//! Hashing a `(u8, key)` pair feeds SipHash three pieces (the byte, the key's length, the key),
//! and each piece pays SipHash's buffering of a partial word; [`KeyHasher`] gathers short keys'
//! pieces and hashes them in one go, which takes about half the instructions.

use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};

/// (physical database, key), owned: what the maps store.
pub(crate) type KeyId = (u8, Vec<u8>);

/// A map from [`KeyId`], probed with [`KeyRef`].
pub(crate) type KeyMap<V> = hashbrown::HashMap<KeyId, V, KeyHashing>;

/// Bytes gathered before SipHash sees them: a database byte, a length and a key of up to 55
/// bytes go in one piece.
const GATHER: usize = 64;

/// `std`'s keyed SipHash (a random key per map, as [`RandomState`]), fed through [`KeyHasher`].
#[derive(Clone, Default)]
pub(crate) struct KeyHashing(RandomState);

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            sip: self.0.build_hasher(),
            gathered: [0; GATHER],
            len: 0,
        }
    }
}

/// SipHash over the bytes written, in order, handed over in as few pieces as fit [`GATHER`].
pub(crate) struct KeyHasher {
    sip: DefaultHasher,
    gathered: [u8; GATHER],
    len: usize,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > GATHER {
            self.sip.write(&self.gathered[..self.len]);
            self.len = 0;
            if bytes.len() > GATHER {
                self.sip.write(bytes);
                return;
            }
        }
        self.gathered[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn finish(&self) -> u64 {
        let mut sip = self.sip.clone();
        sip.write(&self.gathered[..self.len]);
        sip.finish()
    }
}

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
        let state = KeyHashing::default();
        let long = vec![b'x'; 3 * GATHER];
        for (db, key) in [
            (0u8, &b""[..]),
            (3, b"k"),
            (255, b"a longer key \x00\xff"),
            (1, &long[..GATHER - 9]),
            (1, &long[..GATHER - 8]),
            (2, &long),
        ] {
            let owned: KeyId = (db, key.to_vec());
            assert_eq!(state.hash_one(&owned), state.hash_one(KeyRef(db, key)));
        }
        // Gathering keeps every byte and its order.
        assert_ne!(
            state.hash_one(KeyRef(0, b"ab")),
            state.hash_one(KeyRef(0, b"ba"))
        );
        assert_ne!(
            state.hash_one(KeyRef(0, b"k")),
            state.hash_one(KeyRef(1, b"k"))
        );
        let mut other = long.clone();
        other[2 * GATHER] = b'y';
        assert_ne!(
            state.hash_one(KeyRef(2, &long)),
            state.hash_one(KeyRef(2, &other))
        );
        let mut map: KeyMap<u32> = KeyMap::default();
        map.insert((1, b"k".to_vec()), 7);
        assert_eq!(map.get(&KeyRef(1, b"k")), Some(&7));
        assert_eq!(map.get(&KeyRef(0, b"k")), None);
        assert_eq!(map.get(&KeyRef(1, b"kk")), None);
    }
}

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

/// Named random streams, all derived from one scenario seed.
///
/// Each model draws from its own stream (`"arrivals"`, `"durations"`, ...), so adding
/// draws to one model never shifts another's numbers. ChaCha12 is specified by its
/// algorithm, so the same seed gives the same numbers on every platform and version.
#[derive(Debug, Clone, Copy)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for a scenario seed.
    pub fn new(seed: u64) -> Self {
        RngStreams { seed }
    }

    /// The scenario seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The generator for stream `name`; replication `rep` of a sweep gets its own.
    pub fn stream(&self, name: &str, rep: u64) -> ChaCha12Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&rep.to_le_bytes());
        key[16..24].copy_from_slice(&fnv1a(name.as_bytes()).to_le_bytes());
        ChaCha12Rng::from_seed(key)
    }
}

/// FNV-1a, 64-bit: a fixed, documented hash so stream names map to the same key forever.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Xorshift64 (Marsaglia, 2003) for unit tests' pseudo-random cases: tiny, fixed, and
/// independent of any crate's version. Never zero-seeded.
#[cfg(test)]
pub(crate) struct XorShift(pub u64);

#[cfg(test)]
impl XorShift {
    /// The next value.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// The next value modulo `m`.
    pub(crate) fn below(&mut self, m: u64) -> u64 {
        self.next_u64() % m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_stable_and_independent() {
        let s = RngStreams::new(42);
        let a1 = s.stream("arrivals", 0).next_u64();
        let a2 = s.stream("arrivals", 0).next_u64();
        let b = s.stream("durations", 0).next_u64();
        let r1 = s.stream("arrivals", 1).next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, r1);
        // FNV-1a test vector from the reference (Fowler/Noll/Vo): "a" -> 0xaf63dc4c8601ec8c.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

//! Seeded pseudo-random numbers behind the emulators' generated data.

/// Seeded pseudo-random numbers (SplitMix64): the same data on every start.
pub(crate) struct Seeded(u64);

impl Seeded {
    /// A generator from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Seeded(seed)
    }
    /// Next value.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A value in 0..n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// One of `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

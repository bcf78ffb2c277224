//! Random numbers and stable identifiers: a hand-rolled SplitMix64 stream per label path,
//! FNV-1a hashing and GUIDs (random, or depending only on a name).

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
pub(crate) const STREAM_NAMES: u64 = 1;
pub(crate) const STREAM_PARTNER: u64 = 2;
pub(crate) const STREAM_CUSTOMER: u64 = 3;
pub(crate) const STREAM_USAGE: u64 = 4;
pub(crate) const STREAM_SNAPSHOT: u64 = 5;

/// The SplitMix64 finaliser.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, for stable identifiers that do not depend on the seed (meter IDs).
pub(crate) fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// A SplitMix64 stream: tiny, portable and good enough for test data.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// An independent stream for `seed` and a path of labels.
    pub(crate) fn derive(seed: u64, labels: &[u64]) -> Rng {
        let mut state = mix64(seed ^ GOLDEN);
        for &label in labels {
            state = mix64(state.wrapping_add(GOLDEN) ^ mix64(label.wrapping_add(GOLDEN)));
        }
        Rng { state }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn pick_copy<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick(items)
    }

    /// A random (version 4) GUID, lower case.
    pub(crate) fn guid(&mut self) -> String {
        let (hi, lo) = (self.next_u64(), self.next_u64());
        guid_from(hi, lo)
    }

    /// A seven-digit MPN id.
    pub(crate) fn mpn(&mut self) -> u64 {
        self.between(1_000_000, 9_999_999) as u64
    }
}

pub(crate) fn guid_from(hi: u64, lo: u64) -> String {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A GUID that depends only on `name` (meter IDs are global in Azure).
pub(crate) fn stable_guid(name: &str) -> String {
    let h = hash_str(name);
    guid_from(mix64(h), mix64(h ^ GOLDEN))
}

//! numpy's legacy `RandomState`: the MT19937 stream and the sampling
//! routines MinAtar calls (`rand`, `randint`), bit for bit, so that a game
//! replays from its seed exactly as MinAtar does.

use serde::{Deserialize, Serialize};

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `numpy.random.RandomState(seed)`: a Mersenne Twister (MT19937) seeded
/// with numpy's legacy integer seeding (Matsumoto and Nishimura's
/// `init_genrand`), drawing doubles and bounded integers with numpy's
/// legacy algorithms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomState {
    /// The 624 words of state.
    key: Vec<u32>,
    /// The next word to temper; 624 means "regenerate first".
    pos: usize,
}

impl RandomState {
    /// `RandomState(seed)` for an integer seed (numpy accepts 0..=2^32-1).
    pub fn new(seed: u32) -> Self {
        let mut key = vec![0u32; N];
        key[0] = seed;
        for i in 1..N {
            let prev = key[i - 1];
            key[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Self { key, pos: N }
    }

    fn regenerate(&mut self) {
        let key: &mut [u32; N] = self.key.as_mut_slice().try_into().expect("624 words of state");
        let twist = |upper: u32, lower: u32| {
            let y = (upper & UPPER_MASK) | (lower & LOWER_MASK);
            (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A)
        };
        for i in 0..N - M {
            key[i] = key[i + M] ^ twist(key[i], key[i + 1]);
        }
        for i in N - M..N - 1 {
            key[i] = key[i + M - N] ^ twist(key[i], key[i + 1]);
        }
        key[N - 1] = key[M - 1] ^ twist(key[N - 1], key[0]);
        self.pos = 0;
    }

    /// Whether this is a whole state (624 words, a position at most 624): a
    /// deserialised copy is checked with this before use.
    pub fn is_valid(&self) -> bool {
        self.key.len() == N && self.pos <= N
    }

    /// The next tempered 32-bit word (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        let mut y = match self.key.get(self.pos) {
            Some(&word) => word,
            None => {
                self.regenerate();
                self.key[0]
            }
        };
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `rand()` / `random_sample()`: a double in [0, 1) from two words (53 bits).
    pub fn rand(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (a as f64 * 67_108_864.0 + b as f64) / 9_007_199_254_740_992.0
    }

    /// `randint(low, high)` with the default int64 dtype: an integer in
    /// `[low, high)` by numpy's legacy masked rejection (32-bit words while
    /// the range fits in 32 bits). `low < high` is the caller's promise.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low < high, "randint: low >= high");
        let range = (high - low - 1) as u64;
        if range == 0 {
            return low;
        }
        let mut mask = range;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        let value = if range <= u32::MAX as u64 {
            if range == u32::MAX as u64 {
                self.next_u32() as u64
            } else {
                loop {
                    let v = (self.next_u32() as u64) & mask;
                    if v <= range {
                        break v;
                    }
                }
            }
        } else {
            loop {
                let v = self.next_u64() & mask;
                if v <= range {
                    break v;
                }
            }
        };
        low.wrapping_add(value as i64)
    }

    /// A 64-bit word as numpy's MT19937 makes one: the first word high.
    fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by numpy 2.4.6 (`np.random.RandomState(seed)`).
    #[test]
    fn matches_numpy_legacy_random_state() {
        let mut r = RandomState::new(0);
        assert_eq!([r.rand(), r.rand(), r.rand()], [0.5488135039273248, 0.7151893663724195, 0.6027633760716439]);
        let mut r = RandomState::new(7);
        let ints: Vec<i64> = (0..10).map(|_| r.randint(0, 6)).collect();
        assert_eq!(ints, [4, 1, 3, 3, 4, 1, 0, 1, 2, 2]);
        let ints: Vec<i64> = (0..8).map(|_| r.randint(1, 6)).collect();
        assert_eq!(ints, [1, 5, 1, 5, 1, 4, 3, 4]);
        let ints: Vec<i64> = (0..5).map(|_| r.randint(1, 9)).collect();
        assert_eq!(ints, [5, 5, 8, 6, 1]);
        assert_eq!(r.randint(0, 2), 0);
        assert_eq!([r.rand(), r.rand()], [0.26258377004339706, 0.7507627278607257]);
        let mut r = RandomState::new(u32::MAX);
        assert_eq!(r.rand(), 0.0976320289940138);
        assert_eq!(r.randint(0, 1_000_000), 125964);
        assert_eq!(r.randint(0, 3), 0);
    }

    #[test]
    fn a_range_of_one_draws_nothing() {
        let mut a = RandomState::new(3);
        let b = a.clone();
        assert_eq!(a.randint(5, 6), 5);
        assert_eq!(a, b);
    }
}

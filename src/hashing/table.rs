//! An open-addressing hash table from a code (or a substring of one, ≤ 64 bits) to the sorted
//! ids that have it: the "memory address" of semantic hashing. Keys live alone in one array so
//! that a probe that misses (the common case) touches a single cache line.

/// Fibonacci hashing: multiply, keep the top bits. Mixes structured codes (ITQ codes of real
/// data cluster in few patterns) as well as random ones.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Code → ids.
#[derive(Clone, Debug)]
pub(crate) struct CodeTable {
    shift: u32,
    mask: usize,
    /// Slot keys; `empty` marks a free slot.
    keys: Vec<u64>,
    /// Bucket number of each occupied slot.
    buckets: Vec<u32>,
    empty: u64,
    /// Bucket `b` owns `ids[offsets[b]..offsets[b + 1]]`.
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl CodeTable {
    /// Indexes `keys[i]` as the key of id `i`.
    pub(crate) fn build(keys: &[u64]) -> CodeTable {
        assert!(keys.len() < u32::MAX as usize, "at most 2^32 − 1 codes");
        let mut pairs: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
        pairs.sort_unstable();
        let mut distinct: Vec<u64> = Vec::new();
        let mut offsets = Vec::new();
        for (i, &(k, _)) in pairs.iter().enumerate() {
            if distinct.last() != Some(&k) {
                distinct.push(k);
                offsets.push(i as u32);
            }
        }
        offsets.push(pairs.len() as u32);
        // a key no code has marks empty slots
        let mut empty = u64::MAX;
        while distinct.binary_search(&empty).is_ok() {
            empty -= 1;
        }
        let slots = (2 * distinct.len()).next_power_of_two().max(16);
        let mut table = CodeTable {
            shift: 64 - slots.trailing_zeros(),
            mask: slots - 1,
            keys: vec![empty; slots],
            buckets: vec![0; slots],
            empty,
            offsets,
            ids: pairs.into_iter().map(|(_, id)| id).collect(),
        };
        for (b, &k) in distinct.iter().enumerate() {
            let mut s = table.slot(k);
            while table.keys[s] != empty {
                s = (s + 1) & table.mask;
            }
            table.keys[s] = k;
            table.buckets[s] = b as u32;
        }
        table
    }

    #[inline(always)]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(GOLDEN) >> self.shift) as usize
    }

    /// Starts loading `key`'s slot into cache, so that many independent probes overlap.
    #[inline(always)]
    pub(crate) fn prefetch(&self, key: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.keys.as_ptr().wrapping_add(self.slot(key));
            // SAFETY: prefetching has no architectural effect, even for a bad address.
            #[allow(unused_unsafe)]
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    p as *const i8,
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// The ids whose key is `key`, ascending.
    #[inline]
    pub(crate) fn get(&self, key: u64) -> &[u32] {
        if key == self.empty {
            return &[];
        }
        let mut s = self.slot(key);
        loop {
            let k = self.keys[s];
            if k == key {
                let b = self.buckets[s] as usize;
                return &self.ids[self.offsets[b] as usize..self.offsets[b + 1] as usize];
            }
            if k == self.empty {
                return &[];
            }
            s = (s + 1) & self.mask;
        }
    }

    /// Number of distinct keys.
    pub(crate) fn distinct(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// How far ahead of the probe in hand the next slots are prefetched.
pub(crate) const PREFETCH_AHEAD: usize = 16;

/// Calls `hit(distance, ids)` for every key within the flip `masks` of `key` (grouped by
/// distance: `masks[d]` holds the masks of popcount `d`), prefetching ahead.
#[inline]
pub(crate) fn probe_ball(
    table: &CodeTable,
    key: u64,
    masks: &[Vec<u64>],
    mut hit: impl FnMut(u32, &[u32]),
) {
    for (d, level) in masks.iter().enumerate() {
        for &m in level.iter().take(PREFETCH_AHEAD) {
            table.prefetch(key ^ m);
        }
        for (i, &m) in level.iter().enumerate() {
            if let Some(&ahead) = level.get(i + PREFETCH_AHEAD) {
                table.prefetch(key ^ ahead);
            }
            let ids = table.get(key ^ m);
            if !ids.is_empty() {
                hit(d as u32, ids);
            }
        }
    }
}

/// `C(n, k)` saturating at `u64::MAX`.
fn binomial(n: u64, k: u64) -> u64 {
    let mut c: u64 = 1;
    for i in 0..k {
        c = match c.checked_mul(n - i) {
            Some(v) => v / (i + 1),
            None => return u64::MAX,
        };
    }
    c
}

/// Number of keys within distance `radius` of a `len`-bit key.
pub(crate) fn ball_size(len: usize, radius: u32) -> u64 {
    (0..=(radius as u64).min(len as u64))
        .map(|d| binomial(len as u64, d))
        .fold(0u64, u64::saturating_add)
}

/// All `len`-bit masks of popcount `0..=radius`, grouped by popcount, in lexicographic order of
/// set positions. The caller bounds the count with [`ball_size`].
pub(crate) fn flip_masks(len: usize, radius: u32) -> Vec<Vec<u64>> {
    let r = (radius as usize).min(len);
    let mut levels = vec![vec![0u64]];
    for d in 1..=r {
        // extend each mask of popcount d − 1 by a bit above its highest set bit
        let mut next = Vec::new();
        for &m in &levels[d - 1] {
            let lowest_free = if m == 0 {
                0
            } else {
                64 - m.leading_zeros() as usize
            };
            for b in lowest_free..len {
                next.push(m | 1u64 << b);
            }
        }
        levels.push(next);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_enumerate_each_ball_once() {
        for (len, r) in [(8usize, 3u32), (32, 2), (64, 2), (5, 9)] {
            let levels = flip_masks(len, r);
            let all: Vec<u64> = levels.iter().flatten().copied().collect();
            let mut uniq = all.clone();
            uniq.sort_unstable();
            uniq.dedup();
            assert_eq!(uniq.len(), all.len());
            assert_eq!(all.len() as u64, ball_size(len, r));
            for (d, level) in levels.iter().enumerate() {
                assert!(level.iter().all(|m| m.count_ones() as usize == d));
                assert!(level.iter().all(|m| len == 64 || m >> len == 0));
            }
        }
        assert_eq!(ball_size(32, 2), 1 + 32 + 496);
    }

    #[test]
    fn table_finds_every_key_and_only_those() {
        let keys = [5u64, 9, 5, u64::MAX, 0, 9, 5];
        let t = CodeTable::build(&keys);
        assert_eq!(t.distinct(), 4);
        assert_eq!(t.get(5), &[0, 2, 6]);
        assert_eq!(t.get(9), &[1, 5]);
        assert_eq!(t.get(u64::MAX), &[3]);
        assert_eq!(t.get(0), &[4]);
        assert!(t.get(7).is_empty() && t.get(u64::MAX - 1).is_empty());
    }
}

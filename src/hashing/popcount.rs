//! The scan kernel: Hamming distances from one query to a run of codes in the blocked layout
//! (8 codes side by side per word, so each word step is one vector XOR + popcount), keeping
//! only those under a bound. Compiled three times and chosen at run time: AVX-512 with
//! VPOPCNTDQ (8 popcounts per instruction), AVX2 (LLVM's nibble-table popcount), baseline.

/// Codes per block in the blocked layout.
pub(crate) const LANES: usize = 8;

/// Appends to `pos`/`dist` the position (within `blocks`) and distance of every code whose
/// distance to `q` is below `bound`; returns how many were written. `blocks` holds whole
/// blocks of `q.len()` words × [`LANES`] codes; `pos` and `dist` have room for all codes.
pub(crate) fn scan(
    blocks: &[u64],
    q: &[u64],
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512_popcount() {
            // SAFETY: the CPU has AVX-512F and VPOPCNTDQ (checked just above).
            return unsafe { scan_avx512(blocks, q, bound, pos, dist) };
        }
        if crate::linalg::fastmath::has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { scan_avx2(blocks, q, bound, pos, dist) };
        }
    }
    scan_any(blocks, q, bound, pos, dist)
}

/// Whether this CPU runs the AVX-512 VPOPCNTDQ kernel (checked once).
pub(crate) fn has_avx512_popcount() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vpopcntdq")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn scan_avx512(
    blocks: &[u64],
    q: &[u64],
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    scan_any(blocks, q, bound, pos, dist)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_avx2(
    blocks: &[u64],
    q: &[u64],
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    scan_any(blocks, q, bound, pos, dist)
}

/// Fixed word counts get fully unrolled copies; other widths use the loop form.
#[inline(always)]
fn scan_any(blocks: &[u64], q: &[u64], bound: u32, pos: &mut [u32], dist: &mut [u32]) -> usize {
    match q.len() {
        1 => scan_fixed::<1>(blocks, q, bound, pos, dist),
        2 => scan_fixed::<2>(blocks, q, bound, pos, dist),
        3 => scan_fixed::<3>(blocks, q, bound, pos, dist),
        4 => scan_fixed::<4>(blocks, q, bound, pos, dist),
        8 => scan_fixed::<8>(blocks, q, bound, pos, dist),
        16 => scan_fixed::<16>(blocks, q, bound, pos, dist),
        _ => scan_dyn(blocks, q, bound, pos, dist),
    }
}

#[inline(always)]
fn emit(
    acc: &[u64; LANES],
    base: usize,
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
    mut n: usize,
) -> usize {
    // one vector compare decides the whole block; survivors are rare after the first chunk
    let any = acc.iter().fold(false, |a, &d| a | (d < bound as u64));
    if any {
        for (l, &d) in acc.iter().enumerate() {
            if d < bound as u64 {
                pos[n] = (base + l) as u32;
                dist[n] = d as u32;
                n += 1;
            }
        }
    }
    n
}

#[inline(always)]
fn scan_fixed<const W: usize>(
    blocks: &[u64],
    q: &[u64],
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    let q: &[u64; W] = q.try_into().unwrap();
    let mut n = 0;
    for (b, blk) in blocks.chunks_exact(W * LANES).enumerate() {
        let mut acc = [0u64; LANES];
        for w in 0..W {
            let row: &[u64; LANES] = blk[w * LANES..(w + 1) * LANES].try_into().unwrap();
            for l in 0..LANES {
                acc[l] += (row[l] ^ q[w]).count_ones() as u64;
            }
        }
        n = emit(&acc, b * LANES, bound, pos, dist, n);
    }
    n
}

#[inline(always)]
fn scan_dyn(blocks: &[u64], q: &[u64], bound: u32, pos: &mut [u32], dist: &mut [u32]) -> usize {
    let words = q.len();
    let mut n = 0;
    for (b, blk) in blocks.chunks_exact(words * LANES).enumerate() {
        let mut acc = [0u64; LANES];
        for (row, &qw) in blk.chunks_exact(LANES).zip(q) {
            let row: &[u64; LANES] = row.try_into().unwrap();
            for l in 0..LANES {
                acc[l] += (row[l] ^ qw).count_ones() as u64;
            }
        }
        n = emit(&acc, b * LANES, bound, pos, dist, n);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn every_width_and_path_matches_scalar() {
        let mut rng = Rng::new(5);
        for words in [1usize, 2, 3, 4, 5, 8, 16] {
            let blocks: Vec<u64> = (0..words * LANES * 7).map(|_| rng.next_u64()).collect();
            let q: Vec<u64> = (0..words).map(|_| rng.next_u64()).collect();
            let expect: Vec<u32> = (0..7 * LANES)
                .map(|c| {
                    let (b, l) = (c / LANES, c % LANES);
                    (0..words)
                        .map(|w| (blocks[(b * words + w) * LANES + l] ^ q[w]).count_ones())
                        .sum()
                })
                .collect();
            let bound = (words * 32) as u32;
            let (mut pos, mut dist) = (vec![0; 7 * LANES], vec![0; 7 * LANES]);
            let n = scan(&blocks, &q, bound, &mut pos, &mut dist);
            let want: Vec<(u32, u32)> = (0..7 * LANES as u32)
                .zip(expect.iter().copied())
                .filter(|(_, d)| *d < bound)
                .collect();
            let got: Vec<(u32, u32)> = pos[..n]
                .iter()
                .copied()
                .zip(dist[..n].iter().copied())
                .collect();
            assert_eq!(got, want, "words {words}");
            let n = scan_any(&blocks, &q, bound, &mut pos, &mut dist);
            assert_eq!(n, want.len());
        }
    }
}

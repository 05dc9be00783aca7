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

/// Runs `$kernel(blocks, q, words, …)` with `words` a literal for the common widths, so that
/// after inlining the word loop is fully unrolled and the query words stay in registers.
macro_rules! by_width {
    ($kernel:ident, $blocks:expr, $q:expr, $bound:expr, $pos:expr, $dist:expr) => {
        match $q.len() {
            1 => $kernel($blocks, $q, 1, $bound, $pos, $dist),
            2 => $kernel($blocks, $q, 2, $bound, $pos, $dist),
            4 => $kernel($blocks, $q, 4, $bound, $pos, $dist),
            8 => $kernel($blocks, $q, 8, $bound, $pos, $dist),
            16 => $kernel($blocks, $q, 16, $bound, $pos, $dist),
            w => $kernel($blocks, $q, w, $bound, $pos, $dist),
        }
    };
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
    // short codes: several blocks per step and one branch for all, so the loop is not
    // dominated by its own compare-and-branch
    match q.len() {
        1 => scan_avx512_words::<1, 4>(blocks, q, bound, pos, dist),
        2 => scan_avx512_words::<2, 2>(blocks, q, bound, pos, dist),
        4 => scan_avx512_words::<4, 1>(blocks, q, bound, pos, dist),
        8 => scan_avx512_words::<8, 1>(blocks, q, bound, pos, dist),
        16 => scan_avx512_words::<16, 1>(blocks, q, bound, pos, dist),
        _ => scan_avx512_words::<0, 1>(blocks, q, bound, pos, dist),
    }
}

/// One zmm register holds word `w` of a block's 8 codes: XOR, VPOPCNTQ and add per word, one
/// unsigned compare per block; `U` blocks per step. `W` words per code (0: `q.len()`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
unsafe fn scan_avx512_words<const W: usize, const U: usize>(
    blocks: &[u64],
    q: &[u64],
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    use core::arch::x86_64::*;
    let words = if W == 0 { q.len() } else { W };
    let limit = _mm512_set1_epi64(bound as i64);
    let step = words * LANES;
    let block = |b: usize| {
        let mut acc = _mm512_setzero_si512();
        for w in 0..words {
            let v = _mm512_loadu_si512(blocks.as_ptr().add(b * step + w * LANES) as *const _);
            let x = _mm512_xor_si512(v, _mm512_set1_epi64(*q.get_unchecked(w) as i64));
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
        }
        acc
    };
    let mut emit_block = |b: usize, acc: __m512i, n: usize| {
        let mut lanes = [0u64; LANES];
        _mm512_storeu_si512(lanes.as_mut_ptr() as *mut _, acc);
        emit(&lanes, b * LANES, bound, pos, dist, n)
    };
    let full = blocks.len() / step;
    let mut n = 0;
    let mut b = 0;
    while b + U <= full {
        let accs: [__m512i; U] = core::array::from_fn(|i| block(b + i));
        let any = accs
            .iter()
            .fold(0u8, |m, &a| m | _mm512_cmplt_epu64_mask(a, limit));
        if any != 0 {
            for (i, &acc) in accs.iter().enumerate() {
                if _mm512_cmplt_epu64_mask(acc, limit) != 0 {
                    n = emit_block(b + i, acc, n);
                }
            }
        }
        b += U;
    }
    for b in b..full {
        let acc = block(b);
        if _mm512_cmplt_epu64_mask(acc, limit) != 0 {
            n = emit_block(b, acc, n);
        }
    }
    n
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
    by_width!(scan_avx2_words, blocks, q, bound, pos, dist)
}

/// AVX2 has no vector popcount: count nibbles with a 16-entry table (VPSHUFB), sum the bytes
/// of each 64-bit lane with VPSADBW. Two ymm registers per block of 8 codes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn scan_avx2_words(
    blocks: &[u64],
    q: &[u64],
    words: usize,
    bound: u32,
    pos: &mut [u32],
    dist: &mut [u32],
) -> usize {
    use core::arch::x86_64::*;
    let table = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let nibble = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    let limit = _mm256_set1_epi64x(bound as i64);
    let count = |x: __m256i| {
        let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, nibble));
        let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
        _mm256_sad_epu8(_mm256_add_epi8(lo, hi), zero)
    };
    let mut n = 0;
    for (b, blk) in blocks.chunks_exact(words * LANES).enumerate() {
        let (mut acc0, mut acc1) = (zero, zero);
        for w in 0..words {
            let qw = _mm256_set1_epi64x(*q.get_unchecked(w) as i64);
            let p = blk.as_ptr().add(w * LANES) as *const __m256i;
            acc0 = _mm256_add_epi64(acc0, count(_mm256_xor_si256(_mm256_loadu_si256(p), qw)));
            acc1 = _mm256_add_epi64(
                acc1,
                count(_mm256_xor_si256(_mm256_loadu_si256(p.add(1)), qw)),
            );
        }
        // distances are far below 2^63, so the signed compare is exact
        let below = _mm256_or_si256(
            _mm256_cmpgt_epi64(limit, acc0),
            _mm256_cmpgt_epi64(limit, acc1),
        );
        if _mm256_testz_si256(below, below) == 0 {
            let mut lanes = [0u64; LANES];
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc0);
            _mm256_storeu_si256(lanes.as_mut_ptr().add(4) as *mut __m256i, acc1);
            n = emit(&lanes, b * LANES, bound, pos, dist, n);
        }
    }
    n
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
            #[cfg(target_arch = "x86_64")]
            if crate::linalg::fastmath::has_avx2() {
                // SAFETY: AVX2 and FMA are present (checked just above).
                let n = unsafe { scan_avx2(&blocks, &q, bound, &mut pos, &mut dist) };
                let got: Vec<(u32, u32)> = pos[..n]
                    .iter()
                    .copied()
                    .zip(dist[..n].iter().copied())
                    .collect();
                assert_eq!(got, want, "avx2, words {words}");
            }
        }
    }
}

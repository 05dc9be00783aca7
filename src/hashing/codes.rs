//! Packed binary codes in FAISS's bit order: bit `j` of a code lives in byte `j / 8` at bit
//! position `j % 8`, least significant first. Stored as NPY `u8` arrays of shape `(n, bits/8)`,
//! so FAISS and NumPy (`np.packbits(..., bitorder="little")`) read and write them directly.

use crate::data::npy::{self, Dtype};
use crate::error::{Error, Result};
use std::path::Path;

/// `n` codes of `bytes * 8` bits, each padded to whole little-endian `u64` words so that
/// Hamming distances are word XORs and popcounts. Padding bits are always zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codes {
    n: usize,
    bytes: usize,
    words: usize,
    data: Vec<u64>,
}

impl Codes {
    /// Codes from `n * bytes` packed bytes (row-major, FAISS bit order).
    pub fn from_bytes(n: usize, bytes: usize, packed: Vec<u8>) -> Result<Codes> {
        if bytes == 0 {
            return Err(Error::Invalid("codes must have at least 8 bits".into()));
        }
        if packed.len() != n * bytes {
            return Err(Error::Shape(format!(
                "{} bytes do not make {n} codes of {bytes} bytes",
                packed.len()
            )));
        }
        let words = bytes.div_ceil(8);
        let mut data = vec![0u64; n * words];
        if n > 0 {
            for (row, dst) in packed.chunks_exact(bytes).zip(data.chunks_exact_mut(words)) {
                for (w, chunk) in dst.iter_mut().zip(row.chunks(8)) {
                    let mut b = [0u8; 8];
                    b[..chunk.len()].copy_from_slice(chunk);
                    *w = u64::from_le_bytes(b);
                }
            }
        }
        Ok(Codes {
            n,
            bytes,
            words,
            data,
        })
    }

    /// Codes whose bit `j` of code `i` is `bit(i, j)`; `bits` must be a positive multiple of 8.
    pub fn from_fn(
        n: usize,
        bits: usize,
        mut bit: impl FnMut(usize, usize) -> bool,
    ) -> Result<Codes> {
        check_bits(bits)?;
        let words = bits.div_ceil(64);
        let mut data = vec![0u64; n * words];
        for i in 0..n {
            for j in 0..bits {
                if bit(i, j) {
                    data[i * words + j / 64] |= 1u64 << (j % 64);
                }
            }
        }
        Ok(Codes {
            n,
            bytes: bits / 8,
            words,
            data,
        })
    }

    /// Codes from whole words (`words_per_code` per code); bits above `bits` must be zero.
    pub fn from_words(n: usize, bits: usize, data: Vec<u64>) -> Result<Codes> {
        check_bits(bits)?;
        let words = bits.div_ceil(64);
        if data.len() != n * words {
            return Err(Error::Shape(format!(
                "{} words do not make {n} codes of {bits} bits",
                data.len()
            )));
        }
        if !bits.is_multiple_of(64)
            && data
                .chunks_exact(words)
                .any(|c| c[words - 1] >> (bits % 64) != 0)
        {
            return Err(Error::Invalid(format!(
                "codes have bits set above bit {bits}"
            )));
        }
        Ok(Codes {
            n,
            bytes: bits / 8,
            words,
            data,
        })
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.n
    }
    /// Whether there are no codes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Bits per code.
    pub fn bits(&self) -> usize {
        self.bytes * 8
    }
    /// Bytes per code in the packed form.
    pub fn bytes_per_code(&self) -> usize {
        self.bytes
    }
    /// `u64` words per code.
    pub fn words(&self) -> usize {
        self.words
    }
    /// Code `i` as words (least significant bit = bit 0).
    #[inline]
    pub fn code(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }
    /// All words, row-major.
    pub fn as_words(&self) -> &[u64] {
        &self.data
    }
    /// Bit `j` of code `i`.
    pub fn bit(&self, i: usize, j: usize) -> bool {
        self.code(i)[j / 64] >> (j % 64) & 1 == 1
    }
    /// Hamming distance between code `i` and `other`'s code `j` (same width).
    pub fn distance(&self, i: usize, other: &Codes, j: usize) -> u32 {
        hamming(self.code(i), other.code(j))
    }

    /// The packed bytes, row-major, FAISS bit order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.n * self.bytes);
        for i in 0..self.n {
            let row: Vec<u8> = self.code(i).iter().flat_map(|w| w.to_le_bytes()).collect();
            out.extend_from_slice(&row[..self.bytes]);
        }
        out
    }

    /// Parses NPY bytes: a 2-D `u8` array `(n, bits/8)`.
    pub fn parse_npy(path: &Path, bytes: &[u8]) -> Result<Codes> {
        let a = npy::parse(path, bytes)?;
        if a.dtype != Dtype::U8 {
            return Err(Error::format(
                path,
                format!(
                    "codes must be packed bits of dtype uint8 (|u1), found {:?}",
                    a.dtype
                ),
            ));
        }
        match a.shape.as_slice() {
            [n, b] if *b > 0 => Codes::from_bytes(*n, *b, a.data),
            s => Err(Error::format(
                path,
                format!("codes must be a 2-D array (n, bits/8) with bits/8 ≥ 1, found shape {s:?}"),
            )),
        }
    }

    /// Reads an NPY code file.
    pub fn read_npy(path: &Path) -> Result<Codes> {
        Codes::parse_npy(path, &crate::fsutil::read(path)?)
    }

    /// The codes as NPY bytes.
    pub fn to_npy(&self) -> Vec<u8> {
        npy::encode_u8(&[self.n, self.bytes], &self.to_bytes())
    }

    /// Writes the codes as NPY, atomically.
    pub fn write_npy(&self, path: &Path) -> Result<()> {
        crate::fsutil::atomic_write(path, &self.to_npy())
    }
}

/// Rejects code lengths that are not a positive multiple of 8 bits.
pub fn check_bits(bits: usize) -> Result<()> {
    if bits == 0 || !bits.is_multiple_of(8) {
        return Err(Error::Invalid(format!(
            "code length must be a positive multiple of 8 bits, got {bits}"
        )));
    }
    Ok(())
}

/// Hamming distance between two codes of equal word count.
#[inline]
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Checks that database and query codes have the same width.
pub fn check_same_width(db: &Codes, queries: &Codes) -> Result<()> {
    if db.bits() != queries.bits() {
        return Err(Error::Shape(format!(
            "database codes have {} bits, queries {}",
            db.bits(),
            queries.bits()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faiss_bit_order_and_npy_round_trip() {
        // bit 0 → byte 0 LSB; bit 9 → byte 1, position 1; 24-bit codes pad to one word
        let c = Codes::from_fn(2, 24, |i, j| (i == 0 && j == 0) || (i == 1 && j == 9)).unwrap();
        assert_eq!(c.to_bytes(), vec![1, 0, 0, 0, 2, 0]);
        assert_eq!(c.code(1), &[1u64 << 9]);
        let back = Codes::parse_npy(Path::new("c.npy"), &c.to_npy()).unwrap();
        assert_eq!(back, c);
        assert!(back.bit(1, 9) && !back.bit(1, 8));
        // 72 bits: two words, the second holds bits 64..72
        let c = Codes::from_fn(1, 72, |_, j| j == 70).unwrap();
        assert_eq!(c.words(), 2);
        assert_eq!(c.to_bytes()[8], 1 << 6);
        assert_eq!(Codes::from_bytes(1, 9, c.to_bytes()).unwrap(), c);
    }

    #[test]
    fn rejects_bad_files_and_widths() {
        let p = Path::new("bad.npy");
        let floats = npy::encode_f32(&crate::Matrix::zeros(2, 4));
        let e = Codes::parse_npy(p, &floats).unwrap_err().to_string();
        assert!(e.contains("bad.npy") && e.contains("uint8"), "{e}");
        let one_d = npy::encode_u8(&[4], &[0; 4]);
        let e = Codes::parse_npy(p, &one_d).unwrap_err().to_string();
        assert!(e.contains("2-D"), "{e}");
        let zero_width = npy::encode_u8(&[3, 0], &[]);
        let e = Codes::parse_npy(p, &zero_width).unwrap_err().to_string();
        assert!(e.contains("bits/8 ≥ 1"), "{e}");
        for bad in [12, 0] {
            let e = check_bits(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("multiple of 8 bits, got {bad}")), "{e}");
        }
        assert!(check_bits(1024).is_ok());
        let e = Codes::from_words(1, 8, vec![0x100])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bits set above bit 8"), "{e}");
    }
}

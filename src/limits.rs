//! Bounds on sizes a user can ask for. A config key or a flag is user input: a typo of a few
//! digits must be an error that names it, never an allocation failure that aborts the process.

use crate::error::{Error, Result};

/// The most worker threads a run may ask for.
pub const MAX_THREADS: usize = 1024;

/// The most weights and biases a model may have (8 GiB of `f32`).
pub const MAX_PARAMETERS: usize = 1 << 31;

/// Bytes of memory a run's buffers may take: the machine's physical memory where it can be
/// read (Linux `/proc/meminfo`), else 16 GiB.
pub fn memory_budget() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
        .unwrap_or(16 << 30)
}

/// Checks that `floats` `f32` values (`what`) fit in [`memory_budget`]; the error names `key`.
pub fn check_floats(key: &str, floats: u128, what: &str) -> Result<()> {
    let bytes = floats.saturating_mul(4);
    let budget = memory_budget();
    if bytes > budget as u128 {
        return Err(Error::config(
            key,
            format!(
                "{what} would need {} of memory, more than this machine's {}; use a smaller value",
                human_bytes(bytes),
                human_bytes(budget as u128)
            ),
        ));
    }
    Ok(())
}

/// Checks a thread count (0 = all cores) against [`MAX_THREADS`]; the error names `key`.
pub fn check_threads(key: &str, threads: usize) -> Result<()> {
    if threads > MAX_THREADS {
        return Err(Error::config(
            key,
            format!("at most {MAX_THREADS} threads (0 = all cores), got {threads}"),
        ));
    }
    Ok(())
}

fn human_bytes(bytes: u128) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    if bytes >= 1 << 40 {
        format!("{:.1} TiB", bytes as f64 / GIB / 1024.0)
    } else {
        format!("{:.1} GiB", bytes as f64 / GIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_past_the_budget_name_the_key() {
        assert!(check_floats("k", 1 << 20, "x").is_ok());
        let err = check_floats("train.batch_size", u128::MAX, "buffers").unwrap_err();
        assert!(err.to_string().contains("train.batch_size"), "{err}");
        assert!(check_threads("train.threads", 8).is_ok());
        let err = check_threads("train.threads", 1 << 40).unwrap_err();
        assert!(err.to_string().contains("train.threads"), "{err}");
    }
}

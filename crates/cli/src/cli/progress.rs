//! A one-line progress display on stderr, only when stderr is a terminal and not `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    quiet: bool,
    enabled: bool,
    start: Instant,
    epochs: usize,
}

impl Progress {
    pub fn new(quiet: bool, epochs: usize) -> Self {
        Progress {
            quiet,
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            epochs,
        }
    }

    pub fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        if !self.enabled || (!batch.is_multiple_of(10) && batch != batches) {
            return;
        }
        let done = (epoch - 1) as f64 + batch as f64 / batches.max(1) as f64;
        let elapsed = self.start.elapsed().as_secs_f64();
        let eta = elapsed / done.max(1e-9) * (self.epochs as f64 - done).max(0.0);
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r\x1b[2Kepoch {epoch}/{} batch {batch}/{batches} loss {loss:.4} ETA {eta:.0}s",
            self.epochs
        );
        let _ = err.flush();
    }

    pub fn epoch_line(&mut self, line: &str) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

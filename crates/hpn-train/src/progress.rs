//! Progress display: a bar on a terminal, one line per epoch otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::EpochRecord;

/// Shows the progress of training to a person.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    quiet: bool,
}

impl Progress {
    /// A reporter for one seed's run; a bar when stderr is a terminal, lines otherwise.
    pub fn new(label: impl Into<String>, quiet: bool) -> Self {
        let interactive = !quiet && std::io::stderr().is_terminal();
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Progress {
            bar,
            label: label.into(),
            quiet,
        }
    }

    /// Starts an epoch of `batches` batches.
    pub fn start_epoch(&self, epoch: usize, epochs: usize, batches: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(batches as u64);
            bar.set_position(0);
            bar.set_prefix(format!("{} epoch {epoch}/{epochs}", self.label));
        }
    }

    /// After `count` more batches, with the last batch loss read back.
    pub fn batches(&self, count: usize, loss: f64, lr: f64, images_per_second: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(count as u64);
            bar.set_message(format!(
                "loss {loss:.4} lr {lr:.0e} {images_per_second:.0} img/s"
            ));
        }
    }

    /// After each epoch: one line that stays.
    pub fn end_epoch(&self, record: &EpochRecord, epochs: usize) {
        if self.quiet {
            return;
        }
        let mut line = format!(
            "{} epoch {}/{epochs} loss {:.4} lr {:.0e} {:.0} img/s {:.1}s",
            self.label,
            record.epoch,
            record.train_loss,
            record.lr,
            record.images_per_second,
            record.seconds
        );
        if let Some(a) = record.accuracy {
            line.push_str(&format!(" accuracy {a:.2}%"));
        }
        if let Some(m) = record.mae {
            line.push_str(&format!(" mae {m:.3}"));
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// A message that stays above the bar.
    pub fn message(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

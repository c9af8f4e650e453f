//! A progress line on stderr for the commands that can run long: `replay`
//! of a large input and `boot` of a large store.
//!
//! Only on a terminal: when stderr is a file, a pipe or the journal (the
//! boot unit), nothing is drawn, so logs stay clean. Nothing is drawn for
//! the first half second either, so short runs print nothing extra; then at
//! most ten times a second. The caller says how far it is; calling often
//! costs a clock read.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// The progress line's own clock: it paces drawing on a terminal and shows
/// a rate, both about the real time a person waits, never a decision.
#[allow(clippy::disallowed_methods, reason = "drawing pace and displayed rate only")]
fn now() -> Instant {
    Instant::now()
}

/// How long a command runs before a line appears.
const QUIET_FOR: Duration = Duration::from_millis(500);
/// Time between two redraws.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 30;

/// What the total (and the position) are counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Bytes of input (the items are counted separately).
    Bytes,
    /// The items themselves.
    Items,
}

pub struct Progress {
    enabled: bool,
    label: &'static str,
    /// What the items are ("entries", "bans").
    items: &'static str,
    measure: Measure,
    total: Option<u64>,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    /// A progress line, drawn only if stderr is a terminal.
    pub fn new(label: &'static str, items: &'static str, measure: Measure, total: Option<u64>) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Progress { enabled: terminal && !dumb, label, items, measure, total, started: now(), last_draw: None }
    }

    /// Says how far it is: `position` in the measure of the total, `items`
    /// done so far.
    pub fn update(&mut self, position: u64, items: u64) {
        if !self.enabled {
            return;
        }
        let now = now();
        let due = match self.last_draw {
            None => now.duration_since(self.started) >= QUIET_FOR,
            Some(last) => now.duration_since(last) >= REDRAW_EVERY,
        };
        if due {
            self.last_draw = Some(now);
            let line = render(self, position, items, now.duration_since(self.started));
            // "\r" back to the start, "\x1b[K" clears what a longer line left.
            let _ = write!(std::io::stderr().lock(), "\r{line}\x1b[K");
        }
    }

    /// Removes the line, if one was drawn.
    pub fn finish(&mut self) {
        if self.last_draw.take().is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn render(p: &Progress, position: u64, items: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = items as f64 / secs;
    let mut line = format!("{}: ", p.label);
    if let Some(total) = p.total.filter(|&t| t > 0) {
        let fraction = (position as f64 / total as f64).clamp(0.0, 1.0);
        let filled = (fraction * BAR_WIDTH as f64).round() as usize;
        line.push('[');
        line.extend(std::iter::repeat_n('#', filled));
        line.extend(std::iter::repeat_n('.', BAR_WIDTH - filled));
        line.push_str(&format!("] {:>3.0}% ", fraction * 100.0));
        if p.measure == Measure::Bytes {
            line.push_str(&format!("{} of {}, ", mebibytes(position), mebibytes(total)));
        }
        line.push_str(&format!("{} {} ({}/s)", count(items), p.items, count(rate as u64)));
        if fraction > 0.0 && fraction < 1.0 {
            let left = secs * (1.0 - fraction) / fraction;
            line.push_str(&format!(", {left:.0} s left"));
        }
    } else {
        line.push_str(&format!("{} {} ({}/s)", count(items), p.items, count(rate as u64)));
    }
    line
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// 1234567 as "1,234,567" (also for `status`'s tables).
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(measure: Measure, total: Option<u64>) -> Progress {
        Progress { enabled: false, label: "replay", items: "entries", measure, total, started: now(), last_draw: None }
    }

    #[test]
    fn a_known_total_gets_a_bar_a_rate_and_the_time_left() {
        let line = render(&progress(Measure::Items, Some(1_000_000)), 250_000, 250_000, Duration::from_secs(1));
        assert_eq!(line, "replay: [########......................]  25% 250,000 entries (250,000/s), 3 s left");
        let line = render(&progress(Measure::Bytes, Some(4 << 20)), 2 << 20, 12_345, Duration::from_secs(2));
        assert!(line.contains("50% 2.0 MiB of 4.0 MiB, 12,345 entries (6,172/s), 2 s left"), "{line}");
    }

    #[test]
    fn an_unknown_total_gets_a_count_and_a_rate() {
        let line = render(&progress(Measure::Items, None), 0, 1_500, Duration::from_millis(500));
        assert_eq!(line, "replay: 1,500 entries (3,000/s)");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn nothing_is_drawn_when_disabled() {
        let mut p = progress(Measure::Items, Some(10));
        p.started -= Duration::from_secs(5);
        p.update(5, 5);
        assert!(p.last_draw.is_none());
    }
}

//! Figures, their summaries (median, min, max) and how they are written.

use crate::measure::Sample;

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values.
    pub n: usize,
}

impl Summary {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }
}

/// What a figure measures, which decides its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Invocations per second.
    PerSecond,
    /// Bytes.
    Bytes,
}

/// A figure measured per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// exec → ready received.
    Ready,
    /// exec → first response received (cold call end to end).
    First,
    /// The bootstrap's CPU time in its cold start.
    ColdCpu,
    /// How long the bootstrap waited for a CPU in its cold start.
    ColdWait,
    /// Warm invocations per second, small event.
    SmallRate,
    /// Bootstrap CPU time per warm invocation, small event.
    SmallCpu,
    /// Warm invocations per second, large event.
    LargeRate,
    /// Bootstrap CPU time per warm invocation, large event.
    LargeCpu,
    /// Peak RSS after the small window.
    RssSmall,
    /// Peak RSS after the large window.
    RssLarge,
    /// The emulator's CPU time per invocation, small event.
    EmulatorSmallCpu,
    /// The emulator's CPU time per invocation, large event.
    EmulatorLargeCpu,
}

impl Figure {
    /// The figure's value in one sample, in its unit.
    pub fn value(self, s: &Sample) -> Option<f64> {
        Some(match self {
            Figure::Ready => s.ready?.as_secs_f64(),
            Figure::First => s.first.as_secs_f64(),
            Figure::ColdCpu => s.cold_cpu?.as_secs_f64(),
            Figure::ColdWait => s.cold_wait?.as_secs_f64(),
            Figure::SmallRate => s.warm.as_ref()?.small.per_second(),
            Figure::SmallCpu => s.warm.as_ref()?.small.cpu().as_secs_f64(),
            Figure::LargeRate => s.warm.as_ref()?.large.per_second(),
            Figure::LargeCpu => s.warm.as_ref()?.large.cpu().as_secs_f64(),
            Figure::RssSmall => s.warm.as_ref()?.rss_small as f64,
            Figure::RssLarge => s.warm.as_ref()?.rss_large as f64,
            Figure::EmulatorSmallCpu => s.warm.as_ref()?.small.emulator_cpu()?.as_secs_f64(),
            Figure::EmulatorLargeCpu => s.warm.as_ref()?.large.emulator_cpu()?.as_secs_f64(),
        })
    }

    /// Its unit.
    pub fn unit(self) -> Unit {
        match self {
            Figure::SmallRate | Figure::LargeRate => Unit::PerSecond,
            Figure::RssSmall | Figure::RssLarge => Unit::Bytes,
            _ => Unit::Seconds,
        }
    }

    /// Summary over samples that have the figure.
    pub fn summary(self, samples: &[Sample]) -> Option<Summary> {
        let v: Vec<f64> = samples.iter().filter_map(|s| self.value(s)).collect();
        Summary::of(&v)
    }
}

/// Writes a value in its unit, with as many digits as a reader needs.
pub fn format(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => {
            if v < 1e-3 {
                format!("{:.1} µs", v * 1e6)
            } else if v < 1.0 {
                format!("{:.2} ms", v * 1e3)
            } else {
                format!("{v:.2} s")
            }
        }
        Unit::PerSecond => {
            if v < 100.0 {
                format!("{v:.1}/s")
            } else {
                format!("{v:.0}/s")
            }
        }
        Unit::Bytes => {
            if v < 10.0 * 1024.0 * 1024.0 {
                format!("{:.0} KiB", v / 1024.0)
            } else {
                format!("{:.1} MiB", v / 1024.0 / 1024.0)
            }
        }
    }
}

/// `value / floor` written as `×1.23`.
pub fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 {
        let r = value / floor;
        if r >= 100.0 {
            format!("×{r:.0}")
        } else if r >= 10.0 {
            format!("×{r:.1}")
        } else {
            format!("×{r:.2}")
        }
    } else {
        "—".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(Summary::of(&[]), None);
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
    }

    #[test]
    fn formats() {
        assert_eq!(format(Unit::Seconds, 0.000_012_34), "12.3 µs");
        assert_eq!(format(Unit::Seconds, 0.0123), "12.30 ms");
        assert_eq!(format(Unit::PerSecond, 12345.6), "12346/s");
        assert_eq!(format(Unit::Bytes, 300.0 * 1024.0), "300 KiB");
        assert_eq!(ratio(1.1, 1.0), "×1.10");
        assert_eq!(ratio(250.0, 1.0), "×250");
        assert_eq!(ratio(1.0, 0.0), "—");
    }
}

//! Checks of hyperparameter values shared by agents and generative models,
//! each failing with one line that names the key. Every float that reaches
//! torch must fit in a 32-bit float, and every network in memory.

use anyhow::{bail, Result};

/// The largest value a hyperparameter may take: it reaches torch as a 32-bit float.
pub const LARGEST: f64 = f32::MAX as f64;

/// Bytes per network parameter budgeted by [`network_fits`]: the weight, its
/// gradient, two optimiser moments and a target or old copy, as f32.
pub const BYTES_PER_PARAMETER: u128 = 20;

/// A number for a message: plain when short, `1e39` style when very large or small.
pub fn fmt_num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e6).contains(&v.abs()) {
        let short = format!("{v:e}");
        if short.len() > 10 {
            format!("{v:.2e}")
        } else {
            short
        }
    } else {
        format!("{v}")
    }
}

/// A finite number greater than zero (and at most [`LARGEST`]).
pub fn positive(key: &str, v: f64) -> Result<()> {
    if !v.is_finite() || v <= 0.0 || v > LARGEST {
        bail!("{key} must be a number > 0 and at most {} (a 32-bit float), got {}", fmt_num(LARGEST), fmt_num(v));
    }
    Ok(())
}

/// A finite number greater than or equal to zero (and at most [`LARGEST`]).
pub fn non_negative(key: &str, v: f64) -> Result<()> {
    if !(0.0..=LARGEST).contains(&v) {
        bail!("{key} must be a number >= 0 and at most {} (a 32-bit float), got {}", fmt_num(LARGEST), fmt_num(v));
    }
    Ok(())
}

/// A finite number in `[lo, hi]`.
pub fn in_range(key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !v.is_finite() || v < lo || v > hi {
        bail!("{key} must be in [{}, {}], got {}", fmt_num(lo), fmt_num(hi), fmt_num(v));
    }
    Ok(())
}

/// A number in `[lo, hi)` (such as Adam's betas or a moving average's decay).
pub fn in_half_open(key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !(lo..hi).contains(&v) {
        bail!("{key} must be in [{}, {}), got {}", fmt_num(lo), fmt_num(hi), fmt_num(v));
    }
    Ok(())
}

/// A count greater than zero.
pub fn nonzero(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("{key} must be at least 1, got 0");
    }
    Ok(())
}

/// `v` (a period counted in updates or steps) must fit in a run of `total` steps:
/// an `every` larger than the run would never come round (or, as SAC's delayed
/// actor steps, come all at once).
pub fn period_within(key: &str, v: usize, total_key: &str, total: usize) -> Result<()> {
    nonzero(key, v)?;
    if v > total {
        bail!("{key} must be at most {total_key} ({total}), got {v}");
    }
    Ok(())
}

/// Memory available to a new allocation, from `/proc/meminfo` (`None` where unknown).
pub fn available_memory_bytes() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Fails when `bytes` of memory (named by `what`) would not fit in what the machine has free.
pub fn fits_in_memory(what: &str, bytes: u128) -> Result<()> {
    if let Some(avail) = available_memory_bytes() {
        if bytes > avail {
            bail!("{what} needs {:.1} GiB but only {:.1} GiB of memory is available", bytes as f64 / (1u128 << 30) as f64, avail as f64 / (1u128 << 30) as f64);
        }
    }
    Ok(())
}

/// Parameters of an MLP `input -> hidden... -> output` (weights and biases),
/// saturating instead of overflowing.
pub fn mlp_parameters(input: usize, hidden: &[usize], output: usize) -> u128 {
    let widths: Vec<u128> = std::iter::once(input).chain(hidden.iter().copied()).chain(std::iter::once(output)).map(|w| w as u128).collect();
    widths.windows(2).fold(0u128, |acc, w| acc.saturating_add(w[0].saturating_add(1).saturating_mul(w[1])))
}

/// Fails when a network of `parameters` (named by `key`) cannot be held in
/// memory ([`BYTES_PER_PARAMETER`] each) or indexed by torch.
pub fn network_fits(key: &str, parameters: u128) -> Result<()> {
    if parameters > i64::MAX as u128 / 4 {
        bail!("{key}: a network of {} parameters is beyond what torch can index", fmt_num(parameters as f64));
    }
    fits_in_memory(&format!("{key} (a network of {} parameters)", fmt_num(parameters as f64)), parameters.saturating_mul(BYTES_PER_PARAMETER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_key_and_stay_short() {
        let e = positive("learning_rate", 1e39).unwrap_err().to_string();
        assert!(e.contains("learning_rate") && e.contains("1e39") && e.len() < 120, "{e}");
        let e = non_negative("ent_coef", f64::INFINITY).unwrap_err().to_string();
        assert!(e.contains("ent_coef") && e.len() < 120, "{e}");
        assert!(positive("lr", 1e-3).is_ok() && non_negative("c", 0.0).is_ok());
        let e = network_fits("hidden_sizes", mlp_parameters(4, &[100_000_000_000], 2)).unwrap_err().to_string();
        assert!(e.contains("hidden_sizes") && !e.contains('\n'), "{e}");
        assert!(network_fits("hidden_sizes", mlp_parameters(4, &[64, 64], 2)).is_ok());
        assert_eq!(in_half_open("beta1", 1.0, 0.0, 1.0).unwrap_err().to_string(), "beta1 must be in [0, 1), got 1");
        assert!(in_half_open("beta2", f64::NAN, 0.0, 1.0).is_err() && in_half_open("beta2", 0.0, 0.0, 1.0).is_ok());
    }
}

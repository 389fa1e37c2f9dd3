//! The statistics behind randomized smoothing: Clopper–Pearson bounds, the two-sided binomial
//! test, and the normal quantile. All three come from `statrs` (regularized incomplete beta and
//! inverse error function); `tests/smoothing.rs` checks them against scipy to 1e-9.

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, Normal};

use crate::error::{Error, Result};

fn check(successes: u64, trials: u64, alpha: f64) -> Result<()> {
    if trials == 0 || successes > trials {
        return Err(Error::InvalidArgument(format!(
            "need 0 ≤ successes ≤ trials and trials > 0, got {successes} of {trials}"
        )));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "alpha must lie strictly between 0 and 1, got {alpha}"
        )));
    }
    Ok(())
}

/// One-sided `1 − alpha` Clopper–Pearson lower bound on a binomial proportion: the `alpha`
/// quantile of Beta(k, n − k + 1), and 0 when `k = 0`. Cohen et al.'s pA lower bound.
pub fn clopper_pearson_lower(successes: u64, trials: u64, alpha: f64) -> Result<f64> {
    check(successes, trials, alpha)?;
    if successes == 0 {
        return Ok(0.0);
    }
    let beta = Beta::new(successes as f64, (trials - successes + 1) as f64)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(beta.inverse_cdf(alpha))
}

/// One-sided `1 − alpha` Clopper–Pearson upper bound: the `1 − alpha` quantile of
/// Beta(k + 1, n − k), and 1 when `k = n`.
pub fn clopper_pearson_upper(successes: u64, trials: u64, alpha: f64) -> Result<f64> {
    check(successes, trials, alpha)?;
    if successes == trials {
        return Ok(1.0);
    }
    let beta = Beta::new((successes + 1) as f64, (trials - successes) as f64)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(beta.inverse_cdf(1.0 - alpha))
}

/// Two-sided p-value of `successes` in `trials` under p = ½ (scipy's `binomtest`): twice the
/// smaller tail, at most 1.
pub fn binomial_test_half(successes: u64, trials: u64) -> Result<f64> {
    check(successes, trials, 0.5)?;
    let smaller = successes.min(trials - successes);
    if 2 * smaller == trials {
        return Ok(1.0);
    }
    let binomial = Binomial::new(0.5, trials).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok((2.0 * binomial.cdf(smaller)).min(1.0))
}

/// The standard normal quantile Φ⁻¹(p) for `p` in (0, 1).
pub fn normal_quantile(p: f64) -> Result<f64> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "a normal quantile needs 0 < p < 1, got {p}"
        )));
    }
    Ok(Normal::standard().inverse_cdf(p))
}

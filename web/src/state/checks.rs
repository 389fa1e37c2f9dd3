//! The checks every value from a form or a URL passes before the page uses it: numbers in their
//! ranges, counts, classes, seeds. Pure functions, so the URL codec and the forms share them and
//! they are tested natively.

use perturb::attack::Norm;

/// Largest L2 budget: the diagonal of a 28×28 image in [0, 1].
pub const MAX_L2: f32 = 28.0;

/// At most 40 characters of a user-supplied value, for messages.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A number in (0, 1] (an L∞ ε, a σ), named `what` in the message.
pub fn unit(raw: &str, what: &str) -> Result<f32, String> {
    match raw.trim().parse::<f32>() {
        Ok(e) if e.is_finite() && e > 0.0 && e <= 1.0 => Ok(e),
        _ => Err(format!(
            "{what} must be a number in (0, 1], got {:?}",
            truncate(raw)
        )),
    }
}

/// An L∞ budget ε in (0, 1].
pub fn eps(raw: &str) -> Result<f32, String> {
    unit(raw, "ε")
}

/// A budget for `norm`: L∞ in (0, 1], L2 in (0, 28].
pub fn radius(raw: &str, norm: Norm) -> Result<f32, String> {
    match norm {
        Norm::Linf => eps(raw),
        Norm::L2 => match raw.trim().parse::<f32>() {
            Ok(e) if e.is_finite() && e > 0.0 && e <= MAX_L2 => Ok(e),
            _ => Err(format!(
                "ε (L2) must be a number in (0, {MAX_L2}], got {:?}",
                truncate(raw)
            )),
        },
    }
}

/// A PGD step size: empty (or `auto`) for the default, else a number in (0, the norm's largest ε].
pub fn step_size(raw: &str, norm: Norm) -> Result<Option<f32>, String> {
    if raw.trim().is_empty() || raw.trim() == "auto" {
        return Ok(None);
    }
    radius(raw, norm)
        .map(Some)
        .map_err(|e| e.replacen("ε", "step size", 1))
}

/// A target class below `classes`, or empty / `none` for an untargeted attack.
pub fn target(raw: &str, classes: usize) -> Result<Option<usize>, String> {
    match raw.trim() {
        "" | "none" => Ok(None),
        t => match t.parse::<usize>() {
            Ok(c) if c < classes => Ok(Some(c)),
            _ => Err(format!(
                "target must be a class from 0 to {} or none, got {:?}",
                classes - 1,
                truncate(raw)
            )),
        },
    }
}

/// A count in `1..=max`, named `what` in the message.
pub fn count(raw: &str, what: &str, max: usize) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from 1 to {max}, got {:?}",
            truncate(raw)
        )),
    }
}

/// A count in `min..=max`.
pub fn count_from(raw: &str, what: &str, min: usize, max: usize) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from {min} to {max}, got {:?}",
            truncate(raw)
        )),
    }
}

/// A seed: any whole number.
pub fn seed(raw: &str, what: &str) -> Result<u64, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{what} must be a whole number, got {:?}", truncate(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_outside_their_ranges_are_refused_with_the_value() {
        assert_eq!(eps("0.3"), Ok(0.3));
        for bad in ["0", "-1", "1.5", "nan", "inf", "x", ""] {
            let err = eps(bad).unwrap_err();
            assert!(err.contains("(0, 1]"), "{bad}: {err}");
        }
        assert_eq!(radius("3", Norm::L2), Ok(3.0));
        assert!(radius("29", Norm::L2).is_err());
        assert_eq!(step_size(" ", Norm::Linf), Ok(None));
        assert!(
            step_size("2", Norm::Linf)
                .unwrap_err()
                .starts_with("step size")
        );
        assert_eq!(target("none", 10), Ok(None));
        assert_eq!(target("9", 10), Ok(Some(9)));
        assert!(target("10", 10).is_err());
        assert_eq!(count("500", "steps", 500), Ok(500));
        assert!(count("501", "steps", 500).is_err());
        assert!(count("0", "steps", 500).is_err());
        assert!(count_from("1", "levels", 2, 256).is_err());
        assert!(seed("-1", "seed").is_err());
        let long = "x".repeat(100);
        assert!(eps(&long).unwrap_err().len() < 100);
    }
}

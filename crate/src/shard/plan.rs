//! Which units a shard runs.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Shard `index` of `count` (`index` from 0, as `SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)` and
/// Kubernetes' `JOB_COMPLETION_INDEX` count). Written and parsed as `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; refused unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::InvalidArgument(format!(
                "a shard is I/N with 0 ≤ I < N, got {index}/{count}"
            )));
        }
        Ok(Self { index, count })
    }

    /// This shard's units of `total`: a contiguous run, the runs of all shards differing in
    /// length by at most one and covering `0..total` in order.
    pub fn units(&self, total: usize) -> Range<usize> {
        let start = |i: usize| i * total / self.count;
        start(self.index)..start(self.index + 1)
    }

    /// Whether this is the whole run.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidArgument(format!(
                "a shard is I/N (e.g. 0/4, the first of four), got {s:?}"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n)
    }
}

/// The units of `items` things taken `size` at a time: index ranges in order, the last possibly
/// shorter. A command's batches are these, so a shard's batches are exactly the unsharded run's.
pub fn units_of(items: usize, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    (0..items.div_ceil(size))
        .map(|u| u * size..((u + 1) * size).min(items))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_unit_once_and_are_balanced() {
        for total in [0, 1, 3, 7, 40, 1001] {
            for count in 1..=9 {
                let runs: Vec<Range<usize>> = (0..count)
                    .map(|i| Shard::new(i, count).unwrap().units(total))
                    .collect();
                let all: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(all, (0..total).collect::<Vec<_>>(), "{total} in {count}");
                let lens: Vec<usize> = runs.iter().map(|r| r.len()).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(hi - lo <= 1, "{lens:?}");
            }
        }
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!(Shard::new(3, 4).unwrap().to_string(), "3/4");
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("I/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn units_are_batches() {
        assert_eq!(units_of(10, 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(units_of(8, 4), vec![0..4, 4..8]);
        assert!(units_of(0, 4).is_empty());
    }
}

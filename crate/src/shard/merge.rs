//! Partial reports put back together: every shard of one run, each complete, none twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::journal::Journal;
use crate::error::{Error, Result};

/// Read the partial reports at `paths` and combine them into the whole run's journal, whose
/// records are the unsharded run's. Refused, naming the file: shards of another run (settings,
/// weights or data), a shard given twice, a missing shard, an unfinished shard.
pub fn merge(paths: &[PathBuf]) -> Result<Journal> {
    let first = paths
        .first()
        .ok_or_else(|| Error::InvalidArgument("merge needs the partial reports to merge".into()))?;
    let journals = paths
        .iter()
        .map(|p| Journal::read(p))
        .collect::<Result<Vec<_>>>()?;
    let reference = journals[0].header().clone();
    let mut by_index: BTreeMap<usize, &Path> = BTreeMap::new();
    for (path, journal) in paths.iter().zip(&journals) {
        let header = journal.header();
        if let Some(field) = reference.differs_from(header) {
            return Err(Error::Mismatch(format!(
                "{} is not a shard of the same run as {}: {field} differs",
                path.display(),
                first.display()
            )));
        }
        if let Some(other) = by_index.insert(header.shard.index, path) {
            return Err(Error::Mismatch(format!(
                "{} and {} are both shard {}",
                other.display(),
                path.display(),
                header.shard
            )));
        }
    }
    let count = reference.shard.count;
    let absent: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !absent.is_empty() {
        return Err(Error::Mismatch(format!(
            "shard{} {} of this run {} missing",
            if absent.len() > 1 { "s" } else { "" },
            absent.join(", "),
            if absent.len() > 1 { "are" } else { "is" }
        )));
    }
    let mut lines = BTreeMap::new();
    for (path, journal) in paths.iter().zip(journals) {
        let missing = journal.missing();
        if !missing.is_empty() {
            return Err(Error::Mismatch(format!(
                "{} (shard {}) is unfinished: {} of {} units done; run the same command again \
                 to resume it",
                path.display(),
                journal.header().shard,
                journal.finished(),
                journal.units().len()
            )));
        }
        lines.extend(journal.into_lines());
    }
    Ok(Journal::whole(reference, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{PartialHeader, Shard};
    use serde_json::{Value, json};

    fn dir(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("perturb-merge-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn header(shard: Shard, model: &str) -> PartialHeader {
        PartialHeader::new(
            "eval",
            json!({"eps": 0.1}),
            model.into(),
            "d".into(),
            5,
            shard,
        )
    }

    /// Write shard `i` of `n` with every unit's record `[unit]`, or only its first unit.
    fn shard(dir: &Path, i: usize, n: usize, model: &str, finish: bool) -> PathBuf {
        let path = dir.join(format!("{model}-{i}.jsonl"));
        let mut j = Journal::open(&path, header(Shard::new(i, n).unwrap(), model)).unwrap();
        for u in j.units() {
            j.record(u, &json!([u])).unwrap();
            if !finish {
                break;
            }
        }
        path
    }

    #[test]
    fn merges_in_unit_order_whatever_the_file_order() {
        let d = dir("order");
        let paths: Vec<PathBuf> = [2, 0, 1]
            .iter()
            .map(|&i| shard(&d, i, 3, "m", true))
            .collect();
        let merged = merge(&paths).unwrap();
        let records: Vec<Value> = merged.records().unwrap();
        assert_eq!(records, (0..5).map(|u| json!([u])).collect::<Vec<_>>());
        assert!(merged.header().shard.is_whole());
    }

    #[test]
    fn names_the_culprit() {
        let d = dir("culprit");
        let a = shard(&d, 0, 3, "m", true);
        let b = shard(&d, 1, 3, "m", true);
        let c = shard(&d, 2, 3, "m", true);
        let other = shard(&d, 2, 3, "other", true);

        let err = merge(&[a.clone(), b.clone(), other.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("other-2.jsonl") && err.contains("weights"),
            "{err}"
        );
        let err = merge(&[a.clone(), b.clone(), b.clone()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("both shard 1/3"), "{err}");
        let err = merge(&[a.clone(), c.clone()]).unwrap_err().to_string();
        assert!(err.contains("shard 1/3 of this run is missing"), "{err}");
        let err = merge(std::slice::from_ref(&b)).unwrap_err().to_string();
        assert!(err.contains("shards 0/3, 2/3"), "{err}");
        let h0 = shard(&d, 0, 3, "half", true);
        let h1 = shard(&d, 1, 3, "half", false);
        let h2 = shard(&d, 2, 3, "half", true);
        let err = merge(&[h0, h1, h2]).unwrap_err().to_string();
        assert!(
            err.contains("half-1.jsonl (shard 1/3) is unfinished"),
            "{err}"
        );
        let different_n = shard(&d, 0, 2, "m2", true);
        let err = merge(&[a, different_n]).unwrap_err().to_string();
        assert!(err.contains("differ"), "{err}");
        assert!(merge(&[]).is_err());
    }
}

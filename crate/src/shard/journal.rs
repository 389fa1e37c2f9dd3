//! A partial report: a header line, then one JSON line per finished unit, appended, flushed and
//! synced as each unit ends, so a killed or requeued shard resumes where it stopped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::Shard;
use crate::error::{Error, Result};

/// The format tag of a partial report's first line.
const FORMAT: &str = "perturb-partial/1";

/// What a partial report describes: the command, its settings, the checksums of the weights and
/// the data, how many units the whole run has, and which shard this is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialHeader {
    /// The format tag, `perturb-partial/1`.
    pub format: String,
    /// The command (`attack`, `eval`, …).
    pub command: String,
    /// Every setting that changes a record or the summary (the command's own JSON).
    pub settings: Value,
    /// SHA-256 of the weights file(s).
    pub model: String,
    /// Fingerprint of the test images (see [`data_fingerprint`](super::data_fingerprint)).
    pub data: String,
    /// Units of the whole, unsharded run.
    pub units: usize,
    /// This shard.
    pub shard: Shard,
}

impl PartialHeader {
    /// A header for `command` with `settings`.
    pub fn new(
        command: &str,
        settings: Value,
        model: String,
        data: String,
        units: usize,
        shard: Shard,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            command: command.into(),
            settings,
            model,
            data,
            units,
            shard,
        }
    }

    /// The first field in which `self` and `other` differ, shard aside: `None` when they describe
    /// the same run. Settings are named down to the first differing key.
    pub fn differs_from(&self, other: &PartialHeader) -> Option<String> {
        let show = |v: &Value| {
            let s = v.to_string();
            if s.len() > 80 {
                format!("{}…", &s[..s.floor_char_boundary(80)])
            } else {
                s
            }
        };
        if self.format != other.format {
            return Some(format!("format ({} vs {})", self.format, other.format));
        }
        if self.command != other.command {
            return Some(format!("command ({} vs {})", self.command, other.command));
        }
        if let Some((path, a, b)) = first_difference(&self.settings, &other.settings) {
            return Some(format!("settings{path} ({} vs {})", show(&a), show(&b)));
        }
        if self.model != other.model {
            return Some(format!(
                "weights (SHA-256 {} vs {})",
                self.model, other.model
            ));
        }
        if self.data != other.data {
            return Some(format!(
                "data (fingerprint {} vs {})",
                self.data, other.data
            ));
        }
        if self.units != other.units {
            return Some(format!("units ({} vs {})", self.units, other.units));
        }
        if self.shard.count != other.shard.count {
            return Some(format!(
                "shard count ({} vs {})",
                self.shard.count, other.shard.count
            ));
        }
        None
    }
}

/// Where two JSON values first differ: the path of keys (`.a.b`) or indices (`[2]`) down to the
/// innermost difference, and the two values there.
fn first_difference(a: &Value, b: &Value) -> Option<(String, Value, Value)> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let key = x.keys().chain(y.keys()).find(|k| x.get(*k) != y.get(*k))?;
            let (x, y) = (
                x.get(key).cloned().unwrap_or(Value::Null),
                y.get(key).cloned().unwrap_or(Value::Null),
            );
            let (path, x, y) = first_difference(&x, &y).unwrap_or((String::new(), x, y));
            Some((format!(".{key}{path}"), x, y))
        }
        _ => Some((String::new(), a.clone(), b.clone())),
    }
}

/// The records of a shard's finished units, in memory and, for a shard run with a file, on disk.
///
/// Records are kept as the JSON text written to the file, and [`records`](Self::records) parses
/// that text, so a summary computed in one process and one computed from merged files read the
/// same numbers, bit for bit.
#[derive(Debug)]
pub struct Journal {
    header: PartialHeader,
    lines: BTreeMap<usize, String>,
    file: Option<(PathBuf, File)>,
    torn: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn corrupt(path: &Path, line: usize, what: &str) -> Error {
    Error::Format {
        what: "partial report",
        detail: format!("{} line {line}: {what}", path.display()),
    }
}

/// A file's bytes as text, or an error saying it is no partial report.
fn as_text(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        corrupt(
            path,
            1,
            "not a perturb partial report (it is not UTF-8 text)",
        )
    })
}

/// One unit's line: `{"unit":K,"record":…}`.
fn unit_line(unit: usize, record: &str) -> String {
    format!("{{\"unit\":{unit},\"record\":{record}}}\n")
}

/// The unit and record text of a unit line, if it is one.
fn parse_unit_line(line: &str) -> Option<(usize, &str)> {
    let rest = line.strip_prefix("{\"unit\":")?;
    let (unit, rest) = rest.split_once(",\"record\":")?;
    let record = rest.strip_suffix('}')?;
    serde_json::from_str::<serde::de::IgnoredAny>(record).ok()?;
    Some((unit.parse().ok()?, record))
}

/// What a partial report file holds: its header, its unit lines, whether its last line was torn,
/// and the byte length of its whole lines.
struct Parsed {
    header: PartialHeader,
    lines: BTreeMap<usize, String>,
    torn: bool,
    good_len: u64,
}

fn parse_file(path: &Path, text: &str) -> Result<Parsed> {
    let mut offset = 0u64;
    let mut header = None;
    let mut lines = BTreeMap::new();
    let mut torn = false;
    let pieces: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        let complete = piece.ends_with('\n');
        let line = piece.trim_end_matches('\n');
        let parsed_ok = if i == 0 {
            serde_json::from_str::<PartialHeader>(line)
                .ok()
                .filter(|h| h.format == FORMAT)
                .map(|h| header = Some(h))
                .is_some()
        } else {
            match parse_unit_line(line) {
                Some((unit, record)) => {
                    let header = header.as_ref().expect("header parsed first");
                    let range = header.shard.units(header.units);
                    if !range.contains(&unit) {
                        return Err(corrupt(
                            path,
                            i + 1,
                            &format!("unit {unit} is not one of shard {}'s", header.shard),
                        ));
                    }
                    lines.insert(unit, record.to_string());
                    true
                }
                None => false,
            }
        };
        if !(complete && parsed_ok) {
            // A kill mid-write leaves at most the last line short: drop it and go on from there.
            if last && i > 0 {
                torn = true;
                break;
            }
            return Err(corrupt(
                path,
                i + 1,
                if i == 0 {
                    "not a perturb partial report (its first line is not a perturb-partial/1 header)"
                } else {
                    "not a unit record"
                },
            ));
        }
        offset += piece.len() as u64;
    }
    let header = header.ok_or_else(|| corrupt(path, 1, "empty file"))?;
    Ok(Parsed {
        header,
        lines,
        torn,
        good_len: offset,
    })
}

impl Journal {
    /// A journal kept in memory only: an unsharded run without a file.
    pub fn in_memory(header: PartialHeader) -> Self {
        Self {
            header,
            lines: BTreeMap::new(),
            file: None,
            torn: false,
        }
    }

    /// Open the partial report at `path` for `header`'s shard: create it, or resume it when it
    /// holds the same run (a torn last line is cut off). A file of another run is refused, with the
    /// field that differs.
    pub fn open(path: &Path, header: PartialHeader) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(path))?;
        let text = as_text(path, bytes)?;
        if text.is_empty() {
            let line = serde_json::to_string(&header).expect("headers serialise") + "\n";
            file.write_all(line.as_bytes()).map_err(io(path))?;
            file.sync_data().map_err(io(path))?;
            return Ok(Self {
                header,
                lines: BTreeMap::new(),
                file: Some((path.to_path_buf(), file)),
                torn: false,
            });
        }
        let parsed = parse_file(path, &text)?;
        if let Some(field) = parsed.header.differs_from(&header) {
            return Err(Error::Mismatch(format!(
                "{} holds another run: {field} differs; remove it or choose another --out",
                path.display()
            )));
        }
        if parsed.header.shard != header.shard {
            return Err(Error::Mismatch(format!(
                "{} holds shard {}, not {}",
                path.display(),
                parsed.header.shard,
                header.shard
            )));
        }
        if parsed.torn {
            file.set_len(parsed.good_len).map_err(io(path))?;
            file.sync_data().map_err(io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok(Self {
            header,
            lines: parsed.lines,
            file: Some((path.to_path_buf(), file)),
            torn: parsed.torn,
        })
    }

    /// Read a partial report without changing it (a torn last line is left out).
    pub fn read(path: &Path) -> Result<Self> {
        let text = as_text(path, std::fs::read(path).map_err(io(path))?)?;
        let parsed = parse_file(path, &text)?;
        Ok(Self {
            header: parsed.header,
            lines: parsed.lines,
            file: None,
            torn: parsed.torn,
        })
    }

    /// Put merged units together as the whole run's journal.
    pub(super) fn whole(mut header: PartialHeader, lines: BTreeMap<usize, String>) -> Self {
        header.shard = Shard::WHOLE;
        Self {
            header,
            lines,
            file: None,
            torn: false,
        }
    }

    /// The header.
    pub fn header(&self) -> &PartialHeader {
        &self.header
    }

    /// Where the journal is written, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    /// Whether a torn last line (a unit cut short by a kill) was dropped when the file was read.
    pub fn dropped_torn_line(&self) -> bool {
        self.torn
    }

    /// Whether `unit` is finished.
    pub fn has(&self, unit: usize) -> bool {
        self.lines.contains_key(&unit)
    }

    /// Finished units.
    pub fn finished(&self) -> usize {
        self.lines.len()
    }

    /// This shard's units.
    pub fn units(&self) -> std::ops::Range<usize> {
        self.header.shard.units(self.header.units)
    }

    /// This shard's units not finished yet.
    pub fn missing(&self) -> Vec<usize> {
        self.units().filter(|u| !self.has(*u)).collect()
    }

    pub(super) fn into_lines(self) -> BTreeMap<usize, String> {
        self.lines
    }

    /// Record `unit`'s result: appended to the file, flushed and synced before this returns.
    pub fn record<T: Serialize>(&mut self, unit: usize, record: &T) -> Result<()> {
        if !self.units().contains(&unit) {
            return Err(Error::InvalidArgument(format!(
                "unit {unit} is not one of shard {}'s",
                self.header.shard
            )));
        }
        let text = serde_json::to_string(record).map_err(|e| {
            Error::InvalidArgument(format!("a record does not serialise as JSON: {e}"))
        })?;
        if let Some((path, file)) = self.file.as_mut() {
            file.write_all(unit_line(unit, &text).as_bytes())
                .and_then(|_| file.flush())
                .and_then(|_| file.sync_data())
                .map_err(io(path))?;
        }
        self.lines.insert(unit, text);
        Ok(())
    }

    /// Every finished unit's record in unit order, parsed from its JSON text.
    pub fn records<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.lines
            .iter()
            .map(|(unit, text)| {
                serde_json::from_str(text).map_err(|e| Error::Format {
                    what: "partial report",
                    detail: format!("unit {unit} is not a {} record: {e}", self.header.command),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(shard: Shard) -> PartialHeader {
        PartialHeader::new(
            "attack",
            json!({"eps": [0.1], "steps": 10}),
            "m".into(),
            "d".into(),
            8,
            shard,
        )
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("perturb-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn resumes_and_drops_a_torn_line() {
        let path = temp("torn.jsonl");
        let shard = Shard::new(1, 2).unwrap();
        let mut j = Journal::open(&path, header(shard)).unwrap();
        assert_eq!(j.units(), 4..8);
        j.record(4, &json!({"x": 0.1f32})).unwrap();
        j.record(5, &vec![1.5f32, 2.0]).unwrap();
        drop(j);
        // A kill in the middle of unit 6's line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"unit\":6,\"record\":[3.2").unwrap();
        drop(f);
        let mut j = Journal::open(&path, header(shard)).unwrap();
        assert!(j.dropped_torn_line());
        assert_eq!(j.missing(), vec![6, 7]);
        j.record(6, &json!([3])).unwrap();
        j.record(7, &json!([4])).unwrap();
        let read = Journal::read(&path).unwrap();
        assert!(!read.dropped_torn_line());
        assert_eq!(read.missing(), Vec::<usize>::new());
        let records: Vec<Value> = read.records().unwrap();
        assert_eq!(records[3], json!([4]));
        assert_eq!(records[0], json!({"x": 0.1f32}));
    }

    #[test]
    fn refuses_another_run_and_foreign_files() {
        let path = temp("other.jsonl");
        Journal::open(&path, header(Shard::WHOLE)).unwrap();
        let mut other = header(Shard::WHOLE);
        other.settings = json!({"eps": [0.2], "steps": 10});
        let err = Journal::open(&path, other).unwrap_err().to_string();
        assert!(err.contains("settings.eps ([0.1] vs [0.2])"), "{err}");
        let err = Journal::open(&path, header(Shard::new(0, 2).unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shard count"), "{err}");

        let foreign = temp("foreign.jsonl");
        std::fs::write(&foreign, "label,pixels\n1,2\n").unwrap();
        let err = Journal::read(&foreign).unwrap_err().to_string();
        assert!(err.contains("not a perturb partial report"), "{err}");
        // A bad line that is not the last one is corruption, not a kill.
        std::fs::write(
            &foreign,
            serde_json::to_string(&header(Shard::WHOLE)).unwrap()
                + "\nnonsense\n{\"unit\":1,\"record\":[]}\n",
        )
        .unwrap();
        let err = Journal::read(&foreign).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn memory_and_file_give_the_same_numbers() {
        let path = temp("same.jsonl");
        let values = vec![0.1f32, 1.0 / 3.0, 7.123_456e-9, f32::MAX];
        let wide = vec![0.1f64, 1.0 / 3.0, std::f64::consts::PI * 1e-300];
        let mut mem = Journal::in_memory(header(Shard::WHOLE));
        let mut file = Journal::open(&path, header(Shard::WHOLE)).unwrap();
        for j in [&mut mem, &mut file] {
            j.record(0, &values).unwrap();
            j.record(1, &wide).unwrap();
        }
        let read = Journal::read(&path).unwrap();
        let a: Vec<Value> = mem.records().unwrap();
        let b: Vec<Value> = read.records().unwrap();
        assert_eq!(a, b);
        let f: Vec<f32> = serde_json::from_value(a[0].clone()).unwrap();
        assert_eq!(f, values);
    }
}

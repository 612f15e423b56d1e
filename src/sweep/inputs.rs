//! The files a sweep reads, with a hash of each one's bytes, so a journal can tell which
//! input changed between two runs of the "same" sweep.
//!
//! An input is any string value of the scenario (its `--set` and grid overrides applied)
//! that names an existing file once resolved against the scenario's folder, as the
//! scenario resolves its paths; a `.toml` input (the topology) is searched the same way
//! against its own folder, the point's `topology.*` overrides applied to the topology.
//! This finds trace files, empirical sources, the topology, node lists, and weather or
//! price series under whichever key names them, keys added later included, without a
//! list to keep up to date. A string that merely happens to name a file is hashed too:
//! harmless, it can only make a resume stricter.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::overrides::{self, Override, Target};
use super::SweepError;

/// One input file and the hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as resolved from the scenario (absolute when the scenario's is).
    pub path: String,
    /// 64-bit FNV-1a of the file's bytes (hex).
    pub fnv: String,
}

/// The inputs of every point: `points` yields each point's overrides (`--set` first).
/// Sorted by path; each file hashed once.
pub fn of_points(
    scenario_text: &str,
    scenario_path: &Path,
    points: impl Iterator<Item = Vec<Override>>,
) -> Result<Vec<InputFile>, SweepError> {
    let base = scenario_path.parent().unwrap_or(Path::new("."));
    let mut found: BTreeSet<PathBuf> = BTreeSet::new();
    found.insert(scenario_path.to_path_buf());
    let parsed: toml::Table = toml::from_str(scenario_text).map_err(|e| invalid(scenario_path, &e))?;
    for point in points {
        let mut table = parsed.clone();
        if point.iter().any(|o| o.target() == Target::Scenario) {
            overrides::apply_all(&mut table, &point, Target::Scenario)
                .map_err(|e| SweepError::Invalid(e.to_string()))?;
        }
        let topology = table
            .get("topology")
            .and_then(|t| t.get("path"))
            .and_then(toml::Value::as_str)
            .map(|p| base.join(p));
        let mut files = Vec::new();
        strings(&toml::Value::Table(table), base, &mut files);
        for file in files {
            if !found.insert(file.clone()) {
                continue;
            }
            if file.extension().is_some_and(|e| e == "toml") {
                let mut nested = Vec::new();
                let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
                let mut t: toml::Table = toml::from_str(&text).map_err(|e| invalid(&file, &e))?;
                if topology.as_deref() == Some(file.as_path())
                    && point.iter().any(|o| o.target() == Target::Topology)
                {
                    overrides::apply_all(&mut t, &point, Target::Topology)
                        .map_err(|e| SweepError::Invalid(e.to_string()))?;
                }
                strings(
                    &toml::Value::Table(t),
                    file.parent().unwrap_or(Path::new(".")),
                    &mut nested,
                );
                found.extend(nested);
            }
        }
    }
    found
        .into_iter()
        .map(|path| {
            Ok(InputFile {
                fnv: hash_file(&path)?,
                path: path.display().to_string(),
            })
        })
        .collect()
}

/// Every string in `v` (arrays and tables searched) that names an existing file under
/// `base`, resolved.
fn strings(v: &toml::Value, base: &Path, out: &mut Vec<PathBuf>) {
    match v {
        toml::Value::String(s) if !s.is_empty() => {
            let p = base.join(s);
            if p.is_file() {
                out.push(p);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|x| strings(x, base, out)),
        toml::Value::Table(t) => t.values().for_each(|x| strings(x, base, out)),
        _ => {}
    }
}

/// 64-bit FNV-1a of a file's bytes, read in 64 KiB blocks.
fn hash_file(path: &Path) -> Result<String, SweepError> {
    let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut h = fnv::FnvHasher::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// The first difference between the inputs a journal was started with (`was`) and
/// those of now, in words naming the file; None when they are equal.
pub fn first_change(was: &[InputFile], now: &[InputFile]) -> Option<String> {
    let old: BTreeMap<&str, &str> = was.iter().map(|f| (f.path.as_str(), f.fnv.as_str())).collect();
    let new: BTreeMap<&str, &str> = now.iter().map(|f| (f.path.as_str(), f.fnv.as_str())).collect();
    for (path, h) in &new {
        match old.get(path) {
            Some(o) if o == h => {}
            Some(o) => return Some(format!("input file {path} changed (content hash {o}, now {h})")),
            None => return Some(format!("input file {path} is new to this sweep")),
        }
    }
    old.keys()
        .find(|p| !new.contains_key(*p))
        .map(|p| format!("input file {p} is no longer read"))
}

fn io(path: &Path, source: std::io::Error) -> SweepError {
    SweepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, e: &toml::de::Error) -> SweepError {
    SweepError::Invalid(format!("{}: not valid TOML ({})", path.display(), e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, fnv: &str) -> InputFile {
        InputFile {
            path: path.into(),
            fnv: fnv.into(),
        }
    }

    #[test]
    fn first_change_names_the_file() {
        let a = [file("s.toml", "1"), file("t.csv", "2")];
        assert_eq!(first_change(&a, &a), None);
        let b = [file("s.toml", "1"), file("t.csv", "3")];
        assert_eq!(
            first_change(&a, &b).as_deref(),
            Some("input file t.csv changed (content hash 2, now 3)")
        );
        assert_eq!(
            first_change(&a[..1], &a).as_deref(),
            Some("input file t.csv is new to this sweep")
        );
        assert_eq!(
            first_change(&a, &a[..1]).as_deref(),
            Some("input file t.csv is no longer read")
        );
    }

    /// FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector).
    #[test]
    fn hash_is_fnv1a_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "a").unwrap();
        assert_eq!(hash_file(&p).unwrap(), "af63dc4c8601ec8c");
    }
}

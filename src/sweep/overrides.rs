//! `--set KEY=VALUE`: one value written over a scenario or topology key, addressed by its
//! dotted path, before the file is deserialised (so the file's own validation and error
//! messages apply to the result).
//!
//! # Paths
//!
//! `a.b.c` walks tables by key. Where a segment meets an array of tables (a topology's
//! `[[nodes]]`), the next segment picks an element: by its `name` key
//! (`topology.nodes.dgx-h100.count`) or by a 0-based index (`topology.nodes.0.count`).
//! Missing tables on the way are created, so `workload.transform.load_scale = 3` works on
//! a scenario without a `[workload.transform]` table; whether the key is allowed there is
//! then decided by the file's own schema, whose error lists the valid keys.
//!
//! A path starting `topology.` other than `topology.path` addresses the topology file the
//! scenario points to (`topology.power.feed_kw`); every other path addresses the scenario.
//!
//! # Values
//!
//! The value is read as a TOML literal (`3`, `2.5`, `true`, `"easy"`, `[1, 2]`,
//! `{ a = 1 }`); text that is not a TOML literal is taken as a string, so
//! `scheduler.queue=easy` needs no quotes.

use std::fmt;

use toml::{Table, Value};

/// Why an override could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--set {set}: {message}")]
pub struct OverrideError {
    /// The override as written (`KEY=VALUE`).
    pub set: String,
    /// What was wrong, and what would be valid.
    pub message: String,
}

/// Which file an override addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The scenario file.
    Scenario,
    /// The topology file the scenario points to.
    Topology,
}

/// One `KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The dotted path as written, e.g. `topology.nodes.h100.count`.
    pub key: String,
    /// The value.
    pub value: Value,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, literal(&self.value))
    }
}

/// A value written as a TOML literal (strings quoted), e.g. for `sweep.csv` and
/// command lines.
pub fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let mut t = Table::new();
            t.insert("v".into(), Value::String(s.clone()));
            toml::to_string(&t)
                .ok()
                .and_then(|x| x.trim().strip_prefix("v = ").map(str::to_string))
                .unwrap_or_else(|| format!("{s:?}"))
        }
        Value::Float(x) if x.fract() == 0.0 && x.is_finite() => format!("{x:.1}"),
        Value::Float(x) => format!("{x}"),
        other => other.to_string(),
    }
}

/// Reads a value as a TOML literal, falling back to a plain string.
pub fn parse_value(text: &str) -> Value {
    let text = text.trim();
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<Override, OverrideError> {
        let err = |message: &str| OverrideError {
            set: text.to_string(),
            message: message.to_string(),
        };
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE, e.g. workload.transform.load_scale=3"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(err("the key must be a dotted path such as scheduler.queue"));
        }
        Ok(Override {
            key: key.to_string(),
            value: parse_value(value),
        })
    }

    /// Which file the key addresses (see the module docs).
    pub fn target(&self) -> Target {
        match self.key.strip_prefix("topology.") {
            Some(rest) if rest != "path" => Target::Topology,
            _ => Target::Scenario,
        }
    }

    /// The path within its file (`topology.` removed for topology keys).
    pub fn file_key(&self) -> &str {
        match self.target() {
            Target::Topology => &self.key["topology.".len()..],
            Target::Scenario => &self.key,
        }
    }

    fn error(&self, message: String) -> OverrideError {
        OverrideError {
            set: self.to_string(),
            message,
        }
    }

    /// Writes the value into `root` at this override's path within its file.
    pub fn apply(&self, root: &mut Table) -> Result<(), OverrideError> {
        let segments: Vec<&str> = self.file_key().split('.').collect();
        let (last, walk) = segments.split_last().expect("parse rejects empty keys");
        let mut table = root;
        let mut here = String::new();
        let mut i = 0;
        while i < walk.len() {
            let seg = walk[i];
            let at = if here.is_empty() {
                seg.to_string()
            } else {
                format!("{here}.{seg}")
            };
            let slot = table
                .entry(seg.to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            table = match slot {
                Value::Table(t) => {
                    here = at;
                    t
                }
                Value::Array(items) => {
                    // An array of tables: the next segment picks an element.
                    let Some(&pick) = walk.get(i + 1) else {
                        return Err(self.error(format!(
                            "`{at}` is a list of tables; address a key of one element, \
                             e.g. `{at}.<name or index>.<key>`"
                        )));
                    };
                    let names: Vec<String> = items
                        .iter()
                        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect();
                    let by_name = || {
                        (names.len() == items.len())
                            .then(|| names.iter().position(|n| n == pick))
                            .flatten()
                    };
                    let index = pick
                        .parse::<usize>()
                        .ok()
                        .filter(|&k| k < items.len())
                        .or_else(by_name);
                    let Some(k) = index else {
                        return Err(self.error(format!(
                            "`{at}` has no element `{pick}`; its elements are: {} (or an index 0..{})",
                            if names.is_empty() {
                                "-".to_string()
                            } else {
                                names.join(", ")
                            },
                            items.len()
                        )));
                    };
                    here = format!("{at}.{pick}");
                    i += 1;
                    match &mut items[k] {
                        Value::Table(t) => t,
                        _ => return Err(self.error(format!("`{here}` is not a table"))),
                    }
                }
                other => {
                    return Err(self.error(format!(
                        "`{at}` holds a value ({}), not a table, so it has no key `{}`",
                        other.type_str(),
                        walk.get(i + 1).unwrap_or(last)
                    )))
                }
            };
            i += 1;
        }
        table.insert(last.to_string(), self.value.clone());
        Ok(())
    }
}

/// Applies every override aimed at `target` to `root`, in order.
pub fn apply_all(root: &mut Table, overrides: &[Override], target: Target) -> Result<(), OverrideError> {
    overrides
        .iter()
        .filter(|o| o.target() == target)
        .try_for_each(|o| o.apply(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn values_are_toml_literals_or_strings() {
        assert_eq!(parse_value("3"), Value::Integer(3));
        assert_eq!(parse_value("2.5"), Value::Float(2.5));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(parse_value("easy"), Value::String("easy".into()));
        assert_eq!(parse_value("\"easy\""), Value::String("easy".into()));
        assert_eq!(Override::parse("a.b=3").unwrap().to_string(), "a.b=3");
        assert_eq!(Override::parse("q=easy").unwrap().to_string(), "q=\"easy\"");
        assert!(Override::parse("novalue").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn paths_walk_tables_and_named_array_elements() {
        let mut t = table("[[nodes]]\nname = \"h100\"\ncount = 4\n[[nodes]]\nname = \"a100\"\ncount = 2\n");
        Override::parse("topology.nodes.a100.count=9")
            .unwrap()
            .apply(&mut t)
            .unwrap();
        Override::parse("topology.nodes.0.count=7")
            .unwrap()
            .apply(&mut t)
            .unwrap();
        Override::parse("topology.power.feed_kw=2000")
            .unwrap()
            .apply(&mut t)
            .unwrap();
        let nodes = t["nodes"].as_array().unwrap();
        assert_eq!(nodes[0]["count"].as_integer(), Some(7));
        assert_eq!(nodes[1]["count"].as_integer(), Some(9));
        assert_eq!(t["power"]["feed_kw"].as_integer(), Some(2000));
        let e = Override::parse("topology.nodes.b200.count=1")
            .unwrap()
            .apply(&mut t)
            .unwrap_err();
        assert!(e.message.contains("h100, a100"), "{e}");
        let mut s = table("seed = 1\n");
        let e = Override::parse("seed.x=1").unwrap().apply(&mut s).unwrap_err();
        assert!(e.message.contains("`seed` holds a value (integer)"), "{e}");
    }

    #[test]
    fn topology_keys_are_told_apart_from_the_scenario_path() {
        assert_eq!(
            Override::parse("topology.path=x.toml").unwrap().target(),
            Target::Scenario
        );
        let o = Override::parse("topology.layout.nodes_per_rack=2").unwrap();
        assert_eq!(
            (o.target(), o.file_key()),
            (Target::Topology, "layout.nodes_per_rack")
        );
    }
}

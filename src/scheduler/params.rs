//! Policy parameters: a policy's table from the scenario (`[scheduler.params.<name>]`),
//! read with typed getters that name the policy and key in every error, and that
//! reject keys the policy does not know.

use std::collections::BTreeSet;

use rand_chacha::ChaCha12Rng;

use crate::engine::RngStreams;

/// Why a policy could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No registry entry has this name.
    #[error("unknown {kind} policy `{name}`; expected one of: {valid}")]
    Unknown {
        /// `queue` or `placement`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A parameter is missing its type, out of range, or unknown.
    #[error("scheduler.params.{policy}.{key}: {message}")]
    Param {
        /// The policy.
        policy: String,
        /// The parameter.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// Documentation of one parameter, listed by `dcsim policies`.
#[derive(Debug, Clone, Copy)]
pub struct ParamDoc {
    /// Key in `[scheduler.params.<policy>]`.
    pub key: &'static str,
    /// Default value, as written in TOML.
    pub default: &'static str,
    /// Meaning and unit.
    pub about: &'static str,
}

/// The parameters handed to one policy's constructor.
#[derive(Debug)]
pub struct PolicyParams<'a> {
    policy: &'a str,
    table: &'a toml::Table,
    streams: RngStreams,
    read: BTreeSet<&'a str>,
}

impl<'a> PolicyParams<'a> {
    /// Parameters of `policy` from `table`; random streams derive from `seed`.
    pub fn new(policy: &'a str, table: &'a toml::Table, seed: u64) -> Self {
        PolicyParams {
            policy,
            table,
            streams: RngStreams::new(seed),
            read: BTreeSet::new(),
        }
    }

    /// An error about `key`.
    pub fn error(&self, key: &str, message: impl Into<String>) -> PolicyError {
        PolicyError::Param {
            policy: self.policy.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn get(&mut self, key: &'a str) -> Option<&'a toml::Value> {
        self.read.insert(key);
        self.table.get(key)
    }

    /// A number (integers accepted), or `default` when absent.
    pub fn f64(&mut self, key: &'a str, default: f64) -> Result<f64, PolicyError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(*f),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            Some(v) => Err(self.error(key, format!("expected a number, found {v}"))),
        }
    }

    /// A non-negative integer, or `default` when absent.
    pub fn u64(&mut self, key: &'a str, default: u64) -> Result<u64, PolicyError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
            Some(v) => Err(self.error(key, format!("expected an integer ≥ 0, found {v}"))),
        }
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&mut self, key: &'a str, default: bool) -> Result<bool, PolicyError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(self.error(key, format!("expected true or false, found {v}"))),
        }
    }

    /// A string, or `default` when absent.
    pub fn string(&mut self, key: &'a str, default: &str) -> Result<String, PolicyError> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.error(key, format!("expected a string, found {v}"))),
        }
    }

    /// A list of numbers, or `default` when absent.
    pub fn f64_list(&mut self, key: &'a str, default: &[f64]) -> Result<Vec<f64>, PolicyError> {
        match self.get(key) {
            None => Ok(default.to_vec()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    toml::Value::Float(f) if f.is_finite() => Ok(*f),
                    toml::Value::Integer(i) => Ok(*i as f64),
                    other => Err(self.error(key, format!("expected numbers, found {other}"))),
                })
                .collect(),
            Some(v) => Err(self.error(key, format!("expected a list of numbers, found {v}"))),
        }
    }

    /// A table keyed by name (e.g. per-tenant quotas), or empty when absent.
    pub fn table(&mut self, key: &'a str) -> Result<toml::Table, PolicyError> {
        match self.get(key) {
            None => Ok(toml::Table::new()),
            Some(toml::Value::Table(t)) => Ok(t.clone()),
            Some(v) => Err(self.error(key, format!("expected a table, found {v}"))),
        }
    }

    /// The policy's own random stream `name`, seeded from the scenario seed.
    pub fn rng(&self, name: &str) -> ChaCha12Rng {
        self.streams.stream(&format!("policy.{}.{name}", self.policy), 0)
    }

    /// Fails if the table holds a key no getter asked for (a typo).
    pub fn finish(&self, documented: &[ParamDoc]) -> Result<(), PolicyError> {
        match self.table.keys().find(|k| !self.read.contains(k.as_str())) {
            None => Ok(()),
            Some(k) => {
                let valid: Vec<&str> = documented.iter().map(|d| d.key).collect();
                let valid = if valid.is_empty() {
                    "none".to_string()
                } else {
                    valid.join(", ")
                };
                Err(self.error(k, format!("unknown parameter; `{}` takes: {valid}", self.policy)))
            }
        }
    }
}

//! The `[sweep]` table of a scenario and its expansion into a grid of points.
//!
//! ```toml
//! [sweep]
//! replications = 5                  # runs per point, seeds seed + 0..5
//!
//! [[sweep.axis]]                    # first axis: outermost loop
//! key = "workload.transform.load_scale"
//! values = [1, 2, 3]
//!
//! [[sweep.axis]]                    # a range: from, to (inclusive when reached), step
//! key = "topology.nodes.dgx-h100.count"
//! range = { from = 8, to = 64, step = 8 }
//!
//! [[sweep.axis]]                    # zipped: these keys move together
//! zip = [
//!   { key = "scheduler.queue", values = ["fifo", "easy"] },
//!   { key = "scheduler.placement", values = ["best-fit", "pooled"] },
//! ]
//! ```
//!
//! The grid is the product of the axes, the last axis varying fastest; point `p` is
//! decoded from its index in mixed radix, so a grid is never held in memory.

use serde::Deserialize;
use toml::Value;

use super::overrides::{literal, Override};

/// `[sweep]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Runs per point (seeds `seed + 0 .. seed + replications`).
    #[serde(default = "one")]
    pub replications: u32,
    /// The axes, outermost first.
    #[serde(default, rename = "axis")]
    pub axes: Vec<AxisSpec>,
}

fn one() -> u32 {
    1
}

/// One `[[sweep.axis]]`: a key over values or a range, or several keys zipped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    /// The dotted key it varies (as in `--set`).
    pub key: Option<String>,
    /// Its values.
    pub values: Option<Vec<Value>>,
    /// Or a range of values.
    pub range: Option<RangeSpec>,
    /// Or several keys that move together, each with values or a range of equal length.
    #[serde(default)]
    pub zip: Vec<AxisSpec>,
}

/// `range = { from, to, step }`: `from, from + step, …` up to `to` inclusive. Integers when
/// all three are integers, else floats.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    /// First value.
    pub from: Value,
    /// Last value (included when the steps reach it).
    pub to: Value,
    /// Step (> 0); default 1.
    pub step: Option<Value>,
}

/// Why a sweep grid is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct SpecError {
    /// Dotted key in the scenario, e.g. `sweep.axis[1].range`.
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
}

fn spec_err(key: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        key: key.into(),
        message: message.into(),
    }
}

/// Most values one range may expand to (a typo such as `step = 0.0001` fails clearly).
pub const MAX_RANGE_VALUES: u64 = 1_000_000;

impl RangeSpec {
    /// The values, or why there are none.
    pub fn values(&self, at: &str) -> Result<Vec<Value>, SpecError> {
        let step = self.step.clone().unwrap_or(Value::Integer(1));
        if let (Value::Integer(a), Value::Integer(b), Value::Integer(s)) = (&self.from, &self.to, &step) {
            if *s <= 0 {
                return Err(spec_err(at, "`step` must be > 0"));
            }
            if a > b {
                return Err(spec_err(at, format!("empty range: from = {a} is above to = {b}")));
            }
            let n = ((b - a) / s) as u64 + 1;
            if n > MAX_RANGE_VALUES {
                return Err(spec_err(at, format!("{n} values; at most {MAX_RANGE_VALUES}")));
            }
            return Ok((0..n as i64).map(|k| Value::Integer(a + k * s)).collect());
        }
        let num = |v: &Value, name: &str| -> Result<f64, SpecError> {
            match v {
                Value::Integer(i) => Ok(*i as f64),
                Value::Float(x) if x.is_finite() => Ok(*x),
                _ => Err(spec_err(format!("{at}.{name}"), "expected a number")),
            }
        };
        let (a, b, s) = (
            num(&self.from, "from")?,
            num(&self.to, "to")?,
            num(&step, "step")?,
        );
        if s <= 0.0 {
            return Err(spec_err(at, "`step` must be > 0"));
        }
        if a > b {
            return Err(spec_err(at, format!("empty range: from = {a} is above to = {b}")));
        }
        // Tolerate rounding in (b − a)/s so that `to` is included when the steps reach it.
        let n = ((b - a) / s * (1.0 + 1e-12) + 1e-9).floor() as u64 + 1;
        if n > MAX_RANGE_VALUES {
            return Err(spec_err(at, format!("{n} values; at most {MAX_RANGE_VALUES}")));
        }
        Ok((0..n).map(|k| Value::Float(a + k as f64 * s)).collect())
    }
}

/// An expanded axis: its keys and, per position, one value per key.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Keys, one for a plain axis, several for a zipped one.
    pub keys: Vec<String>,
    /// `values[k][j]`: the value of `keys[j]` at position `k`.
    pub values: Vec<Vec<Value>>,
}

/// The grid of a sweep: axes and replications.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Axes, outermost first (none: a single point).
    pub axes: Vec<Axis>,
    /// Runs per point.
    pub replications: u32,
}

fn one_key(a: &AxisSpec, at: &str) -> Result<(String, Vec<Value>), SpecError> {
    let key = a
        .key
        .clone()
        .ok_or_else(|| spec_err(at, "an axis needs `key` (with `values` or `range`) or `zip`"))?;
    if !a.zip.is_empty() {
        return Err(spec_err(at, "give either `key` or `zip`, not both"));
    }
    Override::parse(&format!("{key}=0")).map_err(|e| spec_err(format!("{at}.key"), e.message))?;
    let values = match (&a.values, &a.range) {
        (Some(v), None) => v.clone(),
        (None, Some(r)) => r.values(&format!("{at}.range"))?,
        _ => {
            return Err(spec_err(
                at,
                format!("axis `{key}` needs exactly one of `values` or `range`"),
            ))
        }
    };
    if values.is_empty() {
        return Err(spec_err(
            format!("{at}.values"),
            format!("axis `{key}` has no values"),
        ));
    }
    Ok((key, values))
}

impl Grid {
    /// Expands a `[sweep]` table (none: one point).
    pub fn from_spec(spec: Option<&SweepSpec>) -> Result<Grid, SpecError> {
        let Some(spec) = spec else {
            return Ok(Grid {
                axes: vec![],
                replications: 1,
            });
        };
        if spec.replications == 0 {
            return Err(spec_err("sweep.replications", "must be at least 1"));
        }
        let mut axes = Vec::new();
        for (i, a) in spec.axes.iter().enumerate() {
            let at = format!("sweep.axis[{i}]");
            let members: Vec<(String, Vec<Value>)> = if a.zip.is_empty() {
                vec![one_key(a, &at)?]
            } else {
                if a.key.is_some() || a.values.is_some() || a.range.is_some() {
                    return Err(spec_err(&at, "a zipped axis holds only `zip`"));
                }
                a.zip
                    .iter()
                    .enumerate()
                    .map(|(j, m)| one_key(m, &format!("{at}.zip[{j}]")))
                    .collect::<Result<_, _>>()?
            };
            let len = members[0].1.len();
            if let Some((k, v)) = members.iter().find(|m| m.1.len() != len) {
                return Err(spec_err(
                    format!("{at}.zip"),
                    format!(
                        "zipped keys need as many values each: `{}` has {len}, `{k}` has {}",
                        members[0].0,
                        v.len()
                    ),
                ));
            }
            let values = (0..len)
                .map(|k| members.iter().map(|m| m.1[k].clone()).collect())
                .collect();
            axes.push(Axis {
                keys: members.into_iter().map(|m| m.0).collect(),
                values,
            });
        }
        let grid = Grid {
            axes,
            replications: spec.replications,
        };
        let keys = grid.keys();
        if let Some((i, k)) = keys.iter().enumerate().find(|(i, k)| keys[..*i].contains(k)) {
            return Err(spec_err(
                format!("sweep.axis (key {i})"),
                format!("`{k}` is swept twice"),
            ));
        }
        grid.points()
            .checked_mul(u64::from(grid.replications))
            .ok_or_else(|| spec_err("sweep", "too many runs"))?;
        Ok(grid)
    }

    /// Every swept key, in column order.
    pub fn keys(&self) -> Vec<String> {
        self.axes.iter().flat_map(|a| a.keys.iter().cloned()).collect()
    }

    /// Points in the grid (product of the axis lengths; 1 with no axes).
    pub fn points(&self) -> u64 {
        self.axes
            .iter()
            .try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64))
            .unwrap_or(u64::MAX)
    }

    /// Runs in the grid: points × replications.
    pub fn runs(&self) -> u64 {
        self.points().saturating_mul(u64::from(self.replications))
    }

    /// The overrides of point `p` (`p < points()`), one per key in [`Grid::keys`] order.
    pub fn point(&self, p: u64) -> Vec<Override> {
        let mut digits = vec![0usize; self.axes.len()];
        let mut rest = p;
        for (d, a) in digits.iter_mut().zip(&self.axes).rev() {
            let len = a.values.len() as u64;
            *d = (rest % len) as usize;
            rest /= len;
        }
        self.axes
            .iter()
            .zip(digits)
            .flat_map(|(a, d)| {
                a.keys.iter().zip(&a.values[d]).map(|(k, v)| Override {
                    key: k.clone(),
                    value: v.clone(),
                })
            })
            .collect()
    }

    /// The values of point `p` as CSV cells (strings unquoted, numbers as literals).
    pub fn cells(&self, p: u64) -> Vec<String> {
        self.point(p)
            .iter()
            .map(|o| match &o.value {
                Value::String(s) => s.clone(),
                v => literal(v),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Result<Grid, SpecError> {
        let spec: SweepSpec = toml::from_str(text).unwrap();
        Grid::from_spec(Some(&spec))
    }

    #[test]
    fn product_with_the_last_axis_fastest_and_zipped_keys_together() {
        let g = grid(
            "replications = 2\n[[axis]]\nkey = \"a\"\nvalues = [1, 2]\n[[axis]]\nzip = [{ key = \"b\", range = { from = 0.5, to = 1.5, step = 0.5 } }, { key = \"c\", values = [\"x\", \"y\", \"z\"] }]\n",
        )
        .unwrap();
        assert_eq!((g.points(), g.runs()), (6, 12));
        assert_eq!(g.keys(), ["a", "b", "c"]);
        let p: Vec<String> = g.point(4).iter().map(|o| o.to_string()).collect();
        assert_eq!(p, ["a=2", "b=1.0", "c=\"y\""]);
        assert_eq!(g.cells(5), ["2", "1.5", "z"]);
    }

    #[test]
    fn bad_grids_are_named() {
        let e = grid("[[axis]]\nkey = \"a\"\nrange = { from = 5, to = 1 }\n").unwrap_err();
        assert_eq!(e.key, "sweep.axis[0].range");
        assert!(e.message.contains("empty range"), "{e}");
        let e = grid("[[axis]]\nkey = \"a\"\nvalues = []\n").unwrap_err();
        assert!(e.message.contains("no values"), "{e}");
        let e = grid("[[axis]]\nzip = [{ key = \"a\", values = [1] }, { key = \"b\", values = [1, 2] }]\n")
            .unwrap_err();
        assert!(e.message.contains("as many values"), "{e}");
        let e =
            grid("[[axis]]\nkey = \"a\"\nvalues = [1]\n[[axis]]\nkey = \"a\"\nvalues = [2]\n").unwrap_err();
        assert!(e.message.contains("swept twice"), "{e}");
        assert!(grid("replications = 0\n").is_err());
        assert_eq!(
            grid("[[axis]]\nkey = \"a\"\nrange = { from = 1, to = 10, step = 3 }\n")
                .unwrap()
                .points(),
            4
        );
    }
}

//! `dcsim plan`: the smallest value of one key that meets every target.
//!
//! The key's candidate values are a range (`from`, `to`, `step`). Assuming more of the
//! key helps (a target met at `v` is met at every value above it), the search probes the
//! top of the range (missed: unreachable, said so — or non-monotone when the bottom meets
//! every target), the bottom (met: the answer), then
//! bisects between the highest value known to fail and the lowest known to meet, so it
//! makes about log2(values) + 2 probes. Each probe runs `replications` runs (seeds
//! `seed + r`, in parallel) and meets a target only when its whole 95% confidence interval
//! does: `mean + ci95 ≤ bound` for `≤`, `mean − ci95 ≥ bound` for `≥` (with one
//! replication the interval is the mean itself).
//!
//! The assumption is checked on what was probed: if the figure of a target that some probe
//! misses moves the wrong way between two probes (a larger value gives a worse figure, by
//! more than the two intervals' half-widths together), the search reports the result as
//! non-monotone instead of an answer.

use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;
use toml::Value;

use crate::compare::Estimate;

use super::figures;
use super::overrides::{literal, Override};
use super::runner::{Caches, Sweep};
use super::spec::RangeSpec;
use super::SweepError;

/// A comparison in a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

/// `figure OP bound`, e.g. `wait_s.p95 <= 3600`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// A `sweep.csv` figure name.
    pub figure: String,
    /// The comparison.
    pub op: Op,
    /// The bound.
    pub bound: f64,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Gt => ">",
        };
        write!(f, "{} {op} {}", self.figure, self.bound)
    }
}

/// Whether any run of a probe left jobs that never finished. Its wait and JCT figures
/// cover only the jobs that ran, so a probe where jobs could never start (e.g. power
/// admission with a feed the idle draw nearly fills) would otherwise meet a wait target
/// with a wait of 0: it meets no target instead.
fn stranded(runs: &[Vec<(String, String)>]) -> bool {
    runs.iter().any(|f| {
        f.iter()
            .any(|(n, v)| n == "unfinished" && v.parse::<u64>().map_or(true, |u| u > 0))
    })
}

/// Statistics a summary keeps of each distribution (`wait_s.p95`).
const STATS: [&str; 6] = ["mean", "p50", "p95", "p99", "max", "count"];
/// Figures of the power summary (`power.peak_facility_kw`).
const POWER: [&str; 5] = [
    "peak_facility_kw",
    "peak_it_kw",
    "it_energy_mwh",
    "facility_energy_mwh",
    "mean_pue",
];

/// The summary's dotted name of a figure also accepted by its `compare.csv` name:
/// `wait_p95_s` is `wait_s.p95`, `bounded_slowdown_mean` is `bounded_slowdown.mean`,
/// `peak_facility_kw` is `power.peak_facility_kw`; other names pass unchanged.
fn canonical(name: &str) -> String {
    if POWER.contains(&name) {
        return format!("power.{name}");
    }
    let (body, unit) = match name.strip_suffix("_s") {
        Some(b) => (b, "_s"),
        None => (name, ""),
    };
    if let Some((base, stat)) = body.rsplit_once('_') {
        if STATS.contains(&stat) && !base.is_empty() {
            return format!("{base}{unit}.{stat}");
        }
    }
    name.to_string()
}

impl Target {
    /// Parses `figure <= bound` (also `<`, `>=`, `>`); a figure may be named as in
    /// `sweep.csv` (`wait_s.p95`) or as in `compare.csv` (`wait_p95_s`).
    pub fn parse(text: &str) -> Result<Target, SweepError> {
        let bad = |why: &str| SweepError::Invalid(format!("--target \"{text}\": {why}"));
        let (at, op, len) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|o| text.find(o).map(|i| (i, *o, o.len())))
            .ok_or_else(|| bad("expected FIGURE <= BOUND (or <, >=, >), e.g. \"wait_s.p95 <= 3600\""))?;
        let figure = canonical(text[..at].trim());
        let bound: f64 = text[at + len..]
            .trim()
            .parse()
            .map_err(|_| bad("the bound is not a number"))?;
        if figure.is_empty() || !bound.is_finite() {
            return Err(bad("expected FIGURE <= BOUND with a finite bound"));
        }
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        Ok(Target { figure, op, bound })
    }

    /// Whether an estimate meets the target with its whole 95% interval.
    pub fn met_by(&self, e: &Estimate) -> bool {
        let Some(mean) = e.mean else { return false };
        let ci = e.ci95.unwrap_or(0.0);
        match self.op {
            Op::Le => mean + ci <= self.bound,
            Op::Lt => mean + ci < self.bound,
            Op::Ge => mean - ci >= self.bound,
            Op::Gt => mean - ci > self.bound,
        }
    }

    /// Whether a smaller figure is better for this target.
    fn lower_is_better(&self) -> bool {
        matches!(self.op, Op::Le | Op::Lt)
    }
}

/// One probed value.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Order in which it was probed, from 1.
    pub order: usize,
    /// The key's value.
    pub value: Value,
    /// One estimate per target, in target order.
    pub estimates: Vec<Estimate>,
    /// Whether every target is met.
    pub meets: bool,
}

/// What the search found.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The smallest value meeting every target.
    Found {
        /// The answer.
        value: Value,
    },
    /// Even the top of the range misses a target.
    Unreachable,
    /// A figure moved the wrong way between two probed values.
    NonMonotone {
        /// Which target, and the two probes that contradict the assumption.
        why: String,
    },
}

/// The search and its probes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The key varied.
    pub key: String,
    /// The targets.
    pub targets: Vec<Target>,
    /// Replications per probe.
    pub replications: u32,
    /// Every probe, by value.
    pub probes: Vec<Probe>,
    /// The result.
    pub outcome: Outcome,
}

/// Searches `key` over `range` for the smallest value meeting every target, with
/// `replications` runs per probe on the current rayon pool.
pub fn search(
    sweep: &Sweep,
    key: &str,
    range: &RangeSpec,
    targets: &[Target],
    replications: u32,
    progress: &(dyn Fn(&Probe) + Sync),
) -> Result<Plan, SweepError> {
    if targets.is_empty() {
        return Err(SweepError::Invalid("give at least one --target".into()));
    }
    if replications == 0 {
        return Err(SweepError::Invalid("--replications must be at least 1".into()));
    }
    let values = range
        .values("--from/--to/--step")
        .map_err(|e| SweepError::Invalid(e.to_string()))?;
    let o = |v: &Value| Override {
        key: key.to_string(),
        value: v.clone(),
    };
    // The key is checked before any run, against the scenario and, for a topology key,
    // the topology; the error names `--vary` (the override it probes with says `--set`).
    let vary = |e: &dyn fmt::Display| SweepError::Invalid(format!("--vary {key}: {e}"));
    Override::parse(&format!("{key}=0")).map_err(|e| vary(&e))?;
    let first = sweep.point_scenario(&[o(&values[0])]).map_err(|e| vary(&e))?;
    if o(&values[0]).target() == super::overrides::Target::Topology {
        first.load_topology().map_err(|e| vary(&e))?;
    }
    let caches = Caches::new();
    let mut probes: Vec<Probe> = Vec::new();
    let mut probe = |k: usize| -> Result<bool, SweepError> {
        let extra = [o(&values[k])];
        let runs: Vec<Vec<(String, String)>> = (0..replications)
            .into_par_iter()
            .map(|r| sweep.run_one(&extra, r, &caches).map(|(_, s)| figures::of(&s)))
            .collect::<Result<_, _>>()?;
        let mut estimates = Vec::new();
        for t in targets {
            let xs: Vec<f64> = runs
                .iter()
                .filter_map(|f| f.iter().find(|(n, _)| *n == t.figure))
                .filter_map(|(_, v)| v.parse().ok())
                .collect();
            if xs.is_empty() {
                let names: Vec<&str> = runs[0].iter().map(|f| f.0.as_str()).collect();
                return Err(SweepError::Invalid(format!(
                    "--target {t}: no figure `{}` in a run's summary; the figures are: {}",
                    t.figure,
                    names.join(", ")
                )));
            }
            estimates.push(Estimate::of(&xs));
        }
        let meets = !stranded(&runs) && targets.iter().zip(&estimates).all(|(t, e)| t.met_by(e));
        let p = Probe {
            order: probes.len() + 1,
            value: values[k].clone(),
            estimates,
            meets,
        };
        progress(&p);
        probes.push(p);
        Ok(meets)
    };
    let (mut lo, mut hi) = (0usize, values.len() - 1);
    let outcome = if !probe(hi)? {
        if hi > 0 && probe(lo)? {
            Outcome::NonMonotone {
                why: format!(
                    "every target is met at {} = {} but not at {}: more of the key makes it worse",
                    key,
                    literal(&values[lo]),
                    literal(&values[hi])
                ),
            }
        } else {
            Outcome::Unreachable
        }
    } else if hi == 0 || probe(lo)? {
        Outcome::Found {
            value: values[lo].clone(),
        }
    } else {
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if probe(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Outcome::Found {
            value: values[hi].clone(),
        }
    };
    let order = |v: &Value| values.iter().position(|x| x == v).unwrap_or(0);
    probes.sort_by_key(|p| order(&p.value));
    let outcome = match (outcome, monotone_violation(&probes, targets)) {
        (Outcome::Found { .. }, Some(why)) => Outcome::NonMonotone { why },
        (o, _) => o,
    };
    Ok(Plan {
        key: key.to_string(),
        targets: targets.to_vec(),
        replications,
        probes,
        outcome,
    })
}

/// The first pair of probes (by value) whose figure moves against a target's direction by
/// more than their two half-widths. A target met at every probe is skipped: it did not
/// decide the answer (a feed limit that holds everywhere may well rise with the racks).
fn monotone_violation(probes: &[Probe], targets: &[Target]) -> Option<String> {
    for (i, t) in targets.iter().enumerate() {
        if probes.iter().all(|p| t.met_by(&p.estimates[i])) {
            continue;
        }
        for (a, b) in probes.iter().zip(probes.iter().skip(1)) {
            let (ea, eb) = (&a.estimates[i], &b.estimates[i]);
            let (Some(ma), Some(mb)) = (ea.mean, eb.mean) else {
                continue;
            };
            let slack = ea.ci95.unwrap_or(0.0) + eb.ci95.unwrap_or(0.0);
            let worse = if t.lower_is_better() { mb - ma } else { ma - mb };
            if worse > slack {
                return Some(format!(
                    "`{}` is {ma} at {} but {mb} at {}: it gets worse as the key grows, so bisection \
                     cannot be trusted here",
                    t.figure,
                    literal(&a.value),
                    literal(&b.value)
                ));
            }
        }
    }
    None
}

/// Writes `plan.csv`: one row per probe, by value: the varied key (its value), `probe`
/// (order probed), `runs`, per target `<figure>_mean`, `<figure>_ci95` and
/// `<figure>_target` (the bound), `meets` (1 or 0) and `answer` (1 on the answer's row),
/// the columns the report reads (docs/reports.md).
pub fn write_csv(plan: &Plan, path: &Path) -> std::io::Result<()> {
    let mut text = Vec::new();
    write_table(plan, &mut text)?;
    let tmp = path.with_extension("csv.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Writes `plan.parquet`: `plan.csv`'s columns and values as Parquet
/// ([`crate::columnar`]).
pub fn write_parquet(plan: &Plan, path: &Path) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    crate::columnar::write_parquet(&|w: &mut dyn std::io::Write| write_table(plan, w), &mut bytes)?;
    let tmp = path.with_extension("parquet.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// `plan.csv`'s bytes (see [`write_csv`]).
fn write_table(plan: &Plan, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut text = format!("{},probe,runs", plan.key);
    for t in &plan.targets {
        let _ = write!(text, ",{0}_mean,{0}_ci95,{0}_target", t.figure);
    }
    text.push_str(",meets,answer\n");
    let answer = match &plan.outcome {
        Outcome::Found { value } => Some(value),
        _ => None,
    };
    for p in &plan.probes {
        let _ = write!(text, "{},{},{}", literal(&p.value), p.order, plan.replications);
        for (t, e) in plan.targets.iter().zip(&p.estimates) {
            for x in [e.mean, e.ci95] {
                text.push(',');
                if let Some(x) = x {
                    let _ = write!(text, "{x}");
                }
            }
            let _ = write!(text, ",{}", t.bound);
        }
        let _ = writeln!(
            text,
            ",{},{}",
            u8::from(p.meets),
            u8::from(answer == Some(&p.value))
        );
    }
    w.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(value: i64, mean: f64) -> Probe {
        Probe {
            order: 0,
            value: Value::Integer(value),
            estimates: vec![Estimate::of(&[mean])],
            meets: false,
        }
    }

    #[test]
    fn compare_csv_names_are_the_summarys_figures() {
        let fig = |t: &str| Target::parse(t).unwrap().figure;
        assert_eq!(fig("wait_p95_s <= 3600"), "wait_s.p95");
        assert_eq!(fig("jct_mean_s < 1"), "jct_s.mean");
        assert_eq!(fig("not_running_p99_s <= 1"), "not_running_s.p99");
        assert_eq!(fig("bounded_slowdown_mean <= 2"), "bounded_slowdown.mean");
        assert_eq!(fig("peak_facility_kw <= 2000"), "power.peak_facility_kw");
        assert_eq!(fig("wait_s.p95 <= 3600"), "wait_s.p95");
        assert_eq!(fig("makespan_s <= 1"), "makespan_s");
        assert_eq!(fig("gpu_utilization_window >= 0.5"), "gpu_utilization_window");
    }

    /// `plan-philly-h100` at ×3 demand on 892 DGX H100 nodes: their idle draw (1,998 kW)
    /// fills the 2 MW feed, no job ever starts, and the summary's wait figures (over the
    /// jobs that ran) read 0. Before this check the probe met `wait_s.p95 <= 3600`.
    #[test]
    fn a_probe_whose_jobs_never_finished_meets_no_target() {
        let run = |unfinished: &str| {
            vec![
                ("wait_s.p95".to_string(), "0".to_string()),
                ("unfinished".to_string(), unfinished.to_string()),
            ]
        };
        assert!(stranded(&[run("0"), run("82247")]));
        assert!(!stranded(&[run("0"), run("0")]));
    }

    #[test]
    fn a_figure_moving_against_the_target_is_caught() {
        let wait = [Target::parse("wait <= 10").unwrap()];
        // Better from 1 to 2, worse again at 3: the bisection's premise fails.
        let probes = [probe(1, 20.0), probe(2, 5.0), probe(3, 15.0)];
        let why = monotone_violation(&probes, &wait).expect("caught");
        assert!(why.contains("5 at 2 but 15 at 3"), "{why}");
        assert!(monotone_violation(&[probe(1, 20.0), probe(2, 5.0), probe(3, 4.0)], &wait).is_none());
        // A limit met everywhere may rise with the key without making the answer wrong.
        let feed = [Target::parse("peak_kw <= 2000").unwrap()];
        assert!(monotone_violation(&[probe(1, 50.0), probe(2, 900.0)], &feed).is_none());
    }
}

//! Failure arrivals: drawn per cause from its lifetime distribution, or replayed from a
//! recorded log. Each cause draws from its own named random stream
//! (`reliability/<cause>`), so adding a cause never shifts another's failures.
//!
//! An exponential cause over n components is one Poisson process of rate n·λ, the failing
//! component drawn uniformly (superposition), so its cost is one draw per failure
//! whatever the cluster size. A Weibull cause keeps each component's next failure in a
//! heap and renews a component's lifetime at its failure (repair time not counted).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp, Weibull};

use super::component::{Component, ComponentKind};
use super::config::{Cause, Lifetime, ReliabilityError};
use crate::engine::{RngStreams, SimTime};
use crate::topology::Cluster;

/// Milliseconds in a day.
const MS_PER_DAY: f64 = 86_400_000.0;

/// One failure: when, which cause (index into the causes) and which component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// When it happens.
    pub at: SimTime,
    /// Index of its cause.
    pub cause: usize,
    /// The component that fails.
    pub component: Component,
}

/// The next failures of one cause.
#[derive(Debug)]
enum Source {
    /// Superposed Poisson process: the next time and the component count.
    Exponential { next: f64, count: u64, gap: Exp<f64> },
    /// Per-component Weibull renewal: next failure (ms) of each component.
    Weibull {
        heap: BinaryHeap<Reverse<(u64, u64)>>,
        life: Weibull<f64>,
    },
    /// No component of this kind in the cluster.
    Empty,
}

/// Draws failures of every cause in time order.
#[derive(Debug)]
pub struct FailureProcess {
    sources: Vec<(Source, ChaCha12Rng, ComponentKind)>,
}

impl FailureProcess {
    /// The failure process of `causes` on `cluster`, seeded from `streams`.
    pub fn new(causes: &[Cause], cluster: &Cluster, streams: &RngStreams) -> FailureProcess {
        let sources = causes
            .iter()
            .map(|c| {
                let mut rng = streams.stream(&format!("reliability/{}", c.name), 0);
                let count = c.component.count(cluster);
                let rate_ms = c.per_component_day / MS_PER_DAY;
                let source = if count == 0 {
                    Source::Empty
                } else {
                    match c.lifetime {
                        Lifetime::Exponential => {
                            let gap = Exp::new(rate_ms * count as f64).expect("rate validated > 0");
                            Source::Exponential {
                                next: gap.sample(&mut rng),
                                count,
                                gap,
                            }
                        }
                        Lifetime::Weibull => {
                            // Mean lifetime 1/λ = scale·Γ(1 + 1/k).
                            let scale = 1.0 / rate_ms / libm::tgamma(1.0 + 1.0 / c.shape);
                            let life = Weibull::new(scale, c.shape).expect("shape validated > 0");
                            let heap = (0..count)
                                .map(|i| Reverse((to_ms(life.sample(&mut rng)), i)))
                                .collect();
                            Source::Weibull { heap, life }
                        }
                    }
                };
                (source, rng, c.component)
            })
            .collect();
        FailureProcess { sources }
    }

    fn peek(&self, i: usize) -> Option<u64> {
        match &self.sources[i].0 {
            Source::Exponential { next, .. } => Some(to_ms(*next)),
            Source::Weibull { heap, .. } => heap.peek().map(|r| r.0 .0),
            Source::Empty => None,
        }
    }

    /// The next failure of any cause (ties: lower cause index first), advancing it.
    pub fn next_failure(&mut self) -> Option<Failure> {
        let (cause, at) = (0..self.sources.len())
            .filter_map(|i| self.peek(i).map(|t| (i, t)))
            .min_by_key(|&(i, t)| (t, i))?;
        let (source, rng, kind) = &mut self.sources[cause];
        let index = match source {
            Source::Exponential { next, count, gap } => {
                let index = rng.gen_range(0..*count);
                *next += gap.sample(rng);
                index
            }
            Source::Weibull { heap, life } => {
                let Reverse((t, index)) = heap.pop().expect("peeked");
                heap.push(Reverse((t.saturating_add(to_ms(life.sample(rng))), index)));
                index
            }
            Source::Empty => unreachable!("an empty source has no next failure"),
        };
        Some(Failure {
            at: SimTime(at),
            cause,
            component: Component { kind: *kind, index },
        })
    }
}

fn to_ms(x: f64) -> u64 {
    x.round().min(SimTime::MAX_HORIZON.as_ms() as f64) as u64
}

/// One row of a failure log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedFailure {
    /// When it happened.
    pub at: SimTime,
    /// The component.
    pub component: Component,
    /// The cause written in the log (the component's name when absent).
    pub cause: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogRow {
    time_s: f64,
    component: String,
    index: Option<u64>,
    cause: Option<String>,
}

/// Reads a failure log: CSV with header `time_s,component[,index][,cause]`. A row
/// without `index` hits a component drawn uniformly (stream `reliability/log`). Unknown
/// components, indexes beyond the cluster and times out of order are errors naming the
/// file and line.
pub fn read_log(
    path: &Path,
    cluster: &Cluster,
    streams: &RngStreams,
) -> Result<Vec<LoggedFailure>, ReliabilityError> {
    let file = path.display().to_string();
    let mut reader = csv::Reader::from_path(path).map_err(|e| ReliabilityError {
        key: file.clone(),
        message: e.to_string(),
    })?;
    let mut rng = streams.stream("reliability/log", 0);
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<LogRow>().enumerate() {
        let line = i + 2;
        let at_line = |message: String| ReliabilityError {
            key: format!("{file}:{line}"),
            message,
        };
        let row = row.map_err(|e| at_line(e.to_string()))?;
        let kind = ComponentKind::parse(&row.component).ok_or_else(|| {
            let valid: Vec<&str> = ComponentKind::ALL.iter().map(|k| k.name()).collect();
            at_line(format!(
                "unknown component `{}`; expected one of: {}",
                row.component,
                valid.join(", ")
            ))
        })?;
        let at = SimTime::try_from_secs_f64(row.time_s).map_err(|e| at_line(format!("time_s: {e}")))?;
        if out.last().is_some_and(|l: &LoggedFailure| l.at > at) {
            return Err(at_line(
                "time_s goes back in time; expected rows in time order".into(),
            ));
        }
        let count = kind.count(cluster);
        let index = match row.index {
            Some(ix) if ix < count => ix,
            Some(ix) => {
                return Err(at_line(format!(
                    "index {ix}: the cluster has {count} components of kind {}",
                    kind.name()
                )))
            }
            None if count == 0 => {
                return Err(at_line(format!(
                    "the cluster has no component of kind {}",
                    kind.name()
                )))
            }
            None => rng.gen_range(0..count),
        };
        out.push(LoggedFailure {
            at,
            component: Component { kind, index },
            cause: row.cause.unwrap_or_else(|| kind.name().to_string()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reliability::config::RepairDist;
    use crate::reliability::Preset;

    fn cluster(nodes: u32) -> Cluster {
        let text = format!(
            "name = \"t\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 4\nracks_per_row = 8\nrows_per_hall = 40\n\
             [[nodes]]\nname = \"n\"\ngpu = \"H100-SXM5\"\ngpus = 8\ncount = {nodes}\ncpu_cores = 112\nmemory_gib = 2048\n"
        );
        crate::topology::parse(&text, Path::new("t.toml")).unwrap()
    }

    fn cause(name: &str, kind: ComponentKind, rate: f64, lifetime: Lifetime, shape: f64) -> Cause {
        Cause {
            name: name.into(),
            component: kind,
            per_component_day: rate,
            lifetime,
            shape,
            repair_h: 1.0,
            repair: RepairDist::Exponential,
        }
    }

    fn count_until(p: &mut FailureProcess, days: f64, per_cause: &mut [u64]) -> u64 {
        let end = (days * MS_PER_DAY) as u64;
        let mut n = 0;
        let mut last = 0;
        while let Some(f) = p.next_failure() {
            if f.at.as_ms() > end {
                break;
            }
            assert!(f.at.as_ms() >= last, "failures come in time order");
            last = f.at.as_ms();
            per_cause[f.cause] += 1;
            n += 1;
        }
        n
    }

    /// An exponential cause gives a Poisson count of mean n·λ·T: 1,250 nodes at
    /// 0.01 per node-day over 100 days → 1,250 failures, σ = √1250 ≈ 35.
    #[test]
    fn exponential_count_matches_rate() {
        let c = cluster(1250);
        let causes = [cause("x", ComponentKind::Node, 0.01, Lifetime::Exponential, 1.0)];
        let mut p = FailureProcess::new(&causes, &c, &RngStreams::new(7));
        let n = count_until(&mut p, 100.0, &mut [0]);
        assert!((n as f64 - 1250.0).abs() < 3.5 * 1250f64.sqrt(), "{n}");
    }

    /// A Weibull renewal process of mean μ has E[N(t)] ≈ t/μ + (CV² − 1)/2 per component
    /// (renewal theory, t ≫ μ), CV² = Γ(1+2/k)/Γ(1+1/k)² − 1. With k = 0.7, λ = 0.1 per
    /// day, 1,250 nodes and 1,000 days: 125,000 + 1,250·(CV² − 1)/2.
    #[test]
    fn weibull_count_matches_renewal_theory() {
        let k = 0.7;
        let c = cluster(1250);
        let causes = [cause("w", ComponentKind::Node, 0.1, Lifetime::Weibull, k)];
        let mut p = FailureProcess::new(&causes, &c, &RngStreams::new(3));
        let n = count_until(&mut p, 1000.0, &mut [0]) as f64;
        let g1 = libm::tgamma(1.0 + 1.0 / k);
        let cv2 = libm::tgamma(1.0 + 2.0 / k) / (g1 * g1) - 1.0;
        let want = 125_000.0 + 1250.0 * (cv2 - 1.0) / 2.0;
        // Variance of a renewal count ≈ t·σ²/μ³ = CV²·t/μ per component.
        let sd = (cv2 * 125_000.0).sqrt();
        assert!((n - want).abs() < 4.0 * sd, "{n} vs {want} ± {sd}");
    }

    /// The Llama 3 mix on its own cluster (2,048 hosts) over 20 × 54 days: counts per
    /// cause against 20 × Table 5, Pearson chi-square with 17 degrees of freedom below
    /// its 0.1% critical value 40.79 (standard χ² table).
    #[test]
    fn llama3_cause_mix_chi_square() {
        let c = cluster(2048);
        let causes: Vec<Cause> = Preset::Llama3
            .causes()
            .into_iter()
            .map(|(name, kind, rate)| cause(&name, kind, rate, Lifetime::Exponential, 1.0))
            .collect();
        let mut p = FailureProcess::new(&causes, &c, &RngStreams::new(11));
        let mut per = vec![0u64; causes.len()];
        count_until(&mut p, 20.0 * 54.0, &mut per);
        let chi2: f64 = per
            .iter()
            .zip(crate::reliability::presets::LLAMA3_TABLE5.iter())
            .map(|(&o, t)| {
                let e = 20.0 * f64::from(t.2);
                (o as f64 - e).powi(2) / e
            })
            .sum();
        assert!(chi2 < 40.79, "chi-square {chi2}, counts {per:?}");
    }

    /// Same seed, same failures; a cause added later leaves the others' failures alone.
    #[test]
    fn seeded_and_independent_per_cause() {
        let c = cluster(64);
        let a = cause("a", ComponentKind::Gpu, 0.05, Lifetime::Exponential, 1.0);
        let b = cause("b", ComponentKind::RackPdu, 0.05, Lifetime::Exponential, 1.0);
        let s = RngStreams::new(5);
        let only_a: Vec<_> = {
            let mut p = FailureProcess::new(std::slice::from_ref(&a), &c, &s);
            std::iter::from_fn(|| p.next_failure()).take(50).collect()
        };
        let mut p = FailureProcess::new(&[a, b], &c, &s);
        let with_b: Vec<_> = std::iter::from_fn(|| p.next_failure())
            .filter(|f| f.cause == 0)
            .take(50)
            .collect();
        assert_eq!(only_a, with_b);
    }

    #[test]
    fn log_rejects_unknown_component_and_bad_index() {
        let c = cluster(4);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "time_s,component\n10,gpu\n20,toaster\n").unwrap();
        let e = read_log(&path, &c, &RngStreams::new(1)).unwrap_err();
        assert!(e.key.ends_with("log.csv:3"), "{e}");
        assert!(e.message.contains("unknown component `toaster`"), "{e}");
        std::fs::write(&path, "time_s,component,index\n10,node,4\n").unwrap();
        let e = read_log(&path, &c, &RngStreams::new(1)).unwrap_err();
        assert!(e.message.contains("4 components of kind node"), "{e}");
        std::fs::write(
            &path,
            "time_s,component,index,cause\n10,leaf-switch,0,cable\n30,gpu,31,\n",
        )
        .unwrap();
        let ok = read_log(&path, &c, &RngStreams::new(1)).unwrap();
        assert_eq!(ok[0].cause, "cable");
        assert_eq!(
            ok[1].component,
            Component {
                kind: ComponentKind::Gpu,
                index: 31
            }
        );
    }
}

//! Straight-line amortization of hardware and the building, and opex, per local month:
//! `(price − residual) / (life_years · 12)` per unit per month, times the share of the
//! month that is both in service and inside the run.

use std::collections::BTreeMap;

use chrono::Datelike;
use rust_decimal::Decimal;

use crate::topology::Cluster;

use super::calendar::{Calendar, Month};
use super::config::{CapexEntry, FacilityCapex, RackCosts};
use super::error::EconError;

/// Something written off straight-line: `units` of `per_unit_month` while in service.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// What it is, for reports.
    pub label: String,
    /// Units (nodes, racks, kW).
    pub units: Decimal,
    /// Write-off per unit per month.
    pub per_unit_month: Decimal,
    /// First instant in service, epoch ms (`None`: before the run).
    pub from_ms: Option<i64>,
    /// End of its life, epoch ms (`None`: after the run).
    pub until_ms: Option<i64>,
}

/// When one node is in service, epoch ms: from `from_ms` (`None`: before the run) until
/// `until_ms` (`None`: after it). A node never in service (a reserve rack nobody
/// ordered) has no span and costs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Service {
    /// First instant in service.
    pub from_ms: Option<i64>,
    /// First instant out of service (retirement).
    pub until_ms: Option<i64>,
}

/// The capital and operating cost lines of a bill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapitalCosts {
    /// Written-off assets.
    pub assets: Vec<Asset>,
    /// Operating costs (rack-months), as assets whose `per_unit_month` is the opex.
    pub opex: Vec<Asset>,
}

fn per_month(key: &str, price: Decimal, residual: Decimal, life_years: u32) -> Result<Decimal, EconError> {
    if life_years == 0 {
        return Err(EconError::invalid(
            format!("{key}.life_years"),
            "must be at least 1",
        ));
    }
    if price < Decimal::ZERO || residual < Decimal::ZERO || residual > price {
        return Err(EconError::invalid(
            key,
            format!("price {price} and residual {residual}: expected 0 ≤ residual ≤ price"),
        ));
    }
    Ok((price - residual) / Decimal::from(life_years * 12))
}

/// The end of a life of `years` from `from_ms` (same local date, `years` later).
fn life_end(cal: &Calendar, from_ms: i64, years: u32) -> i64 {
    let d = cal.local(from_ms).date_naive();
    let end = d.with_year(d.year() + years as i32).unwrap_or(d);
    cal.day_start(end)
}

/// Counts units per distinct service span, in span order (deterministic).
fn by_span(spans: impl Iterator<Item = Service>) -> BTreeMap<Service, u32> {
    let mut out = BTreeMap::new();
    for s in spans {
        *out.entry(s).or_insert(0) += 1;
    }
    out
}

impl CapitalCosts {
    /// Resolves the config against the cluster (node and rack counts), every node in
    /// service for the whole run.
    pub fn new(
        cal: &Calendar,
        capex: &[CapexEntry],
        racks: Option<&RackCosts>,
        facility: Option<&FacilityCapex>,
        cluster: &Cluster,
    ) -> Result<CapitalCosts, EconError> {
        let always = vec![Some(Service::default()); cluster.nodes.len()];
        CapitalCosts::for_fleet(cal, capex, racks, facility, cluster, &always)
    }

    /// Resolves the config against a fleet whose node `n` is in service over
    /// `service[n]` (`None`: never). A capex entry without `nodes` pays for each node of
    /// its model from the node's first day in service (or the entry's `in_service`, for
    /// nodes there from the start) until the end of its life or its retirement; a rack
    /// pays its network, storage and opex while any of its nodes is in service. An entry
    /// with `nodes` counts that many nodes from `in_service`, whatever the fleet.
    pub fn for_fleet(
        cal: &Calendar,
        capex: &[CapexEntry],
        racks: Option<&RackCosts>,
        facility: Option<&FacilityCapex>,
        cluster: &Cluster,
        service: &[Option<Service>],
    ) -> Result<CapitalCosts, EconError> {
        let mut out = CapitalCosts::default();
        for (i, e) in capex.iter().enumerate() {
            let key = format!("capex[{i}]");
            let model = cluster.model_by_name(&e.gpu_model).ok_or_else(|| {
                EconError::invalid(
                    format!("{key}.gpu_model"),
                    format!(
                        "`{}` is not a GPU model of topology `{}` (models: {})",
                        e.gpu_model,
                        cluster.name,
                        cluster
                            .models
                            .iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            let per_unit_month = per_month(&key, e.price_per_node, e.residual_per_node, e.life_years)?;
            let in_service = match &e.in_service {
                Some(s) => Some(cal.parse_date(&format!("{key}.in_service"), s)?),
                None => None,
            };
            let spans = match e.nodes {
                Some(n) => BTreeMap::from([(
                    Service {
                        from_ms: in_service,
                        until_ms: None,
                    },
                    n,
                )]),
                None => by_span(cluster.nodes.iter().enumerate().filter_map(|(k, n)| {
                    let s = service.get(k).copied().flatten()?;
                    (n.model == model).then_some(Service {
                        from_ms: s.from_ms.or(in_service),
                        until_ms: s.until_ms,
                    })
                })),
            };
            for (span, units) in spans {
                let life = span.from_ms.map(|f| life_end(cal, f, e.life_years));
                out.assets.push(Asset {
                    label: format!("nodes {}", e.gpu_model),
                    units: Decimal::from(units),
                    per_unit_month,
                    from_ms: span.from_ms,
                    until_ms: match (life, span.until_ms) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                });
            }
        }
        if let Some(r) = racks {
            let per_rack = per_month("racks", r.network_storage_price, r.residual, r.life_years)?;
            // A rack is in service from its first node's first day to its last node's
            // retirement (`None` wins: before / after the run).
            let mut rack_span: Vec<Option<Service>> = vec![None; cluster.racks.len()];
            for (k, n) in cluster.nodes.iter().enumerate() {
                let Some(s) = service.get(k).copied().flatten() else {
                    continue;
                };
                let r = &mut rack_span[n.rack.0 as usize];
                *r = Some(match *r {
                    None => s,
                    Some(o) => Service {
                        from_ms: o.from_ms.zip(s.from_ms).map(|(a, b)| a.min(b)),
                        until_ms: o.until_ms.zip(s.until_ms).map(|(a, b)| a.max(b)),
                    },
                });
            }
            for (span, units) in by_span(rack_span.into_iter().flatten()) {
                let life = span.from_ms.map(|f| life_end(cal, f, r.life_years));
                let units = Decimal::from(units);
                out.assets.push(Asset {
                    label: "racks network+storage".into(),
                    units,
                    per_unit_month: per_rack,
                    from_ms: span.from_ms,
                    until_ms: match (life, span.until_ms) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                });
                out.opex.push(Asset {
                    label: "racks opex".into(),
                    units,
                    per_unit_month: r.opex_per_month,
                    from_ms: span.from_ms,
                    until_ms: span.until_ms,
                });
            }
        }
        if let Some(f) = facility {
            if f.provisioned_kw < Decimal::ZERO {
                return Err(EconError::invalid("facility.provisioned_kw", "must be ≥ 0"));
            }
            out.assets.push(Asset {
                label: "facility".into(),
                units: f.provisioned_kw,
                per_unit_month: per_month("facility", f.per_kw, Decimal::ZERO, f.life_years)?,
                from_ms: None,
                until_ms: None,
            });
        }
        Ok(out)
    }

    /// Capex and opex of `month`, counting the part of it inside `[run_from, run_to)`.
    pub fn month(&self, month: &Month, run_from: i64, run_to: i64) -> (Decimal, Decimal) {
        let share = |from: i64, to: i64| {
            let a = from.max(month.start_ms).max(run_from);
            let b = to.min(month.end_ms).min(run_to);
            if b <= a {
                Decimal::ZERO
            } else if b - a == month.len_ms() {
                Decimal::ONE
            } else {
                Decimal::from(b - a) / Decimal::from(month.len_ms())
            }
        };
        let sum = |assets: &[Asset]| -> Decimal {
            assets
                .iter()
                .map(|a| {
                    a.units
                        * a.per_unit_month
                        * share(a.from_ms.unwrap_or(i64::MIN), a.until_ms.unwrap_or(i64::MAX))
                })
                .sum()
        };
        (sum(&self.assets), sum(&self.opex))
    }
}

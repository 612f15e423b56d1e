//! Straight-line amortization of hardware and the building, and opex, per local month:
//! `(price − residual) / (life_years · 12)` per unit per month, times the share of the
//! month that is both in service and inside the run.

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

/// The capital and operating cost lines of a bill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapitalCosts {
    /// Written-off assets.
    pub assets: Vec<Asset>,
    /// Opex per month (all racks).
    pub opex_per_month: Decimal,
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

impl CapitalCosts {
    /// Resolves the config against the cluster (node and rack counts).
    pub fn new(
        cal: &Calendar,
        capex: &[CapexEntry],
        racks: Option<&RackCosts>,
        facility: Option<&FacilityCapex>,
        cluster: &Cluster,
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
            let nodes = e
                .nodes
                .unwrap_or_else(|| cluster.nodes.iter().filter(|n| n.model == model).count() as u32);
            let from_ms = match &e.in_service {
                Some(s) => Some(cal.parse_date(&format!("{key}.in_service"), s)?),
                None => None,
            };
            let until_ms = from_ms.map(|f| {
                let d = cal.local(f).date_naive();
                let end = d.with_year(d.year() + e.life_years as i32).unwrap_or(d);
                cal.day_start(end)
            });
            out.assets.push(Asset {
                label: format!("nodes {}", e.gpu_model),
                units: Decimal::from(nodes),
                per_unit_month: per_month(&key, e.price_per_node, e.residual_per_node, e.life_years)?,
                from_ms,
                until_ms,
            });
        }
        if let Some(r) = racks {
            let n = Decimal::from(cluster.racks.len());
            out.assets.push(Asset {
                label: "racks network+storage".into(),
                units: n,
                per_unit_month: per_month("racks", r.network_storage_price, r.residual, r.life_years)?,
                from_ms: None,
                until_ms: None,
            });
            out.opex_per_month = n * r.opex_per_month;
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
        let capex = self
            .assets
            .iter()
            .map(|a| {
                a.units
                    * a.per_unit_month
                    * share(a.from_ms.unwrap_or(i64::MIN), a.until_ms.unwrap_or(i64::MAX))
            })
            .sum();
        (capex, self.opex_per_month * share(i64::MIN, i64::MAX))
    }
}

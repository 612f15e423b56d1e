//! The fleet over time, resolved on a built cluster: which nodes are in service at the
//! start, which enter or leave service on which date, and the reserve racks the capacity
//! rule may order.
//!
//! Groups are the topology's `[[nodes]]` groups, found by their nodes' names
//! (`<group>-<n>`); each group starts its own racks, so a reserve group's racks hold only
//! its nodes. Every node of the cluster exists from the start; the ones not yet in
//! service (a group before its `in_service` date, the reserve) are out of service until
//! their date or delivery, so placement never sees them.

use std::collections::BTreeSet;

use super::calendar::Calendar;
use super::config::{date, BudgetConfig};
use super::rule::Order;
use super::BudgetError;
use crate::economics::capex::Service;
use crate::engine::SimTime;
use crate::topology::{Cluster, NodeId};

/// A dated change of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// When.
    pub at: SimTime,
    /// Index into [`FleetPlan::groups`].
    pub group: usize,
    /// `true`: the group enters service; `false`: it retires (drains).
    pub enters: bool,
}

/// The fleet's plan for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetPlan {
    /// Nodes of each dated group (`[[budget.fleet]]` order).
    pub groups: Vec<Vec<NodeId>>,
    /// GPUs of each dated group.
    pub group_gpus: Vec<u64>,
    /// Dated changes, sorted by time then group (entries at time 0 are left out: those
    /// groups are in service from the start).
    pub changes: Vec<Change>,
    /// Nodes out of service at time 0: dated groups entering later, and the reserve.
    pub out_at_start: Vec<NodeId>,
    /// The reserve's racks, in rack order, each as its nodes (empty without a rule).
    pub reserve: Vec<Vec<NodeId>>,
    /// GPUs per reserve rack.
    pub reserve_gpus: Vec<u64>,
}

/// The nodes of topology group `name` (nodes named `<name>-<n>`).
fn group_nodes(cluster: &Cluster, name: &str) -> Vec<NodeId> {
    cluster
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.name
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(i, _)| NodeId(i as u32))
        .collect()
}

/// The group names of the cluster, for error messages.
fn group_names(cluster: &Cluster) -> String {
    let names: BTreeSet<&str> = cluster
        .nodes
        .iter()
        .filter_map(|n| n.name.rsplit_once('-').map(|(g, _)| g))
        .collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// Resolves `cfg`'s groups and reserve on `cluster` over `cal`. Errors name the key
/// of a group the topology lacks.
pub fn plan(cfg: &BudgetConfig, cal: &Calendar, cluster: &Cluster) -> Result<FleetPlan, BudgetError> {
    let gpus = |nodes: &[NodeId]| {
        nodes
            .iter()
            .map(|n| u64::from(cluster.nodes[n.0 as usize].gpus))
            .sum()
    };
    let find = |key: &str, name: &str| {
        let nodes = group_nodes(cluster, name);
        if nodes.is_empty() {
            Err(BudgetError::invalid(
                key,
                format!(
                    "no `[[nodes]]` group `{name}` in topology {} (groups: {})",
                    cluster.name,
                    group_names(cluster)
                ),
            ))
        } else {
            Ok(nodes)
        }
    };
    let mut plan = FleetPlan {
        groups: Vec::new(),
        group_gpus: Vec::new(),
        changes: Vec::new(),
        out_at_start: Vec::new(),
        reserve: Vec::new(),
        reserve_gpus: Vec::new(),
    };
    for (i, g) in cfg.fleet.iter().enumerate() {
        let key = |k: &str| format!("budget.fleet[{i}].{k}");
        let nodes = find(&key("nodes"), &g.nodes)?;
        let when = |k: &str, s: &Option<String>| -> Result<Option<SimTime>, BudgetError> {
            match s {
                Some(s) => Ok(Some(cal.time_of(date(&key(k), s)?, &key(k))?)),
                None => Ok(None),
            }
        };
        if let Some(at) = when("in_service", &g.in_service)? {
            if at > SimTime::ZERO {
                plan.out_at_start.extend(&nodes);
                plan.changes.push(Change {
                    at,
                    group: i,
                    enters: true,
                });
            }
        }
        if let Some(at) = when("retire", &g.retire)? {
            plan.changes.push(Change {
                at,
                group: i,
                enters: false,
            });
        }
        plan.group_gpus.push(gpus(&nodes));
        plan.groups.push(nodes);
    }
    plan.changes.sort();
    if let Some(rule) = &cfg.rule {
        let nodes = find("budget.rule.from_group", &rule.from_group)?;
        plan.out_at_start.extend(&nodes);
        for n in nodes {
            let rack = cluster.nodes[n.0 as usize].rack;
            match plan.reserve.last_mut() {
                Some(last) if cluster.nodes[last[0].0 as usize].rack == rack => last.push(n),
                _ => plan.reserve.push(vec![n]),
            }
        }
        plan.reserve_gpus = plan.reserve.iter().map(|r| gpus(r)).collect();
    }
    Ok(plan)
}

impl FleetPlan {
    /// GPUs in service at the start.
    pub fn gpus_at_start(&self, cluster: &Cluster) -> u64 {
        cluster.total_gpus()
            - self
                .out_at_start
                .iter()
                .map(|n| u64::from(cluster.nodes[n.0 as usize].gpus))
                .sum::<u64>()
    }
}

impl FleetPlan {
    /// When each of the cluster's `nodes` nodes is in service over the run (epoch ms on
    /// `cal`'s clock), for the bill's capex and opex: dated groups from their
    /// `in_service` to their `retire`, the reserve racks the rule ordered (`orders`, in
    /// order, racks taken in rack order) from delivery, other reserve racks never, and
    /// every other node for the whole run.
    pub fn service(&self, cal: &Calendar, orders: &[Order], nodes: usize) -> Vec<Option<Service>> {
        let mut out = vec![Some(Service::default()); nodes];
        let ms = |t: SimTime| Some(cal.clock.epoch_ms(t));
        for c in &self.changes {
            for n in &self.groups[c.group] {
                if let Some(s) = &mut out[n.0 as usize] {
                    if c.enters {
                        s.from_ms = ms(c.at);
                    } else {
                        s.until_ms = ms(c.at);
                    }
                }
            }
        }
        let mut racks = self.reserve.iter();
        let mut delivered = Vec::new();
        for o in orders {
            let at = cal.bounds.get(o.delivery_month).copied();
            for rack in racks.by_ref().take(o.racks as usize) {
                delivered.push((rack, at));
            }
        }
        for rack in &self.reserve {
            for n in rack {
                out[n.0 as usize] = None;
            }
        }
        for (rack, at) in delivered {
            for n in rack {
                out[n.0 as usize] = at.map(|t| Service {
                    from_ms: ms(t),
                    until_ms: None,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology;

    fn cluster() -> Cluster {
        let text = r#"
            name = "t"
            source = "test"
            [layout]
            nodes_per_rack = 2
            racks_per_row = 4
            rows_per_hall = 4
            [[nodes]]
            name = "old"
            gpu = "H100-SXM5"
            gpus = 8
            count = 2
            [[nodes]]
            name = "new"
            gpu = "H100-SXM5"
            gpus = 8
            count = 2
            [[nodes]]
            name = "reserve"
            gpu = "H100-SXM5"
            gpus = 8
            count = 5
        "#;
        topology::parse_report(text, std::path::Path::new("t.toml"))
            .unwrap()
            .cluster
    }

    fn cfg(text: &str) -> BudgetConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn groups_dates_and_reserve_racks_resolve() {
        let c = cluster();
        let cfg = cfg(r#"
            start = "2026-01-01"
            [[fleet]]
            nodes = "old"
            retire = "2026-07-01"
            [[fleet]]
            nodes = "new"
            in_service = "2026-02-01"
            [rule]
            metric = "utilization"
            above = 0.8
            racks = 1
            from_group = "reserve"
            lead_months = 3
        "#);
        let cal = cfg.calendar(None).unwrap();
        let p = plan(&cfg, &cal, &c).unwrap();
        assert_eq!(p.groups, [vec![NodeId(0), NodeId(1)], vec![NodeId(2), NodeId(3)]]);
        // February 1 is 31 days in; July 1 is 181 days in (2026 is not a leap year).
        let day = |d: u64| SimTime(d * 86_400_000);
        assert_eq!(
            p.changes,
            [
                Change {
                    at: day(31),
                    group: 1,
                    enters: true
                },
                Change {
                    at: day(181),
                    group: 0,
                    enters: false
                },
            ]
        );
        // 5 reserve nodes, 2 per rack: racks of 2, 2 and 1 nodes.
        assert_eq!(p.reserve.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        assert_eq!(p.reserve_gpus, [16, 16, 8]);
        // In service at the start: the 2 old nodes only (16 GPUs of 72).
        assert_eq!(p.gpus_at_start(&c), 16);
    }

    #[test]
    fn an_unknown_group_lists_the_known_ones() {
        let c = cluster();
        let cfg = cfg("start = \"2026-01-01\"\n[[fleet]]\nnodes = \"ne\"");
        let e = plan(&cfg, &cfg.calendar(None).unwrap(), &c).unwrap_err();
        assert_eq!(
            e,
            BudgetError::invalid(
                "budget.fleet[0].nodes",
                "no `[[nodes]]` group `ne` in topology t (groups: new, old, reserve)"
            )
        );
    }
}

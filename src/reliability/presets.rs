//! Published failure mixes, as per-component-day rates.
//!
//! * `llama3`: the Llama 3 report's Table 5 ("The Llama 3 Herd of Models", Meta, 2024):
//!   419 unexpected interruptions of one job on 16,384 H100 GPUs (2,048 eight-GPU hosts)
//!   over a 54-day snapshot, by root cause. Each cause is charged to the component it
//!   names and turned into a rate per component-day: count / (components × 54). The
//!   report does not split "network switch/cable" into switches and cables, so it is
//!   charged per host (its links), which keeps the rate independent of the rack shape.
//! * `kokolis-rsc1` / `kokolis-rsc2`: Kokolis et al., "Revisiting Reliability in
//!   Large-Scale Machine Learning Research Clusters" (HPCA 2025, arXiv 2410.21680):
//!   6.5 and 2.34 failures per 1,000 node-days on Meta's RSC-1 and RSC-2, as one
//!   node-level cause.
//!
//! Repair times are not in either source: the presets use an assumed 24 h mean
//! (exponential), to be overridden per cause.

use serde::Deserialize;

use super::component::ComponentKind;

/// A built-in failure mix (`[reliability] preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Llama 3 report, Table 5 (54 days, 16,384 H100).
    Llama3,
    /// Kokolis et al., RSC-1: 6.5 failures per 1,000 node-days.
    KokolisRsc1,
    /// Kokolis et al., RSC-2: 2.34 failures per 1,000 node-days.
    KokolisRsc2,
}

/// Days of the Llama 3 snapshot.
const LLAMA3_DAYS: f64 = 54.0;
/// GPUs of the Llama 3 snapshot.
const LLAMA3_GPUS: f64 = 16_384.0;
/// Hosts of the Llama 3 snapshot (eight GPUs each).
const LLAMA3_NODES: f64 = 2_048.0;
/// Assumed mean time to repair of the presets, hours (not in the sources).
pub const PRESET_REPAIR_H: f64 = 24.0;

/// Table 5 of the Llama 3 report: (cause, component charged, interruptions in 54 days).
pub const LLAMA3_TABLE5: [(&str, ComponentKind, u32); 18] = [
    ("faulty-gpu", ComponentKind::Gpu, 148),
    ("gpu-hbm3-memory", ComponentKind::Hbm, 72),
    ("software-bug", ComponentKind::Node, 54),
    ("network-switch-cable", ComponentKind::Nic, 35),
    ("host-maintenance", ComponentKind::Node, 32),
    ("gpu-sram-memory", ComponentKind::Gpu, 19),
    ("gpu-system-processor", ComponentKind::Gpu, 17),
    ("nic", ComponentKind::Nic, 7),
    ("nccl-watchdog-timeout", ComponentKind::Node, 7),
    ("silent-data-corruption", ComponentKind::Gpu, 6),
    ("gpu-thermal-interface-sensor", ComponentKind::Gpu, 6),
    ("ssd", ComponentKind::Node, 3),
    ("power-supply", ComponentKind::Node, 3),
    ("server-chassis", ComponentKind::Node, 2),
    ("io-expansion-board", ComponentKind::Node, 2),
    ("dependency", ComponentKind::Node, 2),
    ("cpu", ComponentKind::Node, 2),
    ("system-memory", ComponentKind::Node, 2),
];

impl Preset {
    /// The preset's causes: (name, component, rate per component-day).
    pub fn causes(self) -> Vec<(String, ComponentKind, f64)> {
        match self {
            Preset::Llama3 => LLAMA3_TABLE5
                .iter()
                .map(|&(name, kind, n)| {
                    let per = match kind {
                        ComponentKind::Gpu | ComponentKind::Hbm => LLAMA3_GPUS,
                        _ => LLAMA3_NODES,
                    };
                    (name.to_string(), kind, f64::from(n) / (per * LLAMA3_DAYS))
                })
                .collect(),
            Preset::KokolisRsc1 => vec![("node-failure".into(), ComponentKind::Node, 6.5e-3)],
            Preset::KokolisRsc2 => vec![("node-failure".into(), ComponentKind::Node, 2.34e-3)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table 5 sums to the report's 419 unexpected interruptions, and the rates give
    /// them back on the report's cluster (16,384 GPUs, 2,048 hosts, 54 days).
    #[test]
    fn llama3_table_gives_419_back() {
        let total: u32 = LLAMA3_TABLE5.iter().map(|c| c.2).sum();
        assert_eq!(total, 419);
        let expected: f64 = Preset::Llama3
            .causes()
            .iter()
            .map(|(_, k, r)| r * k.count_for_job(16_384, 2_048, 0) as f64 * 54.0)
            .sum();
        assert!((expected - 419.0).abs() < 1e-9, "{expected}");
    }
}

//! The hardware catalog: GPU models with datasheet figures, each naming its source.
//!
//! Topologies refer to GPUs by catalog name or alias; a topology may also define
//! models the catalog lacks (for example openb's undisclosed `G1`–`G3` types).
//!
//! Conventions for the built-in entries:
//! - `tdp_w` is the vendor's maximum board power (TDP / TGP).
//! - `idle_w` is an **estimate**: 15% of TDP, the midpoint of the 10–20%-of-TDP rule
//!   for data-center GPUs in `shared/reference/README.md`; no measured idle figure
//!   was confirmed against a source for these models, so each entry says so.
//! - `memory_gib` is the datasheet capacity. Vendors quote HBM/GDDR capacities in
//!   binary units (an 80 GB A100 is five 16 GiB stacks), so the datasheet "GB"
//!   figure is taken as GiB; drivers report slightly less as usable.
//! - `fp16_tflops` is the dense (no 2:4 sparsity) FP16/BF16 peak.
//! - `memory_gib`, `fp16_tflops` and `memory_bw_tbs` are read only by the serving model
//!   (an LLM replica's weights must fit, prefill is compute-bound and decode memory-bound;
//!   see [`crate::serving::perf`]); trace-driven jobs ignore them (no job states a
//!   GPU-memory need, and peak FLOP/s does not predict a training job's
//!   speed: Gavel, OSDI 2020, measures a K80 at 0.14 of a V100 on ResNet-50 but at 1.4
//!   on a recommendation model). A `[[gpu_model]]` may leave both out (0 = not known).
//! - `relative_speed` is 1.0 and `speed_by_class` empty for every model: trace
//!   durations are taken as measured on the GPUs the jobs ran on, so no built-in model
//!   speeds a trace up or down. Scenarios that move a trace to other hardware declare
//!   the model it was measured on (`workload.measured_on`) and define speeds in the
//!   topology (see [`crate::speed`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;

/// One GPU model and the figures the models above use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuSpec {
    /// Canonical name, e.g. `H100-SXM5`.
    pub name: String,
    /// Other names traces and node lists use for it (matched case-insensitively).
    pub aliases: Vec<String>,
    /// Maximum board power (TDP), in watts.
    pub tdp_w: f64,
    /// Power when idle, in watts.
    pub idle_w: f64,
    /// Device memory, in GiB (0 = not known). Only the serving model reads it.
    pub memory_gib: f64,
    /// Peak dense FP16/BF16 throughput, in TFLOP/s: the tensor-core rate where the GPU
    /// has tensor cores, else its half-precision vector rate (P100); 0 where the
    /// vendor gives none. Only the serving model reads it (it does not predict a
    /// training job's speed; see `speed_by_class`).
    pub fp16_tflops: f64,
    /// Peak device-memory bandwidth, in TB/s (10^12 bytes/s), from the datasheet (0 = not
    /// known). Read by the serving model ([`crate::serving::perf`]): decoding is
    /// memory-bound.
    pub memory_bw_tbs: f64,
    /// Speed, relative to the other models of a cluster: a job whose trace declares the
    /// GPU model its durations were measured on runs at this speed divided by that
    /// model's (see [`crate::speed`]). 1.0 for every built-in model.
    pub relative_speed: f64,
    /// Speed per workload class, in one unit common to the cluster's models (a
    /// throughput matrix, GPU model × class, as Gavel measures); a class listed here
    /// overrides `relative_speed` for jobs of that class. Empty for built-in models.
    pub speed_by_class: BTreeMap<String, f64>,
    /// Where the figures come from.
    pub source: String,
}

impl GpuSpec {
    /// Whether `name` is this model's name or one of its aliases (case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Share of TDP used as the idle-power estimate: the midpoint of the 10–20% rule
/// quoted in `shared/reference/README.md` (marked "check" there; an estimate here).
pub const IDLE_SHARE_OF_TDP: f64 = 0.15;

/// Builds one built-in entry; `idle_w` follows [`IDLE_SHARE_OF_TDP`] and the source
/// text says it is an estimate.
fn spec(
    name: &str,
    aliases: &[&str],
    tdp_w: f64,
    memory_gib: f64,
    fp16_tflops: f64,
    memory_bw_tbs: f64,
    source: &str,
) -> GpuSpec {
    GpuSpec {
        name: name.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        tdp_w,
        idle_w: (tdp_w * IDLE_SHARE_OF_TDP).round(),
        memory_gib,
        fp16_tflops,
        memory_bw_tbs,
        relative_speed: 1.0,
        speed_by_class: BTreeMap::new(),
        source: format!("{source}; idle_w is an estimate (15% of TDP, 10-20% rule), not a measurement"),
    }
}

/// The built-in entries, built once.
static CATALOG: LazyLock<Vec<GpuSpec>> = LazyLock::new(|| {
    vec![
        spec(
            "P100-SXM2",
            &["P100-SXM2-16GB", "Tesla P100-SXM2"],
            300.0,
            16.0,
            21.2,
            0.732,
            "NVIDIA Tesla P100 datasheet (2016), https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-datasheet.pdf: \
             SXM2 300 W, 16 GB HBM2, 21.2 TFLOPS half precision (no tensor cores); memory bandwidth 732 GB/s (vendor datasheet)",
        ),
        spec(
            "P100-PCIe-16GB",
            // openb's `P100` nodes hold 1-2 GPUs; SXM2 boards come in 4/8-GPU NVLink
            // systems, so the openb code is mapped to the PCIe card (an inference).
            &["P100", "P100-PCIe", "Tesla P100-PCIE-16GB"],
            250.0,
            16.0,
            18.7,
            0.732,
            "NVIDIA Tesla P100 datasheet (2016), https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-PCIe-datasheet.pdf: \
             PCIe 250 W, 16 GB HBM2, 18.7 TFLOPS half precision (no tensor cores); \
             alias P100 (openb) assumes PCIe cards because openb P100 nodes hold 1-2 GPUs; memory bandwidth 732 GB/s (vendor datasheet)",
        ),
        spec(
            "V100-SXM2-16GB",
            &["V100M16", "V100", "Tesla V100-SXM2-16GB"],
            300.0,
            16.0,
            125.0,
            0.9,
            "NVIDIA Tesla V100 datasheet (2017/2018), https://images.nvidia.com/content/technologies/volta/pdf/tesla-volta-v100-datasheet-letter-fnl-web.pdf: \
             SXM2 300 W, 16 GB HBM2, 125 TFLOPS tensor; alias V100 maps to the 16 GB launch configuration; memory bandwidth 900 GB/s (vendor datasheet)",
        ),
        spec(
            "V100-SXM2-32GB",
            &["V100M32", "Tesla V100-SXM2-32GB"],
            300.0,
            32.0,
            125.0,
            0.9,
            "NVIDIA Tesla V100 datasheet (2018), https://images.nvidia.com/content/technologies/volta/pdf/tesla-volta-v100-datasheet-letter-fnl-web.pdf: \
             SXM2 300 W, 32 GB HBM2, 125 TFLOPS tensor; memory bandwidth 900 GB/s (vendor datasheet)",
        ),
        spec(
            "T4",
            &["Tesla T4"],
            70.0,
            16.0,
            65.0,
            0.32,
            "NVIDIA T4 datasheet (2019), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf: \
             70 W, 16 GB GDDR6, 65 TFLOPS FP16 mixed precision; memory bandwidth 320 GB/s (vendor datasheet)",
        ),
        spec(
            "A10",
            &["NVIDIA A10", "A10-24GB"],
            150.0,
            24.0,
            125.0,
            0.6,
            "NVIDIA A10 datasheet (2021), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf: \
             150 W, 24 GB GDDR6, 125 TFLOPS FP16/BF16 tensor dense (250 with sparsity); memory bandwidth 600 GB/s (vendor datasheet)",
        ),
        spec(
            "A100-SXM4-80GB",
            &["A100", "A100-SXM4", "A100-SXM-80GB"],
            400.0,
            80.0,
            312.0,
            2.039,
            "NVIDIA A100 Tensor Core GPU datasheet (2021), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf: \
             SXM4 80 GB 400 W, 80 GB HBM2e, 312 TFLOPS FP16/BF16 tensor dense (624 with sparsity); memory bandwidth 2,039 GB/s (vendor datasheet)",
        ),
        spec(
            "A100-PCIe-80GB",
            &["A100-PCIe", "A100 80GB PCIe"],
            300.0,
            80.0,
            312.0,
            1.935,
            "NVIDIA A100 Tensor Core GPU datasheet (2021), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf: \
             PCIe 80 GB 300 W, 80 GB HBM2e, 312 TFLOPS FP16/BF16 tensor dense; memory bandwidth 1,935 GB/s (vendor datasheet)",
        ),
        spec(
            "A800-SXM4-80GB",
            &["A800", "A800-SXM4"],
            400.0,
            80.0,
            312.0,
            2.039,
            "NVIDIA A800 (2022; the A100 SXM4 80 GB with NVLink cut to 400 GB/s for export), same board power, memory \
             and tensor rate as the A100 SXM4 80 GB datasheet: 400 W, 80 GB HBM2e, 312 TFLOPS FP16/BF16 dense; memory bandwidth 2,039 GB/s (the A100 SXM4 80 GB memory system) (vendor datasheet)",
        ),
        spec(
            "H100-SXM5",
            &["H100", "H100-SXM", "H100-SXM5-80GB", "H100 80GB HBM3"],
            700.0,
            80.0,
            989.0,
            3.35,
            "NVIDIA H100 Tensor Core GPU datasheet (2023), https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet: \
             SXM up to 700 W, 80 GB HBM3, 1,979 TFLOPS FP16/BF16 tensor with sparsity (989 dense); memory bandwidth 3.35 TB/s (vendor datasheet)",
        ),
        spec(
            "H100-PCIe",
            &["H100-PCIe-80GB", "H100 PCIe"],
            350.0,
            80.0,
            756.0,
            2.0,
            "NVIDIA H100 Tensor Core GPU datasheet (2023), https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet: \
             PCIe 300-350 W (350 W used), 80 GB HBM2e, 1,513 TFLOPS FP16/BF16 tensor with sparsity (756 dense); memory bandwidth 2 TB/s (vendor datasheet)",
        ),
        spec(
            "H800-SXM5",
            &["H800", "H800-SXM"],
            700.0,
            80.0,
            989.0,
            3.35,
            "NVIDIA H800 (2023; the H100 SXM5 with NVLink cut to 400 GB/s for export), same board power, memory \
             and tensor rate as the H100 SXM datasheet: 700 W, 80 GB HBM3, 989 TFLOPS FP16/BF16 dense; memory bandwidth 3.35 TB/s (the H100 SXM5 memory system) (vendor datasheet)",
        ),
        spec(
            "H200-SXM",
            &["H200", "H200-SXM-141GB"],
            700.0,
            141.0,
            989.0,
            4.8,
            "NVIDIA H200 Tensor Core GPU datasheet (2024), https://www.nvidia.com/en-us/data-center/h200/: \
             SXM up to 700 W, 141 GB HBM3e, 1,979 TFLOPS FP16/BF16 tensor with sparsity (989 dense); memory bandwidth 4.8 TB/s (vendor datasheet)",
        ),
        spec(
            "B200",
            &["B200-SXM", "B200-SXM-180GB", "HGX B200"],
            1000.0,
            180.0,
            2250.0,
            8.0,
            "NVIDIA HGX B200 datasheet (2024), https://www.nvidia.com/en-us/data-center/hgx/: up to 1,000 W per GPU, \
             36 PFLOPS FP16/BF16 with sparsity per 8 GPUs (2,250 TFLOPS dense per GPU); memory 180 GB HBM3e per GPU \
             as in DGX B200 (1,440 GB over 8 GPUs, NVIDIA DGX B200 User Guide, docs.nvidia.com/dgx/dgxb200-user-guide); \
             some sources quote 192 GB (the 2024 announcement); the shipping DGX B200 figure is used; memory bandwidth 8 TB/s (vendor datasheet)",
        ),
        spec(
            "MI300X",
            &["Instinct MI300X", "AMD Instinct MI300X"],
            750.0,
            192.0,
            1307.4,
            5.3,
            "AMD Instinct MI300X data sheet (2023), https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/data-sheets/amd-instinct-mi300x-data-sheet.pdf: \
             750 W, 192 GB HBM3, 1,307.4 TFLOPS FP16/BF16 dense (2,614.9 with sparsity); memory bandwidth 5.3 TB/s (vendor datasheet)",
        ),
    ]
});

/// The built-in catalog (built once, on first use).
pub fn catalog() -> &'static [GpuSpec] {
    &CATALOG
}

/// Looks a model up in the built-in catalog by name or alias.
pub fn lookup(name: &str) -> Option<GpuSpec> {
    catalog().iter().find(|g| g.matches(name)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Models the brief requires, by the names traces use.
    const REQUIRED: &[&str] = &[
        "A100-SXM4-80GB",
        "A100-PCIe",
        "H100-SXM5",
        "H100-PCIe",
        "H200-SXM",
        "B200",
        "MI300X",
        "V100-SXM2-16GB",
        "V100-SXM2-32GB",
        "T4",
        "P100-SXM2",
        "P100-PCIe-16GB",
        "A10",
        // openb codes
        "V100M16",
        "V100M32",
        "P100",
        // spot-gpu names
        "A800-SXM4-80GB",
        "H800",
        // short names
        "H100",
        "H200",
        "V100",
        "A100",
    ];

    #[test]
    fn has_every_required_model() {
        for name in REQUIRED {
            assert!(lookup(name).is_some(), "{name} missing from the catalog");
        }
        assert_eq!(lookup("V100M16").map(|g| g.name), Some("V100-SXM2-16GB".into()));
        assert_eq!(lookup("v100m32").map(|g| g.name), Some("V100-SXM2-32GB".into()));
        assert_eq!(lookup("A100").map(|g| g.name), Some("A100-SXM4-80GB".into()));
        assert_eq!(lookup("H100").map(|g| g.name), Some("H100-SXM5".into()));
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for g in catalog() {
            for n in std::iter::once(&g.name).chain(&g.aliases) {
                assert!(seen.insert(n.to_ascii_lowercase()), "duplicate name or alias {n}");
            }
        }
    }

    #[test]
    fn figures_are_sane() {
        for g in catalog() {
            assert!(
                g.idle_w > 0.0 && g.idle_w < g.tdp_w,
                "{}: idle must be below TDP",
                g.name
            );
            assert!(g.memory_gib > 0.0, "{}", g.name);
            assert!(g.fp16_tflops > 0.0, "{}", g.name);
            assert!(g.memory_bw_tbs > 0.0, "{}", g.name);
            assert_eq!(g.relative_speed, 1.0, "{}", g.name);
            assert!(
                g.source.contains("20") && g.source.contains("estimate"),
                "{}",
                g.name
            );
        }
    }
}

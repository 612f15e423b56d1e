//! Performance model of an LLM replica: the time of one continuous-batching iteration.
//!
//! An iteration runs the prompts admitted in it (prefill) and one token of every
//! sequence already decoding. Its time, on a replica of G GPUs with datasheet peak
//! F FLOP/s and B bytes/s each, is
//!
//! ```text
//! t = (W + KV·Σctx + a·L·H·2·Σp²) / (G·B·e_bw)   weights, KV cache and attention scores read
//!   + 2·P·Σp / (G·F·e_c)                          prefill compute (2 FLOPs per parameter per token)
//!   + s · (sequences in the iteration)             per-sequence overhead (sampling, scheduling)
//! ```
//!
//! with W the weight bytes, P the parameters, KV the KV-cache bytes per token, Σctx the
//! context of the decoding sequences, p each prompt's length, L layers, H attention heads.
//! Decode is memory-bound (the weights are read once per step and amortized over the
//! batch); prefill is compute-bound. The efficiencies e_c, e_bw, the overhead s and the
//! attention passes a are fitted per GPU to a published measurement: SplitwiseSim's
//! profile of Llama2-70B on DGX-A100 and DGX-H100 (Patel et al., ISCA 2024;
//! `scenarios/data/splitwise_perf_llama2_70b_tp8.csv`); see `docs/validation.md`.
//!
//! Where a measured prefill profile exists for the model, GPU and width
//! ([`super::profile`]), the prefill terms (compute and attention) are replaced by the
//! measured time: an iteration prefilling n prompts of Σp tokens in all takes
//!
//! ```text
//! T(n, Σp) = T₁(Σp) · r(n)
//! ```
//!
//! (less its weights read and per-sequence overhead, which the fixed part counts). T₁ is
//! the profile's one-prompt time interpolated at Σp (SplitwiseSim's own method: a batch
//! costs what one prompt of as many tokens costs; beyond the longest measured prompt the
//! prefill term grows in proportion to tokens, below the shortest it is the shortest's).
//! r(n) is the measured batch-n time over T₁ of the batch's tokens (1 for one prompt),
//! interpolated linearly in ln n between the measured batch sizes and held beyond the
//! largest: on DGX-A100 many prompts run up to 1.34× slower than one prompt as long as
//! all of them, on DGX-H100 up to 11% faster. So one prompt alone and every measured batch
//! take exactly their measured time; other lengths, batch sizes and mixed iterations
//! follow the two interpolations. Decode terms never change.

use serde::Serialize;

use super::error::ServingError;
use super::profile::PrefillProfile;
use crate::hardware::GpuSpec;

/// Shape of a decoder-only LLM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmSpec {
    /// Name, e.g. `llama2-70b`.
    pub name: &'static str,
    /// Parameters.
    pub params: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Attention (query) heads.
    pub heads: u32,
    /// Key/value heads (grouped-query attention; = heads without it).
    pub kv_heads: u32,
    /// Dimension of one head.
    pub head_dim: u32,
    /// Bytes per weight and per KV element (2 for FP16/BF16).
    pub bytes_per_value: f64,
}

impl LlmSpec {
    /// Bytes of the weights.
    pub fn weight_bytes(&self) -> f64 {
        self.params * self.bytes_per_value
    }

    /// KV-cache bytes per token: keys and values in every layer.
    pub fn kv_bytes_per_token(&self) -> f64 {
        2.0 * f64::from(self.layers)
            * f64::from(self.kv_heads)
            * f64::from(self.head_dim)
            * self.bytes_per_value
    }
}

/// The built-in models. Shapes from each model's published `config.json` (Hugging Face
/// `meta-llama/*`): layers, heads, KV heads, hidden size / heads; parameter counts are
/// those the shapes give (Llama2-70B: 68.98 B).
pub fn llm(name: &str) -> Option<LlmSpec> {
    let m = |name, params, layers, heads, kv_heads| LlmSpec {
        name,
        params,
        layers,
        heads,
        kv_heads,
        head_dim: 128,
        bytes_per_value: 2.0,
    };
    Some(match name.to_ascii_lowercase().as_str() {
        "llama2-7b" => m("llama2-7b", 6.74e9, 32, 32, 32),
        "llama2-13b" => m("llama2-13b", 13.02e9, 40, 40, 40),
        "llama2-70b" => m("llama2-70b", 68.98e9, 80, 64, 8),
        "llama3-8b" => m("llama3-8b", 8.03e9, 32, 32, 8),
        "llama3-70b" => m("llama3-70b", 70.55e9, 80, 64, 8),
        _ => return None,
    })
}

/// Names [`llm`] knows, for error messages.
pub const LLM_NAMES: &[&str] = &["llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b"];

/// Measured efficiencies of a GPU model serving an LLM (see the module formula).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Efficiency {
    /// Share of peak FLOP/s reached in prefill.
    pub compute: f64,
    /// Share of peak memory bandwidth reached reading weights and KV cache.
    pub bandwidth: f64,
    /// Overhead per sequence in an iteration, in ms.
    pub per_seq_ms: f64,
    /// Passes over each prompt's attention-score matrix (0 with fused attention).
    pub attn_passes: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// Fitted to SplitwiseSim's DGX-A100 profile (Llama2-70B, TP 8): decode over batches
/// 1–64 and contexts 512–8,192, prefill of single prompts 128–8,192 tokens.
pub const A100_EFFICIENCY: Efficiency = Efficiency {
    compute: 0.4875,
    bandwidth: 0.195,
    per_seq_ms: 0.32,
    attn_passes: 2.0,
    source: "fitted to SplitwiseSim data/perf_model.csv, llama2-70b a100-80gb TP8 (Patel et al., ISCA 2024)",
};

/// Fitted to SplitwiseSim's DGX-H100 profile (Llama2-70B, TP 8), as for A100.
pub const H100_EFFICIENCY: Efficiency = Efficiency {
    compute: 0.2575,
    bandwidth: 0.17,
    per_seq_ms: 0.26,
    attn_passes: 0.5,
    source: "fitted to SplitwiseSim data/perf_model.csv, llama2-70b h100-80gb TP8 (Patel et al., ISCA 2024)",
};

/// The efficiency for a catalog GPU: A100-class (A100, A800) and H100-class (H100, H800,
/// H200) have measured figures; other models take the H100's, the newest measured, and
/// the source says so.
pub fn efficiency_for(gpu: &GpuSpec) -> Efficiency {
    let n = gpu.name.to_ascii_uppercase();
    if n.starts_with("A100") || n.starts_with("A800") {
        A100_EFFICIENCY
    } else if n.starts_with("H100") || n.starts_with("H800") || n.starts_with("H200") {
        H100_EFFICIENCY
    } else {
        Efficiency {
            source: "no measurement for this GPU: H100's figures fitted to SplitwiseSim (an assumption)",
            ..H100_EFFICIENCY
        }
    }
}

/// Share of a GPU's idle-to-TDP power range a memory-bound (decode) iteration draws:
/// 0.33, fitted to SplitwiseSim's measured average power of a batch-1 Llama2-70B request
/// on DGX-A100 (512-token prompt, 128 output tokens: 0.435 of TDP, `average_power` of
/// `scenarios/data/splitwise_perf_llama2_70b_tp8.csv` read as a share of TDP) with the
/// catalog's idle at 15% of TDP; checked against the other rows in
/// `tests/serving_power.rs` (docs/validation.md).
pub const DECODE_POWER_SHARE: f64 = 0.33;

/// Share of the idle-to-TDP range an iteration draws: its compute-bound (prefill) time
/// at TDP, the rest at `decode_share` (power by load: prefill-heavy replicas draw more).
pub fn power_share(compute_share: f64, decode_share: f64) -> f64 {
    compute_share + (1.0 - compute_share) * decode_share
}

/// Share of device memory usable for weights and KV cache: vLLM's default
/// `gpu_memory_utilization` (0.9; vLLM engine arguments documentation).
pub const MEMORY_UTILIZATION: f64 = 0.9;

/// What one iteration processes: prompts being prefilled and sequences decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Batch {
    /// Prompts prefilled in this iteration.
    pub prefill_seqs: u32,
    /// Their tokens, Σp.
    pub prefill_tokens: f64,
    /// Σp², for attention.
    pub prefill_sq_tokens: f64,
    /// Sequences producing one token.
    pub decode_seqs: u32,
    /// Their context tokens (prompt plus tokens so far), Σctx.
    pub decode_ctx_tokens: f64,
}

/// An LLM on a replica of `gpus` GPUs of one model (tensor parallel).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaPerf {
    /// The model served.
    pub llm: LlmSpec,
    /// GPUs per replica.
    pub gpus: u32,
    /// Summed peak FLOP/s of the replica.
    pub flops: f64,
    /// Summed peak memory bandwidth of the replica, bytes/s.
    pub bytes_per_s: f64,
    /// The efficiencies used.
    pub eff: Efficiency,
    /// Tokens of KV cache that fit beside the weights.
    pub kv_capacity_tokens: u64,
    /// Measured prefill profile followed instead of the roofline's prefill terms, if any.
    pub prefill_profile: Option<PrefillProfile>,
    /// The profile's batch ratios r(n) as (ln n, r), from (0, 1) for one prompt, by n
    /// (the module formula); empty without a profile.
    pub prefill_batch_ratio: Vec<(f64, f64)>,
}

impl ReplicaPerf {
    /// The replica of `llm` on `gpus` × `gpu`; an error if the GPU lacks datasheet
    /// figures or the weights do not fit its memory. `key` names the service in errors.
    pub fn new(
        llm: LlmSpec,
        gpu: &GpuSpec,
        gpus: u32,
        eff: Efficiency,
        key: &str,
    ) -> Result<Self, ServingError> {
        if gpu.fp16_tflops <= 0.0 || gpu.memory_bw_tbs <= 0.0 || gpu.memory_gib <= 0.0 {
            return Err(ServingError::config(
                format!("{key}.gpu"),
                format!(
                    "GPU model `{}` lacks fp16_tflops, memory_bw_tbs or memory_gib",
                    gpu.name
                ),
            ));
        }
        if gpus == 0 {
            return Err(ServingError::config(
                format!("{key}.gpus_per_replica"),
                "expected at least 1 GPU",
            ));
        }
        let g = f64::from(gpus);
        let usable = g * gpu.memory_gib * 1024f64.powi(3) * MEMORY_UTILIZATION;
        let free = usable - llm.weight_bytes();
        if free < llm.kv_bytes_per_token() {
            return Err(ServingError::config(
                format!("{key}.gpus_per_replica"),
                format!(
                    "{} needs {:.0} GiB of weights; {gpus} × {} hold {:.0} GiB usable ({:.0}% of memory): use more GPUs per replica",
                    llm.name,
                    llm.weight_bytes() / 1024f64.powi(3),
                    gpu.name,
                    usable / 1024f64.powi(3),
                    MEMORY_UTILIZATION * 100.0
                ),
            ));
        }
        Ok(ReplicaPerf {
            kv_capacity_tokens: (free / llm.kv_bytes_per_token()) as u64,
            flops: g * gpu.fp16_tflops * 1e12,
            bytes_per_s: g * gpu.memory_bw_tbs * 1e12,
            llm,
            gpus,
            eff,
            prefill_profile: None,
            prefill_batch_ratio: Vec::new(),
        })
    }

    /// The same replica with its prefill following `profile` (see the module docs), or
    /// the roofline with `None`. The batch ratios r(n) are found here, once: for each
    /// measured batch size the mean over its measured batches of measured time over the
    /// one-prompt time of as many tokens.
    pub fn with_prefill_profile(mut self, profile: Option<PrefillProfile>) -> Self {
        self.prefill_batch_ratio.clear();
        if let Some(p) = &profile {
            let fixed = self.prefill_fixed_ms(1);
            let mut ratios = vec![(0.0, 1.0)];
            let mut k = 0.0;
            for &(n, tokens, ms) in p.batches() {
                let (ln_n, r) = (
                    f64::from(n).ln(),
                    ms / (fixed + self.one_prompt_part_ms(p, tokens)),
                );
                match ratios.last_mut() {
                    // The same batch size at another prompt length: a running mean.
                    Some(last) if last.0 == ln_n => {
                        k += 1.0;
                        last.1 += (r - last.1) / k;
                    }
                    _ => {
                        k = 1.0;
                        ratios.push((ln_n, r));
                    }
                }
            }
            self.prefill_batch_ratio = ratios;
        }
        self.prefill_profile = profile;
        self
    }

    /// The fixed part (weights read, per-sequence overhead) of an iteration prefilling
    /// `n` prompts and decoding nothing, in ms.
    fn prefill_fixed_ms(&self, n: u32) -> f64 {
        self.parts_ms(&Batch {
            prefill_seqs: n,
            ..Batch::default()
        })
        .0
    }

    /// T₁ less its fixed part: the measured prefill time of one prompt of `tokens` alone
    /// beyond the weights read and overhead, in ms, from `profile` (beyond its longest
    /// prompt growing in proportion to tokens).
    fn one_prompt_part_ms(&self, profile: &PrefillProfile, tokens: f64) -> f64 {
        let (p, measured_ms) = profile.at(tokens);
        ((measured_ms - self.prefill_fixed_ms(1)) * (tokens / p).max(1.0)).max(0.0)
    }

    /// r(n): the measured batch ratio interpolated linearly in ln n, held beyond the
    /// measured batch sizes; 1 without a profile or for one prompt.
    fn batch_ratio(&self, n: u32) -> f64 {
        let r = &self.prefill_batch_ratio;
        let (Some(first), Some(last)) = (r.first(), r.last()) else {
            return 1.0;
        };
        let x = f64::from(n.max(1)).ln();
        if x <= first.0 {
            return first.1;
        }
        if x >= last.0 {
            return last.1;
        }
        let i = r.partition_point(|&(l, _)| l <= x);
        let (x0, r0) = r[i - 1];
        let (x1, r1) = r[i];
        r0 + (r1 - r0) * (x - x0) / (x1 - x0)
    }

    /// The parts of an iteration in ms: (weights and KV-cache reads plus per-sequence
    /// overhead, attention-score reads, prefill compute), before any profile scaling.
    fn parts_ms(&self, b: &Batch) -> (f64, f64, f64) {
        let l = &self.llm;
        let bw = self.bytes_per_s * self.eff.bandwidth;
        let fixed = (l.weight_bytes() + l.kv_bytes_per_token() * b.decode_ctx_tokens) / bw * 1e3
            + self.eff.per_seq_ms * f64::from(b.prefill_seqs + b.decode_seqs);
        let attn =
            self.eff.attn_passes * f64::from(l.layers) * f64::from(l.heads) * 2.0 * b.prefill_sq_tokens / bw
                * 1e3;
        let compute = 2.0 * l.params * b.prefill_tokens / (self.flops * self.eff.compute) * 1e3;
        (fixed, attn, compute)
    }

    /// Prefill time of the iteration in ms beyond the fixed part: the roofline's
    /// attention and compute terms, or, with a profile, T₁(Σp) · r(n) (the module
    /// formula) less the weights read and per-sequence overhead of an iteration
    /// prefilling those n prompts alone. Public for the fluid mode's closed-form capacity.
    pub fn prefill_part_ms(&self, b: &Batch) -> f64 {
        let (_, attn, compute) = self.parts_ms(b);
        let Some(profile) = &self.prefill_profile else {
            return attn + compute;
        };
        if b.prefill_seqs == 0 || b.prefill_tokens <= 0.0 {
            return 0.0;
        }
        // T₁·r − fixed(n), written so that one prompt (r = 1) is T₁'s part exactly.
        let r = self.batch_ratio(b.prefill_seqs);
        let part = self.one_prompt_part_ms(profile, b.prefill_tokens) * r
            + (self.prefill_fixed_ms(1) * r - self.prefill_fixed_ms(b.prefill_seqs));
        part.max(0.0)
    }

    /// Time of one iteration, in ms (the module formula, prefill scaled to a measured
    /// profile where one is set); 0 for an empty batch.
    pub fn iteration_ms(&self, b: &Batch) -> f64 {
        if b.prefill_seqs + b.decode_seqs == 0 {
            return 0.0;
        }
        let (fixed, _, _) = self.parts_ms(b);
        fixed + self.prefill_part_ms(b)
    }

    /// Share of an iteration's time spent on prefill compute: 1 prefill-only, near 0
    /// decode-only. Drives power by load.
    pub fn compute_share(&self, b: &Batch) -> f64 {
        let t = self.iteration_ms(b);
        if t <= 0.0 {
            return 0.0;
        }
        let (_, attn, compute) = self.parts_ms(b);
        if attn + compute <= 0.0 {
            return 0.0;
        }
        self.prefill_part_ms(b) * compute / (attn + compute) / t
    }

    /// Time to prefill one prompt alone, in ms.
    pub fn prefill_ms(&self, prompt: u32) -> f64 {
        let p = f64::from(prompt);
        self.iteration_ms(&Batch {
            prefill_seqs: 1,
            prefill_tokens: p,
            prefill_sq_tokens: p * p,
            ..Batch::default()
        })
    }

    /// Time of one decode step of `batch` sequences with `ctx` context tokens each, in ms.
    pub fn decode_ms(&self, batch: u32, ctx: f64) -> f64 {
        self.iteration_ms(&Batch {
            decode_seqs: batch,
            decode_ctx_tokens: f64::from(batch) * ctx,
            ..Batch::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::lookup;

    /// Llama2-70B on 8 H100 with a synthetic profile: one prompt of `tokens` takes
    /// 100 ms + tokens/10 ms; 2 prompts 1.2×, 8 prompts 1.8× one prompt as long.
    fn synthetic() -> ReplicaPerf {
        let gpu = lookup("H100").unwrap();
        let r = ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, H100_EFFICIENCY, "t").unwrap();
        let one = |t: f64| 100.0 + t / 10.0;
        let profile = PrefillProfile::from_points(vec![(100.0, one(100.0)), (10_000.0, one(10_000.0))], "t")
            .and_then(|p| {
                p.with_batches(vec![
                    (2, 1000.0, 1.2 * one(1000.0)),
                    (8, 4000.0, 1.8 * one(4000.0)),
                ])
            });
        r.with_prefill_profile(profile)
    }

    #[test]
    fn batch_ratio_interpolates_in_log_n_and_holds_at_the_ends() {
        let r = synthetic();
        assert_eq!(r.batch_ratio(1), 1.0);
        assert!((r.batch_ratio(2) - 1.2).abs() < 1e-12);
        // 4 is midway between 2 and 8 in ln n.
        assert!((r.batch_ratio(4) - 1.5).abs() < 1e-12);
        assert!((r.batch_ratio(64) - 1.8).abs() < 1e-12);
        assert_eq!(r.clone().with_prefill_profile(None).batch_ratio(8), 1.0);
    }

    #[test]
    fn batched_prefill_is_one_prompt_time_times_ratio_for_any_length() {
        let r = synthetic();
        let fixed = r.decode_ms(1, 0.0) - r.eff.per_seq_ms;
        let prefill = |n: u32, p: f64| Batch {
            prefill_seqs: n,
            prefill_tokens: f64::from(n) * p,
            prefill_sq_tokens: f64::from(n) * p * p,
            ..Batch::default()
        };
        // 4 prompts of 700 tokens: T1(2,800) = 380 ms, r(4) = 1.5.
        let t = r.iteration_ms(&prefill(4, 700.0));
        assert!((t - 380.0 * 1.5).abs() < 1e-9, "{t} (fixed {fixed})");
        // In a mixed iteration the decoding sequences add their own reads only.
        let mut mixed = prefill(4, 700.0);
        mixed.decode_seqs = 10;
        mixed.decode_ctx_tokens = 5000.0;
        assert!((r.iteration_ms(&mixed) - t - (r.decode_ms(10, 500.0) - fixed)).abs() < 1e-9);
    }
}

//! The LLM performance model against its source: SplitwiseSim's measured profile of
//! Llama2-70B, tensor parallel 8, on DGX-A100 and DGX-H100 (bundled as
//! `scenarios/data/splitwise_perf_llama2_70b_tp8.csv`; MIT, see ATTRIBUTION.md).
//! Side by side in docs/validation.md ("Inference serving").

use std::collections::BTreeMap;
use std::path::Path;

use dcsim::hardware::lookup;
use dcsim::serving::perf::{efficiency_for, llm, Batch, ReplicaPerf};
use dcsim::serving::profile::{builtin, PrefillProfile};

/// A measured configuration: (hardware, prompt tokens, batch, output tokens).
type Point = (String, u32, u32, u32);

/// Mean (prompt_time, token_time) in ms per measured configuration.
fn profile() -> BTreeMap<Point, (f64, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data/splitwise_perf_llama2_70b_tp8.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut acc: BTreeMap<Point, (f64, f64, f64)> = BTreeMap::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        let key = (
            r[1].to_string(),
            r[2].parse().unwrap(),
            r[3].parse().unwrap(),
            r[4].parse().unwrap(),
        );
        let e = acc.entry(key).or_default();
        e.0 += r[7].parse::<f64>().unwrap();
        e.1 += r[8].parse::<f64>().unwrap();
        e.2 += 1.0;
    }
    acc.into_iter()
        .map(|(k, (p, t, n))| (k, (p / n, t / n)))
        .collect()
}

fn replica(hw: &str) -> ReplicaPerf {
    let gpu = lookup(if hw == "a100-80gb" {
        "A100-SXM4-80GB"
    } else {
        "H100-SXM5"
    })
    .unwrap();
    ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "test").unwrap()
}

#[test]
fn decode_step_within_8_percent_of_splitwise() {
    // Every measured (batch 1-64, output 128-8,192) point; the context of a decode step
    // averages prompt + output/2. Worst: H100, 256-token prompt, 30.6 vs 28.4 ms (7.8%).
    let mut worst: f64 = 0.0;
    for ((hw, p, b, t), (_, token_ms)) in profile() {
        let ours = replica(&hw).decode_ms(b, f64::from(p) + f64::from(t) / 2.0);
        worst = worst.max((ours / token_ms - 1.0).abs());
    }
    assert!(worst < 0.08, "worst decode error {worst:.3}");
}

#[test]
fn roofline_prefill_against_splitwise() {
    // `prefill_model = "roofline"`: single prompts of 128-8,192 tokens. A100: within 11%
    // at every point. H100: the profile is not linear in tokens (2,048 -> 4,096 tokens
    // costs 2.8x), which no roofline reproduces; our worst point is 29% off.
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for ((hw, p, b, t), (prompt_ms, _)) in profile() {
        if b != 1 || t != 128 {
            continue;
        }
        let ours = replica(&hw).prefill_ms(p);
        let w = worst.entry(hw).or_default();
        *w = w.max((ours / prompt_ms - 1.0).abs());
    }
    assert!(worst["a100-80gb"] < 0.11, "{worst:?}");
    assert!(worst["h100-80gb"] < 0.30, "{worst:?}");
}

/// Mean measured single-prompt prefill (ms) by prompt length: every batch-1 row, any
/// output length (prefill does not depend on it).
fn single_prompt(hw: &str) -> BTreeMap<u32, f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data/splitwise_perf_llama2_70b_tp8.csv");
    let mut acc: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for rec in csv::Reader::from_path(path).unwrap().records() {
        let r = rec.unwrap();
        if &r[1] == hw && &r[3] == "1" {
            let e = acc.entry(r[2].parse().unwrap()).or_default();
            e.0 += r[7].parse::<f64>().unwrap();
            e.1 += 1.0;
        }
    }
    acc.into_iter().map(|(p, (t, n))| (p, t / n)).collect()
}

#[test]
fn measured_profile_predicts_held_out_prompt_lengths() {
    // Fit on every other measured length (128, 512, 2,048, 8,192 tokens), predict the
    // held-out ones (256, 1,024, 4,096) and compare with their measured times. Held-out
    // points sit midway in 4x gaps; the shipped model interpolates 2x gaps, so this
    // bounds its error between measured lengths from above.
    // Figures reached: H100 worst 5.4% (256 and 1,024); A100 1,024 and 4,096 within
    // 7.1%, A100 256 tokens 11.5% (the profile is flat to 256 tokens then rises 40% by
    // 512: a knee that a 128-512 line misses). Within 10% except that one point.
    for hw in ["a100-80gb", "h100-80gb"] {
        let measured = single_prompt(hw);
        let fit: Vec<(f64, f64)> = measured
            .iter()
            .filter(|(p, _)| [128, 512, 2048, 8192].contains(*p))
            .map(|(&p, &t)| (f64::from(p), t))
            .collect();
        assert_eq!(fit.len(), 4);
        let r = replica(hw).with_prefill_profile(PrefillProfile::from_points(fit, "held-out fit"));
        for held in [256u32, 1024, 4096] {
            let err = (r.prefill_ms(held) / measured[&held] - 1.0).abs();
            let bound = if hw == "a100-80gb" && held == 256 {
                0.13
            } else {
                0.075
            };
            assert!(err < bound, "{hw} {held} tokens: {err:.3}");
        }
    }
}

#[test]
fn default_model_follows_the_measured_profile_and_keeps_the_roofline_beyond() {
    // The shipped default (profile::builtin) at every measured length equals the
    // measured mean of that length's batch-1 rows (the interpolation's knots).
    for (hw, gpu) in [("a100-80gb", "A100-SXM4-80GB"), ("h100-80gb", "H100-SXM5")] {
        let r = replica(hw).with_prefill_profile(builtin("llama2-70b", gpu, 8));
        for (p, t) in single_prompt(hw) {
            assert!((r.prefill_ms(p) / t - 1.0).abs() < 1e-9, "{hw} {p}");
        }
        let roof = replica(hw);
        // Beyond the longest measured prompt the prefill term grows with tokens: t0 is
        // the weights read and overhead of a one-sequence iteration.
        let t0 = r.decode_ms(1, 0.0);
        let grown = (r.prefill_ms(16_384) - t0) / (r.prefill_ms(8192) - t0);
        assert!((grown - 2.0).abs() < 1e-9, "{hw} {grown}");
        // Decode steps are untouched by the profile.
        assert_eq!(r.decode_ms(16, 1024.0), roof.decode_ms(16, 1024.0));
    }
    assert!(builtin("llama2-70b", "H200-SXM", 8).is_none());
    assert!(builtin("llama2-70b", "H100-SXM5", 4).is_none());
}

#[test]
fn weights_that_do_not_fit_are_a_clear_error() {
    // Llama2-70B is 138 GB of FP16 weights; one 80 GB GPU holds 72 GiB usable.
    let gpu = lookup("H100").unwrap();
    let e = ReplicaPerf::new(
        llm("llama2-70b").unwrap(),
        &gpu,
        1,
        efficiency_for(&gpu),
        "services[0]",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("services[0].gpus_per_replica"), "{msg}");
    assert!(msg.contains("use more GPUs per replica"), "{msg}");
    // KV capacity of Llama2-70B on 8 H100: 8·80 GiB·0.9 − 137.96e9 B = 480.7e9 B over
    // 327,680 B per token (2·80 layers·8 KV heads·128·2 B) = 1,467,000 tokens.
    let r = ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "s").unwrap();
    let expect = (8.0 * 80.0 * 1024f64.powi(3) * 0.9 - 68.98e9 * 2.0) / 327_680.0;
    assert_eq!(r.kv_capacity_tokens, expect as u64);
}

#[test]
fn batched_prefill_predicted_from_single_prompts() {
    // Batches of 2-64 prompts of 512 tokens, predicted from the single-prompt rows only
    // (the batched rows are not used by the model): a batch costs what one prompt of its
    // total tokens measured. Figures reached (measured vs ours):
    // H100: within 6% up to 16 prompts (8,192 tokens, the longest measured prompt);
    // 32 and 64 prompts, extrapolated in proportion to tokens, +7.5% and +12.3%.
    // A100: within 7.1% up to 4 prompts; 8 and 16 prompts -14.5% and -24.9% (the A100
    // stack runs many prompts slower than one long one); 32 and 64: -13.7%, -20.8%.
    for (hw, gpu) in [("a100-80gb", "A100-SXM4-80GB"), ("h100-80gb", "H100-SXM5")] {
        let r = replica(hw).with_prefill_profile(builtin("llama2-70b", gpu, 8));
        for ((h, p, n, t), (prompt_ms, _)) in profile() {
            if h != hw || p != 512 || t != 128 || n == 1 {
                continue;
            }
            let ours = r.iteration_ms(&Batch {
                prefill_seqs: n,
                prefill_tokens: f64::from(512 * n),
                prefill_sq_tokens: 512.0 * 512.0 * f64::from(n),
                ..Batch::default()
            });
            let err = ours / prompt_ms - 1.0;
            let ok = match (hw, n) {
                ("h100-80gb", 2..=16) => err.abs() < 0.06,
                ("h100-80gb", _) => err.abs() < 0.13,
                ("a100-80gb", 2..=4) => err.abs() < 0.075,
                _ => err.abs() < 0.26,
            };
            assert!(
                ok,
                "{hw} batch {n}: measured {prompt_ms:.1} ours {ours:.1} ({err:+.3})"
            );
        }
    }
}

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

/// Mean measured prefill (ms) of batches of several prompts: (prompts, total tokens, ms).
fn batches(hw: &str) -> Vec<(u32, f64, f64)> {
    profile()
        .into_iter()
        .filter(|((h, _, n, t), _)| h == hw && *n > 1 && *t == 128)
        .map(|((_, p, n, _), (ms, _))| (n, f64::from(p * n), ms))
        .collect()
}

/// The model's time of an iteration prefilling `n` prompts of `p` tokens each, in ms.
fn prefill_batch_ms(r: &ReplicaPerf, n: u32, p: f64) -> f64 {
    r.iteration_ms(&Batch {
        prefill_seqs: n,
        prefill_tokens: p * f64::from(n),
        prefill_sq_tokens: p * p * f64::from(n),
        ..Batch::default()
    })
}

#[test]
fn measured_profile_in_sample_and_leave_one_out() {
    // Source: every single-prompt length (128-8,192 tokens) and every batch (2-64 prompts
    // of 512 tokens) of SplitwiseSim's profile, mean prompt_time per configuration.
    // In sample (the shipped model, profile::builtin): every measured point is reproduced
    // exactly, by construction (interpolation knots). Leave one out: the point is dropped
    // from the profile and predicted from the rest (single lengths by the line between
    // their neighbours, the ends clamped/proportional; batch sizes by r(n) interpolated in
    // ln n, 64 held at 32's ratio). Reached (docs/validation.md):
    //   A100 single 128..8,192: +3.0 +11.5 +2.4 -0.4 +16.8 +7.1 -18.5 %
    //   H100 single 128..8,192: -5.1 +5.4 +10.1 +5.4 +30.6 -1.3 -14.3 %
    //   A100 batch 2..64: -4.2 +5.6 +2.3 -12.7 +12.1 -8.2 %
    //   H100 batch 2..64: -0.2 +2.2 -3.7 +1.5 -1.1 +4.4 %
    // Bounds: the reached figure rounded up to the next percent.
    let single_bound: [(&str, [f64; 7]); 2] = [
        ("a100-80gb", [0.04, 0.12, 0.03, 0.01, 0.17, 0.08, 0.19]),
        ("h100-80gb", [0.06, 0.06, 0.11, 0.06, 0.31, 0.02, 0.15]),
    ];
    let batch_bound: [(&str, [f64; 6]); 2] = [
        ("a100-80gb", [0.05, 0.06, 0.03, 0.13, 0.13, 0.09]),
        ("h100-80gb", [0.01, 0.03, 0.04, 0.02, 0.02, 0.05]),
    ];
    for ((hw, sb), (_, bb)) in single_bound.into_iter().zip(batch_bound) {
        let gpu = if hw == "a100-80gb" {
            "A100-SXM4-80GB"
        } else {
            "H100-SXM5"
        };
        let shipped = replica(hw).with_prefill_profile(builtin("llama2-70b", gpu, 8));
        let singles: Vec<(f64, f64)> = single_prompt(hw)
            .into_iter()
            .map(|(p, t)| (f64::from(p), t))
            .collect();
        let batched = batches(hw);
        assert_eq!((singles.len(), batched.len()), (7, 6));
        for (i, &(p, t)) in singles.iter().enumerate() {
            assert!(
                (shipped.prefill_ms(p as u32) / t - 1.0).abs() < 1e-9,
                "{hw} {p} in sample"
            );
            let mut rest = singles.clone();
            rest.remove(i);
            let loo = PrefillProfile::from_points(rest, "loo").and_then(|x| x.with_batches(batched.clone()));
            let err = replica(hw).with_prefill_profile(loo).prefill_ms(p as u32) / t - 1.0;
            assert!(err.abs() < sb[i], "{hw} {p} tokens left out: {err:+.3}");
        }
        for (i, &(n, tokens, t)) in batched.iter().enumerate() {
            let p = tokens / f64::from(n);
            assert!(
                (prefill_batch_ms(&shipped, n, p) / t - 1.0).abs() < 1e-9,
                "{hw} batch {n} in sample"
            );
            let mut rest = batched.clone();
            rest.remove(i);
            let loo = PrefillProfile::from_points(singles.clone(), "loo").and_then(|x| x.with_batches(rest));
            let err = prefill_batch_ms(&replica(hw).with_prefill_profile(loo), n, p) / t - 1.0;
            assert!(err.abs() < bb[i], "{hw} batch {n} left out: {err:+.3}");
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
fn batched_prefill_without_batch_rows_misses_a100_by_up_to_25_percent() {
    // Why the batch rows are used: from the single-prompt rows alone (a batch costs what
    // one prompt of its total tokens measured, SplitwiseSim's method) batches of 2-64
    // prompts of 512 tokens come out (measured vs that model) H100 +1.3 +3.0 +0.3 +5.3
    // +7.5 +12.2 % and A100 -7.2 -6.2 -14.8 -25.2 -13.7 -20.8 %: the A100 stack runs many
    // prompts slower than one long one. The shipped model (above) reproduces them.
    for hw in ["a100-80gb", "h100-80gb"] {
        let singles = single_prompt(hw)
            .into_iter()
            .map(|(p, t)| (f64::from(p), t))
            .collect();
        let r = replica(hw).with_prefill_profile(PrefillProfile::from_points(singles, "singles"));
        let worst = batches(hw)
            .into_iter()
            .map(|(n, tokens, t)| prefill_batch_ms(&r, n, tokens / f64::from(n)) / t - 1.0)
            .fold(0.0f64, |w, e| if e.abs() > w.abs() { e } else { w });
        let (lo, hi) = if hw == "a100-80gb" {
            (-0.26, -0.25)
        } else {
            (0.12, 0.13)
        };
        assert!((lo..hi).contains(&worst), "{hw} worst {worst:+.3}");
    }
}

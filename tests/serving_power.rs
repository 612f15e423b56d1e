//! Power by load against its source: SplitwiseSim's measured power of Llama2-70B on
//! DGX-A100 (`peak_power` and `average_power` of
//! `scenarios/data/splitwise_perf_llama2_70b_tp8.csv`, read as shares of the GPU's TDP:
//! they top out at 1.00), and POLCA's direction (Patel et al., "Characterizing Power
//! Management Opportunities for LLMs in the Cloud", ASPLOS 2024): inference rarely draws
//! its nameplate power, so about 30% more servers fit under the same power.
//! Side by side in docs/validation.md ("Inference serving").

use std::collections::BTreeMap;
use std::path::Path;

use dcsim::engine::RngStreams;
use dcsim::hardware::{lookup, GpuSpec};
use dcsim::serving::autoscale::ScalePolicy;
use dcsim::serving::generate::{generate, Arrivals, Sizes};
use dcsim::serving::perf::{efficiency_for, llm, power_share, Batch, ReplicaPerf, DECODE_POWER_SHARE};
use dcsim::serving::replicas::{simulate, ServiceSettings};
use dcsim::serving::report::Slo;

/// A measured configuration: (prompt tokens, batch, output tokens).
type Config = (u32, u32, u32);

/// Mean (prompt ms, token ms, peak, average) of one configuration.
type Measured = (f64, f64, f64, f64);

/// The A100 rows with power figures, averaged per configuration.
fn a100_power() -> BTreeMap<Config, Measured> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data/splitwise_perf_llama2_70b_tp8.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut acc: BTreeMap<Config, [f64; 5]> = BTreeMap::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        let peak: f64 = r[5].parse().unwrap();
        if &r[1] != "a100-80gb" || peak <= 0.0 {
            continue;
        }
        let e = acc
            .entry((
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
                r[4].parse().unwrap(),
            ))
            .or_default();
        for (k, col) in [7, 8, 5, 6].into_iter().enumerate() {
            e[k] += r[col].parse::<f64>().unwrap();
        }
        e[4] += 1.0;
    }
    acc.into_iter()
        .map(|(k, e)| (k, (e[0] / e[4], e[1] / e[4], e[2] / e[4], e[3] / e[4])))
        .collect()
}

fn a100() -> (GpuSpec, ReplicaPerf) {
    let gpu = lookup("A100-SXM4-80GB").unwrap();
    let p = ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "t").unwrap();
    (gpu, p)
}

/// Power of an iteration as a share of TDP: idle plus its share of the idle-to-TDP range.
fn share_of_tdp(gpu: &GpuSpec, p: &ReplicaPerf, b: &Batch, decode: f64) -> f64 {
    let idle = gpu.idle_w / gpu.tdp_w;
    idle + (1.0 - idle) * power_share(p.compute_share(b), decode)
}

/// Our time-averaged power (share of TDP) over a batch of `batch` requests of `prompt`
/// tokens generating `output` tokens, as SplitwiseSim measured each row.
fn request_average(batch: u32, prompt: u32, output: u32, decode: f64) -> f64 {
    let (gpu, p) = a100();
    let (b, pt) = (f64::from(batch), f64::from(prompt));
    let prefill = Batch {
        prefill_seqs: batch,
        prefill_tokens: b * pt,
        prefill_sq_tokens: b * pt * pt,
        ..Batch::default()
    };
    let t = p.iteration_ms(&prefill);
    let (mut energy, mut time) = (t * share_of_tdp(&gpu, &p, &prefill, decode), t);
    for g in 1..output {
        let step = Batch {
            decode_seqs: batch,
            decode_ctx_tokens: b * (pt + f64::from(g)),
            ..Batch::default()
        };
        let t = p.iteration_ms(&step);
        energy += t * share_of_tdp(&gpu, &p, &step, decode);
        time += t;
    }
    energy / time
}

#[test]
fn decode_power_share_is_fitted_to_the_batch_1_average() {
    // Bisection on the one free parameter so our average over the 512-token, 128-output,
    // batch-1 request equals SplitwiseSim's measured 0.435 of TDP.
    let measured = a100_power()[&(512, 1, 128)].3;
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if request_average(1, 512, 128, mid) < measured {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    assert!(
        (lo - DECODE_POWER_SHARE).abs() < 0.005,
        "fit {lo:.4}, constant {DECODE_POWER_SHARE}"
    );
}

#[test]
fn power_by_load_against_splitwise_measured_power() {
    let rows = a100_power();
    // Averages of decode-dominated requests at batch 2-16 (not fitted): within 10%.
    // Ours rise with the batch (more prefill); the measured stay near 0.43-0.46.
    for batch in [2, 4, 8, 16] {
        let measured = rows[&(512, batch, 128)].3;
        let ours = request_average(batch, 512, 128, DECODE_POWER_SHARE);
        assert!(
            (ours / measured - 1.0).abs() < 0.10,
            "batch {batch}: ours {ours:.3}, measured {measured:.3}"
        );
    }
    // Peak power of one prompt's prefill, 256-1,024 tokens: within 12%. Longer prompts
    // measure near TDP (0.95-1.00); ours stay at 0.81-0.87 because our attention term is
    // memory traffic, not compute (docs/validation.md).
    let (gpu, p) = a100();
    let prefill = |n: u32| {
        let x = f64::from(n);
        Batch {
            prefill_seqs: 1,
            prefill_tokens: x,
            prefill_sq_tokens: x * x,
            ..Batch::default()
        }
    };
    for n in [256, 512, 1024] {
        let measured = rows[&(n, 1, 128)].2;
        let ours = share_of_tdp(&gpu, &p, &prefill(n), DECODE_POWER_SHARE);
        assert!(
            (ours / measured - 1.0).abs() < 0.12,
            "prompt {n}: ours {ours:.3}, measured {measured:.3}"
        );
    }
    // The direction of power by load: a prefill-heavy iteration (2,048 tokens) draws more
    // than a decode-heavy one (64 sequences), measured and ours.
    let decode = Batch {
        decode_seqs: 64,
        decode_ctx_tokens: 64.0 * 576.0,
        ..Batch::default()
    };
    let heavy = share_of_tdp(&gpu, &p, &prefill(2048), DECODE_POWER_SHARE);
    let light = share_of_tdp(&gpu, &p, &decode, DECODE_POWER_SHARE);
    assert!(heavy > light + 0.3, "{heavy} vs {light}");
    assert!(rows[&(2048, 1, 128)].2 > rows[&(512, 1, 128)].3 + 0.3);
}

#[test]
fn polca_more_replicas_fit_under_the_nameplate_power_of_fewer() {
    // POLCA's direction: provision 10 replicas (8 H100 each) at nameplate, 56 kW of GPU
    // power, then run 13 replicas (+30%) at 1.3 × the load: their observed peak stays
    // under the 10 replicas' nameplate, so no capping is needed and SLO attainment is
    // unchanged. Poisson arrivals with the Azure conversation trace's mean sizes.
    let gpu = lookup("H100").unwrap();
    let perf = ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "t").unwrap();
    let run = |replicas: u32, rate: f64, cap_kw: Option<f64>| {
        let mut rng = RngStreams::new(4).stream("serving.arrivals", 0);
        let trace = generate(
            &Arrivals::Poisson { rate_per_s: rate },
            &[],
            &Sizes::Fixed {
                prompt_tokens: 1_155,
                output_tokens: 211,
            },
            1_800.0,
            &mut rng,
        );
        let s = ServiceSettings {
            max_batch: 64,
            max_batch_tokens: 4096,
            scaling: ScalePolicy::Fixed { replicas },
            interval_s: 60.0,
            load_time_s: 0.0,
            slo: Slo::default(),
            speed: 1.0,
            gpus_per_replica: 8,
            gpu_idle_w: gpu.idle_w,
            gpu_tdp_w: gpu.tdp_w,
            decode_power_share: DECODE_POWER_SHARE,
            power_cap_w: cap_kw.map(|kw| kw * 1e3),
        };
        simulate(&trace.requests, Some(&perf), &s, None).unwrap()
    };
    let base = run(10, 24.0, None);
    let more = run(13, 24.0 * 1.3, None);
    let nameplate_10 = 10.0 * 8.0 * gpu.tdp_w / 1e3;
    assert!(
        more.peak_kw < nameplate_10,
        "peak {:.1} kW vs {nameplate_10} kW",
        more.peak_kw
    );
    assert!(
        more.slo_attainment >= base.slo_attainment - 0.01,
        "{} vs {}",
        more.slo_attainment,
        base.slo_attainment
    );
    eprintln!(
        "10 replicas: peak {:.1} kW, mean {:.1} kW, SLO {:.4}; 13 replicas: peak {:.1} kW, mean {:.1} kW, SLO {:.4}; nameplate of 10: {nameplate_10} kW",
        base.peak_kw,
        base.energy_kwh / base.duration_s * 3600.0,
        base.slo_attainment,
        more.peak_kw,
        more.energy_kwh / more.duration_s * 3600.0,
        more.slo_attainment
    );
}

#[test]
fn a_service_power_cap_throttles_iterations_with_little_slo_loss() {
    // POLCA's mechanism: 13 replicas at 31.2 req/s (as above, uncapped peak 44.6 kW)
    // under a 40 kW cap. Iterations that would exceed it run at a lower clock, which
    // slows prefill compute but not memory-bound decode: the one-second peak drops to
    // about the cap, and latency barely moves.
    let gpu = lookup("H100").unwrap();
    let perf = ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "t").unwrap();
    let mut rng = RngStreams::new(4).stream("serving.arrivals", 0);
    let trace = generate(
        &Arrivals::Poisson { rate_per_s: 31.2 },
        &[],
        &Sizes::Fixed {
            prompt_tokens: 1_155,
            output_tokens: 211,
        },
        1_800.0,
        &mut rng,
    );
    let run = |cap_kw: Option<f64>| {
        let s = ServiceSettings {
            max_batch: 64,
            max_batch_tokens: 4096,
            scaling: ScalePolicy::Fixed { replicas: 13 },
            interval_s: 60.0,
            load_time_s: 0.0,
            slo: Slo::default(),
            speed: 1.0,
            gpus_per_replica: 8,
            gpu_idle_w: gpu.idle_w,
            gpu_tdp_w: gpu.tdp_w,
            decode_power_share: DECODE_POWER_SHARE,
            power_cap_w: cap_kw.map(|kw| kw * 1e3),
        };
        simulate(&trace.requests, Some(&perf), &s, None).unwrap()
    };
    let (free, capped) = (run(None), run(Some(40.0)));
    eprintln!(
        "uncapped: peak {:.1} kW, e2e {:.3} s, ttft p90 {:.3} s, SLO {:.4}; 40 kW cap: peak {:.1} kW, throttled {:.3}, e2e {:.3} s, ttft p90 {:.3} s, SLO {:.4}",
        free.peak_kw, free.e2e_s.mean, free.ttft_p90_s, free.slo_attainment,
        capped.peak_kw, capped.throttled_share, capped.e2e_s.mean, capped.ttft_p90_s, capped.slo_attainment
    );
    assert_eq!(free.throttled_share, 0.0);
    assert!(free.peak_kw > 40.0, "{}", free.peak_kw);
    assert!(capped.throttled_share > 0.0);
    assert!(capped.peak_kw < free.peak_kw);
    assert!(capped.slo_attainment >= free.slo_attainment - 0.02);
    assert!(capped.e2e_s.mean < free.e2e_s.mean * 1.10);
    assert_eq!(capped.served, free.served);
}

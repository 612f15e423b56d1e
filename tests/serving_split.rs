//! Splitwise's direction (Patel et al., "Splitwise: Efficient generative LLM inference
//! using phase splitting", ISCA 2024): separating prefill and decode onto different
//! replicas raises the throughput a fixed set of GPUs sustains within latency SLOs (the
//! paper: up to 1.4× the throughput at 20% lower cost, or 2.35× under the same power and
//! cost, its abstract). Same GPUs both ways; side by side in docs/validation.md.

use std::path::Path;

use dcsim::engine::RngStreams;
use dcsim::hardware::lookup;
use dcsim::serving::autoscale::ScalePolicy;
use dcsim::serving::generate::{generate, Arrivals, Sizes};
use dcsim::serving::perf::{efficiency_for, llm, ReplicaPerf};
use dcsim::serving::replicas::{simulate, simulate_split, ServiceSettings, Split};
use dcsim::serving::report::{ServiceReport, Slo};
use dcsim::serving::traces::read_azure;
use dcsim::serving::Request;

/// Replicas, each 8 H100 (equal cost both ways: 32 GPUs).
const REPLICAS: u32 = 4;

fn settings() -> ServiceSettings {
    ServiceSettings {
        max_batch: 64,
        max_batch_tokens: 4096,
        scaling: ScalePolicy::Fixed { replicas: REPLICAS },
        interval_s: 60.0,
        load_time_s: 0.0,
        slo: Slo::default(),
        speed: 1.0,
        gpus_per_replica: 8,
        gpu_idle_w: 105.0,
        gpu_tdp_w: 700.0,
        decode_power_share: 0.33,
        power_cap_w: None,
    }
}

fn h100_70b() -> ReplicaPerf {
    let gpu = lookup("H100").unwrap();
    ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "t").unwrap()
}

/// Poisson arrivals at `rate` for 20 minutes, sizes from the bundled Azure code slice in
/// order (cycled): prompt median 1,469 / mean 2,048 tokens, output median 13.
fn trace(rate: f64) -> Vec<Request> {
    let sizes =
        read_azure(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data/azure_code_slice.csv"))
            .unwrap()
            .requests;
    let mut rng = RngStreams::new(11).stream("serving.arrivals", 0);
    let fixed = Sizes::Fixed {
        prompt_tokens: 1,
        output_tokens: 1,
    };
    let mut t = generate(
        &Arrivals::Poisson { rate_per_s: rate },
        &[],
        &fixed,
        1_200.0,
        &mut rng,
    )
    .requests;
    for (i, r) in t.iter_mut().enumerate() {
        let s = sizes[i % sizes.len()];
        r.prompt_tokens = s.prompt_tokens;
        r.output_tokens = s.output_tokens;
    }
    t
}

/// DGX H100's eight 400 Gb/s ConnectX-7 ports (NVIDIA DGX H100 user guide): 400 GB/s
/// between a prefill and a decode replica.
const LINK: f64 = 400e9;

/// The highest rate of 1, 2, ... req/s whose run meets Vidur's SLOs (TTFT p90 < 2 s,
/// TBT p99 < 200 ms), with its report.
fn max_rate(run: impl Fn(&[Request]) -> ServiceReport) -> (f64, Option<ServiceReport>) {
    let mut best = (0.0, None);
    for rate in 1..=24 {
        let r = run(&trace(f64::from(rate)));
        assert_eq!(r.served + r.dropped.total(), r.requests);
        if !r.slo_met {
            break;
        }
        best = (f64::from(rate), Some(r));
    }
    best
}

#[test]
fn splitting_prefill_and_decode_raises_throughput_at_equal_cost() {
    let perf = h100_70b();
    let s = settings();
    let (mixed, m) = max_rate(|t| simulate(t, Some(&perf), &s, None).unwrap());
    let mut best = (0.0, 0, None);
    for prefill in 1..REPLICAS {
        let split = Split {
            prefill_replicas: prefill,
            kv_link_bytes_per_s: LINK,
        };
        let (rate, r) = max_rate(|t| simulate_split(t, &perf, &s, split).unwrap());
        eprintln!(
            "split {prefill}P+{}D: {rate} req/s within SLO",
            REPLICAS - prefill
        );
        if rate > best.0 {
            best = (rate, prefill, r);
        }
    }
    let show = |r: &Option<ServiceReport>| {
        r.as_ref().map_or(String::new(), |r| {
            format!(
                "TTFT p90 {:.2} s, TBT p99 {:.0} ms, GPU-h {:.1}, kWh {:.1}",
                r.ttft_p90_s,
                r.tbt_s[2] * 1e3,
                r.gpu_hours,
                r.energy_kwh
            )
        })
    };
    eprintln!("mixed: {mixed} req/s ({})", show(&m));
    eprintln!(
        "best split {}P+{}D: {} req/s ({})",
        best.1,
        REPLICAS - best.1,
        best.0,
        show(&best.2)
    );
    assert!(mixed >= 1.0, "the mixed baseline must meet the SLO at some rate");
    assert!(best.0 > mixed, "split {} vs mixed {mixed}", best.0);
}

#[test]
fn a_split_needs_both_pools_and_a_fixed_count() {
    let perf = h100_70b();
    let t = trace(1.0);
    let split = |p| Split {
        prefill_replicas: p,
        kv_link_bytes_per_s: LINK,
    };
    let e = simulate_split(&t, &perf, &settings(), split(REPLICAS)).unwrap_err();
    assert!(e.to_string().starts_with("split.prefill_replicas"), "{e}");
    let mut s = settings();
    s.scaling = ScalePolicy::QueueLength {
        per_replica: 4.0,
        min: 1,
        max: 4,
    };
    let e = simulate_split(&t, &perf, &s, split(1)).unwrap_err();
    assert!(e.to_string().starts_with("scaling"), "{e}");
}

/// The mixed scenario with `from` replaced by `to`, prepared and run: the service's
/// report, or the set-up error.
fn mixed_with(from: &str, to: &str) -> Result<ServiceReport, String> {
    use dcsim::scenario::Scenario;
    use dcsim::sim::Simulation;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root.join("scenarios/mixed-training-inference.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text
        .replace(from, to)
        .replace(
            "../topologies/h100-64.toml",
            root.join("topologies/h100-64.toml").to_str().unwrap(),
        )
        .replace(
            "data/azure_code_slice.csv",
            root.join("scenarios/data/azure_code_slice.csv").to_str().unwrap(),
        );
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let s = Scenario::load(&path).map_err(|e| e.to_string())?;
    let p = s.prepare(s.config.seed).map_err(|e| e.to_string())?;
    let mut sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    for m in p.models {
        sim = sim.with_model(m);
    }
    let out = sim.run(&mut |_| {});
    Ok(out.models.serving.unwrap()[0].report.clone())
}

#[test]
fn a_scenario_service_can_be_split() {
    let scaling = r#"scaling = { policy = "queue_length", per_replica = 16, min = 2, max = 4 }"#;
    let r = mixed_with(
        scaling,
        r#"scaling = { policy = "fixed", replicas = 4 }
split = { prefill_replicas = 3 }"#,
    )
    .unwrap();
    assert_eq!((r.requests, r.served), (24_000, 24_000));
    // Autoscaled pools (2-4 replicas, half of them prefilling).
    let r = mixed_with(scaling, &format!("{scaling}\nsplit = {{ prefill_replicas = 1 }}")).unwrap();
    assert_eq!((r.requests, r.served), (24_000, 24_000));
    // A policy that may go down to one replica cannot keep both pools.
    let one = scaling.replace("min = 2", "min = 1");
    let e = mixed_with(scaling, &format!("{one}\nsplit = {{ prefill_replicas = 1 }}")).unwrap_err();
    assert!(
        e.contains("services[0].scaling") && e.contains("at least 2 replicas"),
        "{e}"
    );
    let e = mixed_with(
        scaling,
        r#"scaling = { policy = "fixed", replicas = 4 }
split = { prefill_replicas = 4, kv_link_gb_s = 100 }"#,
    )
    .unwrap_err();
    assert!(e.contains("services[0].split.prefill_replicas"), "{e}");
}

mod conservation {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Split or not, every request is served or dropped with a reason (both run to
        /// completion), and the same ones are dropped.
        #[test]
        fn split_requests_are_conserved(
            seed in 0u64..1_000,
            rate in 0.5f64..12.0,
            replicas in 2u32..5,
            prefill in 1u32..4,
            max_batch in 1u32..32,
            huge in 0u32..3,
        ) {
            let prefill = prefill.min(replicas - 1);
            let mut rng = RngStreams::new(seed).stream("serving.arrivals", 0);
            let mut t = generate(
                &Arrivals::Poisson { rate_per_s: rate },
                &[],
                &Sizes::Fixed { prompt_tokens: 700, output_tokens: 40 },
                120.0,
                &mut rng,
            );
            for k in 0..huge {
                t.requests.push(Request { arrival_s: f64::from(k) * 30.0, prompt_tokens: 3_000_000, output_tokens: 1, exec_s: None });
            }
            t.sort();
            let mut s = settings();
            s.scaling = ScalePolicy::Fixed { replicas };
            s.max_batch = max_batch;
            let split = Split { prefill_replicas: prefill, kv_link_bytes_per_s: LINK };
            let perf = h100_70b();
            let a = simulate_split(&t.requests, &perf, &s, split).unwrap();
            let b = simulate(&t.requests, Some(&perf), &s, None).unwrap();
            prop_assert_eq!(a.served + a.dropped.total(), a.requests);
            prop_assert_eq!(a.in_system_at_end, 0);
            prop_assert_eq!(a.dropped, b.dropped);
            prop_assert!(a.ttft_s.max <= a.e2e_s.max);
        }
    }
}

/// KV hand-overs leaving one prefill replica share its link (processor sharing,
/// `src/serving/kvlink.rs`). One prefill and one decode replica, requests of 1,000
/// prompt tokens and 2 output tokens arriving at 0; each hand-over moves the KV cache of
/// 1,001 tokens, S = 1,001 × 327,680 bytes (Llama2-70B: 2 × 80 layers × 8 KV heads × 128
/// × 2 bytes per token), over B = 1 GB/s, against a link too fast to matter.
///
/// One request: its end-to-end time is S / B longer. Two: the first arrival starts a
/// prefill iteration alone, so the second is prefilled δ later (δ = the difference of
/// their first-token times) and their transfers overlap. The first moves δ·B bytes
/// alone, then both move at B / 2: the first is done at 2S/B − δ after its start, the
/// second (which has then moved S − δB and moves its last δB alone) at 2S/B after the
/// first's start. Each reaches the decode pool 2S/B − δ later than over the fast link,
/// the same gap between them as there, so both end 2S/B − δ later (without sharing:
/// S/B).
#[test]
fn kv_handovers_in_flight_share_the_link() {
    let perf = h100_70b();
    let mut s = settings();
    s.scaling = ScalePolicy::Fixed { replicas: 2 };
    let req = Request {
        arrival_s: 0.0,
        prompt_tokens: 1000,
        output_tokens: 2,
        exec_s: None,
    };
    let bytes = 1001.0 * perf.llm.kv_bytes_per_token();
    assert_eq!(bytes, 1001.0 * 327_680.0);
    let run = |n: usize, bw: f64| {
        let split = Split {
            prefill_replicas: 1,
            kv_link_bytes_per_s: bw,
        };
        let r = simulate_split(&vec![req; n], &perf, &s, split).unwrap();
        assert_eq!(r.served, n as u64);
        r
    };
    let (b, fast) = (1e9, 1e18);
    let one = run(1, b).e2e_s.mean - run(1, fast).e2e_s.mean;
    assert!((one - bytes / b).abs() < 3e-6, "{one} vs {}", bytes / b);
    let (slow, quick) = (run(2, b), run(2, fast));
    // Of two first-token times, the earlier is 2 × mean − max.
    let delta = 2.0 * (quick.ttft_s.max - quick.ttft_s.mean);
    assert!(delta > 0.05 && delta < bytes / b, "{delta}");
    let expect = 2.0 * bytes / b - delta;
    let two = slow.e2e_s.mean - quick.e2e_s.mean;
    eprintln!(
        "S/B {:.6} s, δ {delta:.6} s: two shifted {two:.6} s, expected {expect:.6} s",
        bytes / b
    );
    assert!((two - expect).abs() < 3e-6, "{two} vs {expect}");
    assert!((slow.e2e_s.max - quick.e2e_s.max - expect).abs() < 3e-6);
}

/// Split pools under an autoscaler. With `min = max` nothing ever scales and the run is
/// the fixed split's, report for report. Above what the fixed 3 + 1 split sustains
/// within the SLOs (17 requests/s, `splitting_prefill_and_decode_raises_throughput_at_equal_cost`),
/// at 24 requests/s, queue-length autoscaling from 4 to 8 replicas keeps 3/4 of them
/// prefilling and holds the p90 TTFT down where the fixed pools queue.
#[test]
fn split_pools_follow_an_autoscaler() {
    let perf = h100_70b();
    let split = Split {
        prefill_replicas: 3,
        kv_link_bytes_per_s: LINK,
    };
    let fixed = settings();
    let t = trace(12.0);
    let mut pinned = settings();
    pinned.scaling = ScalePolicy::QueueLength {
        per_replica: 8.0,
        min: REPLICAS,
        max: REPLICAS,
    };
    assert_eq!(
        simulate_split(&t, &perf, &pinned, split).unwrap(),
        simulate_split(&t, &perf, &fixed, split).unwrap()
    );
    let t = trace(24.0);
    let mut scaled = settings();
    scaled.scaling = ScalePolicy::QueueLength {
        per_replica: 8.0,
        min: REPLICAS,
        max: 2 * REPLICAS,
    };
    scaled.interval_s = 10.0;
    let (a, b) = (
        simulate_split(&t, &perf, &fixed, split).unwrap(),
        simulate_split(&t, &perf, &scaled, split).unwrap(),
    );
    let most = b.replicas_over_time.iter().map(|r| r.1).max().unwrap();
    eprintln!(
        "24 req/s: fixed 3P+1D TTFT p90 {:.2} s, TBT p99 {:.0} ms, GPU-h {:.1}; autoscaled 4-8 (held up to {most}, draining included) TTFT p90 {:.2} s, TBT p99 {:.0} ms, GPU-h {:.1}",
        a.ttft_p90_s,
        a.tbt_s[2] * 1e3,
        a.gpu_hours,
        b.ttft_p90_s,
        b.tbt_s[2] * 1e3,
        b.gpu_hours
    );
    assert_eq!(b.served + b.dropped.total(), b.requests);
    assert!(most > REPLICAS, "{most}");
    assert!(
        b.ttft_p90_s < a.ttft_p90_s,
        "{} vs {}",
        b.ttft_p90_s,
        a.ttft_p90_s
    );
}

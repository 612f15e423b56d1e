//! The request-level service simulator: queueing theory (Erlang C, Little's law),
//! conservation of requests, bad input.

use dcsim::engine::RngStreams;
use dcsim::hardware::lookup;
use dcsim::serving::autoscale::ScalePolicy;
use dcsim::serving::generate::{generate, Arrivals, Sizes};
use dcsim::serving::perf::{efficiency_for, llm, ReplicaPerf};
use dcsim::serving::replicas::{simulate, ServiceSettings};
use dcsim::serving::report::Slo;
use dcsim::serving::Request;
use proptest::prelude::*;

fn settings(replicas: u32, max_batch: u32) -> ServiceSettings {
    ServiceSettings {
        max_batch,
        max_batch_tokens: 4096,
        scaling: ScalePolicy::Fixed { replicas },
        interval_s: 60.0,
        load_time_s: 0.0,
        slo: Slo::default(),
        speed: 1.0,
        gpus_per_replica: 8,
        gpu_idle_w: 105.0,
        gpu_tdp_w: 700.0,
        decode_power_share: 0.5,
        power_cap_w: None,
    }
}

fn h100_70b() -> ReplicaPerf {
    let gpu = lookup("H100").unwrap();
    ReplicaPerf::new(llm("llama2-70b").unwrap(), &gpu, 8, efficiency_for(&gpu), "t").unwrap()
}

/// Erlang C mean wait of M/M/c (Kleinrock, Queueing Systems vol. 1, 1975, §3.5):
/// a = λ/μ, ρ = a/c, P_wait = [a^c/c!/(1−ρ)] / [Σ_{k<c} a^k/k! + a^c/c!/(1−ρ)],
/// W_q = P_wait / (cμ − λ).
fn erlang_c_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let rho = a / f64::from(c);
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let tail = term / (1.0 - rho);
    tail / (sum + tail) / (f64::from(c) * mu - lambda)
}

#[test]
fn mm_c_matches_erlang_c_and_littles_law() {
    // Poisson arrivals, exponential execution (mean 1 s), one request per replica at a
    // time, c = 4 replicas at ρ = 0.8: W_q = 0.7455 s, so mean time in system 1.7455 s.
    let (c, lambda) = (4, 3.2);
    let want = erlang_c_wait(c, lambda, 1.0) + 1.0;
    let mut sum = 0.0;
    let reps = 8;
    for rep in 0..reps {
        let mut rng = RngStreams::new(11).stream("serving.arrivals", rep);
        let trace = generate(
            &Arrivals::Poisson { rate_per_s: lambda },
            &[],
            &Sizes::ExponentialExec { mean_s: 1.0 },
            50_000.0,
            &mut rng,
        );
        let r = simulate(&trace.requests, None, &settings(c, 1), None).unwrap();
        assert_eq!(r.served, trace.requests.len() as u64);
        // Little's law over the whole run: L = λ̂ · W with λ̂ = served / duration.
        let little = r.served as f64 / r.duration_s * r.e2e_s.mean;
        assert!(
            (r.mean_in_system / little - 1.0).abs() < 1e-6,
            "{} vs {little}",
            r.mean_in_system
        );
        sum += r.e2e_s.mean;
    }
    let ours = sum / reps as f64;
    // 8 × 160,000 requests: the standard error of the mean sojourn is under 1%.
    assert!(
        (ours / want - 1.0).abs() < 0.03,
        "simulated {ours:.4} s, Erlang C {want:.4} s"
    );
}

#[test]
fn a_lone_request_takes_prefill_plus_decode_steps() {
    // One request, 1,000-token prompt, 10 output tokens: TTFT = one prefill iteration,
    // each later token one decode step at its context (hand-worked from the model).
    let p = h100_70b();
    let req = Request {
        arrival_s: 5.0,
        prompt_tokens: 1_000,
        output_tokens: 10,
        exec_s: None,
    };
    let r = simulate(&[req], Some(&p), &settings(1, 8), None).unwrap();
    let ttft = p.prefill_ms(1_000) / 1e3;
    let decode: f64 = (1..10)
        .map(|g| p.decode_ms(1, 1_000.0 + f64::from(g)) / 1e3)
        .sum();
    assert!((r.ttft_s.mean - ttft).abs() < 2e-6, "{} vs {ttft}", r.ttft_s.mean);
    assert!(
        (r.e2e_s.mean - ttft - decode).abs() < 2e-5,
        "{} vs {}",
        r.e2e_s.mean,
        ttft + decode
    );
    assert_eq!(r.served, 1);
}

#[test]
fn oversized_request_is_dropped_with_its_reason() {
    let p = h100_70b();
    let big = Request {
        arrival_s: 0.0,
        prompt_tokens: 2_000_000,
        output_tokens: 10,
        exec_s: None,
    };
    let ok = Request {
        arrival_s: 0.1,
        prompt_tokens: 100,
        output_tokens: 10,
        exec_s: None,
    };
    let r = simulate(&[big, ok], Some(&p), &settings(1, 8), None).unwrap();
    assert_eq!((r.served, r.dropped.exceeds_kv_cache), (1, 1));
}

#[test]
fn zero_replicas_with_requests_is_an_error() {
    let req = Request {
        arrival_s: 0.0,
        prompt_tokens: 10,
        output_tokens: 10,
        exec_s: Some(1.0),
    };
    let e = simulate(&[req], None, &settings(0, 1), None).unwrap_err();
    assert!(e.to_string().contains("can never have a replica"), "{e}");
    // No model and no recorded time: nothing can time the request.
    let req = Request { exec_s: None, ..req };
    let e = simulate(&[req], None, &settings(1, 1), None).unwrap_err();
    assert!(e.to_string().starts_with("model:"), "{e}");
}

#[test]
fn autoscaling_follows_load_and_pays_the_load_time() {
    // Queue-length policy, 4 outstanding per replica, 1 to 8 replicas, 120 s load time:
    // a ×4 burst must scale up and, once it passes, back down; every request is served.
    let mut rng = RngStreams::new(3).stream("serving.arrivals", 0);
    let burst = dcsim::serving::generate::Burst {
        factor: 4.0,
        start_s: 600.0,
        duration_s: 600.0,
    };
    let trace = generate(
        &Arrivals::Poisson { rate_per_s: 2.0 },
        &[burst],
        &Sizes::Fixed {
            prompt_tokens: 1_000,
            output_tokens: 100,
        },
        2_400.0,
        &mut rng,
    );
    let mut s = settings(1, 16);
    s.scaling = ScalePolicy::QueueLength {
        per_replica: 16.0,
        min: 1,
        max: 8,
    };
    s.load_time_s = 120.0;
    let r = simulate(&trace.requests, Some(&h100_70b()), &s, None).unwrap();
    let peak = r.replicas_over_time.iter().map(|x| x.1).max().unwrap();
    let last = r.replicas_over_time.last().unwrap().1;
    assert!(peak > 1, "{:?}", r.replicas_over_time);
    assert!(last < peak, "{:?}", r.replicas_over_time);
    assert_eq!(r.served, trace.requests.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Every request is served, dropped with a reason, still in the system, or not yet
    /// arrived when the run ends.
    #[test]
    fn requests_are_conserved(
        seed in 0u64..1_000,
        rate in 0.5f64..20.0,
        replicas in 1u32..4,
        max_batch in 1u32..32,
        horizon in prop::option::of(10.0f64..400.0),
        huge in 0u32..3,
    ) {
        let mut rng = RngStreams::new(seed).stream("serving.arrivals", 0);
        let mut trace = generate(
            &Arrivals::Poisson { rate_per_s: rate },
            &[],
            &Sizes::Fixed { prompt_tokens: 500, output_tokens: 50 },
            300.0,
            &mut rng,
        );
        for k in 0..huge {
            let at = f64::from(k) * 50.0;
            trace.requests.push(Request { arrival_s: at, prompt_tokens: 3_000_000, output_tokens: 1, exec_s: None });
        }
        trace.sort();
        let r = simulate(&trace.requests, Some(&h100_70b()), &settings(replicas, max_batch), horizon).unwrap();
        prop_assert_eq!(r.served + r.dropped.total() + r.in_system_at_end + r.not_arrived, r.requests);
        // The oversized requests (at 0, 50, 100 s) that arrived before the horizon.
        let due = (0..huge).filter(|k| horizon.is_none_or(|h| f64::from(*k) * 50.0 <= h)).count() as u64;
        prop_assert_eq!(r.dropped.exceeds_kv_cache, due);
        if horizon.is_none() {
            prop_assert_eq!(r.in_system_at_end + r.not_arrived, 0);
        }
    }
}

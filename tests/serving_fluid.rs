//! Fluid mode against the request-by-request simulator and queueing theory: the same
//! service, the same demand, both ways.

use dcsim::engine::RngStreams;
use dcsim::hardware::lookup;
use dcsim::serving::autoscale::ScalePolicy;
use dcsim::serving::fluid::{demand_of_rate, demand_of_trace, simulate_fluid};
use dcsim::serving::generate::{generate, Arrivals, Burst, Sizes};
use dcsim::serving::perf::{efficiency_for, llm, ReplicaPerf};
use dcsim::serving::replicas::{simulate, ServiceSettings};
use dcsim::serving::report::{ServiceReport, Slo};

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

/// Both ways on one generated service: the request simulator on a drawn trace, fluid
/// on the same trace binned into the service's intervals.
fn both(
    arrivals: Arrivals,
    bursts: &[Burst],
    sizes: Sizes,
    duration_s: f64,
    s: &ServiceSettings,
    perf: Option<&ReplicaPerf>,
) -> (ServiceReport, ServiceReport) {
    let mut rng = RngStreams::new(7).stream("serving.arrivals", 0);
    let trace = generate(&arrivals, bursts, &sizes, duration_s, &mut rng);
    let req = simulate(&trace.requests, perf, s, None).unwrap();
    let demand = demand_of_trace(&trace.requests, perf, s.interval_s);
    let fluid = simulate_fluid(&demand, perf, s).unwrap();
    (req, fluid)
}

fn close(what: &str, ours: f64, theirs: f64, tol: f64) {
    assert!(
        (ours / theirs - 1.0).abs() < tol,
        "{what}: fluid {ours:.4} vs requests {theirs:.4} (tolerance {:.0}%)",
        tol * 100.0
    );
}

fn fixed(prompt_tokens: u32, output_tokens: u32) -> Sizes {
    Sizes::Fixed {
        prompt_tokens,
        output_tokens,
    }
}

#[test]
fn fluid_mm_c_is_erlang_c_and_agrees_with_requests() {
    // Poisson 3.2/s, exponential execution mean 1 s, one request per replica, c = 4:
    // Erlang C's mean time in system is 1.7455 s (Kleinrock 1975, §3.5; the same case
    // as tests/serving_sim.rs). Fluid on the generator's rate computes it in closed
    // form; the request-level run of about 160,000 requests lands within its sampling
    // error.
    let arrivals = Arrivals::Poisson { rate_per_s: 3.2 };
    let sizes = Sizes::ExponentialExec { mean_s: 1.0 };
    let s = settings(4, 1);
    let (req, _) = both(arrivals.clone(), &[], sizes.clone(), 50_000.0, &s, None);
    let demand = demand_of_rate(&arrivals, &[], &sizes, 50_000.0, None, s.interval_s);
    let fluid = simulate_fluid(&demand, None, &s).unwrap();
    assert!((fluid.e2e_s.mean - 1.745_5).abs() < 1e-3, "{}", fluid.e2e_s.mean);
    close("mean time in system", fluid.e2e_s.mean, req.e2e_s.mean, 0.02);
    close("served", fluid.served as f64, req.served as f64, 0.01);
    close("GPU-hours", fluid.gpu_hours, req.gpu_hours, 0.01);
    close("energy", fluid.energy_kwh, req.energy_kwh, 0.01);
}

#[test]
fn fluid_on_a_binned_trace_counts_poisson_noise_twice_on_few_servers() {
    // The known limit, pinned: binning a drawn trace per minute and applying Erlang C
    // per interval adds the arrivals' Poisson noise a second time (minutes at ρ 0.9 wait
    // far longer than minutes at 0.7 save). On 4 single-request servers at ρ = 0.8 the
    // mean time in system comes out well above Erlang C's 1.7455 s; on batching replicas
    // (128 slots) the stochastic wait is negligible and the cases above agree.
    let (req, fluid) = both(
        Arrivals::Poisson { rate_per_s: 3.2 },
        &[],
        Sizes::ExponentialExec { mean_s: 1.0 },
        50_000.0,
        &settings(4, 1),
        None,
    );
    assert_eq!(fluid.served, req.served);
    assert!(
        fluid.e2e_s.mean > 1.3 * req.e2e_s.mean,
        "{} vs {}",
        fluid.e2e_s.mean,
        req.e2e_s.mean
    );
}

#[test]
fn generated_rates_integrate_to_their_closed_forms() {
    // Poisson 2/s for an hour with × 4 over [600, 1,200): 2·3,600 + 3·2·600 = 10,800
    // requests, 8 per second inside the burst's minutes. A diurnal day at mean 1,000/s
    // (±50%) integrates to 86.4 million: the cosine's day-long integral is 0.
    let d = demand_of_rate(
        &Arrivals::Poisson { rate_per_s: 2.0 },
        &[Burst {
            factor: 4.0,
            start_s: 600.0,
            duration_s: 600.0,
        }],
        &fixed(100, 10),
        3_600.0,
        None,
        60.0,
    );
    let total: f64 = d.loads.iter().map(|l| l.requests).sum();
    assert!((total - 10_800.0).abs() < 1e-6, "{total}");
    assert!((d.loads[10].requests - 480.0).abs() < 1e-9 && (d.loads[9].requests - 120.0).abs() < 1e-9);
    let day = Arrivals::Diurnal {
        mean_rate_per_s: 1_000.0,
        amplitude: 0.5,
        peak_hour: 14.0,
    };
    let d = demand_of_rate(&day, &[], &fixed(100, 10), 86_400.0, None, 60.0);
    let total: f64 = d.loads.iter().map(|l| l.requests).sum();
    assert!((total / 86.4e6 - 1.0).abs() < 1e-9, "{total}");
    // The 14:00 minute runs at 1,500/s, the 02:00 minute at 500/s (± the minute's curve).
    assert!((d.loads[14 * 60].requests / 60.0 / 1_500.0 - 1.0).abs() < 1e-3);
    assert!((d.loads[2 * 60].requests / 60.0 / 500.0 - 1.0).abs() < 1e-3);
}

#[test]
fn fluid_agrees_with_requests_on_a_small_llm_service() {
    // Llama2-70B on 2 replicas of 8 H100, 1,000-token prompts, 100-token outputs, an
    // hour of Poisson arrivals at light, half and heavy load (the batch fills at about
    // 13 requests/s): the same figures both ways.
    for rate in [2.0, 6.0, 9.0] {
        let (req, fluid) = both(
            Arrivals::Poisson { rate_per_s: rate },
            &[],
            fixed(1_000, 100),
            3_600.0,
            &settings(2, 64),
            Some(&h100_70b()),
        );
        close("served", fluid.served as f64, req.served as f64, 0.02);
        close("mean TTFT", fluid.ttft_s.mean, req.ttft_s.mean, 0.10);
        close("mean e2e", fluid.e2e_s.mean, req.e2e_s.mean, 0.05);
        close("mean in system", fluid.mean_in_system, req.mean_in_system, 0.05);
        close("GPU-hours", fluid.gpu_hours, req.gpu_hours, 0.01);
        close("energy", fluid.energy_kwh, req.energy_kwh, 0.03);
    }
}

#[test]
fn fluid_p99_understates_the_request_level_tail_by_at_most_its_spread() {
    // Fluid's percentiles are over per-interval means (weighted by requests): the spread
    // within an interval (which prompts share an iteration, where in an iteration a
    // request arrives) is missing. So at steady load its p99 lies between the
    // request-level mean (a quantile of interval means is at least about their mean, and
    // the means agree within 5%) and the request-level p99 (no spread added). The
    // request-level p99 sits 12-29% above its mean here, so that bracket alone allows
    // fluid up to 23% low; the interval means carry some of the spread (busier minutes),
    // and fluid measures 9-15% low: asserted within 20%. Through a burst above capacity
    // the tail is the backlog, which fluid's cumulative curves do model: within 10%.
    for rate in [2.0, 6.0, 9.0] {
        let (req, fluid) = both(
            Arrivals::Poisson { rate_per_s: rate },
            &[],
            fixed(1_000, 100),
            3_600.0,
            &settings(2, 64),
            Some(&h100_70b()),
        );
        let (f, r) = (fluid.e2e_s.p99, req.e2e_s.p99);
        eprintln!(
            "{rate}/s: e2e p99 fluid {f:.3} s, requests {r:.3} s, mean {:.3} s",
            req.e2e_s.mean
        );
        assert!(f >= 0.95 * req.e2e_s.mean && f <= r, "{rate}/s: {f} vs {r}");
        assert!(f >= 0.80 * r, "{rate}/s: {f} vs {r}");
    }
    let burst = [Burst {
        factor: 4.0,
        start_s: 600.0,
        duration_s: 600.0,
    }];
    let (req, fluid) = both(
        Arrivals::Poisson { rate_per_s: 4.0 },
        &burst,
        fixed(1_000, 100),
        3_600.0,
        &settings(2, 64),
        Some(&h100_70b()),
    );
    eprintln!(
        "burst: e2e p99 fluid {:.3} s, requests {:.3} s",
        fluid.e2e_s.p99, req.e2e_s.p99
    );
    close("e2e p99 through a burst", fluid.e2e_s.p99, req.e2e_s.p99, 0.10);
}

#[test]
fn fluid_backlog_of_a_burst_above_capacity_agrees_with_requests() {
    // × 4 for 10 minutes takes 4/s to 16/s, above the 2 replicas' capacity: a backlog
    // builds and drains after the burst. Fluid's cumulative curves against the queue.
    let burst = [Burst {
        factor: 4.0,
        start_s: 600.0,
        duration_s: 600.0,
    }];
    let (req, fluid) = both(
        Arrivals::Poisson { rate_per_s: 4.0 },
        &burst,
        fixed(1_000, 100),
        3_600.0,
        &settings(2, 64),
        Some(&h100_70b()),
    );
    assert!(req.e2e_s.p99 > 30.0, "the burst must overload: {}", show(&req));
    close("mean e2e", fluid.e2e_s.mean, req.e2e_s.mean, 0.10);
    close("mean TTFT", fluid.ttft_s.mean, req.ttft_s.mean, 0.10);
    close("energy", fluid.energy_kwh, req.energy_kwh, 0.03);
}

#[test]
fn fluid_autoscaling_agrees_with_requests() {
    // Queue-length scaling (16 outstanding per replica, 1-8 replicas, 120 s load) through
    // a × 4 burst: replica-hours and latency both ways.
    let burst = [Burst {
        factor: 4.0,
        start_s: 1_200.0,
        duration_s: 1_200.0,
    }];
    let mut s = settings(1, 16);
    s.scaling = ScalePolicy::QueueLength {
        per_replica: 16.0,
        min: 1,
        max: 8,
    };
    s.load_time_s = 120.0;
    let (req, fluid) = both(
        Arrivals::Poisson { rate_per_s: 2.0 },
        &burst,
        fixed(1_000, 100),
        3_600.0,
        &s,
        Some(&h100_70b()),
    );
    let peak = |r: &ServiceReport| r.replicas_over_time.iter().map(|x| x.1).max().unwrap();
    close("GPU-hours", fluid.gpu_hours, req.gpu_hours, 0.05);
    close("mean e2e", fluid.e2e_s.mean, req.e2e_s.mean, 0.15);
    assert!(
        peak(&fluid).abs_diff(peak(&req)) <= 1,
        "{} vs {}",
        peak(&fluid),
        peak(&req)
    );
}

#[test]
fn fluid_conserves_requests_and_drops_what_no_cache_holds() {
    // A trace binned: served + dropped + still queued = requests, and a request larger
    // than the KV cache is dropped with its reason, as request by request.
    let mut rng = RngStreams::new(5).stream("serving.arrivals", 0);
    let mut trace = generate(
        &Arrivals::Poisson { rate_per_s: 3.0 },
        &[],
        &fixed(500, 50),
        600.0,
        &mut rng,
    );
    trace.requests.push(dcsim::serving::Request {
        arrival_s: 700.0,
        prompt_tokens: 3_000_000,
        output_tokens: 1,
        exec_s: None,
    });
    let p = h100_70b();
    let s = settings(1, 32);
    let fluid = simulate_fluid(&demand_of_trace(&trace.requests, Some(&p), 60.0), Some(&p), &s).unwrap();
    let req = simulate(&trace.requests, Some(&p), &s, None).unwrap();
    assert_eq!(fluid.requests, trace.requests.len() as u64);
    assert_eq!(
        fluid.served + fluid.dropped.total() + fluid.in_system_at_end,
        fluid.requests
    );
    assert_eq!(fluid.dropped, req.dropped);
    assert_eq!(fluid.served, req.served);
    // Oversized generated sizes: every request dropped, none served.
    let d = demand_of_rate(
        &Arrivals::Poisson { rate_per_s: 1.0 },
        &[],
        &fixed(3_000_000, 1),
        100.0,
        Some(&p),
        60.0,
    );
    let r = simulate_fluid(&d, Some(&p), &s).unwrap();
    assert_eq!((r.served, r.dropped.exceeds_kv_cache), (0, 100));
}

#[test]
fn fluid_rejects_zero_replicas_with_requests() {
    let d = demand_of_rate(
        &Arrivals::Poisson { rate_per_s: 1.0 },
        &[],
        &fixed(100, 10),
        100.0,
        None,
        60.0,
    );
    let e = simulate_fluid(&d, Some(&h100_70b()), &settings(0, 8)).unwrap_err();
    assert!(e.to_string().contains("can never have a replica"), "{e}");
    let e = simulate_fluid(&d, None, &settings(1, 8)).unwrap_err();
    assert!(e.to_string().starts_with("model:"), "{e}");
    // A service power cap is modelled per iteration: fluid refuses it by name.
    let mut s = settings(1, 8);
    s.power_cap_w = Some(40e3);
    let e = simulate_fluid(&d, Some(&h100_70b()), &s).unwrap_err();
    assert!(e.to_string().starts_with("power_cap_kw:"), "{e}");
}

fn show(r: &ServiceReport) -> String {
    format!(
        "served {} ttft {:.3}/{:.3} e2e {:.3} tbt {:?} gpu-h {:.3} kWh {:.3} L {:.2} dur {:.0}",
        r.served,
        r.ttft_s.mean,
        r.ttft_p90_s,
        r.e2e_s.mean,
        r.tbt_s,
        r.gpu_hours,
        r.energy_kwh,
        r.mean_in_system,
        r.duration_s
    )
}

#[test]
fn the_day_scenario_serves_86_million_requests_in_fluid_mode() {
    // scenarios/serving-day-fluid.toml through the scenario loader and the model seam: a
    // diurnal day at mean 1,000/s integrates to 86.4 million requests, all served, and
    // queue-length autoscaling follows the ±50% swing (peak at least twice the trough).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/serving-day-fluid.toml");
    let s = dcsim::scenario::Scenario::load(&path).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    let mut sim = dcsim::sim::Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    for m in p.models {
        sim = sim.with_model(m);
    }
    let out = sim.run(&mut |_| {});
    let svc = &out.models.serving.as_ref().unwrap()[0];
    let r = &svc.report;
    assert_eq!(
        (r.requests, r.served, r.in_system_at_end),
        (86_400_000, 86_400_000, 0)
    );
    let counts: Vec<u32> = r.replicas_over_time.iter().map(|x| x.1).collect();
    let (lo, hi) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
    assert!(hi >= 2 * lo, "{lo} to {hi}");
    assert!(r.slo_met, "p90 TTFT {} s", r.ttft_p90_s);
}

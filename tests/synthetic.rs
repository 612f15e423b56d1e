//! Statistical validation of the synthetic workload generator and the workload
//! transforms: each test states the closed form it checks and its source.

use dcsim::engine::{RngStreams, SimTime};
use dcsim::workload::synthetic::{generate, mean_gpu_seconds, SyntheticConfig};
use dcsim::workload::transform::{apply, TransformConfig};
use dcsim::workload::{
    GpuDemand, GpuTypeSet, HostDemand, JobId, JobKind, JobSpec, TenantId, Workload, WorkloadError,
};

fn config(s: &str) -> SyntheticConfig {
    toml::from_str(s).expect("config parses")
}

fn run(cfg: &SyntheticConfig, seed: u64) -> Workload {
    generate(cfg, &RngStreams::new(seed), 0, None, 0).expect("generates")
}

/// Gaps between successive submits, counting the first from time 0, in seconds.
fn gaps_s(w: &Workload) -> Vec<f64> {
    let mut prev = SimTime::ZERO;
    w.jobs
        .iter()
        .map(|j| {
            let g = (j.submit - prev).as_secs_f64();
            prev = j.submit;
            g
        })
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Coefficient of variation (sample standard deviation / mean).
fn cv(xs: &[f64]) -> f64 {
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    var.sqrt() / m
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

/// A hand-built source trace: one job per (GPU demand, duration in seconds).
fn source(pairs: &[(GpuDemand, u64)]) -> Workload {
    let mut w = Workload {
        tenants: vec!["vc".into()],
        rows_read: pairs.len() as u64,
        ..Default::default()
    };
    for (i, &(demand, secs)) in pairs.iter().enumerate() {
        w.jobs.push(JobSpec {
            id: JobId(i as u32),
            name: format!("src{i}").into(),
            submit: SimTime::from_secs(i as u64),
            duration: SimTime::from_secs(secs),
            demand,
            host: HostDemand::NONE,
            gpu_types: GpuTypeSet::ANY,
            tenant: TenantId(0),
            user: None,
            priority: 0,
            kind: JobKind::Training,
            recorded_start: None,
            open_ended: false,
            gpu_util: None,
            class: None,
            comm: None,
            checkpoint_gb: None,
        });
    }
    w
}

#[test]
fn poisson_gaps_are_exponential() {
    let cfg = config(
        r#"jobs = 200000
           arrival = { process = "poisson", rate_per_hour = 3600.0 }
           duration = { dist = "exponential", mean_s = 3600.0 }"#,
    );
    let w = run(&cfg, 11);
    let gaps = gaps_s(&w);
    // Poisson process with rate λ: gaps are Exp(λ), mean 1/λ = 1 s and CV = 1
    // (Ross, Introduction to Probability Models, 12th ed., §5.3). Standard errors at
    // n = 200k: mean 0.22%, CV ≈ √(2/n) = 0.32%.
    let (m, c) = (mean(&gaps), cv(&gaps));
    println!("poisson: mean gap {m:.5} s (want 1), CV {c:.5} (want 1)");
    assert!(rel_err(m, 1.0) < 0.01, "mean gap {m}");
    assert!(rel_err(c, 1.0) < 0.02, "CV {c}");
    // Exponential durations: mean = mean_s (same source).
    let d: Vec<f64> = w.jobs.iter().map(|j| j.duration.as_secs_f64()).collect();
    println!("exponential duration: mean {:.2} s (want 3600)", mean(&d));
    assert!(rel_err(mean(&d), 3600.0) < 0.01);
}

#[test]
fn lognormal_duration_mean_matches_closed_form() {
    let cfg = config(
        r#"jobs = 200000
           arrival = { process = "poisson", rate_per_hour = 3600.0 }
           duration = { dist = "lognormal", mu = 7.0, sigma = 1.0 }"#,
    );
    let w = run(&cfg, 12);
    let d: Vec<f64> = w.jobs.iter().map(|j| j.duration.as_secs_f64()).collect();
    // E[D] = exp(μ + σ²/2) (Johnson, Kotz & Balakrishnan, Continuous Univariate
    // Distributions vol. 1, 2nd ed., ch. 14); CV = √(e^{σ²} − 1) ≈ 1.31, so the standard error
    // of the mean at n = 200k is 0.29%.
    let want = (7.0f64 + 0.5).exp();
    println!("lognormal duration: mean {:.2} s (want {want:.2})", mean(&d));
    assert!(rel_err(mean(&d), want) < 0.02);
}

#[test]
fn offered_load_is_met() {
    let cfg = config(
        r#"jobs = 500000
           arrival = { process = "poisson", offered_load = 0.9 }
           gpus = { dist = "choice", values = [1, 2, 4, 8], weights = [8, 4, 2, 1] }
           duration = { dist = "exponential", mean_s = 1800.0 }"#,
    );
    let capacity = 1024;
    let w = generate(&cfg, &RngStreams::new(13), 0, None, capacity).unwrap();
    // ρ = λ E[G·D] / C; measured as the work submitted over the arrival span.
    let work: f64 = w
        .jobs
        .iter()
        .map(|j| j.demand.gpus_f64() * j.duration.as_secs_f64())
        .sum();
    let span = w.jobs.last().unwrap().submit.as_secs_f64();
    let rho = work / (capacity as f64 * span);
    println!("offered load: measured {rho:.4} (want 0.9)");
    assert!(rel_err(rho, 0.9) < 0.02, "rho {rho}");
}

#[test]
fn diurnal_rate_peaks_at_peak_hour_with_the_requested_swing() {
    let (r, peak) = (3.0, 14.5);
    let cfg = config(&format!(
        r#"jobs = 400000
           arrival = {{ process = "diurnal", rate_per_hour = 100.0, peak_to_trough = {r}, peak_hour = {peak} }}
           duration = {{ dist = "constant", value_s = 60.0 }}"#
    ));
    let w = run(&cfg, 14);
    let days = w.jobs.last().unwrap().submit.as_secs_f64() / 86400.0;
    let mut counts = [0f64; 24];
    for j in &w.jobs {
        counts[((j.submit.as_secs_f64() / 3600.0) as u64 % 24) as usize] += 1.0;
    }
    // λ(t) = λ̄ (1 + a cos(2π (h − peak)/24)), a = (r − 1)/(r + 1). Hour bin h covers
    // [h, h + 1), centred at h + 0.5; its count's first Fourier coefficient is
    // Σ c_h e^{iθ_h} = (N/2) a s e^{iθ_peak} with s = sin(π/24)/(π/24) the averaging
    // over one hour, so the phase gives the peak hour and the modulus the amplitude.
    let n: f64 = counts.iter().sum();
    let (mut re, mut im) = (0.0, 0.0);
    for (h, c) in counts.iter().enumerate() {
        let theta = std::f64::consts::TAU * (h as f64 + 0.5) / 24.0;
        re += c * theta.cos();
        im += c * theta.sin();
    }
    let x = std::f64::consts::PI / 24.0;
    let a = 2.0 * (re * re + im * im).sqrt() / n / (x.sin() / x);
    let peak_fit = (im.atan2(re) / std::f64::consts::TAU * 24.0).rem_euclid(24.0);
    let r_fit = (1.0 + a) / (1.0 - a);
    let argmax = (0..24).max_by(|&i, &j| counts[i].total_cmp(&counts[j])).unwrap();
    let argmin = (0..24).min_by(|&i, &j| counts[i].total_cmp(&counts[j])).unwrap();
    let binned = counts[argmax] / counts[argmin];
    println!(
        "diurnal over {days:.0} days: fitted peak {peak_fit:.3} h (want {peak}), fitted \
         peak/trough {r_fit:.3} (want {r}), busiest hour {argmax}, max/min hourly count {binned:.3}"
    );
    assert!((peak_fit - peak).abs() < 0.25, "peak {peak_fit}");
    assert!(rel_err(r_fit, r) < 0.03, "ratio {r_fit}");
    assert!((13..=15).contains(&argmax), "busiest hour {argmax}");
    assert!(rel_err(binned, r) < 0.1, "binned ratio {binned}");
    // The mean rate over whole days is λ̄ = 100/h.
    assert!(rel_err(n / (days * 24.0), 100.0) < 0.02);
}

#[test]
fn empirical_pairs_come_from_the_source_jointly() {
    let pairs = [
        (GpuDemand::whole(1), 100),
        (GpuDemand::whole(2), 50),
        (GpuDemand::whole(8), 3600),
        (GpuDemand::whole(4), 10),
        (GpuDemand::whole(1), 7200),
        (GpuDemand::share(250), 600),
    ];
    let src = source(&pairs);
    let cfg = config(
        r#"jobs = 200000
           arrival = { process = "poisson", rate_per_hour = 3600.0 }
           gpus = { dist = "empirical" }
           duration = { dist = "empirical" }"#,
    );
    let w = generate(&cfg, &RngStreams::new(15), 0, Some(&src), 0).unwrap();
    let allowed: Vec<(GpuDemand, SimTime)> = pairs.iter().map(|&(g, s)| (g, SimTime::from_secs(s))).collect();
    assert!(w.jobs.iter().all(|j| allowed.contains(&(j.demand, j.duration))));
    // Every source job is drawn with probability 1/6: each of the 6 pairs appears.
    assert!(allowed
        .iter()
        .all(|p| w.jobs.iter().any(|j| (j.demand, j.duration) == *p)));
    let got = w
        .jobs
        .iter()
        .map(|j| j.demand.gpus_f64() * j.duration.as_secs_f64())
        .sum::<f64>()
        / w.jobs.len() as f64;
    let want = mean_gpu_seconds(&cfg, Some(&src)).unwrap();
    let src_mean = pairs.iter().map(|&(g, s)| g.gpus_f64() * s as f64).sum::<f64>() / pairs.len() as f64;
    println!("empirical: mean GPU-s {got:.1}, source {src_mean:.1}");
    assert!((want - src_mean).abs() < 1e-9);
    assert!(rel_err(got, src_mean) < 0.02, "{got} vs {src_mean}");
}

#[test]
fn empirical_marginal_draws_only_source_values() {
    let src = source(&[(GpuDemand::whole(2), 100), (GpuDemand::whole(8), 3600)]);
    let cfg = config(
        r#"jobs = 10000
           arrival = { process = "poisson", rate_per_hour = 3600.0 }
           gpus = { dist = "constant", value = 1 }
           duration = { dist = "empirical" }"#,
    );
    let w = generate(&cfg, &RngStreams::new(16), 0, Some(&src), 0).unwrap();
    assert!(w.jobs.iter().all(|j| {
        j.demand == GpuDemand::whole(1)
            && (j.duration == SimTime::from_secs(100) || j.duration == SimTime::from_secs(3600))
    }));
}

#[test]
fn same_seed_same_workload_different_seed_different() {
    let cfg = config(
        r#"jobs = 20000
           arrival = { process = "diurnal", rate_per_hour = 500.0, peak_to_trough = 2.0 }
           gpus = { dist = "choice", values = [1, 2, 4, 8] }
           duration = { dist = "lognormal", mu = 6.0, sigma = 1.5 }
           tenants = 4
           tenant_assignment = "uniform""#,
    );
    let a = run(&cfg, 99);
    let b = run(&cfg, 99);
    let c = run(&cfg, 100);
    assert_eq!(a.jobs, b.jobs);
    assert_ne!(a.jobs, c.jobs);
    let rep1 = generate(&cfg, &RngStreams::new(99), 1, None, 0).unwrap();
    assert_ne!(a.jobs, rep1.jobs);
}

fn poisson(jobs: u64, seed: u64) -> Workload {
    run(
        &config(&format!(
            r#"jobs = {jobs}
               arrival = {{ process = "poisson", rate_per_hour = 3600.0 }}
               gpus = {{ dist = "choice", values = [1, 2, 4, 8] }}
               duration = {{ dist = "exponential", mean_s = 600.0 }}
               tenants = 3"#
        )),
        seed,
    )
}

fn transform(s: &str) -> TransformConfig {
    toml::from_str(s).expect("transform parses")
}

#[test]
fn window_keeps_jobs_inside_and_counts_the_rest() {
    let w = poisson(10_000, 21);
    let inside = w
        .jobs
        .iter()
        .filter(|j| (1000.0..3000.0).contains(&j.submit.as_secs_f64()))
        .count();
    let out = apply(w, &transform("start_s = 1000.0\nend_s = 3000.0")).unwrap();
    assert_eq!(out.jobs.len(), inside);
    assert_eq!(out.skipped.reasons["window"].count as usize, 10_000 - inside);
    assert!(out.jobs.iter().all(|j| j.submit < SimTime::from_secs(2000)));
    assert_eq!(out.jobs.len() as u64 + out.skipped.total(), out.rows_read);
}

#[test]
fn load_scale_two_halves_the_mean_gap() {
    let w = poisson(50_000, 22);
    let before = mean(&gaps_s(&w));
    let out = apply(w, &transform("load_scale = 2.0")).unwrap();
    let after = mean(&gaps_s(&out));
    println!("load_scale 2: mean gap {before:.5} s -> {after:.5} s");
    // Rounding each submit to the ms moves the mean gap by at most 1 ms / n.
    assert!((after - before / 2.0).abs() < 1e-6);
}

#[test]
fn tiling_repeats_n_times_and_keeps_the_rate() {
    let w = poisson(10_000, 23);
    let first = w.jobs[0].submit.as_ms();
    let last = w.jobs.last().unwrap().submit.as_ms();
    let m = w.jobs.len() as u64;
    let out = apply(w.clone(), &transform("tile = 4")).unwrap();
    assert_eq!(out.jobs.len() as u64, 4 * m);
    // span = (last − first) · m / (m − 1), rounded up to the ms; copy k starts at
    // first + k · span and ends at last + k · span.
    let span = ((last - first) * m).div_ceil(m - 1);
    for k in 0..4u64 {
        let copy = &out.jobs[(k * m) as usize..((k + 1) * m) as usize];
        assert_eq!(copy[0].submit.as_ms(), first + k * span);
        assert_eq!(copy[m as usize - 1].submit.as_ms(), last + k * span);
        assert!(copy
            .iter()
            .zip(&w.jobs)
            .all(|(c, o)| c.duration == o.duration && c.demand == o.demand));
    }
    // The seam adds one mean gap, so the mean rate over the tiled trace is unchanged.
    let gap_in = (last - first) as f64 / (m - 1) as f64;
    let gap_out = (out.jobs.last().unwrap().submit.as_ms() - first) as f64 / (4 * m - 1) as f64;
    assert!(rel_err(gap_out, gap_in) < 1e-4);
}

#[test]
fn filters_and_truncation_lose_nothing() {
    let w = poisson(20_000, 24);
    // Filters run in order (tenant, then min, then max); each job counts once, under
    // the first filter that drops it.
    let count = |f: &dyn Fn(&JobSpec) -> bool| w.jobs.iter().filter(|j| f(j)).count() as u64;
    let tenant2 = count(&|j| j.tenant == TenantId(2));
    let small = count(&|j| j.tenant != TenantId(2) && j.demand.gpus < 2);
    let big = count(&|j| j.tenant != TenantId(2) && j.demand.gpus > 4);
    let cfg = transform(
        r#"exclude_tenants = ["tenant-2"]
           min_gpus = 2
           max_gpus = 4
           max_jobs = 3000"#,
    );
    let out = apply(w, &cfg).unwrap();
    let c = |r: &str| out.skipped.reasons.get(r).map_or(0, |c| c.count);
    assert_eq!(c("filter.exclude_tenants"), tenant2);
    assert_eq!(c("filter.min_gpus"), small);
    assert_eq!(c("filter.max_gpus"), big);
    assert_eq!(c("max_jobs"), 20_000 - tenant2 - small - big - 3000);
    assert_eq!(out.jobs.len(), 3000);
    assert!(out
        .jobs
        .iter()
        .all(|j| j.tenant != TenantId(2) && (2..=4).contains(&j.demand.gpus)));
    assert_eq!(out.jobs.len() as u64 + out.skipped.total(), 20_000);
}

#[test]
fn bad_config_values_are_invalid_errors_naming_the_key() {
    let bad = config(
        r#"jobs = 10
           arrival = { process = "poisson", offered_load = 0.0 }
           duration = { dist = "exponential", mean_s = 1.0 }"#,
    );
    match generate(&bad, &RngStreams::new(0), 0, None, 8) {
        Err(WorkloadError::Invalid { key, message }) => {
            assert_eq!(key, "synthetic.arrival.offered_load");
            assert!(message.contains("> 0"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    match apply(poisson(10, 1), &transform("load_scale = 0")) {
        Err(e @ WorkloadError::Invalid { .. }) => {
            assert_eq!(e.to_string(), "transform.load_scale: must be > 0, got 0")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

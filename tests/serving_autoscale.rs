//! The autoscaling policies other than queue length (tests/serving_sim.rs): their
//! decisions worked by hand, and each in a run.

use dcsim::engine::RngStreams;
use dcsim::serving::autoscale::{Observed, ScalePolicy};
use dcsim::serving::generate::{generate, Arrivals, Sizes};
use dcsim::serving::replicas::{simulate, ServiceSettings};
use dcsim::serving::report::{ServiceReport, Slo};

fn run(scaling: ScalePolicy, rate: f64, duration_s: f64) -> ServiceReport {
    let s = ServiceSettings {
        max_batch: 1,
        max_batch_tokens: 4096,
        scaling,
        interval_s: 60.0,
        load_time_s: 0.0,
        slo: Slo::default(),
        speed: 1.0,
        gpus_per_replica: 8,
        gpu_idle_w: 105.0,
        gpu_tdp_w: 700.0,
        decode_power_share: 0.33,
        power_cap_w: None,
    };
    let mut rng = RngStreams::new(3).stream("serving.arrivals", 0);
    let sizes = Sizes::ExponentialExec { mean_s: 1.0 };
    let t = generate(
        &Arrivals::Poisson { rate_per_s: rate },
        &[],
        &sizes,
        duration_s,
        &mut rng,
    );
    let r = simulate(&t.requests, None, &s, None).unwrap();
    assert_eq!(r.served, r.requests);
    r
}

fn seen(o: Observed) -> Observed {
    Observed { replicas: 4, ..o }
}

#[test]
fn target_utilization_and_latency_slo_decide_as_worked_by_hand() {
    let tu = ScalePolicy::TargetUtilization {
        target: 0.6,
        min: 2,
        max: 5,
    };
    // 4 replicas 90% busy at a 60% target: ceil(4 × 0.9 / 0.6) = 6, held to max 5;
    // 15% busy: ceil(1.0) = 1, held to min 2; 45%: ceil(3.0) = 3.
    for (u, want) in [(0.9, 5), (0.15, 2), (0.45, 3)] {
        let o = seen(Observed {
            utilization: u,
            ..Observed::default()
        });
        assert_eq!(tu.desired(&o), want, "utilization {u}");
    }
    let slo = ScalePolicy::LatencySlo {
        ttft_p90_s: 2.0,
        min: 1,
        max: 8,
    };
    // Over the target: one more; under half of it: one fewer; between: hold.
    for (p90, want) in [(3.0, 5), (0.5, 3), (1.5, 4)] {
        let o = seen(Observed {
            ttft_p90_s: p90,
            ..Observed::default()
        });
        assert_eq!(slo.desired(&o), want, "p90 {p90}");
    }
}

#[test]
fn scheduled_replicas_follow_the_hour() {
    // One replica, three in hour 1 (3,600-7,200 s), one again after: light load (0.3/s of
    // 1 s work), so replicas leave at once when asked.
    let mut by_hour = vec![1; 24];
    by_hour[1] = 3;
    let r = run(ScalePolicy::Scheduled { by_hour }, 0.3, 3.0 * 3600.0);
    let at = |t: f64| {
        r.replicas_over_time
            .iter()
            .rev()
            .find(|x| x.0 <= t)
            .map(|x| x.1)
            .unwrap()
    };
    assert_eq!(
        (at(3599.0), at(3600.0), at(7199.0)),
        (1, 3, 3),
        "{:?}",
        r.replicas_over_time
    );
    assert_eq!(at(7210.0), 1, "{:?}", r.replicas_over_time);
}

#[test]
fn latency_slo_and_target_utilization_scale_under_overload() {
    // 3 requests/s of 1 s work need at least 4 single-slot replicas; starting from 1,
    // the latency policy adds one per minute while p90 TTFT exceeds 2 s, and the
    // utilization policy jumps to what the busy share asks for.
    let slo = run(
        ScalePolicy::LatencySlo {
            ttft_p90_s: 2.0,
            min: 1,
            max: 6,
        },
        3.0,
        1800.0,
    );
    let most = |r: &ServiceReport| r.replicas_over_time.iter().map(|x| x.1).max().unwrap();
    assert!(most(&slo) >= 4, "{:?}", slo.replicas_over_time);
    let tu = run(
        ScalePolicy::TargetUtilization {
            target: 0.7,
            min: 1,
            max: 8,
        },
        3.0,
        1800.0,
    );
    // Offered load 3 replicas' worth at 70% busy: ceil(3 / 0.7) = 5 once it settles.
    assert!(most(&tu) >= 5, "{:?}", tu.replicas_over_time);
    let last = tu
        .replicas_over_time
        .iter()
        .rev()
        .find(|x| x.0 <= 1700.0)
        .unwrap()
        .1;
    assert!((4..=6).contains(&last), "{:?}", tu.replicas_over_time);
}

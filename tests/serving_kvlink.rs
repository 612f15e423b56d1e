//! The KV-cache hand-over link of a split service as a shared resource
//! (`src/serving/kvlink.rs`): transfers in flight share its bandwidth equally, a
//! processor-sharing server. Checked on a two-transfer case worked by hand, against the
//! max-min solver on one link, and against M/M/1-PS.

use dcsim::engine::RngStreams;
use dcsim::serving::kvlink::PsLink;
use dcsim::sharing::Sharing;
use rand_distr::{Distribution, Exp};

/// Runs transfers `(arrival s, bytes)` (sorted by arrival) over a link of `bw` bytes/s;
/// returns each one's finish time.
fn replay(bw: f64, transfers: &[(f64, f64)]) -> Vec<f64> {
    let mut link = PsLink::new(bw);
    let mut done = vec![f64::NAN; transfers.len()];
    let mut next = 0;
    loop {
        let arrival = transfers.get(next).map(|t| t.0);
        match (arrival, link.next_done_s()) {
            (Some(a), d) if d.is_none_or(|d| a < d) => {
                link.start(a, transfers[next].1, next as u32);
                next += 1;
            }
            (_, Some(d)) => {
                while let Some(id) = link.pop_done(d, 1e-12) {
                    done[id as usize] = d;
                }
            }
            (None, None) => break,
            (Some(_), None) => unreachable!("an arrival is taken when the link is idle"),
        }
    }
    done
}

/// A link of 1 byte/s: transfer A (2 bytes) starts at 0, B (1 byte) at 0.5. A runs alone
/// for 0.5 s (0.5 bytes), then both at 0.5 bytes/s: B's byte takes 2 s, done at 2.5; A
/// has then moved 1.5 bytes and moves its last 0.5 alone, done at 3.0. Without sharing
/// (each at the full bandwidth) B would finish at 1.5 and A at 2.0.
#[test]
fn two_transfers_share_the_link_as_worked_by_hand() {
    let done = replay(1.0, &[(0.0, 2.0), (0.5, 1.0)]);
    assert!((done[0] - 3.0).abs() < 1e-12, "{done:?}");
    assert!((done[1] - 2.5).abs() < 1e-12, "{done:?}");
    // The max-min solver gives each of n flows on one link B / n: the rate the link's
    // virtual clock runs at.
    let mut s = Sharing::new();
    let l = s.add_resource(1.0);
    let flows: Vec<_> = (0..2).map(|_| s.add_flow(1.0, None, &[(l, 1.0)])).collect();
    s.solve();
    assert!(flows.iter().all(|&f| (s.rate(f) - 0.5).abs() < 1e-12));
}

/// M/M/1-PS (Kleinrock, Queueing Systems vol. 2, §4.4): Poisson arrivals at λ, sizes
/// exponential with mean S, bandwidth B, load ρ = λS/B. The mean time in the system is
/// (S/B) / (1 − ρ), and, unlike FIFO, it is linear in the transfer's own size:
/// E[T | x] = (x/B) / (1 − ρ). 400,000 transfers at ρ = 0.7 (seed 5).
#[test]
fn a_link_under_poisson_load_is_m_m_1_ps() {
    let (bw, mean, rho) = (400e9, 0.33e9, 0.7);
    let lambda = rho * bw / mean;
    let mut rng = RngStreams::new(5).stream("kvlink", 0);
    let gap: Exp<f64> = Exp::new(lambda).unwrap();
    let size: Exp<f64> = Exp::new(1.0 / mean).unwrap();
    let mut t = 0.0;
    let transfers: Vec<(f64, f64)> = (0..400_000)
        .map(|_| {
            t += gap.sample(&mut rng);
            (t, size.sample(&mut rng).max(1.0))
        })
        .collect();
    let done = replay(bw, &transfers);
    let sojourn: Vec<f64> = transfers.iter().zip(&done).map(|(a, d)| d - a.0).collect();
    let mean_t = sojourn.iter().sum::<f64>() / sojourn.len() as f64;
    let expect = mean / bw / (1.0 - rho);
    eprintln!("M/M/1-PS: mean {mean_t:.6} s, theory {expect:.6} s");
    assert!((mean_t / expect - 1.0).abs() < 0.03, "{mean_t} vs {expect}");
    // Slowdown T / (x/B) by size class: 1 / (1 − ρ) = 3.33 for small and large alike
    // (FIFO would give small transfers a far larger slowdown).
    for (lo, hi) in [(0.0, 0.5), (0.5, 1.5), (1.5, 10.0)] {
        let (mut sum, mut n) = (0.0, 0);
        for ((_, x), s) in transfers.iter().zip(&sojourn) {
            if *x >= lo * mean && *x < hi * mean {
                sum += s;
                n += 1;
            }
        }
        let xs: f64 = transfers
            .iter()
            .filter(|(_, x)| *x >= lo * mean && *x < hi * mean)
            .map(|(_, x)| x / bw)
            .sum();
        let slowdown = sum / xs;
        eprintln!(
            "sizes {lo}-{hi} × S: {n} transfers, slowdown {slowdown:.3} (theory {:.3})",
            1.0 / (1.0 - rho)
        );
        assert!(
            (slowdown * (1.0 - rho) - 1.0).abs() < 0.05,
            "{lo}-{hi}: {slowdown}"
        );
    }
}

//! Measured prefill profiles: the time to prefill one prompt alone, by prompt length, as
//! a published measurement recorded it, interpolated piecewise-linearly between the
//! measured lengths; and the measured time of batches of several prompts, from which the
//! performance model takes how much slower (or faster) n prompts run than one prompt of
//! as many tokens ([`super::perf`]).
//!
//! The roofline of [`super::perf`] is smooth in prompt length; measured prefill is not
//! (SplitwiseSim's DGX-H100 profile of Llama2-70B costs 2.8× from 2,048 to 4,096
//! tokens), so where a profile exists for the service's model, GPU and tensor-parallel
//! width the performance model follows it (service key `prefill_model`, default
//! `measured`). Built in: SplitwiseSim's `data/perf_model.csv`, Llama2-70B, TP 8, on
//! DGX-A100 and DGX-H100 (`scenarios/data/splitwise_perf_llama2_70b_tp8.csv`, bundled
//! into the binary; MIT, see ATTRIBUTION.md): mean `prompt_time` of the batch-1 rows per
//! prompt size, and of the batch rows (2–64 prompts of 512 tokens) per batch size.

use std::collections::BTreeMap;

use serde::Serialize;

/// SplitwiseSim's profile, as bundled (header plus rows, unchanged).
const SPLITWISE_CSV: &str = include_str!("../../scenarios/data/splitwise_perf_llama2_70b_tp8.csv");

/// Prefill time of one prompt alone by its length: measured points, sorted by length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefillProfile {
    /// (prompt tokens, ms), strictly increasing in tokens; at least one point.
    points: Vec<(f64, f64)>,
    /// Measured batches of several prompts: (prompts, total prompt tokens, ms), sorted.
    batches: Vec<(u32, f64, f64)>,
    /// Where the points come from.
    pub source: &'static str,
}

impl PrefillProfile {
    /// A profile of `points` (prompt tokens, ms); `None` if empty, or a length repeats,
    /// or a figure is not finite and positive. Points are sorted here.
    pub fn from_points(mut points: Vec<(f64, f64)>, source: &'static str) -> Option<Self> {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ok = !points.is_empty()
            && points
                .iter()
                .all(|&(p, t)| p.is_finite() && p > 0.0 && t.is_finite() && t > 0.0)
            && points.windows(2).all(|w| w[0].0 < w[1].0);
        ok.then_some(PrefillProfile {
            points,
            batches: Vec::new(),
            source,
        })
    }

    /// The same profile with measured batches of several prompts, each (prompts, total
    /// prompt tokens, ms); `None` if a batch has fewer than 2 prompts, or a figure is not
    /// finite and positive, or a (prompts, tokens) pair repeats. Sorted here.
    pub fn with_batches(mut self, mut batches: Vec<(u32, f64, f64)>) -> Option<Self> {
        batches.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let ok = batches
            .iter()
            .all(|&(n, p, t)| n >= 2 && p.is_finite() && p > 0.0 && t.is_finite() && t > 0.0)
            && batches.windows(2).all(|w| (w[0].0, w[0].1) != (w[1].0, w[1].1));
        self.batches = batches;
        ok.then_some(self)
    }

    /// The measured points, (prompt tokens, ms), by length.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The measured batches, (prompts, total prompt tokens, ms), by prompts then tokens.
    pub fn batches(&self) -> &[(u32, f64, f64)] {
        &self.batches
    }

    /// The prompt length clamped to the measured range, and the interpolated time at it
    /// in ms: piecewise-linear between neighbouring measured lengths. Outside the range
    /// the nearest end (the caller extends it, see [`super::perf`]).
    pub fn at(&self, prompt: f64) -> (f64, f64) {
        let first = self.points[0];
        let last = self.points[self.points.len() - 1];
        if prompt <= first.0 {
            return first;
        }
        if prompt >= last.0 {
            return last;
        }
        let i = self.points.partition_point(|&(p, _)| p <= prompt);
        let (p0, t0) = self.points[i - 1];
        let (p1, t1) = self.points[i];
        (prompt, t0 + (t1 - t0) * (prompt - p0) / (p1 - p0))
    }
}

/// SplitwiseSim's prefill profile of Llama2-70B, TP 8, on `hardware` (`a100-80gb` or
/// `h100-80gb`, the profile's names): mean `prompt_time` per prompt size over the rows
/// with batch size 1, and per (batch size, prompt size) over the rows with more (any
/// output length: prefill does not depend on it). `None` for other hardware names.
pub fn splitwise_llama2_70b_tp8(hardware: &str) -> Option<PrefillProfile> {
    let mut rdr = csv::Reader::from_reader(SPLITWISE_CSV.as_bytes());
    let mut acc: BTreeMap<(u32, u32), (f64, f64)> = BTreeMap::new();
    for rec in rdr.records() {
        // The file is bundled and checked by tests; a bad row is skipped, never guessed.
        let Ok(r) = rec else { continue };
        if r.get(1) != Some(hardware) {
            continue;
        }
        let field = |i: usize| r.get(i).map(str::parse::<u32>);
        let (Some(Ok(p)), Some(Ok(n)), Some(Ok(t))) = (field(2), field(3), r.get(7).map(str::parse::<f64>))
        else {
            continue;
        };
        let e = acc.entry((n, p)).or_default();
        e.0 += t;
        e.1 += 1.0;
    }
    let mut points = Vec::new();
    let mut batches = Vec::new();
    for ((n, p), (t, k)) in acc {
        if n == 1 {
            points.push((f64::from(p), t / k));
        } else {
            batches.push((n, f64::from(n) * f64::from(p), t / k));
        }
    }
    PrefillProfile::from_points(
        points,
        "SplitwiseSim data/perf_model.csv, llama2-70b TP8, prompt_time of 1-64 prompts (Patel et al., ISCA 2024)",
    )?
    .with_batches(batches)
}

/// The built-in profile for `llm` on `gpus` × `gpu` (catalog name), if one was measured:
/// Llama2-70B on 8 A100-SXM4-80GB (DGX-A100) or 8 H100-SXM5 (DGX-H100).
pub fn builtin(llm: &str, gpu: &str, gpus: u32) -> Option<PrefillProfile> {
    if !llm.eq_ignore_ascii_case("llama2-70b") || gpus != 8 {
        return None;
    }
    match gpu {
        "A100-SXM4-80GB" => splitwise_llama2_70b_tp8("a100-80gb"),
        "H100-SXM5" => splitwise_llama2_70b_tp8("h100-80gb"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_profile_has_every_measured_length() {
        for hw in ["a100-80gb", "h100-80gb"] {
            let p = splitwise_llama2_70b_tp8(hw).unwrap();
            let lens: Vec<f64> = p.points().iter().map(|x| x.0).collect();
            assert_eq!(lens, [128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0]);
            let batches: Vec<(u32, f64)> = p.batches().iter().map(|b| (b.0, b.1)).collect();
            let expect: Vec<(u32, f64)> = [2, 4, 8, 16, 32, 64].map(|n| (n, 512.0 * f64::from(n))).into();
            assert_eq!(batches, expect);
        }
        assert!(splitwise_llama2_70b_tp8("v100").is_none());
    }

    #[test]
    fn interpolates_linearly_and_clamps() {
        let p = PrefillProfile::from_points(vec![(200.0, 30.0), (100.0, 10.0)], "t").unwrap();
        assert_eq!(p.at(150.0), (150.0, 20.0));
        assert_eq!(p.at(50.0), (100.0, 10.0));
        assert_eq!(p.at(400.0), (200.0, 30.0));
        assert!(PrefillProfile::from_points(vec![(1.0, 1.0), (1.0, 2.0)], "t").is_none());
        assert!(PrefillProfile::from_points(vec![], "t").is_none());
        let one = PrefillProfile::from_points(vec![(100.0, 10.0)], "t").unwrap();
        assert!(one.clone().with_batches(vec![(1, 100.0, 10.0)]).is_none());
        assert!(one.clone().with_batches(vec![(2, 200.0, f64::NAN)]).is_none());
        assert!(one
            .clone()
            .with_batches(vec![(2, 200.0, 9.0), (2, 200.0, 8.0)])
            .is_none());
        let b = one.with_batches(vec![(4, 400.0, 9.0), (2, 200.0, 8.0)]).unwrap();
        assert_eq!(b.batches(), [(2, 200.0, 8.0), (4, 400.0, 9.0)]);
    }
}

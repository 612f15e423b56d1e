//! Measured prefill profiles: the time to prefill one prompt alone, by prompt length, as
//! a published measurement recorded it, interpolated piecewise-linearly between the
//! measured lengths.
//!
//! The roofline of [`super::perf`] is smooth in prompt length; measured prefill is not
//! (SplitwiseSim's DGX-H100 profile of Llama2-70B costs 2.8× from 2,048 to 4,096
//! tokens), so where a profile exists for the service's model, GPU and tensor-parallel
//! width the performance model follows it (service key `prefill_model`, default
//! `measured`). Built in: SplitwiseSim's `data/perf_model.csv`, Llama2-70B, TP 8, on
//! DGX-A100 and DGX-H100 (`scenarios/data/splitwise_perf_llama2_70b_tp8.csv`, bundled
//! into the binary; MIT, see ATTRIBUTION.md), batch-1 rows, mean `prompt_time` per
//! prompt size.

use std::collections::BTreeMap;

use serde::Serialize;

/// SplitwiseSim's profile, as bundled (header plus rows, unchanged).
const SPLITWISE_CSV: &str = include_str!("../../scenarios/data/splitwise_perf_llama2_70b_tp8.csv");

/// Prefill time of one prompt alone by its length: measured points, sorted by length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefillProfile {
    /// (prompt tokens, ms), strictly increasing in tokens; at least one point.
    points: Vec<(f64, f64)>,
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
        ok.then_some(PrefillProfile { points, source })
    }

    /// The measured points, (prompt tokens, ms), by length.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
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

/// SplitwiseSim's batch-1 prefill profile of Llama2-70B, TP 8, on `hardware`
/// (`a100-80gb` or `h100-80gb`, the profile's names): mean `prompt_time` per prompt size
/// over the rows with batch size 1 (any output length: prefill does not depend on it).
/// `None` for other hardware names.
pub fn splitwise_llama2_70b_tp8(hardware: &str) -> Option<PrefillProfile> {
    let mut rdr = csv::Reader::from_reader(SPLITWISE_CSV.as_bytes());
    let mut acc: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for rec in rdr.records() {
        // The file is bundled and checked by tests; a bad row is skipped, never guessed.
        let Ok(r) = rec else { continue };
        if r.get(1) != Some(hardware) || r.get(3) != Some("1") {
            continue;
        }
        let (Some(Ok(p)), Some(Ok(t))) = (r.get(2).map(str::parse::<u32>), r.get(7).map(str::parse::<f64>))
        else {
            continue;
        };
        let e = acc.entry(p).or_default();
        e.0 += t;
        e.1 += 1.0;
    }
    let points = acc.into_iter().map(|(p, (t, n))| (f64::from(p), t / n)).collect();
    PrefillProfile::from_points(
        points,
        "SplitwiseSim data/perf_model.csv, llama2-70b TP8, batch-1 prompt_time (Patel et al., ISCA 2024)",
    )
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
    }
}

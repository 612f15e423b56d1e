//! Request traces and generators: the Azure adapter reproduces the trace's own figures
//! (shared/reference/README.md "Inference", computed from the raw files), generators
//! give the rates they are asked for.

use std::path::{Path, PathBuf};

use dcsim::engine::RngStreams;
use dcsim::serving::generate::{apply_bursts, generate, Arrivals, Burst, Sizes};
use dcsim::serving::traces::{read_azure, read_genai};
use dcsim::serving::ServingError;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn close(ours: f64, theirs: f64, tol: f64) -> bool {
    (ours - theirs).abs() <= tol
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn azure_code_reproduces_the_traces_figures() {
    // Reference: code 8,819 requests over 3,436 s, prompt median 1,469 / mean 2,048,
    // output median 13 / mean 27.9.
    let t = read_azure(&repo(
        "../shared/traces/azure-llm-inference-2023/AzureLLMInferenceTrace_code.csv",
    ))
    .unwrap();
    let s = t.stats().unwrap();
    assert_eq!(s.requests, 8_819);
    assert!(close(s.span_s, 3_436.0, 0.5), "{s:?}");
    assert_eq!(s.prompt_p50, 1_469.0);
    assert!(close(s.prompt_mean, 2_048.0, 0.5), "{s:?}");
    assert_eq!(s.output_p50, 13.0);
    assert!(close(s.output_mean, 27.9, 0.05), "{s:?}");
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn azure_conversation_reproduces_the_traces_figures() {
    // Reference: conversation 19,366 requests over 3,502 s, prompt median 1,020 / mean
    // 1,155, output median 129 / mean 211.
    let t = read_azure(&repo(
        "../shared/traces/azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv",
    ))
    .unwrap();
    let s = t.stats().unwrap();
    assert_eq!(s.requests, 19_366);
    assert!(close(s.span_s, 3_502.0, 0.5), "{s:?}");
    assert_eq!(s.prompt_p50, 1_020.0);
    assert!(close(s.prompt_mean, 1_155.0, 0.5), "{s:?}");
    assert_eq!(s.output_p50, 129.0);
    assert!(close(s.output_mean, 211.0, 0.5), "{s:?}");
}

#[test]
fn bundled_azure_slices_read_whole() {
    // The slices are the first 2,000 rows; figures computed from the CSV with Python's
    // csv/datetime (nearest-rank medians): conv 424.26 s, prompt 1,032 / 1,104.78,
    // output 238 / 264.90; code 853.08 s, prompt 1,338 / 1,986.58, output 13 / 29.51.
    let s = read_azure(&repo("scenarios/data/azure_conv_slice.csv"))
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(s.requests, 2_000);
    assert!(close(s.span_s, 424.26, 0.01), "{s:?}");
    assert_eq!((s.prompt_p50, s.output_p50), (1_032.0, 238.0));
    assert!(
        close(s.prompt_mean, 1_104.78, 0.01) && close(s.output_mean, 264.90, 0.01),
        "{s:?}"
    );
    let s = read_azure(&repo("scenarios/data/azure_code_slice.csv"))
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(s.requests, 2_000);
    assert!(close(s.span_s, 853.08, 0.01), "{s:?}");
    assert_eq!((s.prompt_p50, s.output_p50), (1_338.0, 13.0));
    assert!(
        close(s.prompt_mean, 1_986.58, 0.01) && close(s.output_mean, 29.51, 0.01),
        "{s:?}"
    );
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn genai_keeps_recorded_execution_times() {
    // Counted with Python's csv module: 26,823 rows, of which 30 PENDING and 3 PROCESSING.
    let t = read_genai(&repo(
        "../shared/traces/alibaba-genai-2026/lora_request_trace.csv",
    ))
    .unwrap();
    assert_eq!(t.requests.len(), 26_823 - 33);
    assert_eq!(t.skipped.get("not_finished"), Some(&33));
    assert!(t.requests.iter().all(|r| r.exec_s.is_some()));
    assert!(t.requests.windows(2).all(|w| w[0].arrival_s <= w[1].arrival_s));
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,5\n2023-11-16 18:17:04.0,x,5\n")
        .unwrap();
    let e = read_azure(&p).unwrap_err();
    assert!(matches!(e, ServingError::Row { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("ContextTokens `x`"), "{e}");
    std::fs::write(&p, "TIMESTAMP,Context\n").unwrap();
    assert!(read_azure(&p)
        .unwrap_err()
        .to_string()
        .contains("missing column `ContextTokens`"));
}

#[test]
fn poisson_diurnal_and_burst_rates() {
    let mut rng = RngStreams::new(7).stream("serving.arrivals", 0);
    let sizes = Sizes::Fixed {
        prompt_tokens: 100,
        output_tokens: 10,
    };
    // Poisson 10/s over 10,000 s: count ~ 100,000 ± 316 (sd = sqrt(mean)); 4 sd.
    let t = generate(
        &Arrivals::Poisson { rate_per_s: 10.0 },
        &[],
        &sizes,
        10_000.0,
        &mut rng,
    );
    assert!(
        (t.requests.len() as f64 - 100_000.0).abs() < 4.0 * 316.0,
        "{}",
        t.requests.len()
    );
    // ×3 burst for 1,000 s: that window holds ~30,000, the rest ~90,000.
    let b = Burst {
        factor: 3.0,
        start_s: 2_000.0,
        duration_s: 1_000.0,
    };
    let t = generate(
        &Arrivals::Poisson { rate_per_s: 10.0 },
        &[b],
        &sizes,
        10_000.0,
        &mut rng,
    );
    let inside = t
        .requests
        .iter()
        .filter(|r| (2_000.0..3_000.0).contains(&r.arrival_s))
        .count() as f64;
    assert!((inside - 30_000.0).abs() < 4.0 * 173.0, "{inside}");
    assert!((t.requests.len() as f64 - inside - 90_000.0).abs() < 4.0 * 300.0);
    // Diurnal, amplitude 0.5, peak at hour 12: over one day the mean holds (86,400 at
    // 1/s); hour 12 has 1.5/s (5,400 ± 73), hour 0 has 0.5/s (1,800 ± 42).
    let d = Arrivals::Diurnal {
        mean_rate_per_s: 1.0,
        amplitude: 0.5,
        peak_hour: 12.0,
    };
    let t = generate(&d, &[], &sizes, 86_400.0, &mut rng);
    assert!((t.requests.len() as f64 - 86_400.0).abs() < 4.0 * 294.0);
    let hour = |h: f64| {
        t.requests
            .iter()
            .filter(|r| (r.arrival_s / 3600.0 - h).abs() < 0.5)
            .count() as f64
    };
    // The rate varies within the hour (cosine); its mean over ±0.5 h of the peak is
    // 1 + 0.5·sinc-factor = 1 + 0.5·(24/π)·sin(π/24) = 1.4986/s.
    assert!((hour(12.0) - 5_395.0).abs() < 4.0 * 74.0, "{}", hour(12.0));
    // Hour 0 (rate 1 − 0.5·(12/π)·sin(π/12) = 0.5057/s): 1,820 ± 43.
    assert!((hour(0.5) - 1_820.0).abs() < 4.0 * 43.0, "{}", hour(0.5));
}

#[test]
fn bursts_on_a_trace_multiply_the_window() {
    let mut rng = RngStreams::new(1).stream("serving.bursts", 0);
    let mut t = read_azure(&repo("scenarios/data/azure_conv_slice.csv")).unwrap();
    let window = |t: &dcsim::serving::RequestTrace| {
        t.requests
            .iter()
            .filter(|r| (100.0..200.0).contains(&r.arrival_s))
            .count()
    };
    let before = window(&t);
    let total = t.requests.len();
    apply_bursts(
        &mut t,
        &[Burst {
            factor: 3.0,
            start_s: 100.0,
            duration_s: 100.0,
        }],
        &mut rng,
    );
    // Whole factor: exactly two copies of each request in the window, all inside it.
    assert_eq!(window(&t), 3 * before);
    assert_eq!(t.requests.len(), total + 2 * before);
}

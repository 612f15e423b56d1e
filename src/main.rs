//! The `dcsim` command line: turns arguments into library calls and prints results.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use dcsim::budget;
use dcsim::columnar::TableFormat;
use dcsim::compare;
use dcsim::economics;
use dcsim::inflation;
use dcsim::metrics::{OutputLevel, Recording, SeriesResolution, Summary};
use dcsim::output::{self, Kind};
use dcsim::plots;
use dcsim::report::{self, RunInfo};
use dcsim::scenario::{Prepared, Scenario};
use dcsim::scheduler::params::ParamDoc;
use dcsim::scheduler::registry;
use dcsim::sim::{Mode, PreemptionCost, Simulation};
use dcsim::sweep::{self, plan, slurm, Override, Shard, Sweep, SweepOptions};
use dcsim::topology::GpuModelId;
use dcsim::workload::adapters::{self, TraceFormat};
use dcsim::workload::stats::TraceStats;

/// dcsim: a discrete-event simulator of GPU data centers.
///
/// Replays real cluster traces (or synthetic workloads) on a modelled cluster under a
/// queue policy and a placement policy, and writes per-job records, time series and a
/// summary. Start with `dcsim run scenarios/default.toml`.
#[derive(Parser)]
#[command(name = "dcsim", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write jobs.csv, timeseries.csv and summary.json.
    Run {
        /// The scenario file (e.g. scenarios/default.toml).
        scenario: PathBuf,
        /// Output directory [default: output/<scenario name>].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Seed for every random stream, overriding the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Queue policy, overriding the scenario's (its `[scheduler.params.<name>]` apply).
        #[arg(long)]
        queue: Option<String>,
        /// Placement policy, overriding the scenario's.
        #[arg(long)]
        placement: Option<String>,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
        /// Skip the figures and report.html.
        #[arg(long)]
        no_report: bool,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        sets: Sets,
    },
    /// Budget month by month: run the scenario's [budget] months as one continuous
    /// simulation (demand growth, fleet changes) and write budget.csv beside the run's
    /// files. See docs/budget.md.
    Budget {
        /// The scenario file (with a [budget] table).
        scenario: PathBuf,
        /// Months to run [default: the scenario's budget.months].
        #[arg(long)]
        months: Option<u32>,
        /// Output directory [default: output/<scenario name>-budget].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Seed for every random stream, overriding the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
        /// Skip the figures and report.html.
        #[arg(long)]
        no_report: bool,
        /// Write the tables as `csv` or as `parquet` (same columns; summary.json stays
        /// JSON). Parquet budgets have no report (it draws from the CSV files).
        #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
        format: TableFormat,
        #[command(flatten)]
        sets: Sets,
    },
    /// Draw the figures (plots/*.svg) and report.html of an output folder (a run,
    /// comparison, sweep or budget), from its files.
    Report {
        /// The output folder.
        dir: PathBuf,
        /// Also write each figure as PNG.
        #[arg(long)]
        png: bool,
    },
    /// Check a scenario, its topology and its trace without running it.
    Validate {
        /// The scenario file.
        scenario: PathBuf,
        #[command(flatten)]
        sets: Sets,
    },
    /// Inspect or convert trace files.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// List the queue and placement policies.
    Policies,
    /// Run one scenario under several policies and compare them (mean and 95% CI).
    Compare(CompareArgs),
    /// Workload inflation (FGD paper, ATC 2023): place tasks drawn from the scenario's
    /// workload, without departures, until the GPUs asked for reach the cluster's
    /// capacity; write inflation.csv.
    Inflate {
        /// The scenario file (its topology and workload are used).
        scenario: PathBuf,
        /// Placement policies, comma-separated (dcsim policies).
        #[arg(
            long,
            default_value = "fgd,best-fit,dot-product,gpu-packing,gpu-clustering,random"
        )]
        policies: String,
        /// Runs per policy; seeds are the scenario seed + 0..N.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// Output directory [default: output/<scenario name>-inflation].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replace an existing inflation.csv.
        #[arg(long)]
        force: bool,
    },
    /// Run every point of the scenario's [sweep] grid (replications included) in
    /// parallel; write sweep.csv (one row per run) and sweep_summary.csv (mean, std and
    /// 95% CI per point). Resumes an interrupted sweep. See docs/sweeps.md.
    Sweep(SweepArgs),
    /// Find the smallest value of one key that meets every target (bisection, with
    /// replications; a probe meets a target only when its 95% CI does).
    Plan(PlanArgs),
    /// Combine the journals of sweep shards (--shard) into sweep.csv and
    /// sweep_summary.csv: the same bytes one machine writes.
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the files.
        #[arg(long, short)]
        output: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
        /// Write the tables as `csv` or as `parquet` (as `dcsim sweep --format`).
        #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
        format: TableFormat,
    },
}

/// `--set KEY=VALUE`, shared by every command that loads a scenario.
#[derive(clap::Args, Clone, Default)]
struct Sets {
    /// Override a scenario or topology key by its dotted path (repeatable), e.g.
    /// `workload.transform.load_scale=3`, `topology.nodes.dgx-h100.count=16`,
    /// `scheduler.queue=easy`. The value is a TOML literal (text needs no quotes).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

impl Sets {
    fn parse(&self) -> Result<Vec<Override>> {
        Ok(self
            .set
            .iter()
            .map(|s| Override::parse(s))
            .collect::<Result<Vec<_>, _>>()?)
    }

    fn load(&self, path: &Path) -> Result<Scenario> {
        Ok(Scenario::load_with(path, &self.parse()?)?)
    }
}

/// What a run keeps and writes (`dcsim run`).
#[derive(clap::Args, Clone, Default)]
struct RecordArgs {
    /// Which tables to write: `summary` (summary.json only, and no report), `jobs` (also
    /// jobs.csv) or `full` (also the time series, and power's tables when power is on).
    /// A run keeps only what it writes.
    #[arg(long, default_value = "full", value_parser = OutputLevel::from_str)]
    outputs: OutputLevel,
    /// Bin the time series into intervals of this many seconds, with each quantity's
    /// min, mean and max (timeseries_intervals.csv), instead of a row per change point
    /// (timeseries.csv).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true, value_parser = SeriesResolution::interval)]
    series_interval: Option<SeriesResolution>,
    /// Write the tables as `csv` or as `parquet` (same columns and units, typed; see
    /// docs/outputs.md). Parquet runs have no report (it draws from the CSV files).
    #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
    format: TableFormat,
}

impl RecordArgs {
    fn recording(&self, scenario: &Scenario) -> Recording {
        Recording {
            level: self.outputs,
            resolution: self.series_interval.unwrap_or_default(),
            utilization_window: scenario.config.metrics.window(),
            // The economics bill reads every run's segments.
            keep_segments: scenario.config.economics.is_some(),
        }
    }
}

/// `dcsim sweep`.
#[derive(clap::Args)]
struct SweepArgs {
    /// The scenario file (its [sweep] table is the grid).
    scenario: PathBuf,
    #[command(flatten)]
    sets: Sets,
    /// Output directory [default: output/<scenario name>-sweep].
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Run only shard I of N (0-based): points p with p mod N = I; `dcsim merge` combines
    /// the shards.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Start over when the output directory holds another sweep's results.
    #[arg(long)]
    force: bool,
    /// Skip the figure and report.html.
    #[arg(long)]
    no_report: bool,
    /// Do not run: write job scripts for a cluster engine (`slurm`: an sbatch job array
    /// and a dependent merge job) into the output directory.
    #[arg(long, value_parser = ["slurm"])]
    emit: Option<String>,
    /// With --emit slurm: most array tasks (Slurm's default MaxArraySize is 1001).
    #[arg(long, default_value_t = slurm::MAX_TASKS, value_parser = clap::value_parser!(u64).range(1..=1001))]
    slurm_tasks: u64,
    /// With --emit slurm: an extra #SBATCH option for both jobs (repeatable), e.g.
    /// `--sbatch=--partition=batch`.
    #[arg(long, allow_hyphen_values = true)]
    sbatch: Vec<String>,
    /// Write sweep.csv and sweep_summary.csv as `csv` or as `parquet` (sweep.parquet,
    /// sweep_summary.parquet: same columns, typed). Parquet sweeps have no report.
    #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
    format: TableFormat,
}

/// `dcsim plan`.
#[derive(clap::Args)]
struct PlanArgs {
    /// The scenario file.
    scenario: PathBuf,
    #[command(flatten)]
    sets: Sets,
    /// The key to vary (a dotted path, as in --set), e.g. topology.nodes.dgx-h100.count.
    #[arg(long)]
    vary: String,
    /// Smallest value to consider.
    #[arg(long, allow_hyphen_values = true)]
    from: String,
    /// Largest value to consider.
    #[arg(long, allow_hyphen_values = true)]
    to: String,
    /// Step between values [default: 1].
    #[arg(long)]
    step: Option<String>,
    /// A target every answer must meet, `FIGURE <= BOUND` (or <, >=, >), FIGURE a
    /// sweep.csv column such as wait_s.p95 (repeatable).
    #[arg(long, required = true)]
    target: Vec<String>,
    /// Runs per probe [default: the scenario's [sweep] replications, else 5].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    replications: Option<u32>,
    /// Output directory for plan.csv [default: output/<scenario name>-plan].
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace an existing plan.csv.
    #[arg(long)]
    force: bool,
    /// Skip the figure and report.html.
    #[arg(long)]
    no_report: bool,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Write the curve as `csv` (plan.csv) or as `parquet` (plan.parquet: same columns,
    /// typed). Parquet plans have no report.
    #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
    format: TableFormat,
}

/// `dcsim compare`: every (queue policy × placement) pair on the same workload, in
/// parallel across runs; writes compare.csv and compare_tenants.csv.
#[derive(clap::Args)]
struct CompareArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Queue policies to compare, comma-separated (dcsim policies).
    #[arg(long, value_delimiter = ',', required = true)]
    policies: Vec<String>,
    /// Placement policies, comma-separated [default: the scenario's].
    #[arg(long, value_delimiter = ',')]
    placements: Vec<String>,
    /// Replications per pair; replication r runs with seed + r.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    replications: u32,
    /// Base seed, overriding the scenario's.
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory [default: output/<scenario name>-compare].
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    force: bool,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Skip the figures and report.html.
    #[arg(long)]
    no_report: bool,
    /// Write the tables as `csv` or as `parquet` (same columns; compare.json stays
    /// JSON). Parquet comparisons have no report (it draws from the CSV files).
    #[arg(long, default_value = "csv", value_parser = TableFormat::from_str)]
    format: TableFormat,
    #[command(flatten)]
    sets: Sets,
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Jobs, time span, GPU-hours, and size and duration distributions of a trace.
    Stats {
        /// The trace file (plain or .gz).
        file: PathBuf,
        /// Its format.
        #[arg(long, short)]
        format: TraceFormat,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Convert a trace to dcsim's generic CSV format.
    Convert {
        /// The trace file (plain or .gz).
        file: PathBuf,
        /// Its format.
        #[arg(long, short)]
        format: TraceFormat,
        /// Where to write the generic CSV.
        #[arg(long, short)]
        output: PathBuf,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// List the trace formats.
    Formats,
}

/// Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report).
const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command and prints a failure as one line, `error: <what> : <why>`: a user
/// error is not a bug, so it never comes with a backtrace (panics keep theirs).
fn main() -> ExitCode {
    let cli = Cli::parse();
    // On Ctrl-C or SIGTERM: exit at once unless an output is being written, in which case
    // its writer removes its temporary and the command fails with "interrupted".
    let handler = ctrlc::set_handler(|| {
        if !output::interrupt() {
            eprintln!("interrupted");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    if let Err(e) = handler {
        eprintln!("warning: Ctrl-C will not clean up partial outputs: {e}");
    }
    let result = dispatch(cli.command);
    let code = if output::interrupted() {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if result.is_err() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    match result {
        Err(e) => eprintln!("error: {}", one_line(&e)),
        Ok(()) if output::interrupted() => eprintln!("interrupted after the outputs were written"),
        Ok(()) => {}
    }
    code
}

/// An error and its causes on one line, each cause once: a cause whose text is already
/// part of the message (as `path: io error` holds the io error) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run {
            scenario,
            output,
            seed,
            queue,
            placement,
            force,
            no_report,
            record,
            sets,
        } => run(
            &sets.load(&scenario)?,
            output,
            seed,
            (queue, placement),
            force,
            (!no_report, &record),
        ),
        Command::Budget {
            scenario,
            months,
            output,
            seed,
            force,
            no_report,
            format,
            sets,
        } => budget_cmd(
            &sets.load(&scenario)?,
            months,
            output,
            seed,
            force,
            (!no_report && format == TableFormat::Csv, format),
        ),
        Command::Report { dir, png } => report_cmd(&dir, png),
        Command::Validate { scenario, sets } => validate(&scenario, &sets.load(&scenario)?),
        Command::Sweep(args) => sweep_cmd(args),
        Command::Plan(args) => plan_cmd(args),
        Command::Merge {
            dirs,
            output,
            force,
            format,
        } => {
            let runs = sweep::merge(&dirs, &output, force, format)?;
            let [runs_file, summary_file] = sweep::output::file_names(format);
            println!(
                "{runs} runs from {} shards merged into {} and {}",
                dirs.len(),
                output.join(runs_file).display(),
                output.join(summary_file).display()
            );
            Ok(())
        }
        Command::Compare(args) => compare_cmd(args),
        Command::Inflate {
            scenario,
            policies,
            seeds,
            output,
            force,
        } => inflate(&scenario, &policies, seeds, output, force),
        Command::Trace(TraceCommand::Stats { file, format, json }) => {
            let w = adapters::read_trace(format, &file)?;
            let stats = TraceStats::compute(&w);
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{stats}");
            }
            Ok(())
        }
        Command::Trace(TraceCommand::Convert {
            file,
            format,
            output,
            force,
        }) => convert(&file, format, &output, force),
        Command::Trace(TraceCommand::Formats) => {
            for f in TraceFormat::ALL {
                println!("{}", f.name());
            }
            println!("synthetic (scenario only: [workload.synthetic])");
            Ok(())
        }
        Command::Policies => {
            println!("Queue policies ([scheduler] queue = ...):");
            for e in registry::QUEUE_POLICIES {
                print_entry(e.name, e.about, e.params);
            }
            println!("\nPlacement policies ([scheduler] placement = ...):");
            for e in registry::PLACEMENTS {
                print_entry(e.name, e.about, e.params);
            }
            println!("\nParameters go in [scheduler.params.<policy>] of a scenario.");
            Ok(())
        }
    }
}

fn print_entry(name: &str, about: &str, params: &[ParamDoc]) {
    println!("  {name:<14} {about}");
    for p in params {
        println!("  {:<14}   {} = {} — {}", "", p.key, p.default, p.about);
    }
}

/// Policy names given on the command line: (queue, placement).
type PolicyOverride = (Option<String>, Option<String>);

fn run(
    scenario: &Scenario,
    output: Option<PathBuf>,
    seed: Option<u64>,
    (queue, placement): PolicyOverride,
    force: bool,
    (with_report, record): (bool, &RecordArgs),
) -> Result<()> {
    let t0 = Instant::now();
    let mut scenario = scenario.clone();
    if let Some(q) = queue {
        scenario.config.scheduler.queue = q;
    }
    if let Some(p) = placement {
        scenario.config.scheduler.placement = p;
    }
    let cfg = &scenario.config;
    let dir = output.unwrap_or_else(|| Path::new("output").join(&cfg.name));
    output::check_target(&dir, Kind::Dir(&report::RUN_FILES), force)?;
    let seed = seed.unwrap_or(cfg.seed);
    let recording = record.recording(&scenario);
    // A synthetic workload is generated as the run reads it when nothing needs its jobs
    // all at once (issue 17): same outputs, memory by jobs in flight.
    let (prepared, streamed) = if !recording.keep_segments && scenario.streams_jobs() {
        let (prepared, jobs) = scenario.prepare_streamed(seed)?;
        (prepared, Some(jobs))
    } else {
        (scenario.prepare(seed)?, None)
    };
    let loaded = t0.elapsed();
    let info = run_info(&scenario, seed, &prepared);
    let bar = progress_bar(
        streamed
            .as_ref()
            .map_or(prepared.workload.jobs.len() as u64, |j| j.len()),
    );
    let sim = match &streamed {
        None => Simulation::new(
            &prepared.cluster,
            &prepared.workload,
            prepared.queue,
            prepared.placement,
            scenario.sim_config(),
        ),
        Some(jobs) => Simulation::streamed(
            &prepared.cluster,
            &prepared.workload,
            jobs.generator().map_err(|e| scenario.workload_err(e))?,
            prepared.queue,
            prepared.placement,
            scenario.sim_config(),
        )
        .map_err(|e| scenario.workload_err(e))?,
    };
    // Unless a model or the bill reads the records at the end, the folder is staged
    // before the run and jobs.csv and the change points stream into it as they are
    // produced; otherwise it is written after the run (an interrupt then stops at once).
    let stream = prepared.models.is_empty() && prepared.economics.is_none();
    let sim = sim.with_models(prepared.models).with_recording(recording);
    let mut streamed_files = Vec::new();
    let (staged, mut out) = if stream {
        let staged = report::stage_run(&dir, force, record.format, &[])?;
        let mut open = |file: &'static str, wanted: bool| -> Result<_, report::ReportError> {
            if !wanted {
                return Ok(None);
            }
            streamed_files.push(file);
            staged.stream(file).map(Some)
        };
        let jobs_file = open("jobs.csv", recording.level.keeps_jobs())?;
        let series_file = open(
            "timeseries.csv",
            recording.level.keeps_series() && recording.resolution == SeriesResolution::ChangePoints,
        )?;
        let skips = !sim.unrunnable().is_empty();
        let mut tables =
            report::StreamedTables::new(&info, &prepared.workload, skips, jobs_file, series_file);
        let out = (sim.run_into(&mut |n| bar.set_position(n), Some(&mut tables)))
            .and_then(|out| tables.finish().map(|()| out))
            .map_err(|e| staged.error(e))?;
        (Some(staged), out)
    } else {
        (None, sim.run(&mut |n| bar.set_position(n)))
    };
    bar.finish_and_clear();
    let bill = match &prepared.economics {
        Some(e) => Some(economics::bill(e, &out, &prepared.workload, &prepared.cluster)?),
        None => None,
    };
    out.summary.economics = bill.as_ref().map(economics::EconSummary::of);
    let simulated = t0.elapsed() - loaded;
    // The report draws from jobs.csv and the series: with the summary alone there is
    // nothing to draw.
    let with_report = with_report && recording.level.keeps_jobs() && record.format == TableFormat::Csv;
    let finish = |tmp: &Path| render_report(tmp, false);
    let staged = match staged {
        Some(s) => s,
        None => report::stage_run(&dir, force, record.format, &[])?,
    };
    let write_bar = write_progress();
    let on_bytes = |n| write_bar.inc(n);
    let written = report::commit_run(
        staged,
        &streamed_files,
        &info,
        report::RunData {
            workload: &prepared.workload,
            out: &out,
            bill: bill.as_ref(),
        },
        (recording.level, record.format),
        &[],
        &on_bytes,
        with_report.then_some(&finish as &report::Finish),
    );
    write_bar.finish_and_clear();
    written?;
    print_summary(&info, &out.summary, out.events);
    warn_if_preemption_free(out.summary.preemptions, &cfg.scheduler.preemption);
    println!(
        "\n{} jobs, {} events in {:.2} s (load {:.2} s, simulate {:.2} s); outputs in {}",
        out.summary.jobs,
        out.events,
        t0.elapsed().as_secs_f64(),
        loaded.as_secs_f64(),
        simulated.as_secs_f64(),
        dir.display()
    );
    Ok(())
}

/// What ran, for the outputs' headers and the printed summary.
fn run_info(scenario: &Scenario, seed: u64, prepared: &Prepared) -> RunInfo {
    let cfg = &scenario.config;
    RunInfo {
        scenario: cfg.name.clone(),
        seed,
        mode: match cfg.mode {
            Mode::Queue => "queue".into(),
            Mode::AsRecorded => "as-recorded".into(),
        },
        queue_policy: prepared.queue.name().into(),
        placement: prepared.placement.name().into(),
        description: cfg.description.clone(),
        topology: prepared.cluster.name.clone(),
        workload: plots::workload_label(cfg),
        gpu_models: prepared.cluster.models.iter().map(|m| m.name.clone()).collect(),
        gpu_model_counts: (0..prepared.cluster.models.len())
            .map(|i| prepared.cluster.gpus_of(GpuModelId(i as u16)))
            .collect(),
        dcsim_version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// `dcsim budget`: one continuous run over the months, then `budget.csv` beside the
/// run's files.
fn budget_cmd(
    scenario: &Scenario,
    months: Option<u32>,
    output: Option<PathBuf>,
    seed: Option<u64>,
    force: bool,
    (with_report, format): (bool, TableFormat),
) -> Result<()> {
    let t0 = Instant::now();
    let cfg = &scenario.config;
    let dir = output.unwrap_or_else(|| Path::new("output").join(format!("{}-budget", cfg.name)));
    output::check_target(&dir, Kind::Dir(&budget::FILES), force)?;
    let seed = seed.unwrap_or(cfg.seed);
    let setup = budget::run::prepare(scenario, seed, months)?;
    let info = run_info(scenario, seed, &setup.prepared);
    let budget::run::BudgetSetup {
        prepared,
        calendar,
        plan,
        ..
    } = setup;
    let Prepared {
        cluster,
        workload,
        queue,
        placement,
        models,
        economics: mut econ,
    } = prepared;
    let bar = progress_bar(workload.jobs.len() as u64);
    let sim =
        Simulation::new(&cluster, &workload, queue, placement, scenario.sim_config()).with_models(models);
    let recording = Recording {
        level: OutputLevel::Full,
        resolution: SeriesResolution::default(),
        utilization_window: cfg.metrics.window(),
        keep_segments: true,
    };
    let mut out = sim.with_recording(recording).run(&mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let fleet = out.models.fleet.take().unwrap_or_default();
    let bill = match &mut econ {
        Some(e) => {
            budget::run::bill_fleet(scenario, e, &cluster, (&calendar, &plan), &fleet.orders)?;
            Some(economics::bill(e, &out, &workload, &cluster)?)
        }
        None => None,
    };
    out.summary.economics = bill.as_ref().map(economics::EconSummary::of);
    let fleet = fleet.months;
    let metric = cfg
        .budget
        .as_ref()
        .and_then(|b| b.rule.as_ref())
        .map(|r| r.metric);
    let rows = budget::table::rows(&calendar, &out.jobs, &fleet, metric);
    let table = |w: &mut dyn std::io::Write| budget::table::write(w, &rows, bill.as_ref());
    let finish = |tmp: &Path| render_report(tmp, false);
    report::write_run_as(
        &dir,
        force,
        &info,
        report::RunData {
            workload: &workload,
            out: &out,
            bill: bill.as_ref(),
        },
        (OutputLevel::Full, format),
        &[("budget.csv", &table)],
        &|_| {},
        with_report.then_some(&finish as &report::Finish),
    )?;
    budget::table::print(&rows, bill.as_ref());
    println!(
        "\n{} months, {} jobs, {} events in {:.2} s; outputs in {}",
        rows.len(),
        out.summary.jobs,
        out.events,
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {pos}/{len} jobs arrived ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A byte counter for the writing phase (hidden when stderr is not a terminal).
fn write_progress() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} writing outputs: {bytes} ({bytes_per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn print_summary(info: &RunInfo, s: &Summary, events: u64) {
    println!(
        "scenario   {} (seed {}, mode {})",
        info.scenario, info.seed, info.mode
    );
    println!(
        "cluster    {} — {} GPUs ({})",
        info.topology,
        s.cluster_gpus,
        info.gpu_models.join(", ")
    );
    println!(
        "policies   queue {}, placement {}",
        info.queue_policy, info.placement
    );
    println!(
        "jobs       {} in: {} completed, {} censored, {} unfinished, {} skipped; {} trace rows skipped; {} events",
        s.jobs,
        s.completed,
        s.censored,
        s.unfinished,
        s.jobs_skipped.values().sum::<u64>(),
        s.rows_skipped.total(),
        events
    );
    for (reason, n) in &s.jobs_skipped {
        println!("           skipped {n} jobs: {reason}");
    }
    for (reason, c) in &s.rows_skipped.reasons {
        println!(
            "           skipped {} rows: {reason} (first at {})",
            c.count, c.first
        );
    }
    if s.unplaced > 0 {
        println!(
            "           {} jobs ran unplaced (no fit at their recorded start)",
            s.unplaced
        );
    }
    if s.jobs_failed > 0 {
        println!(
            "           {} jobs failed: a failure past their retry limit ended them",
            s.jobs_failed
        );
    }
    if s.unfinished > 0 {
        let power = s
            .power
            .as_ref()
            .filter(|p| p.jobs_power_delayed > 0)
            .map(|p| format!("; {} jobs were refused for power", p.jobs_power_delayed))
            .unwrap_or_default();
        println!(
            "           {} jobs never finished: still waiting when the run ended{power}",
            s.unfinished
        );
    }
    if s.completed + s.censored == 0 {
        println!("\nno job ran: there is no wait, JCT or slowdown to report");
    } else {
        print_distributions(s);
    }
    println!(
        "\nGPU utilization {:.1}% over {} window {:.1}–{:.1} h, {:.1}% over makespan",
        s.gpu_utilization_window * 100.0,
        s.utilization_window.as_str(),
        s.utilization_window_s[0] / 3600.0,
        s.utilization_window_s[1] / 3600.0,
        s.gpu_utilization * 100.0,
    );
    println!(
        "allocated {:.0} GPU-h  peak {:.1} GPUs  makespan {:.1} h  throughput {:.1} jobs/h",
        s.allocated_gpu_hours,
        s.peak_busy_gpus,
        s.makespan_s / 3600.0,
        s.throughput_jobs_per_hour
    );
    if let Some(p) = &s.power {
        println!(
            "energy IT {:.3} MWh, facility {:.3} MWh (PUE {:.3})  peak IT {:.1} kW, facility {:.1} kW",
            p.it_energy_mwh, p.facility_energy_mwh, p.mean_pue, p.peak_it_kw, p.peak_facility_kw
        );
    }
    if let Some(e) = &s.economics {
        let t = &e.totals;
        let money = |x| economics::bill::cents(x);
        println!(
            "cost       {} {} total: energy {}, demand {}, capex {}, opex {}  ({:.1} tCO2, {} per GPU-h)",
            money(t.total),
            e.currency,
            money(t.energy_cost),
            money(t.demand_cost),
            money(t.capex),
            money(t.opex),
            t.co2_t,
            t.per_gpu_hour()
                .map_or("-".to_string(), |x| x.round_dp(2).to_string()),
        );
    }
}

/// The wait, JCT and bounded-slowdown rows of the summary table.
fn print_distributions(s: &Summary) {
    println!(
        "\n{:<18}{:>12}{:>12}{:>12}{:>12}",
        "", "mean", "p50", "p95", "p99"
    );
    for (name, d) in [
        ("to first start (h)", &s.wait_s),
        ("not running (h)", &s.not_running_s),
        ("JCT (h)", &s.jct_s),
    ] {
        println!(
            "{:<18}{:>12.3}{:>12.3}{:>12.3}{:>12.3}",
            name,
            d.mean / 3600.0,
            d.p50 / 3600.0,
            d.p95 / 3600.0,
            d.p99 / 3600.0
        );
    }
    let b = &s.bounded_slowdown;
    println!(
        "{:<18}{:>12.3}{:>12.3}{:>12.3}{:>12.3}",
        "bounded slowdown", b.mean, b.p50, b.p95, b.p99
    );
}

/// Preemption costs nothing unless the scenario says what it costs: say so when a run
/// preempted with the zero default, since its JCTs then flatter preemptive policies.
fn warn_if_preemption_free(preemptions: u64, cost: &PreemptionCost) {
    if preemptions > 0 && cost.checkpoint_interval_s == 0.0 && cost.restore_s == 0.0 {
        eprintln!(
            "\nwarning: preemption was free ({preemptions} preemptions in a run): [scheduler.preemption] sets no \
             checkpoint_interval_s or restore_s, so preempted jobs lost no work and resumed \
             at once (lost_gpu_hours is 0); set them to charge for checkpoint and restore"
        );
    }
}

fn compare_cmd(args: CompareArgs) -> Result<()> {
    let t0 = Instant::now();
    let scenario = args.sets.load(&args.scenario)?;
    let cfg = &scenario.config;
    let dir = args
        .output
        .unwrap_or_else(|| Path::new("output").join(format!("{}-compare", cfg.name)));
    output::check_target(&dir, Kind::Dir(&compare::COMPARE_FILES), args.force)?;
    let config = compare::CompareConfig {
        queues: args.policies,
        placements: if args.placements.is_empty() {
            vec![cfg.scheduler.placement.clone()]
        } else {
            args.placements
        },
        replications: args.replications,
        seed: args.seed.unwrap_or(cfg.seed),
    };
    let pool = pool(args.jobs)?;
    let threads = pool.current_num_threads();
    let result = pool.install(|| compare::compare(&scenario, &config))?;
    let finish = |tmp: &Path| render_report(tmp, false);
    compare::write_compare_as(
        &dir,
        args.force,
        &result,
        args.format,
        (!args.no_report && args.format == TableFormat::Csv).then_some(&finish as &report::Finish),
    )?;
    print!("{}", compare::table(&result));
    let preemptions = result
        .runs
        .iter()
        .map(|r| r.summary.preemptions)
        .max()
        .unwrap_or(0);
    warn_if_preemption_free(preemptions, &cfg.scheduler.preemption);
    if cfg.mode == Mode::AsRecorded {
        println!("\nnote: mode = as-recorded: jobs start at their recorded times, so the queue policy has no effect");
    }
    if cfg.workload.synthetic.is_none() && config.replications > 1 {
        println!("\nnote: a trace workload is the same in every replication; replications differ only where a policy draws random numbers");
    }
    println!(
        "\n{} runs on {threads} threads in {:.2} s; outputs in {}",
        result.runs.len(),
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

/// Renders the report of a folder being written (see `report::Finish`).
fn render_report(dir: &Path, png: bool) -> std::io::Result<()> {
    plots::render(dir, plots::Options { png })
        .map(|_| ())
        .map_err(std::io::Error::other)
}

fn report_cmd(dir: &Path, png: bool) -> Result<()> {
    let t0 = Instant::now();
    let r = plots::render(dir, plots::Options { png })?;
    for m in &r.missing {
        println!("not drawn: {m}");
    }
    println!(
        "{} report: {} figure files in {} and {} ({:.2} s)",
        r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" + "),
        r.files.len(),
        dir.join(plots::PLOTS_DIR).display(),
        dir.join("report.html").display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn validate(path: &Path, scenario: &Scenario) -> Result<()> {
    let seed = scenario.config.seed;
    // A synthetic workload that a run would generate as it goes is checked the same
    // way, job by job, without holding it.
    let (prepared, streamed) = if scenario.streams_jobs() {
        let (prepared, jobs) = scenario.prepare_streamed(seed)?;
        (prepared, Some(jobs))
    } else {
        (scenario.prepare(seed)?, None)
    };
    let c = &prepared.cluster;
    let w = &prepared.workload;
    println!("scenario  {}: ok", path.display());
    println!(
        "topology  {}: {} nodes, {} racks, {} GPUs ({})",
        c.name,
        c.nodes.len(),
        c.racks.len(),
        c.total_gpus(),
        c.models
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{} {}", c.gpus_of(GpuModelId(i as u16)), m.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "workload  {} rows read, {} jobs, {} rows skipped",
        w.rows_read,
        streamed.as_ref().map_or(w.jobs.len() as u64, |j| j.len()),
        w.skipped.total()
    );
    for (reason, n) in &w.skipped.reasons {
        println!(
            "          skipped {} rows: {reason} (first at {})",
            n.count, n.first
        );
    }
    let sim = match &streamed {
        None => Simulation::new(c, w, prepared.queue, prepared.placement, scenario.sim_config()),
        Some(jobs) => Simulation::streamed(
            c,
            w,
            jobs.generator().map_err(|e| scenario.workload_err(e))?,
            prepared.queue,
            prepared.placement,
            scenario.sim_config(),
        )
        .map_err(|e| scenario.workload_err(e))?,
    };
    for (reason, n) in sim.unrunnable() {
        println!("          {n} jobs cannot run on this cluster: {reason}");
    }
    Ok(())
}

fn convert(file: &Path, format: TraceFormat, target: &Path, force: bool) -> Result<()> {
    output::check_target(target, Kind::File, force)?;
    let w = adapters::read_trace(format, file)?;
    output::write_file(target, force, &|out| adapters::write_generic(&w, out), &|_| {})?;
    println!(
        "{} jobs written to {} ({} rows skipped)",
        w.jobs.len(),
        target.display(),
        w.skipped.total()
    );
    Ok(())
}

fn inflate(path: &Path, policies: &str, seeds: u64, output: Option<PathBuf>, force: bool) -> Result<()> {
    let t0 = Instant::now();
    let scenario = Scenario::load(path)?;
    let cfg = &scenario.config;
    let dir = output.unwrap_or_else(|| Path::new("output").join(format!("{}-inflation", cfg.name)));
    let file = dir.join("inflation.csv");
    output::check_target(&file, Kind::File, force)?;
    let names: Vec<&str> = policies
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || seeds == 0 {
        bail!("--policies needs at least one policy and --seeds at least 1");
    }
    for name in &names {
        scenario.placement_policy(name, cfg.seed)?; // every name checked before any run
    }
    let cluster = scenario.load_topology()?.cluster;
    let workload = scenario.load_workload_keeping_cpu_only(cfg.seed, cluster.total_gpus())?;
    let tasks = inflation::requests(&cluster, &workload);
    if tasks.iter().all(|t| t.demand.gpus == 0) {
        bail!("the workload has no GPU task this cluster can run");
    }
    let mut rows = Vec::new();
    for name in &names {
        for i in 0..seeds {
            let seed = cfg.seed.wrapping_add(i);
            let mut policy = scenario.placement_policy(name, seed)?;
            rows.extend(inflation::run(&cluster, &tasks, policy.as_mut(), seed));
        }
    }
    output::write_file(&file, force, &|w| inflation::write_csv(w, &rows), &|_| {})?;
    println!(
        "{} tasks to draw from ({} CPU-only); {} GPUs; {} seeds per policy\n",
        tasks.len(),
        tasks.iter().filter(|t| t.demand.gpus == 0).count(),
        cluster.total_gpus(),
        seeds
    );
    println!("mean unallocated GPUs at arrived workload (% of capacity):");
    println!("{:<16}{:>10}{:>10}{:>10}", "policy", "90%", "95%", "100%");
    let at = |f: f64| inflation::mean_unallocated_at(&rows, f);
    let (a, b, c) = (at(0.90), at(0.95), at(1.0));
    for (i, (name, u90)) in a.iter().enumerate() {
        println!(
            "{:<16}{:>10.1}{:>10.1}{:>10.1}",
            name,
            u90,
            b.get(i).map_or(f64::NAN, |x| x.1),
            c.get(i).map_or(f64::NAN, |x| x.1)
        );
    }
    println!(
        "\n{} rows in {} ({:.2} s)",
        rows.len(),
        file.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn pool(jobs: Option<u32>) -> Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = jobs {
        pool = pool.num_threads(n as usize);
    }
    pool.build().context("starting worker threads")
}

/// Progress of many runs: a bar on a terminal, else a line every few seconds.
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    /// Seconds between lines when stderr is not a terminal.
    const LINE_EVERY_S: f64 = 5.0;

    fn new(what: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {what} [{{bar:40}}] {{pos}}/{{len}} runs ({{eta}} left)"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed().as_secs_f64() < Self::LINE_EVERY_S && done < total {
            return;
        }
        *last = Instant::now();
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if done > 0 && done < total {
            format!(
                ", about {:.0} s left",
                elapsed / done as f64 * (total - done) as f64
            )
        } else {
            String::new()
        };
        eprintln!("{done}/{total} runs done in {elapsed:.0} s{eta}");
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn sweep_cmd(args: SweepArgs) -> Result<()> {
    let t0 = Instant::now();
    let sets = args.sets.parse()?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let sweep = Sweep::load(&args.scenario, &sets)?;
    let name = &sweep.scenario.config.name;
    let dir = args
        .output
        .unwrap_or_else(|| Path::new("output").join(format!("{name}-sweep")));
    let grid = &sweep.grid;
    if args.emit.is_some() {
        if shard.is_some() {
            bail!("--emit slurm writes the scripts for every shard; drop --shard");
        }
        if args.format != TableFormat::Csv {
            bail!(
                "--emit slurm's merge job writes CSV; drop --format, and run `dcsim merge \
                 --format parquet` on the shard directories for Parquet"
            );
        }
        let abs = |p: &Path| std::path::absolute(p).with_context(|| format!("resolving {}", p.display()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let job = slurm::SlurmJob {
            exe: std::env::current_exe().context("finding the dcsim binary")?,
            scenario: abs(&args.scenario)?,
            sets: args.sets.set.clone(),
            dir: abs(&dir)?,
            points: grid.points(),
            max_tasks: args.slurm_tasks,
            sbatch: args.sbatch,
            name: format!("dcsim-{name}"),
        };
        let submit = job
            .write()
            .with_context(|| format!("writing scripts under {}", dir.display()))?;
        println!(
            "{} points x {} replications as a job array of {} tasks; submit with:\n\n    sh {}\n\nsweep.csv and sweep_summary.csv appear in {} when the merge job has run.",
            grid.points(),
            grid.replications,
            job.tasks(),
            submit.display(),
            dir.display()
        );
        return Ok(());
    }
    let pool = pool(args.jobs)?;
    let threads = pool.current_num_threads();
    let progress = Progress::new("sweeping");
    let opts = SweepOptions {
        dir: dir.clone(),
        shard,
        force: args.force,
        format: args.format,
    };
    let report = pool.install(|| sweep.run(&opts, &|d, t| progress.update(d, t)));
    progress.finish();
    let report = report?;
    if report.resumed > 0 {
        println!(
            "resumed: {} of {} runs were already done",
            report.resumed, report.runs
        );
    }
    let what = match shard {
        Some(s) => format!("shard {}/{}: ", s.index, s.count),
        None => String::new(),
    };
    println!(
        "{what}{} points x {} replications: {} runs on {threads} threads in {:.2} s; outputs in {}",
        grid.points(),
        grid.replications,
        report.runs,
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    if !report.wrote_files {
        println!("merge the shards with: dcsim merge <shard dirs...> --output <dir>");
    } else if !args.no_report && args.format == TableFormat::Csv {
        render_report(&dir, false).with_context(|| format!("drawing the report in {}", dir.display()))?;
    }
    Ok(())
}

fn plan_cmd(args: PlanArgs) -> Result<()> {
    let t0 = Instant::now();
    let sets = args.sets.parse()?;
    let targets = args
        .target
        .iter()
        .map(|t| plan::Target::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let sweep = Sweep::load_base(&args.scenario, &sets)?;
    let name = &sweep.scenario.config.name;
    let dir = args
        .output
        .unwrap_or_else(|| Path::new("output").join(format!("{name}-plan")));
    let file = dir.join(match args.format {
        TableFormat::Csv => "plan.csv",
        TableFormat::Parquet => "plan.parquet",
    });
    if file.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to replace it, or choose another --output",
            file.display()
        );
    }
    let range = sweep::spec::RangeSpec {
        from: sweep::overrides::parse_value(&args.from),
        to: sweep::overrides::parse_value(&args.to),
        step: args.step.as_deref().map(sweep::overrides::parse_value),
    };
    let replications = args
        .replications
        .or(sweep.scenario.config.sweep.as_ref().map(|s| s.replications))
        .unwrap_or(5);
    let pool = pool(args.jobs)?;
    let show = |p: &plan::Probe| {
        let figs: Vec<String> = targets
            .iter()
            .zip(&p.estimates)
            .map(|(t, e)| format!("{} = {}", t.figure, estimate(e)))
            .collect();
        eprintln!(
            "probe {}: {} = {}: {} ({})",
            p.order,
            args.vary,
            sweep::overrides::literal(&p.value),
            figs.join(", "),
            if p.meets { "meets" } else { "misses" }
        );
    };
    let result = pool.install(|| plan::search(&sweep, &args.vary, &range, &targets, replications, &show))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    match args.format {
        TableFormat::Csv => plan::write_csv(&result, &file),
        TableFormat::Parquet => plan::write_parquet(&result, &file),
    }
    .with_context(|| format!("writing {}", file.display()))?;
    if !args.no_report && args.format == TableFormat::Csv {
        render_report(&dir, false).with_context(|| format!("drawing the report in {}", dir.display()))?;
    }
    let wanted: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    let probes = format!(
        "{} probes x {replications} replications in {:.1} s; curve in {}",
        result.probes.len(),
        t0.elapsed().as_secs_f64(),
        file.display()
    );
    match &result.outcome {
        plan::Outcome::Found { value } => {
            let at = result.probes.iter().find(|p| &p.value == value);
            let below = result.probes.iter().rfind(|p| !p.meets);
            println!(
                "answer: {} = {} is the smallest value meeting {}",
                args.vary,
                sweep::overrides::literal(value),
                wanted.join(" and ")
            );
            if let Some(p) = at {
                for (t, e) in targets.iter().zip(&p.estimates) {
                    println!(
                        "  at {}: {} = {} (95% CI over {replications} runs)",
                        sweep::overrides::literal(value),
                        t.figure,
                        estimate(e)
                    );
                }
            }
            match below {
                Some(p) => {
                    for (t, e) in targets.iter().zip(&p.estimates).filter(|(t, e)| !t.met_by(e)) {
                        println!(
                            "  at {}: {} = {} misses {t}",
                            sweep::overrides::literal(&p.value),
                            t.figure,
                            estimate(e)
                        );
                    }
                }
                None => println!("  (the bottom of the range already meets every target)"),
            }
            println!("{probes}");
            Ok(())
        }
        plan::Outcome::Unreachable => {
            println!("{probes}");
            bail!(
                "unreachable: even {} = {} misses {} (see {}); widen the range (--to) or relax the target",
                args.vary,
                args.to,
                wanted.join(" and "),
                file.display()
            )
        }
        plan::Outcome::NonMonotone { why } => {
            println!("{probes}");
            bail!("no answer: the result is not monotone in {}: {why}", args.vary)
        }
    }
}

fn estimate(e: &dcsim::compare::Estimate) -> String {
    match (e.mean, e.ci95) {
        (Some(m), Some(ci)) => format!("{m:.4} ± {ci:.4}"),
        (Some(m), None) => format!("{m:.4}"),
        _ => "-".into(),
    }
}

//! `dcsim sweep --emit slurm`: the scripts that run a sweep as a Slurm job array and
//! merge the shards in a job that starts when the array has succeeded.
//!
//! The array has one task per shard, at most [`MAX_TASKS`] (Slurm's default
//! `MaxArraySize` is 1001, so indices 0..=1000): with more points than tasks, each task
//! runs every `n`-th point (`--shard $SLURM_ARRAY_TASK_ID/n`). Each task writes its
//! journal to `shards/<i>/` under the output directory, so a requeued task resumes; the
//! merge job writes `sweep.csv` and `sweep_summary.csv` into the output directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Most array tasks emitted by default (Slurm's default `MaxArraySize` = 1001 allows
/// indices 0..=1000).
pub const MAX_TASKS: u64 = 1000;

/// What to emit.
#[derive(Debug, Clone)]
pub struct SlurmJob {
    /// The `dcsim` binary the tasks run (absolute).
    pub exe: PathBuf,
    /// The scenario (absolute).
    pub scenario: PathBuf,
    /// `--set` overrides, as written.
    pub sets: Vec<String>,
    /// Output directory of the sweep (absolute).
    pub dir: PathBuf,
    /// Points in the grid.
    pub points: u64,
    /// Most array tasks.
    pub max_tasks: u64,
    /// Extra `#SBATCH` options for both jobs (e.g. `--partition=batch`).
    pub sbatch: Vec<String>,
    /// Job name.
    pub name: String,
}

/// Quotes a word for a POSIX shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn sh_path(p: &Path) -> String {
    sh(&p.display().to_string())
}

impl SlurmJob {
    /// Array tasks (= shards).
    pub fn tasks(&self) -> u64 {
        self.points.clamp(1, self.max_tasks.max(1))
    }

    /// The array job script.
    pub fn array_script(&self) -> String {
        let n = self.tasks();
        let mut s = String::from("#!/bin/sh\n");
        let _ = writeln!(s, "#SBATCH --job-name={}", self.name);
        let _ = writeln!(s, "#SBATCH --array=0-{}", n - 1);
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        let _ = writeln!(s, "#SBATCH --cpus-per-task=1");
        let _ = writeln!(s, "#SBATCH --output={}/slurm/logs/%A_%a.out", self.dir.display());
        for o in &self.sbatch {
            let _ = writeln!(s, "#SBATCH {o}");
        }
        let _ = writeln!(
            s,
            "# Shard $SLURM_ARRAY_TASK_ID of {n}: points p with p mod {n} = $SLURM_ARRAY_TASK_ID ({} points in all).",
            self.points
        );
        s.push_str("set -eu\n");
        let _ = write!(s, "exec {} sweep {}", sh_path(&self.exe), sh_path(&self.scenario));
        for set in &self.sets {
            let _ = write!(s, " --set {}", sh(set));
        }
        let _ = writeln!(
            s,
            " --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --output {}/\"shards/$SLURM_ARRAY_TASK_ID\"",
            sh_path(&self.dir)
        );
        s
    }

    /// The merge job script.
    pub fn merge_script(&self) -> String {
        let n = self.tasks();
        let mut s = String::from("#!/bin/sh\n");
        let _ = writeln!(s, "#SBATCH --job-name={}-merge", self.name);
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        let _ = writeln!(
            s,
            "#SBATCH --output={}/slurm/logs/merge_%j.out",
            self.dir.display()
        );
        for o in &self.sbatch {
            let _ = writeln!(s, "#SBATCH {o}");
        }
        s.push_str("set -eu\n");
        let _ = writeln!(s, "dir={}", sh_path(&self.dir));
        let _ = write!(s, "exec {} merge", sh_path(&self.exe));
        let _ = writeln!(
            s,
            " $(i=0; while [ $i -lt {n} ]; do printf '%s ' \"$dir/shards/$i\"; i=$((i + 1)); done) --output \"$dir\""
        );
        s
    }

    /// The submit script: the array, then the merge after it succeeded.
    pub fn submit_script(&self) -> String {
        let mut s = String::from("#!/bin/sh\n# Submits the sweep's job array and its merge job (run after the array succeeded).\nset -eu\n");
        let _ = writeln!(s, "cd {}", sh_path(&self.dir.join("slurm")));
        s.push_str("array=$(sbatch --parsable array.sbatch)\narray=${array%%;*}\n");
        s.push_str(
            "merge=$(sbatch --parsable --dependency=afterok:\"$array\" merge.sbatch)\nmerge=${merge%%;*}\n",
        );
        s.push_str("echo \"array job $array, merge job $merge\"\n");
        s
    }

    /// Writes `slurm/array.sbatch`, `slurm/merge.sbatch` and `slurm/submit.sh` (with
    /// `slurm/logs/`) under the output directory; returns the submit script's path.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let dir = self.dir.join("slurm");
        std::fs::create_dir_all(dir.join("logs"))?;
        std::fs::write(dir.join("array.sbatch"), self.array_script())?;
        std::fs::write(dir.join("merge.sbatch"), self.merge_script())?;
        let submit = dir.join("submit.sh");
        std::fs::write(&submit, self.submit_script())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&submit, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(submit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(points: u64) -> SlurmJob {
        SlurmJob {
            exe: "/opt/dcsim".into(),
            scenario: "/s/a b.toml".into(),
            sets: vec!["scheduler.queue=easy".into()],
            dir: "/out".into(),
            points,
            max_tasks: MAX_TASKS,
            sbatch: vec!["--partition=batch".into()],
            name: "x".into(),
        }
    }

    #[test]
    fn arrays_stay_within_slurms_default_max_array_size() {
        // MaxArraySize = 1001 by default (slurm.conf(5)): indices 0..=1000 at most.
        assert!(job(5000).array_script().contains("#SBATCH --array=0-999\n"));
        assert!(job(12).array_script().contains("#SBATCH --array=0-11\n"));
        let s = job(5000).array_script();
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/1000\""), "{s}");
        assert!(s.contains("'/s/a b.toml' --set 'scheduler.queue=easy'"), "{s}");
        assert!(job(3).merge_script().contains("while [ $i -lt 3 ]"));
    }
}

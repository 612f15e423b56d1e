//! The one way every command writes its outputs: checked, atomic, and interruptible.
//!
//! An output (a run folder, or a single file) is written whole into a temporary sibling
//! named `.<name>.tmp-<pid>` and renamed into place, so a reader never sees half a
//! result. Before anything is written, [`check_target`] refuses targets that `--force`
//! must not replace: a path with no name of its own (`.`, `..`, `/`), one that holds the
//! working directory, a file where a folder goes (or the reverse), a link, and a folder
//! that is not an earlier output of the same kind: one with sub-folders (outputs are
//! flat), or one with files but none of the names this output writes.
//!
//! Interrupts: the binary's signal handler calls [`interrupt`]; the writers check the flag
//! on every buffer they write, stop, and remove their temporary. Temporaries a killed
//! process left behind are removed by the next write to the same target: every
//! `.<name>.tmp-<pid>` or `.<name>.old-<pid>` sibling whose process is no longer alive
//! (on Unix; elsewhere they are left alone).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

/// Why outputs could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The target holds an earlier result.
    #[error("{0} already exists; pass --force to replace it, or choose another --output")]
    Exists(PathBuf),
    /// The target is one `--force` must not replace (see [`check_target`]).
    #[error("{path}: {why}; choose another --output")]
    Unsafe {
        /// The target as given.
        path: PathBuf,
        /// What it is, and why it cannot be replaced.
        why: String,
    },
    /// An interrupt (Ctrl-C, SIGTERM) stopped the writing; nothing was left behind.
    #[error("interrupted; {0} was not written")]
    Interrupted(PathBuf),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Writes one file's contents (`Sync`: the files of a directory are written in parallel).
pub type FileWriter<'a> = dyn Fn(&mut dyn Write) -> io::Result<()> + Sync + 'a;

/// What a finish step adds to a folder (the report's page and its figures folder): part
/// of an earlier output when `--force` replaces it.
const FINISH_NAMES: [&str; 2] = ["report.html", "plots"];

/// Runs on a folder's temporary copy once its files are written, before it is renamed
/// into place (the report renders there, so it is never seen half-written).
pub type Finish<'a> = dyn Fn(&Path) -> io::Result<()> + 'a;

/// Told the number of bytes each time some are written (for a progress display).
pub type OnBytes<'a> = dyn Fn(u64) + Sync + 'a;

/// What an output target is: a folder of files, or a single file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A folder, replaced whole, holding files of these names; an existing folder is
    /// replaced only if it holds one of them (or nothing), so it is an earlier output.
    Dir(&'a [&'a str]),
    /// A single file.
    File,
}

/// Set once an interrupt arrives; writers stop at their next buffer.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How many temporaries are being written now. Held while the flag is set and checked,
/// so an interrupt either finds no temporary (and the process may exit at once) or is
/// seen by the writer that owns one.
static LIVE: Mutex<usize> = Mutex::new(0);

/// Records an interrupt. Returns `true` when an output is being written: its writer will
/// remove its temporary and fail with [`OutputError::Interrupted`], so the caller must let
/// it finish; `false` when nothing is being written and the process may exit at once.
pub fn interrupt() -> bool {
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    INTERRUPTED.store(true, Ordering::SeqCst);
    *live > 0
}

/// Whether an interrupt has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Refuses a target that must not be written (see the module doc), and an existing one
/// without `force`. Commands call it before their work, so a bad `--output` fails fast;
/// the writers call it again just before writing.
pub fn check_target(path: &Path, kind: Kind, force: bool) -> Result<(), OutputError> {
    let unsafe_ = |why: String| OutputError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    let Some((parent, name)) = split(path) else {
        return Err(unsafe_(format!(
            "not a {} name dcsim can write (name a new one, e.g. {})",
            noun(kind),
            Path::new("output").join("run").display()
        )));
    };
    let target = parent.join(&name);
    let meta = match fs::symlink_metadata(&target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(OutputError::Io { path: target, source }),
    };
    if meta.file_type().is_symlink() {
        return Err(unsafe_("is a link; dcsim replaces only what it wrote".into()));
    }
    match (kind, meta.is_dir()) {
        (Kind::Dir(_), false) => return Err(unsafe_("is a file, not a folder".into())),
        (Kind::File, true) => return Err(unsafe_("is a folder, not a file".into())),
        _ => {}
    }
    if let (Ok(cwd), Ok(t)) = (std::env::current_dir(), fs::canonicalize(&target)) {
        if cwd.starts_with(&t) {
            return Err(unsafe_("holds the working directory".into()));
        }
    }
    if let Kind::Dir(names) = kind {
        let entries = fs::read_dir(&target).map_err(|source| OutputError::Io {
            path: target.clone(),
            source,
        })?;
        let (mut empty, mut ours) = (true, false);
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) && !names.contains(&file.as_str()) {
                return Err(unsafe_(format!(
                    "holds the folder {file}, so it is not an earlier output (those are flat); --force replaces only that"
                )));
            }
            empty = false;
            ours |= names.contains(&file.as_str());
        }
        if !empty && !ours {
            return Err(unsafe_(format!(
                "holds none of {}, so it is not an earlier output; --force replaces only that",
                names.join(", ")
            )));
        }
    }
    if !force {
        return Err(OutputError::Exists(path.to_path_buf()));
    }
    Ok(())
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Dir(_) => "folder",
        Kind::File => "file",
    }
}

/// The parent folder (`.` when none) and the final name, or `None` when the path does
/// not end in a name (`.`, `..`, `/`, empty).
fn split(path: &Path) -> Option<(PathBuf, String)> {
    let mut comps: Vec<Component> = path.components().collect();
    let name = match comps.pop()? {
        Component::Normal(n) => n.to_string_lossy().into_owned(),
        _ => return None,
    };
    let parent: PathBuf = comps.iter().collect();
    let parent = if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent
    };
    Some((parent, name))
}

/// A temporary being written: counted in [`LIVE`] and removed when dropped (after a
/// successful rename it no longer exists, so nothing is removed).
struct Temp {
    path: PathBuf,
}

impl Temp {
    /// Registers `path`, unless an interrupt has already arrived.
    fn register(path: PathBuf, target: &Path) -> Result<Temp, OutputError> {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        if interrupted() {
            return Err(OutputError::Interrupted(target.to_path_buf()));
        }
        *live += 1;
        Ok(Temp { path })
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        remove(&self.path);
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        *live -= 1;
    }
}

/// Best-effort removal of a file or folder (a leftover is cleaned by the next run).
fn remove(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => drop(fs::remove_dir_all(path)),
        Ok(_) => drop(fs::remove_file(path)),
        Err(_) => {}
    }
}

/// Whether process `pid` is alive (on Unix: `kill(pid, 0)` succeeds or is refused for
/// permission; elsewhere every process counts as alive, so nothing is removed).
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes `.<name>.tmp-<pid>` and `.<name>.old-<pid>` in `parent` whose process is gone.
fn clean_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.old-")];
    for e in entries.flatten() {
        let file = e.file_name();
        let file = file.to_string_lossy();
        let pid = prefixes
            .iter()
            .find_map(|p| file.strip_prefix(p.as_str()))
            .and_then(|rest| rest.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !alive(pid) {
                remove(&e.path());
            }
        }
    }
}

/// Checks the target, makes its parent, cleans stale temporaries, and registers this
/// process's temporary: (target, parent, name, temporary).
fn prepare(path: &Path, kind: Kind, force: bool) -> Result<(PathBuf, PathBuf, String, Temp), OutputError> {
    check_target(path, kind, force)?;
    let (parent, name) = split(path).ok_or_else(|| OutputError::Exists(path.to_path_buf()))?;
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    clean_stale(&parent, &name);
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    remove(&tmp);
    let target = parent.join(&name);
    let temp = Temp::register(tmp, &target)?;
    Ok((target, parent, name, temp))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Io { path, source }
}

/// A writer that stops at an interrupt and reports the bytes it writes.
struct Watched<'a, W> {
    inner: W,
    on_bytes: &'a OnBytes<'a>,
}

impl<W: Write> Write for Watched<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if interrupted() {
            return Err(io::Error::other("interrupted"));
        }
        let n = self.inner.write(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one file through a buffer, interruptibly; `Interrupted` when stopped.
fn write_one(path: &Path, target: &Path, f: &FileWriter, on_bytes: &OnBytes) -> Result<(), OutputError> {
    let file = fs::File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::new(Watched {
        inner: file,
        on_bytes,
    });
    f(&mut w).and_then(|_| w.flush()).map_err(|source| {
        if interrupted() {
            OutputError::Interrupted(target.to_path_buf())
        } else {
            OutputError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Writes `files` (name, writer) into the folder `dir` atomically: all into a temporary
/// sibling, renamed into place, so a reader never sees half a result. Refuses what
/// [`check_target`] refuses; `on_bytes` hears of every buffer written.
pub fn write_dir(
    dir: &Path,
    force: bool,
    files: &[(&str, &FileWriter)],
    on_bytes: &OnBytes,
) -> Result<(), OutputError> {
    write_dir_then(dir, force, files, on_bytes, None)
}

/// [`write_dir`], then `finish` on the temporary folder before the rename (its output
/// files and folders count as the folder's own when `--force` replaces it later).
pub fn write_dir_then(
    dir: &Path,
    force: bool,
    files: &[(&str, &FileWriter)],
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), OutputError> {
    let mut names: Vec<&str> = files.iter().map(|&(n, _)| n).collect();
    if finish.is_some() {
        names.extend(FINISH_NAMES);
    }
    Staged::open(dir, &names, force)?.commit(files, on_bytes, finish)
}

/// A folder output whose temporary exists before its contents are complete, so that a
/// run can stream tables into it as it produces them ([`Staged::stream`]). It is
/// renamed into place by [`Staged::commit`]; dropped uncommitted (an error, an
/// interrupt), its temporary is removed.
pub struct Staged {
    target: PathBuf,
    parent: PathBuf,
    name: String,
    temp: Temp,
}

impl Staged {
    /// Checks `dir` as a folder holding files named `names` ([`check_target`]) and makes
    /// its temporary.
    pub fn open(dir: &Path, names: &[&str], force: bool) -> Result<Staged, OutputError> {
        let (target, parent, name, temp) = prepare(dir, Kind::Dir(names), force)?;
        fs::create_dir(&temp.path).map_err(io_err(&temp.path))?;
        Ok(Staged {
            target,
            parent,
            name,
            temp,
        })
    }

    /// The temporary folder, where the files are until the commit.
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// A buffered, interruptible writer of the file `file` in the temporary folder, to
    /// be written while the run goes (by a thread of its own, so it owns its file). An
    /// error it returns is turned into the folder's by [`Staged::error`] (name the file
    /// in it).
    pub fn stream(&self, file: &str) -> Result<impl Write + Send + 'static, OutputError> {
        static UNCOUNTED: &OnBytes = &|_| {};
        let path = self.temp.path.join(file);
        let file = fs::File::create(&path).map_err(io_err(&path))?;
        Ok(BufWriter::with_capacity(
            1 << 16,
            Watched {
                inner: file,
                on_bytes: UNCOUNTED,
            },
        ))
    }

    /// What `source`, an error writing a streamed file, means for the folder: an
    /// interrupt, or that error.
    pub fn error(&self, source: io::Error) -> OutputError {
        if interrupted() {
            OutputError::Interrupted(self.target.clone())
        } else {
            OutputError::Io {
                path: self.target.clone(),
                source,
            }
        }
    }

    /// Writes `files` (name, writer) beside what was streamed, runs `finish` on the
    /// folder, and renames it into place (an earlier folder at the target is replaced).
    pub fn commit(
        self,
        files: &[(&str, &FileWriter)],
        on_bytes: &OnBytes,
        finish: Option<&Finish>,
    ) -> Result<(), OutputError> {
        // One file per task: each is formatted and written independently, so the bytes
        // do not depend on the thread count; the first failure in file order is reported.
        files
            .par_iter()
            .map(|&(file, f)| write_one(&self.temp.path.join(file), &self.target, f, on_bytes))
            .collect::<Result<Vec<()>, OutputError>>()?;
        if let Some(f) = finish {
            f(&self.temp.path).map_err(io_err(&self.target))?;
        }
        replace(&self.temp, &self.target, &self.parent, &self.name)
    }
}

/// Writes one file at `path` atomically (a temporary sibling renamed into place).
/// Refuses what [`check_target`] refuses; `on_bytes` hears of every buffer written.
pub fn write_file(path: &Path, force: bool, f: &FileWriter, on_bytes: &OnBytes) -> Result<(), OutputError> {
    let (target, _, _, temp) = prepare(path, Kind::File, force)?;
    write_one(&temp.path, &target, f, on_bytes)?;
    if interrupted() {
        return Err(OutputError::Interrupted(target));
    }
    fs::rename(&temp.path, &target).map_err(io_err(&target))
}

/// Moves the finished temporary folder into place; an earlier folder at the target is
/// moved aside first and removed after.
fn replace(temp: &Temp, target: &Path, parent: &Path, name: &str) -> Result<(), OutputError> {
    if interrupted() {
        return Err(OutputError::Interrupted(target.to_path_buf()));
    }
    if !target.exists() {
        return fs::rename(&temp.path, target).map_err(io_err(target));
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    fs::rename(target, &old).map_err(io_err(target))?;
    if let Err(e) = fs::rename(&temp.path, target) {
        // Put the earlier result back rather than leave nothing.
        let _ = fs::rename(&old, target);
        return Err(io_err(target)(e));
    }
    fs::remove_dir_all(&old).map_err(io_err(&old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_without_a_name_of_their_own_have_no_split() {
        for p in [".", "..", "/", "", "a/.."] {
            assert!(split(Path::new(p)).is_none(), "{p}");
        }
        // `a/b/.` is the folder `b` in `a` (Path drops a trailing `.`).
        assert_eq!(split(Path::new("a/b/.")), Some((PathBuf::from("a"), "b".into())));
        assert_eq!(split(Path::new("run")), Some((PathBuf::from("."), "run".into())));
    }

    #[cfg(unix)]
    #[test]
    fn a_pid_above_the_kernel_limit_is_not_alive() {
        // Linux caps PIDs at 2^22 (PID_MAX_LIMIT); our own process is alive.
        assert!(!alive(999_999_999));
        assert!(alive(std::process::id()));
    }
}

//! The run folder: where one run writes its config, metrics, summary,
//! pictures and weights. Whole files are written atomically (a temporary file
//! in the same folder, renamed into place), so a crash never leaves a
//! half-written file under a finished name; `summary.json` is written last
//! and marks a finished run.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A run's output folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `out`, or `results/<experiment>/<UTC time>-seed<seed>` when `out` is `None`.
    /// An existing non-empty folder is refused, so no earlier run is overwritten.
    pub fn create(out: Option<PathBuf>, experiment: &str, seed: u64) -> Result<Self> {
        let path = out.unwrap_or_else(|| Self::default_path(experiment, &format!("seed{seed}")));
        if path.exists() {
            if !path.is_dir() {
                bail!("--out {}: exists and is not a folder", path.display());
            }
            if std::fs::read_dir(&path).with_context(|| format!("cannot read {}", path.display()))?.next().is_some() {
                bail!("--out {}: folder exists and is not empty (refusing to overwrite a run)", path.display());
            }
        }
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create run folder {}", path.display()))?;
        lock(&path)?;
        crate::signals::set_run_dir(path.clone());
        Ok(Self { path })
    }

    /// An existing run folder, to continue a run in it (`--resume`).
    pub fn open(path: &Path) -> Result<Self> {
        if !path.join("config.toml").is_file() {
            bail!("{}: not a run folder (no config.toml)", path.display());
        }
        lock(path)?;
        crate::signals::set_run_dir(path.to_path_buf());
        Ok(Self { path: path.to_path_buf() })
    }

    /// `results/<experiment>/<UTC time>-<tag>`, with a numeric suffix if that exists already.
    pub fn default_path(experiment: &str, tag: &str) -> PathBuf {
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let base = PathBuf::from("results").join(experiment).join(format!("{stamp}-{tag}"));
        let mut path = base.clone();
        let mut k = 1;
        while path.exists() {
            path = PathBuf::from(format!("{}-{k}", base.display()));
            k += 1;
        }
        path
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of a file inside the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `bytes` to `name` atomically.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.file(name), bytes)
    }

    /// Produces `name` atomically through `write`, which receives a temporary path
    /// with the same extension (for writers that take a path, like plotters).
    pub fn produce(&self, name: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        produce_atomic(&self.file(name), write)
    }
}

/// The name of a run folder's lock file.
pub const LOCK_FILE: &str = ".lock";

/// Takes the run folder for this process: an exclusive `flock` on
/// `<dir>/.lock`, held until the process ends (however it ends, `kill -9`
/// included, so no stale lock is left). A second process on the same folder
/// (a sweep run twice at once, a requeued task beside its first attempt) is
/// refused instead of interleaving its writes with the first one's.
fn lock(dir: &Path) -> Result<()> {
    use std::os::unix::io::AsRawFd;
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).with_context(|| format!("cannot create {}", path.display()))?;
    // SAFETY: flock(2) on a file descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!("{} is in use by another nnlab process (a run or a resume of it is going on there); wait for it or stop it", dir.display());
    }
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push(file);
    Ok(())
}

/// The trained weights of a finished run folder (`model.safetensors`), for
/// the `--run RUN_DIR` modes that put a model to work; a one-line error when
/// the run has not finished.
pub fn finished_model(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("model.safetensors");
    if !path.is_file() {
        bail!("{} has no model.safetensors: the run has not finished", dir.display());
    }
    Ok(path)
}

/// A JSON file that a finished `kind` run (`"tagger"`, ...) wrote into its
/// folder, such as `vocabulary.json`, read back as `T`.
pub fn read_run_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str, kind: &str) -> Result<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}: is {} a finished {kind} run folder?", path.display(), dir.display()))?;
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    serde_json::from_str(&text).with_context(|| format!("{}: not {article} {kind} {}", path.display(), name.trim_end_matches(".json")))
}

/// Opens `path` to continue it after its first `keep` bytes (a resumed run's
/// metric files: what was written after the checkpoint is cut), for appending.
pub fn cut_back_for_append(path: &Path, keep: u64) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.set_len(keep).with_context(|| format!("cannot cut {} back to the checkpoint", path.display()))?;
    std::fs::OpenOptions::new().append(true).open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    produce_atomic(path, |tmp| {
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(())
    })
}

/// Lets `write` create a temporary file next to `path` (same extension), then
/// renames it into place. Errors name `path` (never the temporary file).
pub fn produce_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let fail = |e: anyhow::Error| anyhow::anyhow!("cannot write {}: {}", path.display(), crate::error_reason(&e));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
    let tmp = tempfile::Builder::new().prefix(".partial-").suffix(&format!(".{ext}")).tempfile_in(dir).map_err(|e| fail(e.into()))?;
    let tmp_path = tmp.into_temp_path();
    write(&tmp_path).map_err(fail)?;
    readable_by_all(&tmp_path).map_err(fail)?;
    tmp_path.persist(path).map_err(|e| fail(e.error.into()))?;
    Ok(())
}

/// [`produce_atomic`] for a PNG picture: after `draw` has written it, the file
/// is encoded again with zlib's best compression and adaptive row filters
/// (plotters and `image` write fast, loosely compressed PNGs; plots shrink
/// about four times, pixel for pixel the same).
pub fn produce_png(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    produce_atomic(path, |tmp| {
        draw(tmp)?;
        compact_png(tmp)
    })
}

/// Re-encodes the PNG file at `path` in place with the best compression.
fn compact_png(path: &Path) -> Result<()> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let picture = image::open(path).with_context(|| format!("cannot read back {}", path.display()))?;
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, FilterType::Adaptive).write_image(
        picture.as_bytes(),
        picture.width(),
        picture.height(),
        picture.color(),
    )?;
    let mut file = std::fs::File::create(path)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Temporary files are created private (0600); finished results are ordinary files (0644).
fn readable_by_all(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).with_context(|| format!("cannot set permissions of {}", path.display()))?;
    }
    Ok(())
}

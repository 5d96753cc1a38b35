//! Hyperparameter sweeps: a sweep file names an experiment binary, its
//! arguments, the seeds, a `[grid]` of config keys to lists of values and/or
//! a `[random]` search; every (config, seed) pair is one run in
//! `DIR/<config-name>/seed-<k>/`. Runs go to a local pool of worker
//! processes ([`run_local`]) or to a Slurm job array ([`crate::slurm`]);
//! either way a run is the same command into the same folder, a finished run
//! (with `summary.json`) is skipped, an interrupted one is continued with
//! `--resume`, and `DIR/sweep_summary.json` lists every run, its status and
//! its headline metric.
//!
//! ```toml
//! binary = "train"
//! args = ["--algo", "ppo", "--env", "Acrobot-v1"]
//! seeds = [1, 2, 3]
//! checkpoint_every = 50000          # optional: --checkpoint-every for every run
//!
//! [grid]
//! learning_rate = [3e-4, 1e-3]
//!
//! [random]                          # optional
//! trials = 4
//! seed = 0                          # of the draws (default 0)
//! ent_coef = { log_uniform = [1e-4, 1e-1] }
//! gamma = { uniform = [0.95, 0.999] }
//! hidden_sizes = { choice = [[64, 64], [128, 128]] }
//! ```

use anyhow::{anyhow, bail, Context, Result};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The most runs one sweep file may expand to.
pub const MAX_RUNS: usize = 100_000;

/// A sweep file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The nnlab binary each run is (`train`, `dqn_cartpole`, `vae_fashion_mnist`, ...).
    pub binary: String,
    /// Its arguments, the same for every run.
    #[serde(default)]
    pub args: Vec<String>,
    /// The seeds of every config.
    pub seeds: Vec<u64>,
    /// `--checkpoint-every` for every run.
    #[serde(default)]
    pub checkpoint_every: Option<u64>,
    /// Config keys to lists of values: every combination is one config.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    /// A seeded random search (combined with every grid point).
    #[serde(default)]
    pub random: Option<RandomSearch>,
}

/// `[random]`: `trials` draws of every listed key.
#[derive(Debug, Clone, Deserialize)]
pub struct RandomSearch {
    /// Configs to draw.
    pub trials: usize,
    /// Seed of the draws.
    #[serde(default)]
    pub seed: u64,
    /// Key to distribution.
    #[serde(flatten)]
    pub keys: BTreeMap<String, Distribution>,
}

/// How one key of a random search is drawn.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Uniform on `[low, high]`.
    Uniform([f64; 2]),
    /// Log-uniform on `[low, high]` (both positive).
    LogUniform([f64; 2]),
    /// One of the listed values, equally likely.
    Choice(Vec<toml::Value>),
}

/// One config of a sweep: its folder name and its `--set` overrides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepConfig {
    /// Folder name under the sweep folder.
    pub name: String,
    /// `key = value` overrides, in key order.
    pub overrides: Vec<(String, String)>,
}

/// One run: a config and a seed.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRun {
    /// The config.
    pub config: String,
    /// Its overrides.
    pub overrides: Vec<(String, String)>,
    /// The seed.
    pub seed: u64,
    /// The run folder, relative to the sweep folder.
    pub dir: String,
}

/// Reads and checks a sweep file.
pub fn load(path: &Path) -> Result<SweepSpec> {
    let text = crate::config::read_config_text(path).with_context(|| format!("cannot read sweep file {}", path.display()))?;
    let spec: SweepSpec = toml::from_str(&text).map_err(|e| anyhow!("sweep file {}: {}", path.display(), crate::config::in_words(e.message())))?;
    spec.check()?;
    Ok(spec)
}

impl SweepSpec {
    /// Checks what the file cannot say by its types.
    pub fn check(&self) -> Result<()> {
        if self.binary.is_empty() || self.binary.contains('/') || self.binary == "sweep" || self.binary == "report" {
            bail!("sweep file: binary = {:?} is not an nnlab experiment binary (train, dqn_cartpole, vae_fashion_mnist, ...)", self.binary);
        }
        if self.seeds.is_empty() {
            bail!("sweep file: seeds is empty; list at least one");
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(s) = self.seeds.iter().find(|s| !seen.insert(**s)) {
            bail!("sweep file: seed {s} is listed twice");
        }
        for flag in ["--seed", "--seeds", "--out", "--resume", "--checkpoint-every", "--quiet"] {
            if self.args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}="))) {
                bail!("sweep file: args must not contain {flag} (the sweep sets it for each run)");
            }
        }
        if self.checkpoint_every == Some(0) {
            bail!("sweep file: checkpoint_every = 0; give a positive number of steps (or epochs), or leave it out");
        }
        for (key, values) in &self.grid {
            if values.is_empty() {
                bail!("sweep file: [grid] {key} has no values");
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(v) = values.iter().find(|v| !seen.insert(v.to_string())) {
                bail!("sweep file: [grid] {key} lists {v} twice (two configs would share one folder)");
            }
        }
        // Counted before anything is expanded: a typo must not allocate a billion runs.
        let points = self.grid.values().try_fold(1u128, |n, v| n.checked_mul(v.len() as u128)).unwrap_or(u128::MAX);
        let trials = self.random.as_ref().map_or(1, |r| r.trials as u128);
        let runs = points.saturating_mul(trials).saturating_mul(self.seeds.len() as u128);
        if runs > MAX_RUNS as u128 {
            bail!(
                "sweep file: {runs} runs ({points} grid points x {trials} random trials x {} seeds) is more than {MAX_RUNS}; split the sweep",
                self.seeds.len()
            );
        }
        if let Some(r) = &self.random {
            if r.trials == 0 {
                bail!("sweep file: [random] trials must be at least 1");
            }
            for (key, d) in &r.keys {
                match d {
                    Distribution::Uniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo <= hi) => {
                        bail!("sweep file: [random] {key}: uniform needs finite low <= high")
                    }
                    Distribution::LogUniform([lo, hi]) if !(*lo > 0.0 && hi.is_finite() && lo <= hi) => {
                        bail!("sweep file: [random] {key}: log_uniform needs 0 < low <= high")
                    }
                    Distribution::Choice(v) if v.is_empty() => bail!("sweep file: [random] {key}: choice needs at least one value"),
                    _ => {}
                }
                if self.grid.contains_key(key) {
                    bail!("sweep file: {key} is in both [grid] and [random]");
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        if let Some(c) = self.configs().into_iter().find(|c| !names.insert(c.name.clone())) {
            bail!("sweep file: two configs share the folder name {} (values that differ only in characters a folder name cannot hold)", c.name);
        }
        Ok(())
    }

    /// Every config: the grid's combinations (in key order), each combined
    /// with every random trial (drawn from a stream seeded with `random.seed`).
    pub fn configs(&self) -> Vec<SweepConfig> {
        let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (key, values) in &self.grid {
            points = points.into_iter().flat_map(|p| values.iter().map(move |v| [p.clone(), vec![(key.clone(), v.to_string())]].concat())).collect();
        }
        let trials: Vec<Vec<(String, String)>> = match &self.random {
            None => vec![Vec::new()],
            Some(r) => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(r.seed);
                (0..r.trials)
                    .map(|_| {
                        r.keys
                            .iter()
                            .map(|(key, d)| {
                                let v = match d {
                                    Distribution::Uniform([lo, hi]) => toml::Value::Float(lo + (hi - lo) * rng.random::<f64>()),
                                    Distribution::LogUniform([lo, hi]) => {
                                        toml::Value::Float(libm::exp(libm::log(*lo) + (libm::log(*hi) - libm::log(*lo)) * rng.random::<f64>()))
                                    }
                                    Distribution::Choice(v) => v[rng.random_range(0..v.len())].clone(),
                                };
                                (key.clone(), v.to_string())
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        let mut out = Vec::new();
        for point in &points {
            for (t, trial) in trials.iter().enumerate() {
                let overrides: Vec<(String, String)> = point.iter().chain(trial).cloned().collect();
                let mut parts: Vec<String> = Vec::new();
                if self.random.is_some() {
                    parts.push(format!("trial-{t:02}"));
                }
                parts.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
                let name = if parts.is_empty() { "default".to_string() } else { sanitize(&parts.join(",")) };
                out.push(SweepConfig { name, overrides });
            }
        }
        out
    }

    /// Every run, config by config, seed by seed.
    pub fn runs(&self) -> Vec<SweepRun> {
        self.configs()
            .into_iter()
            .flat_map(|c| {
                self.seeds.iter().map(move |&seed| SweepRun {
                    config: c.name.clone(),
                    overrides: c.overrides.clone(),
                    seed,
                    dir: format!("{}/seed-{seed}", c.name),
                })
            })
            .collect()
    }

    /// The command line of `run` into `sweep_dir` (or `--resume` when its folder was started).
    pub fn command(&self, run: &SweepRun, sweep_dir: &Path) -> Vec<String> {
        let dir = sweep_dir.join(&run.dir);
        if dir.join("config.toml").is_file() {
            return vec!["--resume".into(), dir.display().to_string(), "--quiet".into()];
        }
        self.start_args(run, &dir)
    }

    /// The arguments that start `run` in the folder `dir`: the sweep's
    /// arguments, the run's `--set` overrides, its seed and folder, and
    /// `--checkpoint-every` when the sweep asks for checkpoints.
    pub fn start_args(&self, run: &SweepRun, dir: &Path) -> Vec<String> {
        let mut args = self.args.clone();
        for (k, v) in &run.overrides {
            args.push("--set".into());
            args.push(format!("{k}={v}"));
        }
        args.extend(["--seed".into(), run.seed.to_string(), "--out".into(), dir.display().to_string(), "--quiet".into()]);
        if let Some(every) = self.checkpoint_every {
            args.extend(["--checkpoint-every".into(), every.to_string()]);
        }
        args
    }
}

/// The resolved config of `bin args --set key=value...` (its `--print-config`):
/// the binary's own one-line error when it refuses a key, a type or a value.
pub fn resolved_config(bin: &Path, args: &[String], overrides: &[(String, String)]) -> Result<String> {
    let mut all = args.to_vec();
    for (k, v) in overrides {
        all.extend(["--set".to_string(), format!("{k}={v}")]);
    }
    all.push("--print-config".into());
    let o = Command::new(bin).args(&all).output().with_context(|| format!("cannot run {}", bin.display()))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("failed");
        bail!("{}", line.split_once("error: ").map(|(_, e)| e).unwrap_or(line));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

impl SweepSpec {
    /// Checks the configs against the binary before anything runs (its
    /// `--print-config`): enough configs that every grid value and every
    /// random trial is tried once, so that unknown keys, wrong types and
    /// values the config refuses fail now, not in every run.
    pub fn preflight(&self) -> Result<()> {
        let bin = binary_path(&self.binary)?;
        let mut covered = std::collections::BTreeSet::new();
        for config in self.configs() {
            if config.overrides.iter().all(|o| covered.contains(o)) && !covered.is_empty() {
                continue;
            }
            resolved_config(&bin, &self.args, &config.overrides).map_err(|e| anyhow!("sweep file: config {}: {e}", config.name))?;
            covered.extend(config.overrides.iter().cloned());
        }
        Ok(())
    }
}

/// A folder name from `key=value` text: other characters become `_`.
fn sanitize(text: &str) -> String {
    let s: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || "._=,+-".contains(c) { c } else { '_' }).collect();
    if s.len() > 150 {
        format!("{}-{:016x}", &s[..120], fnv(text))
    } else {
        s
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// The nnlab binary `name`, next to the running one.
pub fn binary_path(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running binary")?;
    let path = exe.parent().unwrap_or(Path::new(".")).join(name);
    if !path.is_file() {
        bail!("no binary {name} next to {} (build it with `cargo build --release --bin {name}`)", exe.display());
    }
    Ok(path)
}

/// What became of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// `summary.json` is there.
    Finished,
    /// The process failed; its last error line.
    Failed(String),
    /// Not run (yet), or interrupted.
    Pending,
}

/// One line of `sweep_summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run.
    #[serde(flatten)]
    pub run: SweepRun,
    /// Finished, failed or pending.
    pub status: RunStatus,
    /// `(name, value)` of the headline metric of a finished run.
    pub headline: Option<(String, f64)>,
}

/// `sweep_summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepSummary {
    /// The binary and its arguments.
    pub binary: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Runs finished, failed, pending.
    pub finished: usize,
    /// Failed runs.
    pub failed: usize,
    /// Runs not finished.
    pub pending: usize,
    /// Every run.
    pub runs: Vec<RunReport>,
}

/// The log file of a run's process output.
pub fn log_path(sweep_dir: &Path, run: &SweepRun) -> PathBuf {
    sweep_dir.join("logs").join(format!("{}__seed-{}.log", run.config, run.seed))
}

/// The status of every run, from its folder and its log; writes `sweep_summary.json`.
pub fn summarize(spec: &SweepSpec, sweep_dir: &Path, failures: &BTreeMap<String, String>) -> Result<SweepSummary> {
    let mut runs = Vec::new();
    for run in spec.runs() {
        let dir = sweep_dir.join(&run.dir);
        let (status, headline) = if dir.join("summary.json").is_file() {
            let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json"))?).unwrap_or_default();
            (RunStatus::Finished, crate::report::headline_of(&summary).map(|(k, v, _)| (k.to_string(), v)))
        } else if let Some(e) = failures.get(&run.dir) {
            (RunStatus::Failed(e.clone()), None)
        } else {
            (RunStatus::Pending, None)
        };
        runs.push(RunReport { run, status, headline });
    }
    let count = |f: &dyn Fn(&RunStatus) -> bool| runs.iter().filter(|r| f(&r.status)).count();
    let summary = SweepSummary {
        binary: spec.binary.clone(),
        args: spec.args.clone(),
        finished: count(&|s| *s == RunStatus::Finished),
        failed: count(&|s| matches!(s, RunStatus::Failed(_))),
        pending: count(&|s| *s == RunStatus::Pending),
        runs,
    };
    crate::run_dir::write_atomic(&sweep_dir.join("sweep_summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    Ok(summary)
}

/// The last non-empty line of a log (a failed run's error).
pub fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path).ok().and_then(|t| t.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string)).unwrap_or_else(|| "failed".into())
}

/// Runs every unfinished run on `workers` local processes; a failed run is
/// recorded (its error line) and the others go on. Returns the summary.
pub fn run_local(spec: &SweepSpec, sweep_dir: &Path, workers: usize, quiet: bool) -> Result<SweepSummary> {
    let bin = binary_path(&spec.binary)?;
    std::fs::create_dir_all(sweep_dir.join("logs")).with_context(|| format!("cannot create {}", sweep_dir.display()))?;
    let todo: Vec<SweepRun> = spec.runs().into_iter().filter(|r| !sweep_dir.join(&r.dir).join("summary.json").is_file()).collect();
    let total = spec.runs().len();
    if !quiet {
        eprintln!("sweep: {} runs ({} finished already), {} at a time, under {}", total, total - todo.len(), workers, sweep_dir.display());
    }
    crate::signals::supervise();
    let mut failures = BTreeMap::new();
    let mut queue = todo.into_iter();
    let mut running: Vec<(SweepRun, Child)> = Vec::new();
    loop {
        while running.len() < workers {
            let Some(run) = queue.next() else { break };
            let log = std::fs::File::create(log_path(sweep_dir, &run)).context("cannot create a run's log")?;
            let child = Command::new(&bin)
                .args(spec.command(&run, sweep_dir))
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .spawn()
                .with_context(|| format!("cannot start {}", bin.display()))?;
            running.push((run, child));
        }
        if running.is_empty() {
            break;
        }
        if crate::signals::stop_requested() {
            for (_, child) in &running {
                crate::signals::terminate(child.id());
            }
            for (_, child) in &mut running {
                let _ = child.wait();
            }
            return Err(crate::signals::Preempted(
                "stopped by a signal; run the same command again to continue (finished runs are skipped, interrupted ones resume from their checkpoints)"
                    .into(),
            )
            .into());
        }
        let mut i = 0;
        while i < running.len() {
            if let Some(status) = running[i].1.try_wait()? {
                let (run, _) = running.remove(i);
                let ok = status.success();
                if !ok {
                    failures.insert(run.dir.clone(), last_line(&log_path(sweep_dir, &run)));
                }
                if !quiet {
                    eprintln!(
                        "sweep: {} seed {}: {}",
                        run.config,
                        run.seed,
                        if ok { "finished".to_string() } else { format!("failed: {}", failures[&run.dir]) }
                    );
                }
            } else {
                i += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    summarize(spec, sweep_dir, &failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepSpec {
        let s: SweepSpec = toml::from_str(text).unwrap();
        s.check().unwrap();
        s
    }

    #[test]
    fn grids_expand_in_key_order_and_name_their_folders() {
        let s = spec("binary = 'train'\nseeds = [1, 2]\n[grid]\nlearning_rate = [0.001, 0.0003]\nnum_envs = [4]\n");
        let c = s.configs();
        assert_eq!(c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["learning_rate=0.001,num_envs=4", "learning_rate=0.0003,num_envs=4"]);
        assert_eq!(s.runs().len(), 4);
        assert_eq!(s.runs()[1].dir, "learning_rate=0.001,num_envs=4/seed-2");
        let cmd = s.command(&s.runs()[0], Path::new("/nowhere"));
        assert_eq!(cmd[..4], ["--set", "learning_rate=0.001", "--set", "num_envs=4"]);
    }

    #[test]
    fn random_search_is_seeded_and_within_its_ranges() {
        let text = "binary = 'train'\nseeds = [1]\n[random]\ntrials = 5\nseed = 3\nlr = { log_uniform = [1e-5, 1e-2] }\nh = { choice = [[64], [128]] }\n";
        let (a, b) = (spec(text).configs(), spec(text).configs());
        assert_eq!(a, b, "the same draws every time");
        assert_eq!(a.len(), 5);
        for c in &a {
            let lr: f64 = c.overrides.iter().find(|o| o.0 == "lr").unwrap().1.parse().unwrap();
            assert!((1e-5..=1e-2).contains(&lr), "{lr}");
            assert!(c.name.starts_with("trial-"));
        }
    }

    #[test]
    fn the_shipped_sweep_files_parse() {
        for file in ["ppo_cartpole_lr.toml", "dqn_cartpole_random.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sweeps").join(file);
            let s = load(&path).unwrap();
            assert!(s.runs().len() >= 6, "{file}");
        }
    }

    #[test]
    fn bad_sweep_files_are_refused_in_words() {
        for (text, needle) in [
            ("binary = 'train'\nseeds = []\n", "seeds is empty"),
            ("binary = 'train'\nseeds = [1, 1]\n", "listed twice"),
            ("binary = 'train'\nseeds = [1]\nargs = ['--seed', '3']\n", "--seed"),
            ("binary = 'train'\nseeds = [1]\n[grid]\nx = []\n", "no values"),
            ("binary = 'train'\nseeds = [1]\n[random]\ntrials = 2\nx = { log_uniform = [0.0, 1.0] }\n", "log_uniform"),
            ("binary = 'train'\nseeds = [1, 2]\n[random]\ntrials = 100000000\nx = { uniform = [0.0, 1.0] }\n", "more than 100000"),
            ("binary = 'train'\nseeds = [1, 2]\n[grid]\na = [1,2,3,4,5,6,7,8,9,10]\nb = [1,2,3,4,5,6,7,8,9,10]\nc = [1,2,3,4,5,6,7,8,9,10]\nd = [1,2,3,4,5,6,7,8,9,10]\ne = [1,2,3,4,5,6,7,8,9,10]\n", "split the sweep"),
        ] {
            let s: SweepSpec = toml::from_str(text).unwrap();
            let e = s.check().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}

//! Flags shared by every experiment binary (flattened into each one's `Args`).

use crate::device::DeviceChoice;
use anyhow::{bail, Result};
use clap::Args;
use nnlab_torch::numerics::{self, Numerics};
use std::path::PathBuf;
use tch::Device;

/// Parses `--numerics` / `NNLAB_NUMERICS`.
fn parse_numerics(s: &str) -> Result<Numerics, String> {
    s.parse()
}

/// The machine's CPU cores (1 where unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The flags every experiment takes.
#[derive(Debug, Clone, Args)]
pub struct SharedArgs {
    /// Seed of the run (overrides the config's `seed`; below 2^63, as TOML holds it).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=crate::multi_seed::MAX_SEED))]
    pub seed: Option<u64>,
    /// TOML file of hyperparameters (defaults to the experiment's shipped preset).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Override one hyperparameter, e.g. `--set learning_rate=1e-3` (repeatable; TOML values).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Where to compute: `auto` picks CUDA when tch sees a GPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// CPU threads for torch (results are bit-reproducible for a fixed thread count).
    #[arg(long, default_value_t = 1)]
    pub threads: i32,
    /// `fast`: the kernels this CPU is best at (the same bits on the same CPU model and
    /// thread count); `portable`: every kernel choice pinned, the same bits on any x86-64
    /// CPU (one thread, CPU only, about 2x slower). Default: the `[run]` table of a
    /// `--config` written by nnlab, else fast.
    #[arg(long, env = "NNLAB_NUMERICS", value_name = "fast|portable", value_parser = parse_numerics)]
    pub numerics: Option<Numerics>,
    /// Run folder (default: `results/<experiment>/<UTC time>-seed<seed>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar or log lines; only the final line with the results folder.
    #[arg(long)]
    pub quiet: bool,
    /// Keep training when a metric becomes NaN or infinite (by default the run stops with an error).
    #[arg(long)]
    pub allow_nan: bool,
    /// Print the resolved configuration (preset, then --config, then --set, then flags) as a
    /// commented TOML file, each key with its doc line, default and accepted values, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Write `<run>/checkpoint/` (everything needed to continue exactly) every N environment
    /// steps (RL) or epochs/steps (generative trainers), atomically.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Continue the run in RUN_DIR from its last checkpoint (from step 0 when it has none);
    /// its config, seed and options are read from the folder.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["seed", "config", "set", "out", "numerics", "print_config", "checkpoint_every"])]
    pub resume: Option<PathBuf>,
}

impl SharedArgs {
    /// The numerics of this run: `--numerics` (or `NNLAB_NUMERICS`), else the
    /// `[run]` table of the `--config` file, else fast.
    pub fn resolve_numerics(&self) -> Result<Numerics> {
        if let Some(n) = self.numerics {
            return Ok(n);
        }
        if let Some(path) = &self.config {
            if let Some(run) = crate::config::run_record(path)? {
                return Ok(run.numerics);
            }
        }
        Ok(Numerics::Fast)
    }

    /// Sets up torch for this run, before any other torch call: the numerics
    /// (portable mode needs one thread and the CPU), then the device and the
    /// thread count.
    pub fn init_torch(&self) -> Result<(Numerics, Device)> {
        check_threads(self.threads)?;
        let mode = self.resolve_numerics()?;
        numerics::init(mode).map_err(anyhow::Error::msg)?;
        let device = match (mode, self.device) {
            (Numerics::Portable, DeviceChoice::Cuda) => {
                bail!("--numerics portable pins the CPU's kernels and runs on the CPU; drop --device cuda or use --numerics fast")
            }
            (Numerics::Portable, _) => Device::Cpu,
            (Numerics::Fast, choice) => crate::device::resolve(choice)?,
        };
        if mode == Numerics::Portable && self.threads != 1 {
            bail!("--numerics portable runs on one torch thread; drop --threads {} or use --numerics fast", self.threads);
        }
        tch::set_num_threads(self.threads);
        Ok((mode, device))
    }

    /// Starts a run of `experiment` with the validated `config` and `seed`:
    /// sets up torch ([`Self::init_torch`]), creates the run folder (refusing
    /// a non-empty `--out`) and writes `config.toml` there, with a `[run]`
    /// table recording the numerics, the threads and what `options` adds.
    pub fn start_run<C: serde::Serialize>(
        &self,
        experiment: &str,
        algo: Option<&str>,
        config: &C,
        seed: u64,
        options: impl FnOnce(&mut crate::config::RunRecord),
    ) -> Result<(crate::run_dir::RunDir, Device, crate::config::RunRecord)> {
        let (mode, device) = self.init_torch()?;
        let run = crate::run_dir::RunDir::create(self.out.clone(), experiment, seed)?;
        let mut record = crate::config::RunRecord {
            experiment: Some(experiment.to_string()),
            algo: algo.map(str::to_string),
            checkpoint_every: self.checkpoint_every,
            allow_nan: self.allow_nan,
            args: own_flags(&std::env::args().skip(1).collect::<Vec<_>>(), algo.is_some()),
            eval_seed: algo.map(|_| crate::summary::eval_seed_for(seed)),
            ..crate::config::RunRecord::new(mode, self.threads)
        };
        options(&mut record);
        run.write_atomic("config.toml", crate::config::to_toml_with_run(config, &record)?.as_bytes())?;
        Ok((run, device, record))
    }

    /// Sets up torch to continue a run recorded with `record` (its numerics
    /// and threads; the device from `--device`).
    pub fn init_torch_for(&self, record: &crate::config::RunRecord) -> Result<Device> {
        let again = SharedArgs { numerics: Some(record.numerics), threads: record.threads, config: None, ..self.clone() };
        Ok(again.init_torch()?.1)
    }

    /// Loads a `T` from `--config` or else the named preset text, applies `--set`, then
    /// `--seed` through `set_seed`; also checks `--threads`.
    pub fn load_config<T>(&self, preset: &crate::config::Preset, set_seed: impl FnOnce(&mut T, u64)) -> Result<T>
    where
        T: Default + serde::Serialize + serde::de::DeserializeOwned,
    {
        use crate::config::{load, Source};
        let mut cfg: T = match &self.config {
            Some(p) => load(Source::File(p), &self.set)?,
            None => load(Source::Preset(&preset.name, &preset.text), &self.set)?,
        };
        if let Some(seed) = self.seed {
            set_seed(&mut cfg, seed);
        }
        check_threads(self.threads)?;
        Ok(cfg)
    }
}

/// `--threads` must be between 1 and the machine's core count.
pub fn check_threads(threads: i32) -> Result<()> {
    if threads < 1 {
        bail!("--threads must be at least 1, got {threads}");
    }
    if threads as usize > cores() {
        bail!("--threads {threads}: this machine has {} CPU cores; more torch threads than cores only slows training", cores());
    }
    Ok(())
}

/// `--seeds` for experiments that are not RL runs (their own flags otherwise).
#[derive(Debug, Clone, Args)]
pub struct SeedsArg {
    /// Run several seeds (e.g. `1,2,3,4,5` or `1-5`) in parallel processes, each in
    /// `<out>/seed-<k>`, and write `seeds_summary.json` (per seed, mean, median, min, max) in `<out>`.
    #[arg(long, value_name = "LIST", conflicts_with = "seed")]
    pub seeds: Option<String>,
}

/// The flags of the generative and supervised binaries: the shared ones and `--seeds`.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// The flags every experiment takes.
    #[command(flatten)]
    pub shared: SharedArgs,
    /// `--seeds`.
    #[command(flatten)]
    pub seeds: SeedsArg,
}

/// The flags of experiments on 28x28 image data (Fashion-MNIST or other MNIST-format files).
#[derive(Debug, Clone, Args)]
pub struct ImageDataArgs {
    /// Passes over the training set (overrides the config's `epochs`).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Folder with MNIST-format IDX files (`train-images-idx3-ubyte[.gz]`, ...) instead of Fashion-MNIST.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write the training losses to `steps.csv` and TensorBoard (`losses/*`) every N
    /// optimisation steps (means over those steps; 0: never).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub log_every: u64,
}

impl ImageDataArgs {
    /// Applies `--epochs` to a config's `epochs`.
    pub fn apply_epochs(&self, epochs: &mut usize) -> Result<()> {
        *epochs = self.epochs.unwrap_or(*epochs);
        Ok(())
    }

    /// The training and test images (`--data-dir` or Fashion-MNIST), checked
    /// against a training batch of `batch_size`: `(folder, train, test)`.
    pub fn load(&self, batch_size: usize) -> Result<(PathBuf, nnlab_generative::data::ImageSet, nnlab_generative::data::ImageSet)> {
        let data = nnlab_generative::data::load_28x28(self.data_dir.as_deref())?;
        nnlab_generative::data::check_batch_size(batch_size, data.1.len)?;
        Ok(data)
    }
}

/// The flags every RL experiment takes: the shared ones, seed sweeps, length and GIF.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// The flags every experiment takes.
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Run several seeds (e.g. `1,2,3,4,5` or `1-5`) in parallel processes, each in
    /// `<out>/seed-<k>`, and write `seeds.png`, `aggregate.png` and `seeds_summary.json` in `<out>`.
    #[arg(long, value_name = "LIST", conflicts_with_all = ["seed", "resume"])]
    pub seeds: Option<String>,
    /// Environment steps (overrides the config's `total_timesteps`).
    #[arg(long, conflicts_with = "resume")]
    pub total_timesteps: Option<usize>,
    /// Skip the GIF of the trained agent.
    #[arg(long)]
    pub no_gif: bool,
    /// Evaluate the deterministic policy every N environment steps while training, as
    /// SB3's `EvalCallback`: `evaluations.csv`, TensorBoard `eval/mean_reward`, and the best
    /// model so far in `best_model.safetensors`, evaluated again at the end (`summary.json`'s
    /// `best_model`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "resume")]
    pub eval_every: Option<u64>,
    /// Episodes of each evaluation during training (`--eval-every`); their start states
    /// are other than the final evaluation's.
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), requires = "eval_every", conflicts_with = "resume")]
    pub eval_every_episodes: u64,
}

/// The flags of the binaries on 28x28 images: the shared ones, `--seeds`, `--epochs` and `--data-dir`.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct ImageExperimentArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// `--epochs`, `--data-dir` and `--log-every`.
    #[command(flatten)]
    pub data: ImageDataArgs,
}

/// The shared training flags ([`SharedArgs`], [`ExperimentArgs`]) that have no
/// meaning when a binary puts a trained model to work (`charlm --run`,
/// `tagger --run`, `sentiment --run`): clap refuses them there
/// (`conflicts_with_all`), beside each binary's own training flags.
pub const TRAINING_ONLY_FLAGS: [&str; 8] = ["resume", "seeds", "config", "set", "out", "checkpoint_every", "print_config", "allow_nan"];

/// The flags of [`SharedArgs`] and the RL ones that a run records elsewhere
/// (`config.toml`, its `[run]` table): with a value, then without.
const RECORDED_FLAGS: [&str; 12] = [
    "--seed",
    "--config",
    "--set",
    "--device",
    "--threads",
    "--numerics",
    "--out",
    "--checkpoint-every",
    "--seeds",
    "--resume",
    "--total-timesteps",
    "--epochs",
];
/// The RL runs' flags that their `[run]` table records (other binaries have an `--eval-every` of their own).
const RECORDED_RL_FLAGS: [&str; 2] = ["--eval-every", "--eval-every-episodes"];
const RECORDED_SWITCHES: [&str; 5] = ["--quiet", "--allow-nan", "--print-config", "--no-gif", "--help"];

/// A binary's own flags in `argv` (`--data-dir DIR`, `--eval-every 100`, ...):
/// what is left without the shared flags (and, for an RL run, its evaluation
/// flags), which the run records in its config.
pub fn own_flags(argv: &[String], rl: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        let name = a.split('=').next().unwrap_or(a);
        if RECORDED_FLAGS.contains(&name) || (rl && RECORDED_RL_FLAGS.contains(&name)) {
            i += if a.contains('=') { 1 } else { 2 };
        } else if RECORDED_SWITCHES.contains(&a.as_str()) {
            i += 1;
        } else {
            out.push(a.clone());
            i += 1;
        }
    }
    out
}

/// [`parse_args`] for a flags struct shared by several binaries, with the
/// binary's own one-line description for `--help`. With `--resume RUN_DIR`,
/// the binary's own flags recorded in that run come back first.
pub fn parse_args_about<T: clap::Parser>(about: &'static str) -> T {
    parse_resumable(T::command().about(about))
}

/// [`parse_args`] for a binary of the experiment scaffold: with `--resume
/// RUN_DIR`, the binary's own flags recorded in that run come back first.
pub fn parse_args_resumable<T: clap::Parser>() -> T {
    parse_resumable(T::command())
}

fn parse_resumable<T: clap::Parser>(command: clap::Command) -> T {
    let mut argv: Vec<String> = std::env::args().collect();
    if let Some(dir) = argv.iter().position(|a| a == "--resume").and_then(|i| argv.get(i + 1)) {
        let recorded = crate::config::run_record(&std::path::Path::new(dir).join("config.toml")).ok().flatten().map(|r| r.args).unwrap_or_default();
        argv.splice(1..1, recorded);
    }
    let matches = command.get_matches_from(argv);
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Parses the command line like `T::parse()`: a usage error prints clap's
/// whole message (what was wrong, the valid values or the missing arguments,
/// and the usage line) and exits with status 2; `--help` and `--version`
/// print and exit 0.
pub fn parse_args<T: clap::Parser>() -> Result<T> {
    Ok(T::parse())
}

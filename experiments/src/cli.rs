//! Flags shared by every experiment binary (flattened into each one's `Args`).

use crate::device::DeviceChoice;
use clap::Args;
use std::path::PathBuf;

/// The flags every experiment takes.
#[derive(Debug, Clone, Args)]
pub struct SharedArgs {
    /// Seed of the run (overrides the config's `seed`).
    #[arg(long)]
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
    /// Run folder (default: results/<experiment>/<UTC time>-seed<seed>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar or log lines; only the final line with the results folder.
    #[arg(long)]
    pub quiet: bool,
}

impl SharedArgs {
    /// Starts a run of `experiment` with the validated `config` and `seed`:
    /// resolves `--device`, sets `--threads`, creates the run folder (refusing
    /// a non-empty `--out`) and writes `config.toml` there.
    pub fn start_run<C: serde::Serialize>(&self, experiment: &str, config: &C, seed: u64) -> anyhow::Result<(crate::run_dir::RunDir, tch::Device)> {
        let device = crate::device::resolve(self.device)?;
        tch::set_num_threads(self.threads);
        let run = crate::run_dir::RunDir::create(self.out.clone(), experiment, seed)?;
        run.write_atomic("config.toml", crate::config::to_toml(config)?.as_bytes())?;
        Ok((run, device))
    }

    /// Loads a `T` from `--config` or else the named preset text, applies `--set`, then
    /// `--seed` through `set_seed`; also checks `--threads`.
    pub fn load_config<T>(&self, preset: (&str, &str), set_seed: impl FnOnce(&mut T, u64)) -> anyhow::Result<T>
    where
        T: Default + serde::Serialize + serde::de::DeserializeOwned,
    {
        use crate::config::{load, Source};
        let mut cfg: T = match &self.config {
            Some(p) => load(Source::File(p), &self.set)?,
            None => load(Source::Preset(preset.0, preset.1), &self.set)?,
        };
        if let Some(seed) = self.seed {
            set_seed(&mut cfg, seed);
        }
        if self.threads < 1 {
            anyhow::bail!("--threads must be at least 1, got {}", self.threads);
        }
        Ok(cfg)
    }
}

/// `--seeds` for experiments that are not RL runs (their own flags otherwise).
#[derive(Debug, Clone, Args)]
pub struct SeedsArg {
    /// Run several seeds (e.g. `1,2,3,4,5` or `1-5`) in parallel processes, each in
    /// `<out>/seed-<k>`, and write `seeds_summary.json` (per seed, mean, median, min, max) in `<out>`.
    #[arg(long, value_name = "LIST", conflicts_with = "seed")]
    pub seeds: Option<String>,
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
}

/// The flags every RL experiment takes: the shared ones, seed sweeps, length and GIF.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Run several seeds (e.g. `1,2,3,4,5` or `1-5`) in parallel processes, each in
    /// `<out>/seed-<k>`, and write `seeds.png`, `aggregate.png` and `seeds_summary.json` in `<out>`.
    #[arg(long, value_name = "LIST", conflicts_with = "seed")]
    pub seeds: Option<String>,
    /// Environment steps (overrides the config's `total_timesteps`).
    #[arg(long)]
    pub total_timesteps: Option<usize>,
    /// Skip the GIF of the trained agent.
    #[arg(long)]
    pub no_gif: bool,
}

/// Parses the command line like `T::parse()`, but a usage error becomes one
/// line (clap's first line, without its hint) for [`crate::main_wrapper`]
/// to print; `--help` and `--version` print and exit as usual.
pub fn parse_args<T: clap::Parser>() -> anyhow::Result<T> {
    match T::try_parse() {
        Ok(args) => Ok(args),
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            anyhow::bail!("{}", first.trim_start_matches("error: "))
        }
        Err(e) => e.exit(),
    }
}

//! Trains any agent on any compatible environment:
//!
//!     cargo run --release --bin train -- --algo ppo --env Acrobot-v1 --seeds 1-5
//!
//! Uses the shipped preset `experiments/configs/<algo>/<env>.toml` when there
//! is one (as the SB3 zoo ships hyperparameters per algorithm and env), the
//! algorithm's defaults otherwise, or `--config FILE` (whose `env_id` `--env`
//! overrides; without `--env` the file's `env_id` is the environment). Run folders land in `results/<algo>_<env>/`.

use clap::Parser;
use nnlab_experiments::algos::{algo_value_parser, find, preset};
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::runner::Preset;

/// Train an agent on a Gymnasium classic-control environment.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The algorithm.
    #[arg(long, value_parser = algo_value_parser(), required_unless_present = "resume", conflicts_with = "resume")]
    algo: Option<String>,
    /// Gymnasium id of a registered environment (default with `--config`: the file's `env_id`).
    #[arg(long, help = env_help(), required_unless_present_any = ["resume", "config"], conflicts_with = "resume")]
    env: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

/// `--env`'s help line, listing the registry's ids.
fn env_help() -> String {
    format!("Gymnasium id: {} (default with `--config`: the file's `env_id`)", nnlab_envs::registry::known_ids())
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("train", || {
        let mut args: Args = parse_args()?;
        if let Some(dir) = &args.common.shared.resume {
            // The algorithm and environment of the run in the folder.
            let (algo, env) = recorded_run(dir)?;
            let algorithm = find(&algo)?;
            return (algorithm.run)(&format!("{algo}_{}", env.replace('/', "_")), &args.common, None, &env);
        }
        let algo = args.algo.clone().expect("required by clap");
        let env = match (&args.env, &args.common.shared.config) {
            (Some(env), Some(file)) => {
                // A file made for another environment is refused, not quietly retargeted.
                if let Ok(theirs) = env_id(file) {
                    if &theirs != env {
                        anyhow::bail!(
                            "{} is a config for {theirs} (its env_id), not {env}; drop --env to train on {theirs}, or copy the file and set its env_id to \"{env}\"",
                            file.display()
                        );
                    }
                }
                env.clone()
            }
            (Some(env), None) => env.clone(),
            (None, Some(file)) => env_id(file)?,
            (None, None) => unreachable!("clap requires --env without --config"),
        };
        nnlab_envs::registry::spec(&env)?;
        let algorithm = find(&algo)?;
        let algo = algorithm.name;
        let shipped = preset(algo, &env);
        if shipped.is_none() || args.common.shared.config.is_some() {
            // Defaults or a user file: the environment comes from --env (which beats the file's env_id).
            args.common.shared.set.push(format!("env_id=\"{env}\""));
        }
        let preset = shipped.or(Some(Preset { name: format!("{algo} defaults (no shipped preset for {env})"), text: String::new() }));
        let name = format!("{algo}_{}", env.replace('/', "_"));
        (algorithm.run)(&name, &args.common, preset, &env)
    })
}

/// The algorithm (from the `[run]` table) and environment (`env_id`) of the run in `dir`.
fn recorded_run(dir: &std::path::Path) -> anyhow::Result<(String, String)> {
    let path = dir.join("config.toml");
    if !path.is_file() {
        anyhow::bail!("{}: not a run folder (no config.toml)", dir.display());
    }
    let record = nnlab_experiments::config::run_record(&path)?;
    let algo = record.and_then(|r| r.algo).ok_or_else(|| anyhow::anyhow!("{} is not an RL run made by nnlab (no algo in its [run] table)", dir.display()))?;
    Ok((algo, env_id(&path)?))
}

/// The `env_id` of a config file.
fn env_id(path: &std::path::Path) -> anyhow::Result<String> {
    let table: toml::Table = nnlab_experiments::config::read_config_text(path)?.parse().map_err(|_| anyhow::anyhow!("{} is not valid TOML", path.display()))?;
    let env = table.get("env_id").and_then(|v| v.as_str()).ok_or_else(|| anyhow::anyhow!("{} has no env_id (pass --env)", path.display()))?;
    Ok(env.to_string())
}

//! Checks nnlab's environments against a file of trajectories recorded from
//! Gymnasium: prints each environment's transition count and largest
//! deviation, and exits 1 on any mismatch (2 on unusable input).
//!
//!     cargo run --release --bin gym_parity -- envs/tests/fixtures/gymnasium-classic-control.json
//!
//! Built with `--features minatar`, it also reads MinAtar recordings (the
//! format of envs-minatar/tests/fixtures/README.md, told apart by their
//! `minatar_version`) and replays them exactly, with the same exit codes:
//!
//!     cargo run --release --features minatar --bin gym_parity -- envs-minatar/tests/fixtures/minatar.json

use anyhow::{bail, Context};
use clap::Parser;
use nnlab_envs::parity::{check_env_as, parse, TOLERANCE};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Replay Gymnasium trajectories (the format of shared/reference/README.md)
/// transition by transition; exit 1 on any deviation above the tolerance or
/// any flag mismatch.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The reference file (JSON).
    file: PathBuf,
    /// Largest allowed absolute deviation of a state, observation or reward (a finite number >= 0).
    #[arg(long, default_value_t = TOLERANCE, allow_negative_numbers = true)]
    tolerance: f64,
    /// Whose environments to check: nnlab's own, or gym-rs's (with the `gym-rs` feature).
    #[arg(long, value_enum, default_value_t = Backend::Nnlab)]
    backend: Backend,
}

/// The implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    /// nnlab's environments.
    Nnlab,
    /// gym-rs's, through nnlab's adapter (`gym-rs/<id>`).
    GymRs,
}

fn run(args: Args) -> anyhow::Result<bool> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance must be a finite number >= 0, got {}", args.tolerance);
    }
    let path = args.file.display();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read '{path}'"))?;
    if let Ok(document) = serde_json::from_str::<serde_json::Value>(&text) {
        if document.get("minatar_version").is_some() {
            return check_minatar(&text, &args);
        }
    }
    let file = parse(&text).map_err(|e| anyhow::anyhow!("'{path}' is not a Gymnasium reference file: {e}"))?;
    file.check().map_err(|e| anyhow::anyhow!("'{path}': {e}"))?;
    let mut out = std::io::stdout().lock();
    // A closed stdout (`gym_parity ... | head -1`) ends the printing, not the check.
    let _ = writeln!(out, "reference: {} ({})", path, file.generator);
    let _ = writeln!(out, "{:<26} {:>8} {:>11} {:>11} {:>11} {:>11}  result", "environment", "episodes", "transitions", "state dev", "obs dev", "reward dev");
    if args.backend == Backend::GymRs && !cfg!(feature = "gym-rs") {
        bail!("--backend gym-rs: this gym_parity was built without the gym-rs feature (cargo run --release --features gym-rs --bin gym_parity)");
    }
    let mut ok = true;
    for (id, episodes) in &file.environments {
        let make_id = match args.backend {
            Backend::Nnlab => id.clone(),
            Backend::GymRs => format!("gym-rs/{id}"),
        };
        if nnlab_envs::registry::spec(&make_id).is_err() && args.backend == Backend::GymRs {
            let _ = writeln!(out, "{id:<26} not in gym-rs");
            continue;
        }
        let r = check_env_as(&make_id, id, episodes, args.tolerance);
        let pass = r.mismatches.is_empty() && r.transitions > 0;
        ok &= pass;
        let _ = writeln!(
            out,
            "{:<26} {:>8} {:>11} {:>11.3e} {:>11.3e} {:>11.3e}  {}",
            id,
            r.episodes,
            r.transitions,
            r.max_state_dev,
            r.max_obs_dev,
            r.max_reward_dev,
            if pass { "ok".to_string() } else { format!("{} MISMATCHES", r.mismatches.len()) }
        );
        for m in r.mismatches.iter().take(5) {
            let _ = writeln!(out, "    {m}");
        }
    }
    Ok(ok)
}

/// A MinAtar recording: every episode replayed exactly through nnlab's MinAtar envs.
#[cfg(feature = "minatar")]
fn check_minatar(text: &str, args: &Args) -> anyhow::Result<bool> {
    use nnlab_envs::parity_minatar::{check_file, parse};
    let path = args.file.display();
    if args.backend != Backend::Nnlab {
        bail!("--backend {:?}: MinAtar recordings are checked against nnlab's MinAtar games only", args.backend);
    }
    let file = parse(text).map_err(|e| anyhow::anyhow!("'{path}' is not a MinAtar recording: {e}"))?;
    if file.episodes.is_empty() {
        bail!("'{path}': it records no episodes");
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "reference: {path} (MinAtar {}, numpy {}; exact comparison)", file.minatar_version, file.numpy_version);
    let _ = writeln!(out, "{:<26} {:>8} {:>11} {:>11}  result", "game", "episodes", "steps", "return");
    let mut ok = true;
    for (game, r) in check_file(&file) {
        let pass = r.mismatches.is_empty() && r.steps > 0;
        ok &= pass;
        let result = if pass { "ok".to_string() } else { format!("{} MISMATCHES", r.mismatches.len()) };
        let _ = writeln!(out, "{game:<26} {:>8} {:>11} {:>11}  {result}", r.episodes, r.steps, r.recorded_return);
        for m in r.mismatches.iter().take(5) {
            let _ = writeln!(out, "    {m}");
        }
    }
    Ok(ok)
}

/// Without the feature, a MinAtar recording gets a one-line error saying how to build.
#[cfg(not(feature = "minatar"))]
fn check_minatar(_text: &str, args: &Args) -> anyhow::Result<bool> {
    bail!(
        "'{}' is a MinAtar recording, and this gym_parity was built without MinAtar: cargo run --release --features minatar --bin gym_parity -- FILE (such a binary is GPL-3.0, see envs-minatar/README.md)",
        args.file.display()
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gym_parity: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! Checks nnlab's environments against a file of trajectories recorded from
//! Gymnasium: prints each environment's transition count and largest
//! deviation, and exits non-zero on any mismatch.
//!
//!     cargo run --release --bin gym_parity -- envs/tests/fixtures/gymnasium-classic-control.json

use anyhow::Context;
use nnlab_envs::parity::{check_env, parse, TOLERANCE};
use std::process::ExitCode;

fn run() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, tolerance) = match args.as_slice() {
        [p] => (p.clone(), TOLERANCE),
        [p, flag, t] if flag == "--tolerance" => (p.clone(), t.parse::<f64>().with_context(|| format!("--tolerance: '{t}' is not a number"))?),
        _ if args.iter().any(|a| a == "-h" || a == "--help") => {
            println!("usage: gym_parity FILE [--tolerance T]\n\nReplays Gymnasium trajectories (shared/reference/README.md format) transition by transition;\nexits 1 on any deviation above T (default {TOLERANCE:e}) or flag mismatch.");
            return Ok(true);
        }
        _ => anyhow::bail!("usage: gym_parity FILE [--tolerance T]"),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read '{path}'"))?;
    let file = parse(&text).with_context(|| format!("'{path}' is not a Gymnasium reference file"))?;
    println!("reference: {} ({})", path, file.generator);
    println!("{:<26} {:>8} {:>11} {:>11} {:>11} {:>11}  result", "environment", "episodes", "transitions", "state dev", "obs dev", "reward dev");
    let mut ok = true;
    for (id, episodes) in &file.environments {
        let r = check_env(id, episodes, tolerance);
        let pass = r.mismatches.is_empty();
        ok &= pass;
        println!(
            "{:<26} {:>8} {:>11} {:>11.3e} {:>11.3e} {:>11.3e}  {}",
            id, r.episodes, r.transitions, r.max_state_dev, r.max_obs_dev, r.max_reward_dev,
            if pass { "ok".to_string() } else { format!("{} MISMATCHES", r.mismatches.len()) }
        );
        for m in r.mismatches.iter().take(5) {
            println!("    {m}");
        }
    }
    Ok(ok)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gym_parity: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! `tune SPEC.toml --out DIR`: hyperparameter optimisation over seeds, as
//! RL Zoo users do with Optuna. A study file names a binary and its
//! arguments, the seeds every trial runs, the number of trials, the search
//! space, the objective (mean or IQM over the seeds of a summary metric or of
//! the intermediate evaluations), the sampler (TPE after random start-up
//! trials, or random) and the pruner (median or ASHA on the runs'
//! intermediate evaluations, or none):
//!
//! ```toml
//! binary = "train"
//! args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "50000", "--eval-every", "10000", "--no-gif"]
//! seeds = [1, 2, 3]
//! trials = 30
//!
//! [objective]
//! metric = "eval_return_mean"   # a summary.json key, or evaluations_mean / evaluations_last
//! aggregate = "mean"            # or "iqm"
//! direction = "maximize"
//!
//! [sampler]
//! kind = "tpe"                  # or "random"
//! startup_trials = 10
//! seed = 0
//!
//! [pruner]
//! kind = "median"               # or "asha", "none"
//!
//! [space]
//! learning_rate = { log_uniform = [1e-5, 1e-2] }
//! gamma = { uniform = [0.9, 0.999] }
//! num_steps = { int = [32, 512] }
//! ent_coef = { choice = [0.0, 0.01] }
//! ```
//!
//! Trials run one after another, each trial's seeds in parallel on
//! `--workers` processes (or as a Slurm job array with `--slurm`), so a
//! study draws the same trials on any machine. A pruned trial's runs are
//! stopped (SIGTERM, or `scancel`) with the rows they wrote. The study's
//! state is `DIR/study.json`: the same command continues an interrupted
//! study (a running trial's runs resume from their checkpoints, or start
//! again). Outputs: `trials.csv`, `tune_report.md` (best trials, parameter
//! importance), `best_config.toml` (a ready `--config`) and `history.png`.

pub mod pruner;
pub mod sampler;
pub mod spec;
pub mod study;

use crate::slurm::SlurmOptions;
use crate::sweep::{binary_path, last_line, log_path, SweepRun, SweepSpec};
use anyhow::{anyhow, bail, Context, Result};
use spec::TuneSpec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use study::{Study, Trial, TrialState};

/// Where trials run.
#[derive(Debug, Clone)]
pub enum Launcher {
    /// Local processes, at most this many at once.
    Local(usize),
    /// A Slurm job array per trial.
    Slurm(SlurmOptions),
}

/// The folder of trial `number`.
fn trial_dir(dir: &Path, number: usize) -> PathBuf {
    dir.join(format!("trial-{number:04}"))
}

/// A run's intermediate evaluations: `evaluations.csv`'s second column (the mean return) in order.
fn evaluations(run: &Path) -> Vec<f64> {
    let Ok(mut reader) = csv::Reader::from_path(run.join("evaluations.csv")) else { return Vec::new() };
    reader.records().filter_map(|r| r.ok()).filter_map(|r| r.get(1).and_then(|v| v.parse::<f64>().ok())).collect()
}

/// The environment steps a run has taken: the last `global_step` of its `metrics.csv`.
fn steps_taken(run: &Path) -> u64 {
    let Ok(mut reader) = csv::Reader::from_path(run.join("metrics.csv")) else { return 0 };
    reader.records().filter_map(|r| r.ok()).filter_map(|r| r.get(0).and_then(|v| v.parse::<f64>().ok())).fold(0.0, f64::max) as u64
}

/// A run's objective metric: a (dotted) `summary.json` key, or its evaluations' mean or last.
fn run_metric(run: &Path, metric: &str) -> Result<f64> {
    let evals = || {
        let e = evaluations(run);
        if e.is_empty() {
            bail!("{} has no evaluations.csv", run.display());
        }
        Ok(e)
    };
    match metric {
        "evaluations_mean" => {
            let e = evals()?;
            Ok(e.iter().sum::<f64>() / e.len() as f64)
        }
        "evaluations_last" => Ok(*evals()?.last().expect("not empty")),
        key => {
            let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json"))?)?;
            let value = key.split('.').try_fold(&summary, |v, k| v.get(k)).and_then(serde_json::Value::as_f64);
            value.ok_or_else(|| anyhow!("{}/summary.json has no number `{key}`", run.display()))
        }
    }
}

/// The trial's aggregate intermediate values so far (those every seed has reached).
fn intermediate(spec: &TuneSpec, runs: &[PathBuf]) -> Vec<f64> {
    let per_run: Vec<Vec<f64>> = runs.iter().map(|r| evaluations(r)).collect();
    let k = per_run.iter().map(Vec::len).min().unwrap_or(0);
    (0..k).map(|i| spec.objective.aggregate.of(&per_run.iter().map(|e| e[i]).collect::<Vec<_>>())).collect()
}

/// The running processes (or Slurm job) of one trial.
enum Running {
    Local { todo: Vec<SweepRun>, children: Vec<(SweepRun, Child)> },
    Slurm { job: String },
}

/// Checks the study against the binary before anything runs: the resolved
/// config of each parameter at both ends of its range (`--print-config`),
/// so that unknown keys, wrong types and values the config refuses fail now.
pub fn preflight(spec: &TuneSpec) -> Result<()> {
    let bin = binary_path(&spec.binary)?;
    for end in [0usize, 1] {
        let params: BTreeMap<String, toml::Value> = spec
            .space
            .iter()
            .map(|(k, p)| {
                let v = match p {
                    spec::Param::Uniform(r) | spec::Param::LogUniform(r) => toml::Value::Float(r[end]),
                    spec::Param::Int(r) => toml::Value::Integer(r[end]),
                    spec::Param::Choice(v) => v[if end == 0 { 0 } else { v.len() - 1 }].clone(),
                };
                (k.clone(), v)
            })
            .collect();
        resolved_config(spec, &bin, &params).map_err(|e| anyhow!("study file: the space's {} ends: {e}", if end == 0 { "low" } else { "high" }))?;
    }
    Ok(())
}

/// The binary's `--print-config` for `params` (the resolved, commented config).
fn resolved_config(spec: &TuneSpec, bin: &Path, params: &BTreeMap<String, toml::Value>) -> Result<String> {
    let overrides: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    crate::sweep::resolved_config(bin, &spec.args, &overrides)
}

/// Runs (or continues) the study in `dir`; returns it when every trial has ended.
pub fn run(spec: &TuneSpec, dir: &Path, launcher: &Launcher, quiet: bool) -> Result<Study> {
    let bin = binary_path(&spec.binary)?;
    let mut study = Study::load_or_new(dir)?;
    crate::signals::supervise();
    loop {
        // The trial to run: an unfinished one (an interrupted study), else a new draw.
        let index = match study.trials.iter().position(|t| !t.ended()) {
            Some(i) => i,
            None if study.trials.len() < spec.trials => {
                let observed = observations(spec, &study);
                let number = study.trials.len();
                let params = sampler::draw(&spec.sampler, &spec.space, number, &observed)?;
                study.trials.push(Trial { number, params, state: TrialState::Running, value: None, intermediate: Vec::new(), steps: 0, error: None });
                study.save(dir)?;
                number
            }
            None => break,
        };
        run_trial(spec, dir, &bin, launcher, &mut study, index, quiet)?;
        study.save(dir)?;
        let t = &study.trials[index];
        if !quiet {
            let value = t.value.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
            let best = study.best(spec).map(|b| format!("; best trial {} ({:.4})", b.number, b.value.unwrap_or(f64::NAN))).unwrap_or_default();
            let params: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!("tune: trial {} {:?} {value} after {} steps ({}){best}", t.number, t.state, t.steps, params.join(", "));
        }
        let best_config = match study.best(spec) {
            Some(b) => Some(resolved_config(spec, &bin, &b.params)?),
            None => None,
        };
        study::write_outputs(dir, spec, &study, best_config.as_deref())?;
    }
    Ok(study)
}

/// What the sampler learns from the ended trials. As Optuna's TPE does, a
/// pruned trial counts as worse than every complete one (its intermediate
/// value is not the objective: an early evaluation may even score above a
/// complete trial's mean), and the earlier it was pruned the worse; failed
/// trials teach nothing.
fn observations(spec: &TuneSpec, study: &Study) -> Vec<sampler::Observation> {
    let direction = spec.objective.direction;
    let complete: Vec<f64> = study.trials.iter().filter(|t| t.state == TrialState::Complete).filter_map(|t| t.value.map(|v| direction.loss(v))).collect();
    let worst = complete.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let longest = study.trials.iter().map(|t| t.intermediate.len()).max().unwrap_or(0);
    study
        .trials
        .iter()
        .filter_map(|t| {
            let loss = match (t.state, t.value) {
                (TrialState::Complete, Some(v)) => direction.loss(v),
                (TrialState::Pruned, Some(v)) if complete.is_empty() => direction.loss(v),
                (TrialState::Pruned, Some(_)) => worst + 1.0 + (longest - t.intermediate.len()) as f64,
                _ => return None,
            };
            Some(sampler::Observation { params: t.params.clone(), loss })
        })
        .collect()
}

/// Runs trial `index` to its end: complete, pruned or failed.
fn run_trial(spec: &TuneSpec, dir: &Path, bin: &Path, launcher: &Launcher, study: &mut Study, index: usize, quiet: bool) -> Result<()> {
    let tdir = trial_dir(dir, index);
    let sweep: SweepSpec = spec.as_sweep(&study.trials[index].params);
    let runs: Vec<SweepRun> = sweep.runs();
    let run_dirs: Vec<PathBuf> = runs.iter().map(|r| tdir.join(&r.dir)).collect();
    std::fs::create_dir_all(tdir.join("logs")).with_context(|| format!("cannot create {}", tdir.display()))?;
    let mut running = match launcher {
        Launcher::Local(_) => {
            Running::Local { todo: runs.iter().filter(|r| !tdir.join(&r.dir).join("summary.json").is_file()).cloned().collect(), children: Vec::new() }
        }
        Launcher::Slurm(opts) => {
            crate::slurm::write_job(&sweep, &tdir, opts)?;
            let job = crate::slurm::submit(&tdir)?;
            if !quiet {
                eprintln!("tune: trial {index}: submitted job array {job}");
            }
            Running::Slurm { job }
        }
    };
    let mut failure: Option<String> = None;
    let mut pruned = false;
    loop {
        // Start what the workers allow.
        if let (Running::Local { todo, children }, Launcher::Local(workers)) = (&mut running, launcher) {
            while children.len() < *workers && !todo.is_empty() {
                let run = todo.remove(0);
                let log = std::fs::File::create(log_path(&tdir, &run)).context("cannot create a run's log")?;
                let child = Command::new(bin)
                    .args(sweep.command(&run, &tdir))
                    .stdout(Stdio::from(log.try_clone()?))
                    .stderr(Stdio::from(log))
                    .spawn()
                    .with_context(|| format!("cannot start {}", bin.display()))?;
                children.push((run, child));
            }
        }
        if crate::signals::stop_requested() {
            stop(&mut running);
            study.trials[index].steps = run_dirs.iter().map(|r| steps_taken(r)).sum();
            study.save(dir)?;
            return Err(crate::signals::Preempted(format!(
                "stopped by a signal during trial {index}; run the same command again to continue the study (its runs resume from their checkpoints, if any)"
            ))
            .into());
        }
        // New intermediate values, each put to the pruner.
        let values = intermediate(spec, &run_dirs);
        if values.len() > study.trials[index].intermediate.len() {
            let direction = spec.objective.direction;
            for k in study.trials[index].intermediate.len() + 1..=values.len() {
                let losses: Vec<f64> = values[..k].iter().map(|&v| direction.loss(v)).collect();
                let peer_losses: Vec<(Vec<f64>, bool)> = study
                    .trials
                    .iter()
                    .filter(|t| t.number != index)
                    .map(|t| (t.intermediate.iter().map(|&v| direction.loss(v)).collect(), t.state == TrialState::Complete))
                    .collect();
                let peers: Vec<pruner::Peer<'_>> = peer_losses.iter().map(|(l, f)| pruner::Peer { losses: l, finished: *f }).collect();
                if pruner::should_prune(&spec.pruner, &losses, &peers) {
                    pruned = true;
                    study.trials[index].intermediate = values[..k].to_vec();
                    break;
                }
            }
            if !pruned {
                study.trials[index].intermediate = values;
            }
            study.save(dir)?;
        }
        if pruned {
            stop(&mut running);
            break;
        }
        // Ended runs.
        let done = match &mut running {
            Running::Local { todo, children } => {
                let mut i = 0;
                while i < children.len() {
                    if let Some(status) = children[i].1.try_wait()? {
                        let (run, _) = children.remove(i);
                        if !status.success() {
                            failure = Some(format!("seed {}: {}", run.seed, last_line(&log_path(&tdir, &run))));
                        }
                    } else {
                        i += 1;
                    }
                }
                if failure.is_some() {
                    stop(&mut running);
                    break;
                }
                todo.is_empty() && children.is_empty()
            }
            Running::Slurm { job } => {
                let o = Command::new("squeue").args(["-h", "-j", job, "-o", "%i"]).output().map_err(|e| anyhow!("cannot run squeue: {e}"))?;
                !o.status.success() || String::from_utf8_lossy(&o.stdout).trim().is_empty()
            }
        };
        if done {
            // The runs read again: the pruner sees their last evaluations, the objective their summaries.
            let values = intermediate(spec, &run_dirs);
            study.trials[index].intermediate = values;
            if let Some((run, _)) = runs.iter().zip(&run_dirs).find(|(_, r)| !r.join("summary.json").is_file()) {
                failure = Some(format!("seed {}: {}", run.seed, last_line(&log_path(&tdir, run))));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let trial = &mut study.trials[index];
    trial.steps = run_dirs.iter().map(|r| steps_taken(r)).sum();
    if pruned {
        trial.state = TrialState::Pruned;
        trial.value = trial.intermediate.last().copied();
    } else if let Some(e) = failure {
        trial.state = TrialState::Failed;
        trial.error = Some(e);
    } else {
        let values: Vec<f64> = run_dirs.iter().map(|r| run_metric(r, &spec.objective.metric)).collect::<Result<_>>()?;
        trial.value = Some(spec.objective.aggregate.of(&values));
        trial.state = TrialState::Complete;
    }
    Ok(())
}

/// Stops a trial's runs: SIGTERM to local processes (waited for), `scancel` of a Slurm job.
fn stop(running: &mut Running) {
    match running {
        Running::Local { todo, children } => {
            todo.clear();
            for (_, c) in children.iter() {
                crate::signals::terminate(c.id());
            }
            for (_, c) in children.iter_mut() {
                let _ = c.wait();
            }
            children.clear();
        }
        Running::Slurm { job } => {
            let _ = Command::new("scancel").arg(job.as_str()).status();
            // Wait until Slurm has ended it, so that its files are final.
            for _ in 0..600 {
                let gone = Command::new("squeue")
                    .args(["-h", "-j", job, "-o", "%i"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().is_empty())
                    .unwrap_or(true);
                if gone {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

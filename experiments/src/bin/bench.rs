//! Speed benchmarks, printed as a table: raw environment steps per second,
//! DQN updates per second, and a whole DQN run's steps per second, each next
//! to the reference measured on the same kind of 2-core machine.
//!
//!     cargo run --release --bin bench               # full 500k-step DQN run included
//!     cargo run --release --bin bench -- --quick    # 50k-step run instead

use anyhow::Result;
use clap::Parser;
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::replay_buffer::ReplayBuffer;
use nnlab_agents::NullObserver;
use nnlab_envs::{make, Action, Env};
use nnlab_experiments::main_wrapper;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Benchmark nnlab's hot paths.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run the whole-run benchmark for 50k steps instead of 500k.
    #[arg(long)]
    quick: bool,
    /// Environment steps of the whole-run benchmark (overrides --quick).
    #[arg(long)]
    run_steps: Option<usize>,
    /// Torch CPU threads.
    #[arg(long, default_value_t = 1)]
    threads: i32,
}

/// Gymnasium's CartPole-v1 with random actions on these machines (from the issue tracker).
const GYMNASIUM_CARTPOLE_STEPS_PER_S: f64 = 110_000.0;
/// CleanRL's dqn.py, 500k steps, CartPole-v1, 2 threads, on these machines.
const CLEANRL_DQN_500K_S: f64 = 346.0;

fn raw_env_steps_per_s(id: &str, steps: usize) -> Result<f64> {
    let mut env = make(id)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut obs = env.reset(Some(0));
    let n = env.action_space().n().unwrap_or(1);
    let start = Instant::now();
    for _ in 0..steps {
        let r = env.step_into(Action::Discrete(rng.random_range(0..n)), &mut obs)?;
        if r.done() {
            env.reset_into(None, &mut obs);
        }
    }
    Ok(steps as f64 / start.elapsed().as_secs_f64())
}

fn dqn_updates_per_s(updates: usize) -> Result<f64> {
    let mut agent = Dqn::new(DqnConfig::default(), tch::Device::Cpu)?;
    let mut rb = ReplayBuffer::new(10_000, 4);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for i in 0..10_000 {
        let o: [f32; 4] = std::array::from_fn(|_| rng.random_range(-0.1..0.1));
        rb.add(&o, &o, (i % 2) as i64, 1.0, i % 50 == 0);
    }
    let start = Instant::now();
    for _ in 0..updates {
        let batch = rb.sample(128, &mut rng, tch::Device::Cpu);
        let _ = agent.update(&batch);
    }
    Ok(updates as f64 / start.elapsed().as_secs_f64())
}

fn run() -> Result<()> {
    let args = Args::parse();
    tch::set_num_threads(args.threads);
    let run_steps = args.run_steps.unwrap_or(if args.quick { 50_000 } else { 500_000 });

    let rows_env: Vec<(String, f64)> = nnlab_envs::ENV_IDS
        .iter()
        .filter(|id| !id.contains("Continuous") && **id != "Pendulum-v1")
        .map(|id| Ok((id.to_string(), raw_env_steps_per_s(id, 2_000_000)?)))
        .collect::<Result<_>>()?;
    let updates = dqn_updates_per_s(3000)?;

    let cfg = DqnConfig { total_timesteps: run_steps, ..DqnConfig::default() };
    let mut agent = Dqn::new(cfg, tch::Device::Cpu)?;
    let start = Instant::now();
    let stats = agent.train(&mut NullObserver)?;
    let run_s = start.elapsed().as_secs_f64();
    let last: Vec<f64> = stats.episode_returns.iter().rev().take(100).copied().collect();
    let last100 = last.iter().sum::<f64>() / last.len().max(1) as f64;

    println!("nnlab bench (CPU, {} torch thread(s))", args.threads);
    println!("{:<44} {:>14} {:>16} {:>8}", "benchmark", "nnlab", "reference", "ratio");
    for (id, sps) in &rows_env {
        let (reference, ratio) = if id == "CartPole-v1" {
            (format!("{GYMNASIUM_CARTPOLE_STEPS_PER_S:.0}"), format!("{:.0}x", sps / GYMNASIUM_CARTPOLE_STEPS_PER_S))
        } else {
            ("-".into(), "-".into())
        };
        println!("{:<44} {:>14.0} {:>16} {:>8}", format!("raw {id} steps/s"), sps, reference, ratio);
    }
    println!("{:<44} {:>14.0} {:>16} {:>8}", "DQN updates/s (batch 128, 4-120-84-2, Adam)", updates, "-", "-");
    let reference_s = CLEANRL_DQN_500K_S * run_steps as f64 / 500_000.0;
    println!(
        "{:<44} {:>14.0} {:>16.0} {:>8}",
        format!("DQN CartPole {}k-step run, steps/s", run_steps / 1000),
        run_steps as f64 / run_s,
        run_steps as f64 / reference_s,
        format!("{:.2}x", reference_s / run_s)
    );
    println!(
        "{:<44} {:>14.1} {:>16.1} {:>8}",
        "  same run, wall seconds",
        run_s,
        reference_s,
        format!("{:.2}", run_s / reference_s)
    );
    println!("  (CleanRL defaults, seed 1; last-100 training return {last100:.1}; reference: CleanRL dqn.py)");
    Ok(())
}

fn main() -> std::process::ExitCode {
    main_wrapper("bench", run)
}

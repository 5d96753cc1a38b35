//! Speed benchmarks, printed as a table: raw environment steps per second,
//! DQN and PPO updates per second, whole DQN and PPO runs' steps per second,
//! a 20k-step SAC run on Pendulum-v1 with CleanRL's hyperparameters, the
//! seconds per epoch of PyTorch's example VAE on Fashion-MNIST and of the
//! seed's CNN (`cnn_fashion_mnist`) on all 60,000 training images, and the
//! training characters per second of the LSTM and transformer language models
//! (`charlm`), each next to the reference measured on the same kind of 2-core
//! machine; and the machine's own limits: a 256x256x256 linear layer's GFLOP/s in
//! float32 and bfloat16 (with the bf16 instructions found), the cost of one small
//! torch op, and the SAC run's achieved GFLOP/s against that float32 peak.
//!
//! ```text
//! cargo run --release --bin bench               # full 500k-step DQN and PPO runs included
//! cargo run --release --bin bench -- --quick    # 50k-step run instead
//! cargo run --release --bin bench -- --peers    # against SBX, RLtools and rlox (nnlab_experiments::peers)
//! taskset -c 1 cargo run --release --features minatar --bin bench -- --minatar   # MinAtar's games against PyPI MinAtar
//! taskset -c 1 cargo run --release --bin bench -- --intent RUN_DIR   # the assistant's latency per query
//! ```
//!
//! The whole runs are also timed in portable numerics (in a child process,
//! since numerics are fixed per process), beside fast mode's.

use anyhow::Result;
use clap::Parser;
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::onpolicy::RolloutTensors;
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::replay_buffer::ReplayBuffer;
use nnlab_agents::rollout::RolloutBuffer;
use nnlab_agents::NullObserver;
use nnlab_envs::{make, Action, Env};
use nnlab_experiments::main_wrapper;
use nnlab_generative::data::load_28x28;
use nnlab_generative::vae_trainer::{VaeConfig, VaeTrainer};
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Benchmark nnlab's hot paths.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Run the whole-run benchmarks for 50k steps instead of 500k.
    #[arg(long)]
    quick: bool,
    /// Environment steps of the whole-run benchmarks (overrides --quick).
    #[arg(long)]
    run_steps: Option<usize>,
    /// Torch CPU threads (the RL rows).
    #[arg(long, default_value_t = 1)]
    threads: i32,
    /// Torch CPU threads for the VAE row (PyTorch's default on these 2-core machines is 2).
    #[arg(long, default_value_t = 2)]
    vae_threads: i32,
    /// Environment steps of the SAC row (`experiments/configs/sac/Pendulum-v1-cleanrl.toml`); 0 skips it.
    #[arg(long, default_value_t = 20_000)]
    sac_steps: usize,
    /// Torch CPU threads for the SAC row (PyTorch's default on these 2-core machines is 2).
    #[arg(long, default_value_t = 2)]
    sac_threads: i32,
    /// VAE epochs to time (their mean is reported); 0 skips the row (and the data download).
    #[arg(long, default_value_t = 2)]
    vae_epochs: usize,
    /// Epochs of the seed's CNN to time (their mean is reported); 0 skips the row.
    #[arg(long, default_value_t = 1)]
    cnn_epochs: usize,
    /// Torch CPU threads for the CNN row (the reference's count).
    #[arg(long, default_value_t = 2)]
    cnn_threads: i32,
    /// Training steps of each language model (LSTM, transformer; context 64, batch 12) to time; 0 skips the rows.
    #[arg(long, default_value_t = 300)]
    charlm_steps: u64,
    /// Torch CPU threads for the language-model rows (the references' count).
    #[arg(long, default_value_t = 2)]
    charlm_threads: i32,
    /// Skip the whole runs in portable numerics (their cost beside fast mode's).
    #[arg(long)]
    no_portable: bool,
    /// Instead of the rows above: nnlab against SBX, RLtools and rlox on the
    /// same workloads (`nnlab_experiments::peers`), one run after the other,
    /// each pinned to one CPU with one thread; the peers install on first use.
    #[arg(long)]
    peers: bool,
    /// With --peers: only these workloads (sac-pendulum-20k, td3-pendulum-20k,
    /// tqc-pendulum-20k, crossq-pendulum-20k, sac-rltools-default, ppo-cartpole-500k,
    /// dqn-cartpole-500k).
    #[arg(long = "workload", value_name = "NAME", requires = "peers")]
    workloads: Vec<String>,
    /// With --peers: only these peers (sbx, rltools, rlox).
    #[arg(long = "peer", value_name = "NAME", requires = "peers", value_parser = ["sbx", "rltools", "rlox"])]
    only_peers: Vec<String>,
    /// With --peers: the seeds, each run by nnlab and every peer.
    #[arg(long, value_delimiter = ',', default_value = "1", requires = "peers")]
    peer_seeds: Vec<u64>,
    /// With --peers: a `KEY=VALUE` override for every run (e.g. `total_timesteps=2000` for a smoke test).
    #[arg(long = "peer-set", value_name = "KEY=VALUE", requires = "peers")]
    peer_sets: Vec<String>,
    /// With --peers: the CPU every run is pinned to.
    #[arg(long, default_value_t = 0, requires = "peers")]
    peer_cpu: usize,
    /// With --peers: where the runs and peers.json go.
    #[arg(long, default_value = "target/bench-peers", requires = "peers")]
    peers_out: std::path::PathBuf,
    /// Instead of the rows above: each MinAtar game's raw steps per second
    /// beside PyPI MinAtar's (scripts/minatar/steps_per_s.py, installed on
    /// first use); needs a bench built with `--features minatar`.
    #[arg(long, conflicts_with = "peers")]
    minatar: bool,
    /// With --minatar: nnlab's steps per game (PyPI MinAtar takes a tenth of them).
    #[arg(long, default_value_t = 3_000_000, requires = "minatar")]
    minatar_steps: usize,
    /// With --minatar: time each row this many times and keep the best, on both sides.
    #[arg(long, default_value_t = 3, requires = "minatar")]
    minatar_repeats: usize,
    /// Instead of the rows above: the assistant's latency with this `intent`
    /// run, one query at a time end to end (bytes in, JSON reply out) on one
    /// thread over its dataset's test queries: median and 99th percentile.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["peers", "minatar"])]
    intent: Option<std::path::PathBuf>,
    /// Internal: time the two whole runs in portable numerics and print their seconds.
    #[arg(long, hide = true)]
    portable_child: bool,
}

/// Gymnasium's raw steps per second with random actions on these machines
/// (from the issue tracker), by environment id: CartPole-v1 only so far.
const GYMNASIUM_STEPS_PER_S: &[(&str, f64)] = &[("CartPole-v1", 110_000.0)];
/// CleanRL's dqn.py, 500k steps, CartPole-v1, 2 threads, on these machines.
const CLEANRL_DQN_500K_S: f64 = 346.0;
/// CleanRL's ppo.py, 500k steps, CartPole-v1, seed 1, on these machines.
const CLEANRL_PPO_500K_S: f64 = 280.0;
/// CleanRL's sac_continuous_action.py, `--env-id Pendulum-v1 --total-timesteps 20000`, on these machines.
const CLEANRL_SAC_20K_S: f64 = 229.8;
/// PyTorch 2.11's example MLP VAE on Fashion-MNIST, seconds per epoch on these machines.
const PYTORCH_VAE_EPOCH_S: f64 = 6.2;

/// The seed's CNN and recipe in PyTorch 2.11 (torchvision's DataLoader), seconds per
/// 60,000-image epoch with 2 threads, on these machines (from the issue tracker).
const PYTORCH_SEED_CNN_EPOCH_S: f64 = 24.6;

/// Training characters per second of PyTorch 2.11 with 2 threads on these
/// machines, nanoGPT's CPU budget (from the issue tracker): the LSTM (2x256)
/// and the transformer (4 layers, 4 heads, 128-d).
const PYTORCH_CHARLM_CHARS_PER_S: [(nnlab_text::LmKind, f64); 2] = [(nnlab_text::LmKind::Lstm, 17_736.0), (nnlab_text::LmKind::Transformer, 12_567.0)];

/// Training characters per second of `model` (the shipped preset's shape and
/// budget) over `steps` steps on Shakespeare, on `threads` threads (after 10
/// untimed warm-up steps).
fn charlm_chars_per_s(model: nnlab_text::LmKind, steps: u64, threads: i32) -> Result<f64> {
    use nnlab_text::{CharLmConfig, CharLmTrainer};
    let splits = nnlab_data::load_shakespeare(&nnlab_data::cache_dir())?;
    let vocab = nnlab_data::CharVocabulary::from_text(&splits.train);
    let train = vocab.encode(&splits.train);
    let preset = nnlab_experiments::charlm::preset(model, false);
    let config: CharLmConfig = toml::from_str(&preset.text)?;
    nnlab_experiments::cli::check_threads(threads)?;
    let before = tch::get_num_threads();
    tch::set_num_threads(threads);
    let mut trainer = CharLmTrainer::new(config.clone(), vocab.len(), tch::Device::Cpu)?;
    for _ in 0..10 {
        trainer.train_step(&train)?;
    }
    let start = Instant::now();
    for _ in 0..steps {
        trainer.train_step(&train)?;
    }
    let speed = (steps as usize * config.batch_size * config.context) as f64 / start.elapsed().as_secs_f64();
    tch::set_num_threads(before);
    Ok(speed)
}

/// Mean seconds per training epoch of the seed's CNN with its recipe over
/// all 60,000 Fashion-MNIST training images (no validation split, as the
/// PyTorch reference), on `threads` threads; and the last epoch's training accuracy.
fn cnn_epoch_s(threads: i32, epochs: usize) -> Result<(f64, f64)> {
    use nnlab_vision::{CnnConfig, CnnTrainer};
    let data = nnlab_data::ImageDataset::FashionMnist.load(None)?;
    let config = CnnConfig { validation_size: 0, epochs, ..CnnConfig::default() };
    let shape = nnlab_experiments::image_classification::shape_of(&data.train);
    nnlab_experiments::cli::check_threads(threads)?;
    let before = tch::get_num_threads();
    tch::set_num_threads(threads);
    let mut trainer = CnnTrainer::new(config, shape, 10, tch::Device::Cpu)?;
    let start = Instant::now();
    let mut accuracy = 0.0;
    for _ in 0..epochs {
        accuracy = trainer.train_epoch(&data.train, 0, &mut |_, _| Ok(()))?.accuracy;
    }
    let secs = start.elapsed().as_secs_f64() / epochs as f64;
    tch::set_num_threads(before);
    Ok((secs, accuracy))
}

/// Mean seconds per training epoch of the example MLP VAE on Fashion-MNIST, on `threads` threads.
fn vae_epoch_s(threads: i32, epochs: usize) -> Result<f64> {
    let (_, train_set, _) = load_28x28(None)?;
    let train = train_set.images_tensor(tch::Device::Cpu);
    let before = tch::get_num_threads();
    tch::set_num_threads(threads);
    let mut trainer = VaeTrainer::new(VaeConfig::default(), tch::Device::Cpu)?;
    let start = Instant::now();
    for _ in 0..epochs {
        trainer.train_epoch(&train)?;
    }
    let secs = start.elapsed().as_secs_f64() / epochs as f64;
    tch::set_num_threads(before);
    Ok(secs)
}

fn ppo_updates_per_s(updates: usize) -> Result<f64> {
    let mut agent = Ppo::new(PpoConfig::default(), tch::Device::Cpu)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut buf = RolloutBuffer::new(128, 4, 4, 1);
    buf.observations.iter_mut().for_each(|x| *x = rng.random_range(-0.1..0.1));
    buf.actions.iter_mut().for_each(|a| *a = rng.random_range(0..2) as f32);
    buf.log_probs.fill(-0.69);
    let adv: Vec<f32> = (0..512).map(|_| rng.random_range(-1.0..1.0)).collect();
    let data = RolloutTensors::new(&buf, &adv, &adv, true, tch::Device::Cpu);
    let start = Instant::now();
    for _ in 0..updates {
        let idx: Vec<i64> = (0..128).map(|_| rng.random_range(0..512)).collect();
        let _ = agent.minibatch_update(&data, &tch::Tensor::from_slice(&idx));
    }
    Ok(updates as f64 / start.elapsed().as_secs_f64())
}

/// Trains `agent` and returns (wall seconds, last-100 training return).
fn whole_run(mut agent: impl nnlab_agents::Agent) -> Result<(f64, f64)> {
    let start = Instant::now();
    let stats = agent.train(&mut NullObserver)?;
    let secs = start.elapsed().as_secs_f64();
    let last: Vec<f64> = stats.episode_returns.iter().rev().take(100).copied().collect();
    Ok((secs, last.iter().sum::<f64>() / last.len().max(1) as f64))
}

fn print_run(label: &str, steps: usize, secs: f64, reference_500k_s: f64) {
    let reference_s = reference_500k_s * steps as f64 / 500_000.0;
    nnlab_experiments::out!(
        "{:<44} {:>14.0} {:>16.0} {:>8}",
        format!("{label} {}k-step run, steps/s", steps / 1000),
        steps as f64 / secs,
        steps as f64 / reference_s,
        format!("{:.2}x", reference_s / secs)
    );
    nnlab_experiments::out!("{:<44} {:>14.1} {:>16.1} {:>8}", "  same run, wall seconds", secs, reference_s, format!("{:.2}", secs / reference_s));
}

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

/// `bench --minatar`: steps per second of each MinAtar game with random
/// minimal-set actions, two ways beside PyPI MinAtar's on this machine, one
/// after the other: nnlab's `make("MinAtar/<Game>-v1")` (observation written
/// every step) against MinAtar's own Gymnasium id, and the bare game
/// (`Environment::act` and the channels-first observation) against MinAtar's
/// `Environment.act` and `state()`.
#[cfg(feature = "minatar")]
fn minatar_rows(steps: usize, repeats: usize) -> Result<()> {
    use anyhow::Context;
    use nnlab_envs::minatar::games::{Environment, GameKind};
    if steps < 10 || repeats == 0 {
        anyhow::bail!("--minatar-steps must be at least 10 and --minatar-repeats at least 1, got {steps} and {repeats}");
    }
    let bare = |kind: GameKind| {
        let mut env = Environment::new(kind, 0.1, true, 0);
        env.reset();
        let actions = kind.minimal_action_set();
        let mut obs = vec![0.0f32; env.channels() * 100];
        // Drawn before the clock starts, as steps_per_s.py draws MinAtar's.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let choices: Vec<u8> = (0..steps).map(|_| actions[rng.random_range(0..actions.len())] as u8).collect();
        let start = Instant::now();
        for &action in &choices {
            let (_, terminal) = env.act(usize::from(action));
            env.observe_chw(&mut obs);
            if terminal {
                env.reset();
            }
        }
        steps as f64 / start.elapsed().as_secs_f64()
    };
    let mut rows = Vec::new();
    for kind in GameKind::ALL {
        let id = nnlab_envs::minatar::registered_id(kind, nnlab_envs::minatar::ActionSet::Minimal);
        let api = (0..repeats).map(|_| raw_env_steps_per_s(id, steps)).collect::<Result<Vec<f64>>>()?.into_iter().fold(0.0, f64::max);
        let game = (0..repeats).map(|_| bare(kind)).fold(0.0, f64::max);
        rows.push((id, kind.name(), api, game));
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let install = std::process::Command::new(root.join("scripts/minatar/install.sh")).output().context("cannot run scripts/minatar/install.sh")?;
    if !install.status.success() {
        anyhow::bail!("scripts/minatar/install.sh failed: {}", String::from_utf8_lossy(&install.stderr).trim());
    }
    let python = std::path::PathBuf::from(String::from_utf8_lossy(&install.stdout).trim()).join("bin/python");
    let peer = std::process::Command::new(python)
        .arg(root.join("scripts/minatar/steps_per_s.py"))
        .arg((steps / 10).to_string())
        .arg(repeats.to_string())
        .args(GameKind::ALL.map(GameKind::name))
        .stderr(std::process::Stdio::null())
        .output()
        .context("cannot run scripts/minatar/steps_per_s.py")?;
    type Rates = std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>;
    let minatar: Rates = serde_json::from_slice(&peer.stdout).with_context(|| format!("steps_per_s.py printed no result ({})", peer.status))?;
    let theirs = |way: &str, game: &str| minatar.get(way).and_then(|m| m.get(game)).copied().unwrap_or(f64::NAN);
    nnlab_experiments::out!("MinAtar steps/s (random minimal-set actions, sticky actions 0.1, one thread, best of {repeats}; PyPI MinAtar 1.0.15 beside)");
    nnlab_experiments::out!(
        "{:<26} {:>12} {:>12} {:>6}   {:>12} {:>12} {:>6}",
        "",
        "nnlab make",
        "MinAtar gym",
        "ratio",
        "nnlab game",
        "MinAtar game",
        "ratio"
    );
    for (id, game, api, bare) in rows {
        let (gym, raw) = (theirs("gymnasium", game), theirs("raw", game));
        nnlab_experiments::out!(
            "{id:<26} {api:>12.0} {gym:>12.0} {:>6}   {bare:>12.0} {raw:>12.0} {:>6}",
            format!("{:.0}x", api / gym),
            format!("{:.0}x", bare / raw)
        );
    }
    nnlab_experiments::out!(
        "  (make: the registered env with its time limit, through the Env trait; game: Environment::act + observe_chw vs MinAtar's act + state())"
    );
    Ok(())
}

/// Without the feature: one line saying how to build a bench that has the games.
#[cfg(not(feature = "minatar"))]
fn minatar_rows(_steps: usize, _repeats: usize) -> Result<()> {
    anyhow::bail!(
        "--minatar: this bench was built without MinAtar's games: cargo run --release --features minatar --bin bench -- --minatar (such a binary is GPL-3.0)"
    )
}

fn dqn_updates_per_s(updates: usize) -> Result<f64> {
    let mut agent = Dqn::new(DqnConfig::default(), tch::Device::Cpu)?;
    let mut rb = ReplayBuffer::new(10_000, 4);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for i in 0..10_000 {
        let o: [f32; 4] = std::array::from_fn(|_| rng.random_range(-0.1..0.1));
        rb.add(&o, &o, nnlab_envs::Action::Discrete(i % 2), 1.0, i % 50 == 0);
    }
    let start = Instant::now();
    for _ in 0..updates {
        let batch = rb.sample(128, &mut rng, tch::Device::Cpu);
        let _ = agent.update(&batch);
    }
    Ok(updates as f64 / start.elapsed().as_secs_f64())
}

/// GFLOP/s of a linear layer `[rows, k] -> [rows, n]` (a weight `[n, k]` and a bias) in
/// `kind` on the current torch threads: the best of five timings of 50 calls.
fn linear_gflops(rows: i64, k: i64, n: i64, kind: tch::Kind) -> f64 {
    let opts = (kind, tch::Device::Cpu);
    let (x, w, b) = (tch::Tensor::randn([rows, k], opts), tch::Tensor::randn([n, k], opts), tch::Tensor::randn([n], opts));
    let _ = x.linear(&w, Some(&b));
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..50 {
                let _ = x.linear(&w, Some(&b));
            }
            t.elapsed().as_secs_f64() / 50.0
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (rows * k * n) as f64 / best / 1e9
}

/// Microseconds per small torch op (an element-wise add of two 64-float tensors):
/// the dispatch cost that bounds the updates of small networks.
fn op_overhead_us() -> f64 {
    let (a, b) = (tch::Tensor::ones([64], (tch::Kind::Float, tch::Device::Cpu)), tch::Tensor::ones([64], (tch::Kind::Float, tch::Device::Cpu)));
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        let _ = &a + &b;
    }
    t.elapsed().as_secs_f64() / n as f64 * 1e6
}

/// FLOP of one SAC update, averaged over updates (forward 2 per weight per row,
/// backward twice that): the target (actor and both target critics forward), the
/// critics' step (forward and backward) and one actor step (CleanRL takes
/// `policy_frequency` every `policy_frequency` updates: actor forward and backward,
/// critics forward and backward to the actions).
fn sac_update_flop(cfg: &nnlab_agents::sac::SacConfig, obs_dim: usize, act_dim: usize) -> f64 {
    let mlp = |input: usize, out: usize| {
        let mut dims = vec![input];
        dims.extend(&cfg.hidden_sizes);
        dims.push(out);
        dims.windows(2).map(|w| 2.0 * (w[0] * w[1]) as f64).sum::<f64>()
    };
    let (actor, critic) = (mlp(obs_dim, 2 * act_dim), mlp(obs_dim + act_dim, 1));
    cfg.batch_size as f64 * (4.0 * actor + 12.0 * critic)
}

/// CleanRL's SAC hyperparameters for a run of `steps` steps (learning from a quarter of it at the latest).
fn sac_config(steps: usize) -> Result<nnlab_agents::sac::SacConfig> {
    let preset = nnlab_experiments::preset!("sac/Pendulum-v1-cleanrl.toml");
    let mut cfg: nnlab_agents::sac::SacConfig = toml::from_str(&preset.text)?;
    cfg.total_timesteps = steps;
    cfg.learning_starts = cfg.learning_starts.min(steps / 4);
    Ok(cfg)
}

/// A SAC run of `steps` steps with CleanRL's hyperparameters on `threads` threads: (seconds, last-100 return).
fn sac_run(steps: usize, threads: i32) -> Result<(f64, f64)> {
    let cfg = sac_config(steps)?;
    nnlab_experiments::cli::check_threads(threads)?;
    let before = tch::get_num_threads();
    tch::set_num_threads(threads);
    let result = whole_run(nnlab_agents::sac::Sac::agent(cfg, tch::Device::Cpu)?);
    tch::set_num_threads(before);
    result
}

/// The DQN and PPO whole runs of `steps` steps (DQN learning from a quarter of
/// the run at the latest): (seconds, last-100 return) each.
fn whole_runs(steps: usize) -> Result<((f64, f64), (f64, f64))> {
    let defaults = DqnConfig::default();
    let learning_starts = defaults.learning_starts.min(steps / 4);
    let dqn = whole_run(Dqn::new(DqnConfig { total_timesteps: steps, learning_starts, ..defaults }, tch::Device::Cpu)?)?;
    let ppo = whole_run(Ppo::new(PpoConfig { total_timesteps: steps, ..PpoConfig::default() }, tch::Device::Cpu)?)?;
    Ok((dqn, ppo))
}

/// Runs [`whole_runs`] in a child process in portable numerics (numerics are
/// per process) and returns its seconds and returns.
fn portable_whole_runs(steps: usize) -> Result<((f64, f64), (f64, f64))> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe).args(["--portable-child", "--run-steps", &steps.to_string()]).stderr(std::process::Stdio::inherit()).output()?;
    if !out.status.success() {
        anyhow::bail!("the portable-numerics runs failed ({})", out.status);
    }
    let v: Vec<f64> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(|x| x.parse()).collect::<Result<_, _>>()?;
    anyhow::ensure!(v.len() == 4, "unexpected output of the portable-numerics runs");
    Ok(((v[0], v[1]), (v[2], v[3])))
}

fn run() -> Result<()> {
    let args = Args::parse();
    let run_steps = args.run_steps.unwrap_or(if args.quick { 50_000 } else { 500_000 });
    if args.portable_child {
        nnlab_torch::numerics::init(nnlab_torch::numerics::Numerics::Portable).map_err(anyhow::Error::msg)?;
        let ((d, dr), (p, pr)) = whole_runs(run_steps)?;
        nnlab_experiments::out!("{d} {dr} {p} {pr}");
        return Ok(());
    }
    if args.peers {
        let opts = nnlab_experiments::peers::PeerBench {
            root: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
            only: args.workloads,
            peers: args.only_peers,
            seeds: args.peer_seeds,
            sets: args.peer_sets,
            cpu: args.peer_cpu,
            out: args.peers_out,
        };
        nnlab_experiments::peers::bench(&opts)?;
        return Ok(());
    }
    if args.minatar {
        return minatar_rows(args.minatar_steps, args.minatar_repeats);
    }
    if let Some(run) = &args.intent {
        let l = nnlab_experiments::assistant::latency(run, 1000)?;
        println!(
            "| assistant, one query end to end, 1 thread ({} on {}, {} queries) | median {:.3} ms | 99th percentile {:.3} ms | target < 5 ms (BiLSTM) |",
            l.model, l.dataset, l.queries, l.median_ms, l.p99_ms
        );
        return Ok(());
    }
    nnlab_experiments::cli::check_threads(args.threads)?;
    tch::set_num_threads(args.threads);

    let rows_env: Vec<(String, f64)> = nnlab_envs::ENV_IDS
        .iter()
        .filter(|id| nnlab_envs::make_raw(id).is_ok_and(|env| matches!(env.action_space(), nnlab_envs::Space::Discrete(_))))
        .map(|id| Ok((id.to_string(), raw_env_steps_per_s(id, 2_000_000)?)))
        .collect::<Result<_>>()?;
    let dqn_updates = dqn_updates_per_s(3000)?;
    let ppo_updates = ppo_updates_per_s(3000)?;
    let (dqn, ppo) = whole_runs(run_steps)?;
    let portable = if args.no_portable { None } else { Some(portable_whole_runs(run_steps)?) };
    let sac = if args.sac_steps > 0 { Some(sac_run(args.sac_steps, args.sac_threads)?) } else { None };
    let vae = if args.vae_epochs > 0 { Some(vae_epoch_s(args.vae_threads, args.vae_epochs)?) } else { None };
    let cnn = if args.cnn_epochs > 0 { Some(cnn_epoch_s(args.cnn_threads, args.cnn_epochs)?) } else { None };
    let charlm: Vec<(nnlab_text::LmKind, f64, f64)> = if args.charlm_steps > 0 {
        PYTORCH_CHARLM_CHARS_PER_S.iter().map(|&(m, r)| Ok((m, charlm_chars_per_s(m, args.charlm_steps, args.charlm_threads)?, r))).collect::<Result<_>>()?
    } else {
        Vec::new()
    };

    nnlab_experiments::out!("nnlab bench (CPU, {} torch thread(s))", args.threads);
    let mut sgemm_peak = f64::NAN;
    nnlab_experiments::out!("{:<44} {:>14} {:>16} {:>8}", "benchmark", "nnlab", "reference", "ratio");
    for (id, sps) in &rows_env {
        let (reference, ratio) = match GYMNASIUM_STEPS_PER_S.iter().find(|(gym_id, _)| gym_id == id) {
            Some(&(_, gym)) => (format!("{gym:.0}"), format!("{:.0}x", sps / gym)),
            None => ("-".into(), "-".into()),
        };
        nnlab_experiments::out!("{:<44} {:>14.0} {:>16} {:>8}", format!("raw {id} steps/s"), sps, reference, ratio);
    }
    nnlab_experiments::out!("{:<44} {:>14.0} {:>16} {:>8}", "DQN updates/s (batch 128, 4-120-84-2, Adam)", dqn_updates, "-", "-");
    nnlab_experiments::out!("{:<44} {:>14.0} {:>16} {:>8}", "PPO updates/s (minibatch 128, 64-64 x2, Adam)", ppo_updates, "-", "-");
    print_run("DQN CartPole", run_steps, dqn.0, CLEANRL_DQN_500K_S);
    print_run("PPO CartPole", run_steps, ppo.0, CLEANRL_PPO_500K_S);
    nnlab_experiments::out!("  (CleanRL defaults, seed 1; last-100 training return: DQN {:.1}, PPO {:.1}; references: CleanRL dqn.py, ppo.py)", dqn.1, ppo.1);
    if let Some((pd, pp)) = portable {
        for (label, fast, port) in [("DQN", dqn.0, pd.0), ("PPO", ppo.0, pp.0)] {
            let row = format!("{label} CartPole run, portable numerics, s");
            nnlab_experiments::out!("{row:<44} {port:>14.1} {:>16} {:>8}", format!("fast {fast:.1}"), format!("{:.2}x", port / fast));
        }
        nnlab_experiments::out!(
            "  (portable numerics: one thread, every kernel choice pinned; ratio = portable / fast seconds; last-100 return DQN {:.1}, PPO {:.1})",
            pd.1,
            pp.1
        );
    }
    #[cfg(target_arch = "x86_64")]
    let avx512_bf16 = std::arch::is_x86_feature_detected!("avx512bf16");
    #[cfg(not(target_arch = "x86_64"))]
    let avx512_bf16 = false;
    let bf16_isa = if nnlab_torch::numerics::cpu_has_amx_bf16() {
        "AMX-BF16"
    } else if avx512_bf16 {
        "AVX512-BF16, no AMX"
    } else {
        "none"
    };
    for threads in [1, args.sac_threads] {
        tch::set_num_threads(threads);
        let (f32_gflops, bf16_gflops) = (linear_gflops(256, 256, 256, tch::Kind::Float), linear_gflops(256, 256, 256, tch::Kind::BFloat16));
        let label = format!("linear 256x256x256 GFLOP/s ({threads} thread(s))");
        nnlab_experiments::out!("{label:<44} {f32_gflops:>14.1} {:>16} {:>8}", format!("bf16 {bf16_gflops:.1}"), format!("{:.2}x", bf16_gflops / f32_gflops));
        if threads == args.sac_threads {
            sgemm_peak = f32_gflops;
        }
    }
    tch::set_num_threads(args.threads);
    nnlab_experiments::out!("  (float32 against bfloat16 with the bf16 matmul instructions this CPU has: {bf16_isa}; ratio = bf16 / f32)");
    nnlab_experiments::out!("{:<44} {:>14.2} {:>16} {:>8}", "torch op dispatch, us per small op", op_overhead_us(), "-", "-");
    if let Some((secs, ret)) = sac {
        let reference = CLEANRL_SAC_20K_S * args.sac_steps as f64 / 20_000.0;
        let label = format!("SAC Pendulum {}k-step run, s ({} threads)", args.sac_steps / 1000, args.sac_threads);
        nnlab_experiments::out!("{label:<44} {secs:>14.1} {reference:>16.1} {:>8}", format!("{:.2}", secs / reference));
        nnlab_experiments::out!(
            "  (CleanRL's sac_continuous_action.py hyperparameters, seed 1; last-100 training return {ret:.1}; reference: CleanRL, 2 threads)"
        );
        let cfg = sac_config(args.sac_steps)?;
        let updates = (cfg.total_timesteps - cfg.learning_starts) / cfg.train_frequency * cfg.gradient_steps;
        let gflops = updates as f64 * sac_update_flop(&cfg, 3, 1) / secs / 1e9;
        nnlab_experiments::out!(
            "{:<44} {gflops:>14.1} {:>16} {:>8}",
            "SAC run's arithmetic, GFLOP/s",
            format!("peak {sgemm_peak:.1}"),
            format!("{:.0}%", 100.0 * gflops / sgemm_peak)
        );
        nnlab_experiments::out!(
            "  ({updates} updates of {:.0} MFLOP over the whole run's seconds, environment and acting included; peak: the linear row above on {} threads)",
            sac_update_flop(&cfg, 3, 1) / 1e6,
            args.sac_threads
        );
    }
    if let Some(secs) = vae {
        let label = format!("VAE Fashion-MNIST epoch, s ({} threads)", args.vae_threads);
        nnlab_experiments::out!("{label:<44} {secs:>14.2} {PYTORCH_VAE_EPOCH_S:>16.1} {:>8}", format!("{:.2}", secs / PYTORCH_VAE_EPOCH_S));
        nnlab_experiments::out!("  (PyTorch's example MLP VAE, batch 128; mean of {} epochs; reference: PyTorch 2.11, 2 threads)", args.vae_epochs);
    }
    if let Some((secs, accuracy)) = cnn {
        let label = format!("seed CNN Fashion-MNIST epoch, s ({} threads)", args.cnn_threads);
        nnlab_experiments::out!("{label:<44} {secs:>14.2} {PYTORCH_SEED_CNN_EPOCH_S:>16.1} {:>8}", format!("{:.2}", secs / PYTORCH_SEED_CNN_EPOCH_S));
        nnlab_experiments::out!(
            "  (the seed's recipe: SGD 0.001 momentum 0.9, batch 64, 60,000 images; mean of {} epochs, last training accuracy {accuracy:.4}; reference: PyTorch 2.11, 2 threads)",
            args.cnn_epochs
        );
    }
    for (model, speed, reference) in &charlm {
        let label = format!("{} char LM training chars/s ({} threads)", model.name(), args.charlm_threads);
        nnlab_experiments::out!("{label:<44} {speed:>14.0} {reference:>16.0} {:>8}", format!("{:.2}x", speed / reference));
    }
    if !charlm.is_empty() {
        nnlab_experiments::out!(
            "  (the charlm presets: context 64, batch 12, AdamW with clipping; {} timed steps; ratio = nnlab / PyTorch chars/s, higher is faster; reference: PyTorch 2.11, 2 threads)",
            args.charlm_steps
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    main_wrapper("bench", run)
}

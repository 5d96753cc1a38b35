//! DQN on CartPole-v1, end to end: trains with nnlab's recommended preset
//! (`experiments/configs/dqn/CartPole-v1.toml`, or `--config`), evaluates the
//! greedy policy, and writes a run folder with the resolved config,
//! `metrics.csv`, `summary.json`, `learning_curve.png`, the weights
//! (`model.safetensors`) and `episode.gif`.

nnlab_experiments::rl_experiment!(
    "dqn_cartpole",
    "dqn",
    "CartPole-v1",
    nnlab_agents::dqn::DqnConfig,
    "Train DQN on CartPole-v1 (nnlab's preset by default) and write a reproducible run folder."
);

//! PPO with a diagonal Gaussian policy on Pendulum-v1, end to end; the run
//! folder is like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "ppo_pendulum",
    "ppo",
    "Pendulum-v1",
    nnlab_agents::ppo::PpoConfig,
    "Train PPO with a Gaussian policy on Pendulum-v1 and write a reproducible run folder."
);

//! PPO on CartPole-v1 (CleanRL's `ppo.py` defaults), end to end; the run
//! folder is like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "ppo_cartpole",
    "ppo",
    "CartPole-v1",
    nnlab_agents::ppo::PpoConfig,
    "Train PPO on CartPole-v1 (CleanRL's ppo.py defaults) and write a reproducible run folder."
);

//! REINFORCE with a value baseline on CartPole-v1, end to end; the run folder
//! is like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "reinforce_cartpole",
    "reinforce",
    "CartPole-v1",
    nnlab_agents::reinforce::ReinforceConfig,
    "Train REINFORCE with a value baseline on CartPole-v1 and write a reproducible run folder."
);

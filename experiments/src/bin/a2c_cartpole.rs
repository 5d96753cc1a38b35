//! A2C on CartPole-v1 (the SB3 zoo's settings), end to end; the run folder is
//! like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "a2c_cartpole",
    "a2c",
    "CartPole-v1",
    nnlab_agents::a2c::A2cConfig,
    "Train A2C on CartPole-v1 (SB3 zoo settings) and write a reproducible run folder."
);

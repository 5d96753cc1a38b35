//! TD3 on Pendulum-v1 with the SB3 zoo's preset, end to end; the run folder
//! is like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "td3_pendulum",
    "td3",
    "Pendulum-v1",
    nnlab_agents::td3::Td3Config,
    "Train TD3 on Pendulum-v1 and write a reproducible run folder."
);

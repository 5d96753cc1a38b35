//! SAC on Pendulum-v1 with the SB3 zoo's preset, end to end; the run folder
//! is like `dqn_cartpole`'s.

nnlab_experiments::rl_experiment!(
    "sac_pendulum",
    "sac",
    "Pendulum-v1",
    nnlab_agents::sac::SacConfig,
    "Train Soft Actor-Critic on Pendulum-v1 and write a reproducible run folder."
);

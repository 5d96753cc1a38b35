"""Trains one RLtools agent (its Python interface: the C++ training loop is
compiled for the environment's sizes on first use, with MKL) with the
hyperparameters of an nnlab config, times the compilation and the training
apart, and evaluates the trained policy as nnlab does (the policy's action,
eval_episodes fresh episodes).

    python run_rltools.py ALGO RESOLVED_CONFIG.toml OUT.json

ALGO: sac or td3. RLtools acts in [-1, 1]: the environment is wrapped in
Gymnasium's RescaleAction. What RLtools' compile-time parameters cannot take
is listed in the result's "differs". MKL runs on one thread (run.sh sets
MKL_NUM_THREADS=1 and pins the process to one CPU).
"""
import time

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import RescaleAction

from peer_common import cli, evaluate, load_config, write_result


def make_env(env_id, seed):
    def factory():
        env = RescaleAction(gym.make(env_id), -1.0, 1.0)
        env.reset(seed=seed)
        return env

    return factory


def build(algo, c):
    import rltools

    hidden = [int(h) for h in c["hidden_sizes"]]
    differs = []
    if len(set(hidden)) != 1:
        differs.append(f"{len(hidden)} hidden layers of {hidden[0]} for {hidden}")
    common = dict(
        GAMMA=c["gamma"], ACTOR_BATCH_SIZE=c["batch_size"], CRITIC_BATCH_SIZE=c["batch_size"],
        ACTOR_POLYAK=1.0 - c["tau"], CRITIC_POLYAK=1.0 - c["tau"], N_WARMUP_STEPS=c["learning_starts"],
        STEP_LIMIT=c["total_timesteps"], REPLAY_BUFFER_CAP=min(c["buffer_size"], c["total_timesteps"]),
        ACTOR_HIDDEN_DIM=hidden[0], ACTOR_NUM_LAYERS=len(hidden) + 1, CRITIC_HIDDEN_DIM=hidden[0],
        CRITIC_NUM_LAYERS=len(hidden) + 1, ACTOR_TRAINING_INTERVAL=c["policy_frequency"],
    )
    factory = make_env(c["env_id"], int(c["seed"]))
    if algo == "sac":
        if c["policy_lr"] != c["q_lr"]:
            differs.append(f"one learning rate {c['q_lr']} for policy_lr {c['policy_lr']} / q_lr {c['q_lr']}")
        # CleanRL's policy_frequency p takes p actor steps every p updates (one per update on
        # average); RLtools' interval p takes one every p, so its interval is 1: the same number
        # of actor steps (and FLOP).
        if c["policy_frequency"] != 1:
            common["ACTOR_TRAINING_INTERVAL"] = 1
            differs.append(f"an actor step after every critic step, not {c['policy_frequency']} every "
                           f"{c['policy_frequency']} (the same number of actor steps)")
        # The temperature's start: nnlab's initial_alpha when tuned (absent: 1.0, CleanRL's), else alpha.
        alpha = float(c.get("initial_alpha", 1.0)) if c.get("autotune", True) else c["alpha"]
        return rltools.SAC(factory, enable_evaluation=False, OPTIMIZER_ALPHA=c["q_lr"], ALPHA=alpha,
                           ADAPTIVE_ALPHA=c.get("autotune", True),
                           CRITIC_TARGET_UPDATE_INTERVAL=c["target_network_frequency"], **common), differs
    if algo == "td3":
        return rltools.TD3(factory, enable_evaluation=False, OPTIMIZER_ALPHA=c["learning_rate"],
                           TARGET_NEXT_ACTION_NOISE_STD=c["policy_noise"], TARGET_NEXT_ACTION_NOISE_CLIP=c["noise_clip"],
                           EXPLORATION_NOISE=c["exploration_noise"], CRITIC_TARGET_UPDATE_INTERVAL=c["policy_frequency"],
                           ACTOR_TARGET_UPDATE_INTERVAL=c["policy_frequency"], **common), differs
    raise SystemExit(f"run_rltools.py: no RLtools mapping for '{algo}' (sac, td3)")


def main(algo, config_path, out):
    c = load_config(config_path)
    start = time.perf_counter()
    trainer, differs = build(algo, c)
    compile_s = time.perf_counter() - start
    state = trainer.State(int(c["seed"]))
    start = time.perf_counter()
    while not state.step():
        pass
    train_s = time.perf_counter() - start
    env = RescaleAction(gym.make(c["env_id"]), -1.0, 1.0)
    returns = evaluate(lambda obs: np.clip(np.asarray(state.action(obs), dtype=np.float32), -1.0, 1.0), env, c)
    import importlib.metadata

    versions = {"version": importlib.metadata.version("rltools")}
    write_result(out, c, algo, "rltools", versions, compile_s + train_s, compile_s, returns, differs)


if __name__ == "__main__":
    cli(main, __doc__)

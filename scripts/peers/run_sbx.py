"""Trains one SBX (Stable-Baselines-Jax) agent with the hyperparameters of
an nnlab config, times the training apart from JAX's compilation, and
evaluates the trained policy as nnlab does (deterministic actions, the
config's eval_episodes episodes of a fresh Gymnasium environment).

    python run_sbx.py ALGO RESOLVED_CONFIG.toml OUT.json

ALGO: sac, td3, tqc, crossq, ppo, dqn. RESOLVED_CONFIG.toml: nnlab's `train --algo ALGO
--config ... --print-config` (every key, defaults included). scripts/peers/
run.sh sets one thread (XLA's Eigen pool off, one intra-op thread) and pins
the process to one CPU.

Timing: a callback stamps every environment step. JAX compiles the update
(and the policy's forward) on the first gradient step, which comes after
learning_starts steps (after the first rollout for PPO), and the delayed
actor update a step or two later: among the 50 steps from the first update,
the excess of every step over ten times the median step is compile_s, and
train_s is the whole of learn() less compile_s.
"""
import statistics
import time

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

from peer_common import cli, evaluate, load_config, write_result


class StepClock(BaseCallback):
    """Wall-clock stamps of every environment step."""

    def __init__(self):
        super().__init__()
        self.stamps = []

    def _on_step(self):
        self.stamps.append(time.perf_counter())
        return True


def ent_coef(c):
    """SBX's ent_coef for nnlab's temperature keys: tuned from initial_alpha (1.0 when absent), or fixed."""
    return f"auto_{float(c.get('initial_alpha', 1.0))}" if c.get("autotune", True) else c["alpha"]


def build(algo, c, differs):
    """The SBX model for `algo` with config `c`, and the step of its first update; what SBX's API
    cannot take from the config as it is goes into `differs` (the result's "differs")."""
    import sbx

    # CrossQ names its actor and critic sizes apart (below); the others have one `hidden_sizes`.
    net = {"net_arch": list(c["hidden_sizes"])} if "hidden_sizes" in c else {}
    seed = int(c["seed"])
    if algo == "sac":
        # CleanRL's policy_frequency p takes p actor steps every p updates, one per update on
        # average; SBX's policy_delay p takes one every p. Its delay is therefore 1: the same
        # number of actor steps (and FLOP), each right after its critic step.
        if c["policy_frequency"] != 1:
            differs.append(f"an actor step after every critic step, not {c['policy_frequency']} every "
                           f"{c['policy_frequency']} (the same number of actor steps)")
        return sbx.SAC(
            "MlpPolicy", gym.make(c["env_id"]), learning_rate=c["policy_lr"], qf_learning_rate=c["q_lr"],
            buffer_size=c["buffer_size"], learning_starts=c["learning_starts"], batch_size=c["batch_size"],
            tau=c["tau"], gamma=c["gamma"], train_freq=1, gradient_steps=1, policy_delay=1,
            ent_coef=ent_coef(c), policy_kwargs=net, seed=seed, verbose=0,
        ), c["learning_starts"]
    if algo == "tqc":
        kwargs = {"net_arch": list(c["hidden_sizes"]), "n_quantiles": c["n_quantiles"], "n_critics": c["n_critics"]}
        return sbx.TQC(
            "MlpPolicy", gym.make(c["env_id"]), learning_rate=c["learning_rate"], buffer_size=c["buffer_size"],
            learning_starts=c["learning_starts"], batch_size=c["batch_size"], tau=c["tau"], gamma=c["gamma"],
            train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
            top_quantiles_to_drop_per_net=c["top_quantiles_to_drop_per_net"],
            ent_coef=ent_coef(c), policy_kwargs=kwargs, seed=seed, verbose=0,
        ), c["learning_starts"]
    if algo == "crossq":
        kwargs = {
            "net_arch": {"pi": list(c["actor_hidden_sizes"]), "qf": list(c["critic_hidden_sizes"])},
            "batch_norm_momentum": c["batch_norm_momentum"], "renorm_warmup_steps": c["renorm_warmup_steps"],
            "batch_norm_actor": c["batch_norm_actor"], "n_critics": c["n_critics"],
            "optimizer_kwargs": {"b1": c["adam_beta1"]},
        }
        return sbx.CrossQ(
            "MlpPolicy", gym.make(c["env_id"]), learning_rate=c["learning_rate"],
            qf_learning_rate=c.get("q_learning_rate") or c["learning_rate"], buffer_size=c["buffer_size"],
            learning_starts=c["learning_starts"], batch_size=c["batch_size"], gamma=c["gamma"],
            train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"], policy_delay=c["policy_delay"],
            ent_coef=ent_coef(c), policy_kwargs=kwargs, seed=seed, verbose=0,
        ), c["learning_starts"]
    if algo == "td3":
        env = gym.make(c["env_id"])
        dim = env.action_space.shape[0]
        scale = float(np.max(env.action_space.high))
        sigma = c["exploration_noise"] * scale * np.ones(dim)
        noise = (OrnsteinUhlenbeckActionNoise(np.zeros(dim), sigma, theta=c["ou_theta"], dt=c["ou_dt"])
                 if c["noise_type"] == "ornstein-uhlenbeck" else NormalActionNoise(np.zeros(dim), sigma))
        return sbx.TD3(
            "MlpPolicy", env, learning_rate=c["learning_rate"], buffer_size=c["buffer_size"],
            learning_starts=c["learning_starts"], batch_size=c["batch_size"], tau=c["tau"], gamma=c["gamma"],
            train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"], policy_delay=c["policy_frequency"],
            target_policy_noise=c["policy_noise"], target_noise_clip=c["noise_clip"], action_noise=noise,
            policy_kwargs=net, seed=seed, verbose=0,
        ), c["learning_starts"]
    if algo == "ppo":
        from stable_baselines3.common.env_util import make_vec_env

        env = make_vec_env(c["env_id"], n_envs=c["num_envs"], seed=seed)
        batch = c["num_envs"] * c["num_steps"]
        lr = c["learning_rate"]
        return sbx.PPO(
            "MlpPolicy", env, learning_rate=(lambda f: f * lr) if c["anneal_lr"] else lr, n_steps=c["num_steps"],
            batch_size=batch // c["num_minibatches"], n_epochs=c["update_epochs"], gamma=c["gamma"],
            gae_lambda=c["gae_lambda"], clip_range=c["clip_coef"], normalize_advantage=c["norm_adv"],
            ent_coef=c["ent_coef"], vf_coef=c["vf_coef"], max_grad_norm=c["max_grad_norm"],
            policy_kwargs=net, seed=seed, verbose=0,
        ), batch // c["num_envs"]
    if algo == "dqn":
        return sbx.DQN(
            "MlpPolicy", gym.make(c["env_id"]), learning_rate=c["learning_rate"], buffer_size=c["buffer_size"],
            learning_starts=c["learning_starts"], batch_size=c["batch_size"], tau=c["tau"], gamma=c["gamma"],
            train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
            target_update_interval=c["target_network_frequency"], exploration_fraction=c["exploration_fraction"],
            exploration_initial_eps=c["start_e"], exploration_final_eps=c["end_e"],
            policy_kwargs=net, seed=seed, verbose=0,
        ), c["learning_starts"]
    raise SystemExit(f"run_sbx.py: no SBX mapping for '{algo}' (sac, td3, tqc, crossq, ppo, dqn)")


def main(algo, config_path, out):
    c = load_config(config_path)
    differs = []
    model, first_update_step = build(algo, c, differs)
    clock = StepClock()
    start = time.perf_counter()
    model.learn(total_timesteps=c["total_timesteps"], callback=clock)
    learn_s = time.perf_counter() - start
    stamps = [start] + clock.stamps
    steps = np.diff(stamps)
    # JAX compiles the policy's forward, the critic update and the delayed actor update on their
    # first calls, a few steps apart: the excess over ten times the median step, near the first update.
    k = max(0, min(first_update_step, len(steps) - 1) - 1)
    window = steps[k:k + 50]
    typical = statistics.median(steps[k + 50:k + 550]) if len(steps) > k + 60 else statistics.median(window)
    compile_s = float(sum(d - typical for d in window if d > 10 * typical))
    returns = evaluate(lambda obs: model.predict(obs, deterministic=True)[0], gym.make(c["env_id"]), c)
    import jax
    import sbx

    write_result(out, c, algo, "sbx", {"version": sbx.__version__, "jax": jax.__version__}, learn_s, compile_s, returns,
                 differs)


if __name__ == "__main__":
    cli(main, __doc__)

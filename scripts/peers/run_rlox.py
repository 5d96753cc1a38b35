"""Trains one rlox agent with the hyperparameters of an nnlab config (as far
as rlox's constructors take them; what they cannot take is listed in the
result's "differs"), times training, and evaluates the trained policy as
nnlab does (deterministic actions, eval_episodes fresh episodes).

    python run_rlox.py ALGO RESOLVED_CONFIG.toml OUT.json

ALGO: sac, td3, ppo, dqn. rlox 1.2.0's networks are two hidden layers of one
width (`hidden`): the config's first hidden size is used. Its torch runs on
one thread (torch.set_num_threads(1)); scripts/peers/run.sh pins the process
to one CPU.
"""
import time

import gymnasium as gym
import torch

from peer_common import cli, evaluate, load_config, write_result


def build(algo, c):
    hidden = int(c["hidden_sizes"][0])
    differs = []
    if len(set(c["hidden_sizes"])) != 1 or len(c["hidden_sizes"]) != 2:
        differs.append(f"hidden {hidden}x{hidden} for {list(c['hidden_sizes'])}")
    seed = int(c["seed"])
    if algo == "sac":
        from rlox.algorithms.sac import SAC

        if c["policy_lr"] != c["q_lr"]:
            differs.append(f"one learning rate {c['policy_lr']} (actor, critics, temperature) for policy_lr {c['policy_lr']} / q_lr {c['q_lr']}")
        if c["policy_frequency"] != 1:
            differs.append(f"actor updated every step, not {c['policy_frequency']} steps every {c['policy_frequency']} updates")
        if c.get("autotune", True) and float(c.get("initial_alpha", 1.0)) != 1.0:
            differs.append(f"the temperature tuned from rlox's own start, not initial_alpha {c['initial_alpha']}")
        return SAC(c["env_id"], buffer_size=c["buffer_size"], learning_rate=c["policy_lr"], batch_size=c["batch_size"],
                   tau=c["tau"], gamma=c["gamma"], learning_starts=c["learning_starts"], hidden=hidden,
                   ent_coef="auto" if c.get("autotune", True) else c["alpha"], seed=seed), differs
    if algo == "td3":
        from rlox.algorithms.td3 import TD3

        if c["noise_type"] != "normal":
            differs.append(f"normal exploration noise, not {c['noise_type']}")
        return TD3(c["env_id"], buffer_size=c["buffer_size"], learning_rate=c["learning_rate"], batch_size=c["batch_size"],
                   tau=c["tau"], gamma=c["gamma"], learning_starts=c["learning_starts"], hidden=hidden, seed=seed,
                   policy_delay=c["policy_frequency"], target_noise=c["policy_noise"], noise_clip=c["noise_clip"],
                   exploration_noise=c["exploration_noise"], train_freq=c["train_frequency"],
                   gradient_steps=c["gradient_steps"]), differs
    if algo == "ppo":
        from rlox.algorithms.ppo import PPO

        batch = c["num_envs"] * c["num_steps"]
        return PPO(c["env_id"], n_envs=c["num_envs"], seed=seed, n_steps=c["num_steps"], n_epochs=c["update_epochs"],
                   batch_size=batch // c["num_minibatches"], learning_rate=c["learning_rate"], clip_eps=c["clip_coef"],
                   vf_coef=c["vf_coef"], ent_coef=c["ent_coef"], max_grad_norm=c["max_grad_norm"], gamma=c["gamma"],
                   gae_lambda=c["gae_lambda"], normalize_advantages=c["norm_adv"], clip_vloss=c["clip_vloss"],
                   anneal_lr=c["anneal_lr"]), differs
    if algo == "dqn":
        from rlox.algorithms.dqn import DQN

        if c["tau"] != 1.0:
            differs.append(f"hard target copies every {c['target_network_frequency']} steps, not tau {c['tau']}")
        return DQN(c["env_id"], buffer_size=c["buffer_size"], learning_rate=c["learning_rate"], batch_size=c["batch_size"],
                   gamma=c["gamma"], target_update_freq=c["target_network_frequency"],
                   exploration_fraction=c["exploration_fraction"], exploration_initial_eps=c["start_e"],
                   exploration_final_eps=c["end_e"], learning_starts=c["learning_starts"], double_dqn=c["double_dqn"],
                   dueling=c["dueling"], hidden=hidden, train_freq=c["train_frequency"],
                   gradient_steps=c["gradient_steps"], max_grad_norm=c["max_grad_norm"], seed=seed), differs
    raise SystemExit(f"run_rlox.py: no rlox mapping for '{algo}' (sac, td3, ppo, dqn)")


def to_numpy(action):
    return action.detach().cpu().numpy() if isinstance(action, torch.Tensor) else action


def main(algo, config_path, out):
    torch.set_num_threads(1)
    c = load_config(config_path)
    torch.manual_seed(int(c["seed"]))
    agent, differs = build(algo, c)
    start = time.perf_counter()
    agent.train(total_timesteps=c["total_timesteps"])
    train_s = time.perf_counter() - start
    returns = evaluate(lambda obs: to_numpy(agent.predict(obs, deterministic=True)), gym.make(c["env_id"]), c)
    import importlib.metadata

    versions = {"version": importlib.metadata.version("rlox"), "torch": torch.__version__}
    write_result(out, c, algo, "rlox", versions, train_s, 0.0, returns, differs)


if __name__ == "__main__":
    cli(main, __doc__)

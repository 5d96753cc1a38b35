"""What every peer runner shares: reading the resolved nnlab config, the
evaluation (nnlab's way: deterministic actions, eval_episodes fresh
episodes, seeds 10,000 + seed + i), and the result JSON."""
import json
import sys
import tomllib

import gymnasium as gym
import numpy as np


def load_config(path):
    """The resolved nnlab config (`--print-config`'s TOML)."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def evaluate(act, env, c):
    """Mean returns of `act(obs) -> action` over the config's eval_episodes episodes of `env`."""
    returns = []
    for i in range(int(c.get("eval_episodes", 10))):
        obs, _ = env.reset(seed=10_000 + int(c["seed"]) + i)
        done, total = False, 0.0
        while not done:
            action = np.asarray(act(obs))
            if isinstance(env.action_space, gym.spaces.Discrete):
                action = int(action.reshape(-1)[0])
            else:
                action = action.astype(np.float32).reshape(env.action_space.shape)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def write_result(out, c, algo, peer, versions, learn_s, compile_s, returns, differs=()):
    """Writes (and prints) the run's result JSON, the shape `bench --peers` reads."""
    result = {
        "peer": peer, **versions, "algo": algo, "env_id": c["env_id"], "seed": int(c["seed"]),
        "total_timesteps": c["total_timesteps"], "learn_s": learn_s, "compile_s": compile_s,
        "train_s": learn_s - compile_s, "eval_mean": float(np.mean(returns)), "eval_std": float(np.std(returns)),
        "eval_episodes": len(returns), "differs": list(differs),
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))


def cli(main, doc):
    """`python run_PEER.py ALGO RESOLVED_CONFIG.toml OUT.json`."""
    if len(sys.argv) != 4:
        print(doc, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])

"""PyPI MinAtar's environment steps per second, for `bench --minatar`.

Usage (MinAtar from scripts/minatar/install.sh):
    python steps_per_s.py STEPS REPEATS [GAME ...]

Per game, STEPS steps of uniformly random actions of the minimal set, two ways:
- "raw": MinAtar's Environment(game) (sticky actions 0.1, ramping), seed(0),
  reset(), then `act(a)` and `state()` each step (what the Gymnasium wrapper
  returns every step), reset on a terminal;
- "gymnasium": gymnasium.make("MinAtar/<Game>-v1") (MinAtar's own ids and
  wrapper, with Gymnasium's default wrappers), reset(seed=0), step(a),
  reset on terminated or truncated.
Each is timed REPEATS times and the best kept (as `bench --minatar` does
for nnlab). Prints one JSON line: {"raw": {game: steps_per_s}, "gymnasium": {...}}.
"""
import json
import sys
import time

import numpy as np
import gymnasium as gym
from minatar import Environment
from minatar.gym import register_envs

GAMES = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]


def raw_steps_per_s(game, steps):
    env = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
    env.seed(0)
    env.reset()
    actions = env.minimal_action_set()
    choices = np.random.RandomState(1).randint(len(actions), size=steps)
    start = time.perf_counter()
    for i in range(steps):
        _, terminal = env.act(actions[choices[i]])
        env.state()
        if terminal:
            env.reset()
    return steps / (time.perf_counter() - start)


def gym_steps_per_s(game, steps):
    env = gym.make("MinAtar/" + game.title().replace("_", "") + "-v1")
    env.reset(seed=0)
    choices = np.random.RandomState(1).randint(env.action_space.n, size=steps)
    start = time.perf_counter()
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(int(choices[i]))
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main():
    steps, repeats = int(sys.argv[1]), int(sys.argv[2])
    games = sys.argv[3:] or GAMES
    register_envs()
    best = lambda f, g: max(f(g, steps) for _ in range(repeats))
    print(json.dumps({"raw": {g: best(raw_steps_per_s, g) for g in games},
                      "gymnasium": {g: best(gym_steps_per_s, g) for g in games}}))


if __name__ == "__main__":
    main()

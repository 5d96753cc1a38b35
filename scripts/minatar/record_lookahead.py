"""Record MinAtar episodes played by a short-lookahead policy, in the format of
envs-minatar/tests/fixtures/README.md, so that the parity check covers what
random play never reaches: Seaquest's divers, surfacing and enemy subs,
Space Invaders' later waves, Asterix's difficulty ramp, Freeway's crossings.

Seaquest takes its own goal (surface with six divers or low oxygen, else fetch
the nearest diver, else fire) unless the lookahead finds it deadly. Breakout follows the ball instead (a third of the time an action in random
order), checked by playing on that way for 25 frames and Freeway mostly presses
up (80%), where a short lookahead sees nothing.

Usage (MinAtar from scripts/minatar/install.sh):
    python record_lookahead.py OUT.json SEED [SEED ...] [--max-steps N] [--games a,b]

Each step the policy copies the environment (copy.deepcopy, so the real
environment's random stream is untouched), tries every action of the minimal
set followed by `DEPTH` random actions, and takes the action whose rollouts
scored best (reward, minus 100 for a terminal), ties and rollouts drawn from
np.random.RandomState(seed + 1000). The chosen action goes to env.act as
the recorder beside the fixture does (sticky actions apply).
"""
import copy
import json
import pathlib
import sys
from importlib.metadata import version

import numpy as np
from minatar import Environment

# The format's packing and Breakout's ball-landing rule live in the fixtures' own recorder.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "envs-minatar" / "tests" / "fixtures"))
from record_minatar import landing_column, pack  # noqa: E402

GAMES = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]
DEPTH, ROLLOUTS = 12, 2


def tracker(b):
    """Breakout: toward where the falling ball lands; under the ball while it rises."""
    target = landing_column(b) if b.ball_dir in (2, 3) else b.ball_x
    return 1 if target < b.pos else 3 if target > b.pos else 0


def choose(env, policy):
    actions = env.minimal_action_set()
    if env.game_name() == "breakout":
        # Random rollouts are too short-sighted for Breakout: follow the ball,
        # and take another action where following it loses within 25 frames.
        # A third of the time another order, so that the ball's path changes and walls get cleared.
        order = [tracker(env.env)] + [a for a in actions if a != tracker(env.env)]
        if policy.rand() < 1 / 3:
            order = [order[i] for i in policy.permutation(len(order))]
        for a in order:
            sim = copy.deepcopy(env)
            t = sim.act(a)[1]
            for _ in range(25):
                if t:
                    break
                t = sim.act(tracker(sim.env))[1]
            if not t:
                return int(a)
        return int(tracker(env.env))
    if env.game_name() == "freeway" and policy.rand() < 0.8:
        return 2  # up: random play (and a short lookahead) hardly ever crosses
    scores = []
    for a in actions:
        total = 0.0
        for _ in range(ROLLOUTS):
            sim = copy.deepcopy(env)
            r, t = sim.act(a)
            total += r - 100 * t
            for _ in range(DEPTH):
                if t:
                    break
                r, t = sim.act(actions[policy.randint(len(actions))])
                total += r - 100 * t
        scores.append(total)
    best = [a for a, s in zip(actions, scores) if s == max(scores)]
    if env.game_name() == "seaquest":
        wanted = seaquest_goal(env.env)
        if scores[actions.index(wanted)] > max(scores) - 50:
            return wanted
    return int(best[policy.randint(len(best))])


def seaquest_goal(g):
    """Seaquest: surface with six divers (or when oxygen runs low), otherwise
    fetch the nearest diver, otherwise shoot; the caller vetoes deadly moves."""
    up, down, left, right, fire = 2, 4, 1, 3, 5
    if g.diver_count == 6 or (g.oxygen < 45 and g.diver_count > 0):
        return up if g.sub_y > 0 else fire
    if g.sub_y == 0:
        return down
    if g.divers:
        d = min(g.divers, key=lambda d: abs(d[0] - g.sub_x) + abs(d[1] - g.sub_y))
        if d[1] != g.sub_y:
            return up if d[1] < g.sub_y else down
        if d[0] != g.sub_x:
            return left if d[0] < g.sub_x else right
    return fire


def record(game, seed, max_steps):
    env = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
    env.seed(seed)
    env.reset()
    policy = np.random.RandomState(seed + 1000)
    ep = {"game": game, "seed": seed, "sticky_action_prob": 0.1, "difficulty_ramping": True,
          "state_shape": list(env.state_shape()), "minimal_action_set": [int(a) for a in env.minimal_action_set()],
          "policy": "lookahead", "initial_state": pack(env.state()), "steps": []}
    for _ in range(max_steps):
        a = choose(env, policy)
        r, terminal = env.act(a)
        ep["steps"].append({"a": a, "r": float(r), "t": bool(terminal), "s": pack(env.state())})
        if terminal:
            break
    return ep


def main():
    args = sys.argv[1:]
    max_steps, games = 1000, GAMES
    if "--max-steps" in args:
        i = args.index("--max-steps"); max_steps = int(args[i + 1]); del args[i:i + 2]
    if "--games" in args:
        i = args.index("--games"); games = args[i + 1].split(","); del args[i:i + 2]
    out, seeds = args[0], [int(s) for s in args[1:]]
    data = {"minatar_version": version("MinAtar"), "numpy_version": np.__version__, "max_steps": max_steps,
            "episodes": [record(g, s, max_steps) for g in games for s in seeds]}
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    for e in data["episodes"]:
        print(f'{e["game"]:15s} seed {e["seed"]}: {len(e["steps"])} steps, return {sum(s["r"] for s in e["steps"]):.0f}, '
              f'terminal {e["steps"][-1]["t"]}')


if __name__ == "__main__":
    main()

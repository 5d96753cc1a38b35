#!/usr/bin/env bash
# The rliable reports of the reference runs, one per family:
#   dqn-family:  DQN, C51 and QR-DQN on CartPole-v1, Acrobot-v1, MountainCar-v0
#   off-policy:  SAC, TD3 and DDPG on Pendulum-v1 and MountainCarContinuous-v0
#                (TD3 and DDPG at the zoo's 300k-step budget there)
# scored by each run's final deterministic evaluation (--rank-by eval, the
# zoo's measure), written to ROOT/<family>/ (default results/reference/reports).
#
#   scripts/reference-reports.sh [--reps N] [--out ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=50000
root=results/reference/reports
while [ "$#" -gt 0 ]; do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --out) root="$2"; shift 2 ;;
        *) echo "usage: $0 [--reps N] [--out ROOT]" >&2; exit 2 ;;
    esac
done
ref=results/reference
report() { cargo run --release --quiet --bin report -- --rank-by eval --reps "$reps" --quiet "$@"; }
report "dqn=$ref/dqn_cartpole/preset" "dqn=$ref/dqn_Acrobot-v1" "dqn=$ref/dqn_MountainCar-v0" \
    "c51=$ref/c51_CartPole-v1" "c51=$ref/c51_Acrobot-v1" "c51=$ref/c51_MountainCar-v0" \
    "qrdqn=$ref/qrdqn_CartPole-v1" "qrdqn=$ref/qrdqn_Acrobot-v1" "qrdqn=$ref/qrdqn_MountainCar-v0" \
    --out "$root/dqn-family"
report "sac=$ref/sac_Pendulum-v1" "sac=$ref/sac_MountainCarContinuous-v0" \
    "td3=$ref/td3_Pendulum-v1" "td3=$ref/td3_MountainCarContinuous-v0_300k" \
    "ddpg=$ref/ddpg_Pendulum-v1" "ddpg=$ref/ddpg_MountainCarContinuous-v0_300k" \
    --out "$root/off-policy"

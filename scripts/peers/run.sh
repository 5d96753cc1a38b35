#!/usr/bin/env bash
# One peer run with the hyperparameters of an nnlab config: the config is
# resolved by nnlab itself (`train --algo ALGO --config FILE --seed SEED
# [--set K=V ...] --print-config`: every key, defaults included), then the
# peer's runner (scripts/peers/run_PEER.py) trains with them on one thread,
# pinned to one CPU (taskset; NNLAB_PEER_CPU, default 0), and writes a JSON
# result: training seconds (compile or JIT time apart), final evaluation.
#
#   scripts/peers/run.sh sbx sac experiments/configs/sac/Pendulum-v1-cleanrl.toml 1 /tmp/sbx-sac-1.json
#   scripts/peers/run.sh rlox ppo experiments/configs/ppo/CartPole-v1.toml 1 /tmp/rlox-ppo-1.json --set total_timesteps=500000
set -euo pipefail
if [ "$#" -lt 5 ]; then
    echo "usage: $0 sbx|rlox|rltools ALGO CONFIG.toml SEED OUT.json [--set KEY=VALUE ...]" >&2
    exit 2
fi
peer="$1" algo="$2" config="$3" seed="$4" out="$5"
shift 5
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -f "$config" ] || { echo "$0: no config file $config" >&2; exit 2; }
[ -f "$here/run_$peer.py" ] || { echo "$0: unknown peer '$peer' (sbx, rlox, rltools)" >&2; exit 2; }
venv="$("$here/install.sh" "$peer")"
(cd "$root" && cargo build --release --quiet --bin train)
resolved="$(mktemp --suffix=.toml)"
trap 'rm -f "$resolved"' EXIT
"$root/target/release/train" --algo "$algo" --config "$config" --seed "$seed" "$@" --print-config > "$resolved"
cpu="${NNLAB_PEER_CPU:-0}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export JAX_PLATFORMS=cpu
exec taskset -c "$cpu" "$venv/bin/python" "$here/run_$peer.py" "$algo" "$resolved" "$out"

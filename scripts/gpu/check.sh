#!/usr/bin/env bash
# The one prepared device check (staged by scripts/gpu/stage.sh): on the GPU
# machine's host CPU (another CPU model than the development machines), the
# portable golden tests plainly and under foreign dispatch settings, the
# numerics fingerprint against the committed one, the portable DQN metrics
# and the classifier weights remade; then CUDA smoke runs beside the CPU.
# Writes its findings under $OUT.
set -u
export LD_LIBRARY_PATH=/opt/torch/.venv/lib/python3.12/site-packages/torch/lib
export NNLAB_CACHE=$PWD/.gpu/cache
fp=$PWD/scripts/gpu/expected-fingerprint.txt
cd .gpu
{ lscpu | grep -E "Model name|^CPU\(s\)"; ldd --version | head -1; nvidia-smi -L; } 2>&1 | tee "$OUT/host.txt"
for foreign in "X=1" "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2" "ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2"; do
    echo "== golden tests with $foreign"
    for t in ./golden-*; do env $foreign "$t" 2>&1 | grep -E "^test |test result|differs"; done
done
echo "== numerics fingerprint against the committed one (ATen sqrt, CPU-dependent by design, left out)"
./numerics_check --numerics portable | grep -v -E "^numerics|torch (sqrt|pow 0.5) " | diff "$fp" - && echo "fingerprint: identical"
./train --algo dqn --env CartPole-v1 --numerics portable --seed 7 --total-timesteps 20000 --no-gif --quiet --out "$OUT/dqn-portable-seed7" >/dev/null
echo "portable DQN metrics: $(md5sum < "$OUT/dqn-portable-seed7/metrics.csv") (expected 76711a4c47d167d7b1eae5410cbeb005)"
./fd_classifier --out "$OUT/fd_cnn.safetensors" 2>&1 | tail -n 3
echo "(expected sha256 01d256100b9805b789d12ac52b56eb8d21147857ad732c7b2374008dcb06ec06, 8993 of 10000)"
echo "== CUDA beside the CPU (steps or epochs per second; same seed, same length)"
row() { printf '%-8s %-5s %s\n' "$1" "$2" "$(grep -hE "$3" "$4/summary.json" | tr -d ' \n')"; }
for dev in cuda cpu; do
    # The CPU side on all 16 host cores for the convolutional models (a fair comparison).
    threads=1; [ "$dev" = cpu ] && threads=16
    ./train --algo dqn --env CartPole-v1 --device "$dev" --seed 1 --total-timesteps 30000 --no-gif --quiet --out "$OUT/dqn-$dev" >/dev/null && row dqn "$dev" '"device"|steps_per_second|train_return_last100' "$OUT/dqn-$dev"
    ./train --algo ppo --env CartPole-v1 --device "$dev" --seed 1 --total-timesteps 50000 --no-gif --quiet --out "$OUT/ppo-$dev" >/dev/null && row ppo "$dev" '"device"|steps_per_second|train_return_last100' "$OUT/ppo-$dev"
    ./vae_fashion_mnist --device "$dev" --threads "$threads" --epochs 1 --quiet --out "$OUT/vae-$dev" >/dev/null && row vae "$dev" '"device"|test_loss|epoch_time_s' "$OUT/vae-$dev"
    ./dcgan_fashion_mnist --device "$dev" --threads "$threads" --epochs 1 --quiet --out "$OUT/dcgan-$dev" >/dev/null && row dcgan "$dev" '"device"|"frechet_distance"|epoch_time_s' "$OUT/dcgan-$dev"
done 2>&1 | tee "$OUT/cuda-vs-cpu.txt"

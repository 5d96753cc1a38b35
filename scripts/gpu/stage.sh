#!/usr/bin/env bash
# Stages the one prepared device check (scripts/gpu/check.sh) into .gpu/
# (ignored by git; the device tool's `carry`): release binaries, the golden
# test executables, Fashion-MNIST. Run here, then on the device:
#   run(command="bash scripts/gpu/check.sh", carry=[".gpu"], timeout_s=420)
# The device tool also copies the tracked files, 64 MiB in all with `carry`;
# results/ is kept under 40 MB (scripts/check-results.sh), but with a large
# .gpu/ it may still be worth moving aside for the call
# (mv results /tmp/results-aside) and back afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup.sh
cargo build --release --bin numerics_check --bin fd_classifier --bin vae_fashion_mnist --bin train --bin dcgan_fashion_mnist
mapfile -t golden < <(cargo test --release -p nnlab-agents -p nnlab-generative --test golden --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "golden":
        print(m["package_id"].split("#")[0].rsplit("/", 1)[-1], m["executable"])')
rm -rf .gpu && mkdir -p .gpu/cache/datasets
for entry in "${golden[@]}"; do
    cp "${entry#* }" ".gpu/golden-${entry%% *}"
done
cp target/release/{numerics_check,fd_classifier,vae_fashion_mnist,train,dcgan_fashion_mnist} .gpu/
# Symbols are not needed there; the carry limit is 64 MiB in all.
strip .gpu/numerics_check .gpu/fd_classifier .gpu/vae_fashion_mnist .gpu/train .gpu/dcgan_fashion_mnist .gpu/golden-*
cp -r "${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}/datasets/fashion-mnist" .gpu/cache/datasets/
du -sh .gpu

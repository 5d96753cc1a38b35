#!/usr/bin/env bash
# Proves that the golden values do not depend on the CPU: runs the golden
# tests (recorded in portable numerics) again
#   1. under foreign CPU-dispatch settings preset in the environment (as if
#      ATen, MKL and oneDNN had picked the code paths of other CPUs), and
#   2. on an emulated Intel Haswell CPU (QEMU user mode: another vendor,
#      another instruction set, exact emulation of the approximate
#      instructions whose bits differ between real CPU models),
# and compares the numerics fingerprint (numerics_check) of this CPU with the
# emulated one's. Installs qemu-user from Debian's packages when missing.
# About 12 minutes on 2 cores, most of it under emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'check-portability: %s\n' "$*" >&2; }

# The test executables, built as the README's test command builds them.
mapfile -t golden < <(cargo test --release -p nnlab-agents -p nnlab-generative -p nnlab-vision -p nnlab-text --test golden --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "golden":
        print(m["executable"])')
[ "${#golden[@]}" -eq 4 ] || { say "could not build the golden test executables"; exit 1; }
cargo build --release --bin numerics_check

for foreign in \
    "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2" \
    "ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2" \
    "ATEN_CPU_CAPABILITY=avx512 MKL_CBWR=AVX512 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=2"; do
    say "golden tests with $foreign"
    for t in "${golden[@]}"; do env $foreign "$t" --quiet; done
done

if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    say "installing qemu-user (Debian) for the emulated CPU"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q qemu-user >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q qemu-user >/dev/null; }
fi
cpu=Haswell
say "numerics fingerprint: this CPU against an emulated $cpu"
native="$(target/release/numerics_check --numerics portable | grep -v -E '^numerics|torch (sqrt|pow 0.5) ')"
emulated="$(qemu-x86_64 -cpu "$cpu" target/release/numerics_check --numerics portable 2>/dev/null | grep -v -E '^numerics|torch (sqrt|pow 0.5) ')"
if [ "$native" != "$(cat scripts/gpu/expected-fingerprint.txt)" ]; then
    say "note: this CPU's fingerprint differs from the committed one (recorded on an AMD EPYC) in these operations:"
    diff scripts/gpu/expected-fingerprint.txt <(echo "$native") >&2 || true
fi
if [ "$native" != "$emulated" ]; then
    diff <(echo "$native") <(echo "$emulated") >&2 || true
    say "the portable numerics differ on the emulated $cpu"
    exit 1
fi
say "golden tests on an emulated $cpu (slow: every instruction is emulated)"
for t in "${golden[@]}"; do qemu-x86_64 -cpu "$cpu" "$t" --quiet 2>&1 | grep -v "TCG doesn't support"; done
say "ok: golden values hold under foreign dispatch settings and on an emulated $cpu"

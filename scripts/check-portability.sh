#!/usr/bin/env bash
# Proves that the golden values do not depend on the CPU: runs the golden
# tests (recorded in portable numerics) again
#   1. under foreign CPU-dispatch settings preset in the environment (as if
#      ATen, MKL and oneDNN had picked the code paths of other CPUs), and
#   2. on emulated Intel Haswell and Nehalem CPUs (QEMU user mode: other
#      instruction sets, with and without AVX2 and FMA, exact emulation of the
#      approximate instructions whose bits differ between real CPU models): the numerics
#      fingerprint (numerics_check: every kernel family the models use, the
#      convolutions forward and backward included) of this CPU against the
#      emulated one's, then one golden test per model family that is cheap
#      to emulate (the language models, the Gaussian-policy agents).
# Emulation costs 30-350 times the native time, and the factor varies from
# host to host by 3 times, so the emulated goldens are chosen to take about
# 1 minute per emulated CPU here (the convolutional and replay-buffer goldens take 2-5
# minutes each emulated and are left to the fingerprint and the native runs).
# NNLAB_EMULATE_ALL=1 emulates every golden test instead (an hour or more).
# Installs qemu-user from Debian's packages when missing.
# About 6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'check-portability: %s\n' "$*" >&2; }

# The test executables, built as the README's test command builds them.
# Each line: the crate's folder, then its golden test executable.
mapfile -t golden < <(cargo test --release -p nnlab-agents -p nnlab-generative -p nnlab-vision -p nnlab-text --test golden --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json, os
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "golden":
        print(os.path.basename(os.path.dirname(m["manifest_path"])), m["executable"])')
[ "${#golden[@]}" -eq 4 ] || { say "could not build the golden test executables"; exit 1; }
exe() { for g in "${golden[@]}"; do [ "${g%% *}" = "$1" ] && echo "${g#* }"; done; }
cargo build --release --bin numerics_check

for foreign in \
    "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2" \
    "ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2" \
    "ATEN_CPU_CAPABILITY=avx512 MKL_CBWR=AVX512 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=2"; do
    say "golden tests with $foreign"
    for g in "${golden[@]}"; do env $foreign "${g#* }" --quiet; done
done

if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    say "installing qemu-user (Debian) for the emulated CPU"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q qemu-user >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q qemu-user >/dev/null; }
fi
emulate() { # CPU model, crate, then the exact names of its tests to run
    local cpu=$1 crate=$2 log; shift 2
    say "  $cpu, $crate: $*"
    log="$(qemu-x86_64 -cpu "$cpu" "$(exe "$crate")" ${1:+--exact} "$@" --quiet 2>&1)" || { echo "$log" >&2; say "a golden test failed on the emulated $cpu"; exit 1; }
    echo "$log" | grep -v "TCG doesn't support" >&2 || true
    [ $# -eq 0 ] || echo "$log" | grep -q "test result: ok. $# passed" || { say "expected $# tests to pass in $crate"; exit 1; }
}
native="$(target/release/numerics_check --numerics portable | grep -v -E '^numerics|torch (sqrt|pow 0.5) ')"
if [ "$native" != "$(cat scripts/gpu/expected-fingerprint.txt)" ]; then
    say "note: this CPU's fingerprint differs from the committed one (recorded on an AMD EPYC, the convolution, sort, lerp and 2-D batch_norm rows on an Intel Xeon) in these operations:"
    diff scripts/gpu/expected-fingerprint.txt <(echo "$native") >&2 || true
fi
# Haswell: AVX2 and FMA, Intel. Nehalem: SSE4.2 only, no AVX or FMA (glibc's
# libm takes other code paths there, which is why nnlab's Rust code uses the
# libm crate: clippy.toml).
for cpu in Haswell Nehalem; do
    say "numerics fingerprint: this CPU against an emulated $cpu"
    emulated="$(qemu-x86_64 -cpu "$cpu" target/release/numerics_check --numerics portable 2>/dev/null | grep -v -E '^numerics|torch (sqrt|pow 0.5) ')"
    if [ "$native" != "$emulated" ]; then
        diff <(echo "$native") <(echo "$emulated") >&2 || true
        say "the portable numerics differ on the emulated $cpu"
        exit 1
    fi
    say "golden tests on an emulated $cpu (slow: every instruction is emulated)"
    if [ -n "${NNLAB_EMULATE_ALL:-}" ]; then # every golden test (about an hour per CPU, more on some hosts)
        for g in "${golden[@]}"; do emulate "$cpu" "${g%% *}"; done
    else
        emulate "$cpu" text the_seed_rnn_matches_golden_values the_lstm_matches_golden_values the_gru_matches_golden_values the_transformer_matches_golden_values
        emulate "$cpu" agents reinforce_with_normalisation_on_pendulum_matches_golden_values a2c_with_a_shared_torso_on_pendulum_matches_golden_values
    fi
done
say "ok: golden values hold under foreign dispatch settings and on emulated Haswell and Nehalem CPUs"

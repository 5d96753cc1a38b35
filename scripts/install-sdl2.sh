#!/usr/bin/env bash
# Installs what the `gym-rs` feature needs to build (gym-rs 0.3 renders with
# SDL2: its sdl2-sys builds SDL2 with cmake and links SDL2_gfx): Debian's
# cmake, libsdl2-dev and libsdl2-gfx-dev. Idempotent; needs root.
set -euo pipefail
if command -v cmake >/dev/null 2>&1 && dpkg -s libsdl2-dev libsdl2-gfx-dev >/dev/null 2>&1; then
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install-sdl2: needs root (apt-get install cmake libsdl2-dev libsdl2-gfx-dev)" >&2; exit 1; }
echo "install-sdl2: installing cmake, libsdl2-dev, libsdl2-gfx-dev (Debian)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends cmake libsdl2-dev libsdl2-gfx-dev >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends cmake libsdl2-dev libsdl2-gfx-dev >/dev/null; }

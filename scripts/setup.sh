#!/usr/bin/env bash
# Installs what Charades needs on Debian/Ubuntu: system packages (when missing) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(chromium ffmpeg redis-server python3-torch python3-onnx python3-numpy python3-pytest libopenblas0-pthread fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# `npm install` honours package-lock.json; `npm ci` is not used because it insists on lock entries for every
# platform's optional binaries, and registry mirrors that carry only some platforms cannot provide them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

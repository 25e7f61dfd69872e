#!/usr/bin/env bash
# Installs what Charades needs on Debian/Ubuntu: system packages (when missing), the npm dependencies, and the
# build (dist/) that bin/charades.js runs.
#   --with-llama   also install the optional local-LLM backend, node-llama-cpp (CPU build only; see LLAMA_PACKAGE);
#                  `npm test` needs it because the llama tests run it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Not in package.json: npm would install it, and its GPU builds, for everyone. This is the version the tests ran.
LLAMA_PACKAGE=node-llama-cpp@3.22.1
with_llama=0
for arg in "$@"; do
  case "$arg" in
    --with-llama) with_llama=1 ;;
    *) echo "setup.sh: unknown option $arg (known: --with-llama)" >&2; exit 2 ;;
  esac
done

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
pkgs=(ffmpeg redis-server python3-torch python3-onnx python3-numpy python3-pytest libopenblas0-pthread fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# The renderer prefers Chromium's headless shell (~175 MB less per running bot than full Chromium, same pixels).
browser=""
dpkg -s chromium-headless-shell >/dev/null 2>&1 || browser=chromium-headless-shell
if [ ${#missing[@]} -gt 0 ] || [ -n "$browser" ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Releases older than Debian 12's security updates have no headless-shell package: full Chromium works too.
  if [ -n "$browser" ] && ! apt-cache show chromium-headless-shell >/dev/null 2>&1; then
    browser=""
    dpkg -s chromium >/dev/null 2>&1 || browser=chromium
  fi
  [ -n "$browser" ] && missing+=("$browser")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
fi

# `npm install` honours package-lock.json; `npm ci` is not used because it insists on lock entries for every
# platform's optional binaries, and registry mirrors that carry only some platforms cannot provide them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
if [ "$with_llama" -eq 1 ] && [ ! -d node_modules/node-llama-cpp ]; then
  echo "installing the optional local-LLM backend: $LLAMA_PACKAGE"
  # --no-save: it stays out of package.json and the lock, so a plain install remains lean.
  npm install --no-save --no-audit --no-fund "$LLAMA_PACKAGE"
fi
node scripts/prune-native.mjs node_modules
npm run build --silent

#!/usr/bin/env node
/**
 * Deletes native binaries in node_modules that this machine can never load, after `npm install`:
 *
 * - onnxruntime-node ships its library for every OS and CPU in one package (bin/napi-v6/<os>/<cpu>: 69 MB for
 *   Linux, 220 MB for macOS and Windows). Only this process's platform/arch folder stays.
 * - node-llama-cpp (optional, `scripts/setup.sh --with-llama`) pulls prebuilt CUDA and Vulkan builds (610 MB);
 *   Charades loads it with `gpu: false`, so only the plain CPU build for this platform stays. Set
 *   CHARADES_LLAMA_GPU=1 to keep the GPU builds for your own use of the package.
 *
 * npm puts these files back on the next install that touches the packages; running this again is harmless.
 * Usage: node scripts/prune-native.mjs [node_modules folder]
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const modules = resolve(process.argv[2] ?? 'node_modules');
const { platform, arch } = process;

function sizeMb(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size / 2 ** 20;
  return readdirSync(path).reduce((sum, name) => sum + sizeMb(join(path, name)), 0);
}

function remove(path, removed) {
  removed.push({ path, mb: sizeMb(path) });
  rmSync(path, { recursive: true, force: true });
}

/** onnxruntime-node/bin/napi-v*\/<os>/<cpu>: everything but this platform's folder. */
function pruneOnnxRuntime(removed) {
  const bin = join(modules, 'onnxruntime-node', 'bin');
  if (!existsSync(bin)) return;
  for (const napi of readdirSync(bin)) {
    for (const os of readdirSync(join(bin, napi))) {
      const osDir = join(bin, napi, os);
      if (os !== platform) {
        remove(osDir, removed);
        continue;
      }
      for (const cpu of readdirSync(osDir)) if (cpu !== arch) remove(join(osDir, cpu), removed);
    }
  }
}

/** @node-llama-cpp/<build>: only the CPU build for this platform (its name is exactly `<os>-<cpu>`). */
function pruneLlamaBuilds(removed) {
  const scope = join(modules, '@node-llama-cpp');
  if (!existsSync(scope) || process.env.CHARADES_LLAMA_GPU === '1') return;
  const os = platform === 'win32' ? 'win' : platform === 'darwin' ? 'mac' : platform;
  const keep = `${os}-${arch}`;
  // No plain CPU build under that name (macOS on Apple silicon only has `mac-arm64-metal`): leave them all.
  if (!existsSync(join(scope, keep))) return;
  for (const build of readdirSync(scope)) if (build !== keep) remove(join(scope, build), removed);
}

const removed = [];
pruneOnnxRuntime(removed);
pruneLlamaBuilds(removed);
const total = removed.reduce((sum, r) => sum + r.mb, 0);
if (removed.length > 0) {
  console.log(
    `pruned ${total.toFixed(0)} MB of native binaries for other platforms or GPUs (${removed.map((r) => r.path.slice(modules.length + 1)).join(', ')})`,
  );
}

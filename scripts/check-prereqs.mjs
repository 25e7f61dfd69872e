#!/usr/bin/env node
// Fails loudly, with the fix, when something the test suite needs is missing. Tests never skip silently.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const problems = [];
const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
};
const apt =
  'sudo apt-get install -y chromium-headless-shell ffmpeg redis-server python3-torch python3-onnx python3-numpy python3-pytest libopenblas0-pthread (or: bash scripts/setup.sh)';

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) problems.push(`Node ${process.versions.node} is too old: install Node 20 or newer.`);
if (!existsSync(resolve(root, 'node_modules', 'onnxruntime-node')))
  problems.push('node_modules is missing: run `bash scripts/setup.sh` (or `npm install`).');
const py = '/usr/bin/python3';
if (!existsSync(py)) problems.push(`${py} is missing: ${apt}`);
else {
  for (const mod of ['torch', 'onnx', 'numpy', 'pytest']) {
    if (run(py, ['-c', `import ${mod}`]) === null) problems.push(`Python module ${mod} is missing under ${py}: ${apt}`);
  }
  const blas = run(py, ['-c', 'import torch; print(torch.__config__.show())']) ?? '';
  if (!existsSync('/usr/lib/x86_64-linux-gnu/openblas-pthread') && !blas.includes('openblas')) {
    problems.push(`libopenblas0-pthread is missing (PyTorch runs ~15x slower without it): ${apt}`);
  }
}
const chromium =
  process.env.CHROMIUM_PATH ??
  [
    '/usr/lib/chromium/chromium-headless-shell',
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ].find((p) => existsSync(p));
if (!chromium || !existsSync(chromium))
  problems.push(
    `Chromium not found (CHROMIUM_PATH, /usr/lib/chromium/chromium-headless-shell, /usr/bin/chromium): ${apt}`,
  );
if (!process.env.FFMPEG_PATH && run('ffmpeg', ['-version']) === null)
  problems.push(`ffmpeg not found (FFMPEG_PATH, PATH): ${apt}`);
// The optional local-LLM backend is not a dependency, but its tests run real generation with a tiny GGUF.
if (!existsSync(resolve(root, 'node_modules', 'node-llama-cpp'))) {
  problems.push(
    'node-llama-cpp (the optional local-LLM backend) is missing; the llama tests run it: `bash scripts/setup.sh --with-llama`.',
  );
}
if (run('redis-server', ['--version']) === null)
  problems.push(`redis-server not found (the BullMQ tests start one): ${apt}`);
const data = process.env.CHARADES_DATA ?? resolve(root, '..', 'shared', 'data', 'motion');
if (!existsSync(resolve(data, 'index.jsonl')))
  problems.push(`motion data not found at ${data}: set CHARADES_DATA to the folder with index.jsonl.`);

if (problems.length) {
  console.error('charades test prerequisites are missing:\n' + problems.map((p) => `  - ${p}`).join('\n'));
  process.exit(1);
}
console.log('prerequisites ok');

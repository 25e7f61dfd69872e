// Lazy loading, proven from outside: the CLI runs in a child process under a module-resolution hook that logs
// every module it resolves, so "loads neither onnxruntime-node nor three" is read off what Node actually loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'charades.js');

const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.CHARADES_MODULE_LOG, resolved.url + '\\n');
  return resolved;
}
`;
const REGISTER = `import { register } from 'node:module';
register('./hooks.mjs', import.meta.url);
`;

/** Runs `node --import <hook> ARGV` and returns its stdout and every module URL it resolved. */
function runLogged(argv: string[]): { stdout: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'charades-lazy-'));
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'register.mjs'), REGISTER);
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), ...argv], {
    cwd: ROOT,
    env: { ...process.env, CHARADES_MODULE_LOG: log },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `node ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const loads = (modules: string[], pkg: string) => modules.some((url) => url.includes(`/node_modules/${pkg}/`));

test('`charades data stats` loads neither onnxruntime-node nor three', () => {
  const { stdout, modules } = runLogged([BIN, 'data', 'stats', '--json']);
  assert.ok(JSON.parse(stdout).clips > 0, 'the command did its work');
  assert.ok(loads(modules, 'commander'), 'the hook saw the CLI load its packages');
  assert.equal(loads(modules, 'onnxruntime-node'), false, 'onnxruntime-node was loaded');
  assert.equal(loads(modules, 'three'), false, 'three was loaded');
});

test('the same hook does see onnxruntime-node and three when a process loads them', () => {
  const { modules } = runLogged([
    '--input-type=module',
    '-e',
    "await import('onnxruntime-node'); await import('three');",
  ]);
  assert.ok(loads(modules, 'onnxruntime-node'));
  assert.ok(loads(modules, 'three'));
});

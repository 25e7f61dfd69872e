#!/usr/bin/env node
// Runs the compiled CLI from dist/ (`npm run build`). In a checkout whose sources changed since that build, or
// that was never built, it runs the TypeScript sources through tsx (a dev dependency) so an edit is never
// silently ignored.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${root}dist/cli.js`;

/** The newest modification time of anything under `dir`, in ms (a stat per file: ~1 ms for src/). */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    const t = entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

function buildIsCurrent() {
  const stamp = `${root}dist/build.json`;
  if (!existsSync(compiled) || !existsSync(stamp)) return false;
  if (!existsSync(`${root}src`)) return true;
  const { builtAtMs } = JSON.parse(readFileSync(stamp, 'utf8'));
  return newestMtimeMs(`${root}src`) <= builtAtMs;
}

if (buildIsCurrent()) {
  await import(compiled);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'charades: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed: run `npm run build`\n',
    );
    process.exit(1);
  }
  register();
  await import('../src/cli.ts');
}

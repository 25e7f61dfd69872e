// bin/charades.js picks the compiled dist/ while it is current and the TypeScript sources (through tsx) once any
// source is newer, so an edit is never silently ignored. Checked on a throw-away layout with stub CLIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A checkout in miniature: bin/charades.js, a stub src/cli.ts and a stub dist/cli.js that say who ran. */
function layout(options: { withDist: boolean; withTsx: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-bin-'));
  mkdirSync(join(dir, 'bin'));
  cpSync(join(ROOT, 'bin', 'charades.js'), join(dir, 'bin', 'charades.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'cli.ts'), "const from: string = 'src';\nconsole.log(from);\n");
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src', 'cli.ts'), past, past);
  if (options.withDist) {
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'cli.js'), "console.log('dist');\n");
    writeFileSync(join(dir, 'dist', 'build.json'), JSON.stringify({ builtAtMs: Date.now() - 30_000 }));
  }
  if (options.withTsx) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function run(dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'charades.js')], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

test('a current build runs from dist/', () => {
  const dir = layout({ withDist: true, withTsx: true });
  try {
    assert.equal(run(dir).stdout, 'dist');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a source newer than the build, or no build at all, runs the sources through tsx', () => {
  const dir = layout({ withDist: true, withTsx: true });
  try {
    writeFileSync(join(dir, 'src', 'cli.ts'), "const from: string = 'edited src';\nconsole.log(from);\n");
    assert.equal(run(dir).stdout, 'edited src');
    rmSync(join(dir, 'dist'), { recursive: true });
    assert.equal(run(dir).stdout, 'edited src');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with neither a current build nor tsx, it says to build', () => {
  const dir = layout({ withDist: false, withTsx: false });
  try {
    const r = run(dir);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /dist\/ is missing or older than src\/, and tsx \(a dev dependency\) is not installed: run `npm run build`/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

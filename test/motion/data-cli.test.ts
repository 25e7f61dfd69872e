import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset, writePackedSubset } from '../../src/motion/dataset.js';
import { readFeatureCache } from '../../src/motion/featureCache.js';
import { computeDataStats } from '../../src/motion/cli/data.js';
import { REPO_ROOT } from '../../src/motion/paths.js';

const BIN = fileURLToPath(new URL('../../bin/charades.js', import.meta.url));
const ds = openDataset();

function charades(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.CHARADES_DEBUG;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-data-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A few real clips of every split, as a dataset of their own. */
function smallData(t: { after: (fn: () => void) => void }): string {
  const dir = tempDir(t);
  writePackedSubset(
    ds,
    ['train', 'val', 'test'].flatMap((s) => ds.split(s).slice(0, 2)),
    dir,
  );
  return dir;
}

function assertCleanError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('data stats reports every shared pack by default: clips, rotations, licences and action labels per pack', () => {
  const r = charades('data', 'stats', '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    clips: number;
    packs: {
      name: string;
      clips: number;
      rotations: boolean;
      licenses: Record<string, number>;
      actionLabels: Record<string, number>;
    }[];
  };
  assert.deepEqual(
    s.packs.map((p) => [p.name, p.clips, p.rotations]),
    [
      ['motion', 3145, true],
      ['cmu', 110, false],
      ['hdm05', 287, false],
    ],
  );
  assert.equal(s.clips, 3145 + 110 + 287);
  assert.deepEqual(s.packs[2].licenses, { 'CC-BY-SA-3.0': 287 });
  assert.equal(s.packs[2].actionLabels['lie-down'], 19);
  assert.equal(s.packs[0].actionLabels['raise-up-left-hand'], 444);
  const table = charades('data', 'stats');
  assert.match(table.stdout, /^pack cmu: 110 clips, 0\.28 h, positions only/m);
});

test('data stats --json reports 3,145 clips, ≈3.96 h, the splits and the ground-truth physical metrics', () => {
  const r = charades('data', 'stats', '--json', '--data', join(REPO_ROOT, '..', 'shared', 'data', 'motion'));
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.clips, 3145);
  assert.equal(s.frames, 285063);
  assert.ok(Math.abs(s.hours - 3.96) < 0.005, `hours ${s.hours}`);
  assert.deepEqual(
    Object.fromEntries(Object.entries(s.splits as Record<string, { clips: number }>).map(([k, v]) => [k, v.clips])),
    { train: 2655, val: 185, test: 305 },
  );
  assert.equal(s.actionLabels['raise-up-left-hand'], 444);
  assert.equal(s.styles.active, 595);
  assert.equal(Object.keys(s.styles).length, 19);
  assert.deepEqual(s.licenses, { 'CC-BY-NC-4.0': 3076, 'CC-BY-3.0': 69 });
  for (const how of ['meanOverClips', 'pooled']) {
    for (const split of ['all', 'train', 'val', 'test']) {
      const m = s.physical[how][split];
      for (const k of ['footSkateRatio', 'floorPenetrationMean', 'floatHeightMean', 'jitter', 'boneLengthStd']) {
        assert.ok(Number.isFinite(m[k]), `${how}.${split}.${k} = ${m[k]}`);
      }
      // The README's checks: clean capture, no frame below the floor, bones constant to quantisation.
      assert.ok(m.footSkateRatio < 0.02, `${how}.${split} foot skate ${m.footSkateRatio}`);
      assert.equal(m.floorPenetrationMax, 0);
      assert.ok(m.boneLengthStd < 0.001);
    }
  }
});

test('data stats prints a human table by default, and honours --data', (t) => {
  const r = charades('data', 'stats', '--data', smallData(t));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /clips: 6 {3}frames: \d+ {3}hours: \d\.\d\d/);
  assert.match(r.stdout, /^test +2 +\d+/m);
  assert.match(r.stdout, /footSkateRatio/);
  assert.match(r.stdout, /^test pooled /m);
});

test('data stats: a missing data folder or a corrupt index line is one readable error', (t) => {
  assertCleanError(
    charades('data', 'stats', '--data', '/nonexistent/motion'),
    /^charades: no motion data at \/nonexistent\/motion \(index\.jsonl missing\); pass --data DIR/,
  );
  const dir = smallData(t);
  const indexFile = join(dir, 'index.jsonl');
  const lines = readFileSync(indexFile, 'utf8').trim().split('\n');
  lines[3] = lines[3].slice(0, 40);
  writeFileSync(indexFile, `${lines.join('\n')}\n`);
  assertCleanError(charades('data', 'stats', '--data', dir), /^charades: .*index\.jsonl line 4: not valid JSON/);
});

test('data features writes a cache that reads back, and names a folder it cannot create', (t) => {
  const data = smallData(t);
  const out = join(tempDir(t), 'features');
  const r = charades('data', 'features', '--data', data, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*features: 6 clips, \d+ feature frames, [\d.]+ MiB/);
  assert.ok(existsSync(join(out, 'features.f16')));
  const cache = readFeatureCache(out);
  assert.equal(cache.meta.clips.length, 6);
  assert.equal(cache.meta.source.dataDir, data);

  const blocker = join(tempDir(t), 'file');
  writeFileSync(blocker, 'x');
  assertCleanError(
    charades('data', 'features', '--data', data, '--out', join(blocker, 'sub')),
    /^charades: cannot create the features cache folder .*file\/sub/,
  );
  assertCleanError(
    charades('data', 'features', '--data', '/nonexistent/motion'),
    /no motion data at \/nonexistent\/motion/,
  );
});

test('a clip too short for the physical metrics is named', () => {
  const short = { ...ds.records[0], num_frames: 3 };
  assert.throws(
    () => computeDataStats({ ...ds, records: [short] }),
    /clip bnr1_bow_active_001: .*needs at least 4 frames/,
  );
});

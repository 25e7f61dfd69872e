import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, defaultDataDir } from '../../src/motion/paths.js';
import { loadMotionFile } from '../../src/motion/formats.js';
import { parseBvh } from '../../src/motion/bvh.js';
import { serializeNpy } from '../../src/motion/npy.js';
import { positionError } from '../../src/motion/kinematics.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'charades.js');
const SAMPLE = join(defaultDataDir(), 'samples', 'dataset-1_kick_normal_001.bvh');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function charades(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'charades-convert-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('charades convert: BVH → JSON → BVH (m, XYZ, 30 fps) → NPY keeps the motion', async () => {
  const json = join(dir, 'kick.json');
  const r1 = await charades('convert', SAMPLE, json);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r1.stdout, `wrote ${json} (json, 238 frames at 20 fps, 11.90 s)\n`);
  const bvh = join(dir, 'kick.bvh');
  const r2 = await charades('convert', json, bvh, '--scale', 'm', '--order', 'XYZ', '--fps', '30');
  assert.equal(r2.code, 0, r2.stderr);
  const clip = parseBvh(readFileSync(bvh, 'utf8'), bvh);
  assert.equal(clip.numFrames, 357);
  assert.ok(Math.abs(clip.frameTime - 1 / 30) < 1e-9);
  assert.deepEqual(clip.joints[1].channels, ['Xrotation', 'Yrotation', 'Zrotation']);
  assert.ok(Math.abs(clip.joints.find((j) => j.name === 'left_knee')!.offset[1] + 0.3908) < 0.001, 'metres');
  const npy = join(dir, 'kick.npy');
  const r3 = await charades('convert', bvh, npy, '--fps', '20');
  assert.equal(r3.code, 0, r3.stderr);
  const original = loadMotionFile(json);
  const back = loadMotionFile(npy);
  assert.equal(back.numFrames, original.numFrames);
  const err = positionError(back.joints, original.joints);
  assert.ok(err.mean < 0.002, `mean error after two resamplings ${err.mean} m`);
});

test('charades convert: errors exit with code 1 and one line naming the problem', async () => {
  writeFileSync(
    join(dir, 'j24.npy'),
    serializeNpy({ dtype: 'float32', shape: [2, 24, 3], data: new Float32Array(144) }),
  );
  writeFileSync(join(dir, 'odd.bvh'), readFileSync(SAMPLE, 'utf8').replaceAll('Hips', 'Pelvis'));
  const cases: [string[], RegExp][] = [
    [['convert', join(dir, 'missing.bvh'), join(dir, 'x.json')], /^charades: .*missing\.bvh: no such file$/],
    [
      ['convert', join(dir, 'j24.npy'), join(dir, 'x.json')],
      /^charades: .*j24\.npy: expected 22 joints, got 24 \(shape \(2, 24, 3\)\)$/,
    ],
    [
      ['convert', join(dir, 'odd.bvh'), join(dir, 'x.json')],
      /^charades: .*odd\.bvh: no known joint map fits this skeleton \(joints: joint_Root, Pelvis, .*\)/,
    ],
    [
      ['convert', SAMPLE, join(dir, 'x.fbx')],
      /^charades: .*x\.fbx: cannot tell the output format from the extension; use \.bvh, \.npy or \.json$/,
    ],
    [['convert', SAMPLE, join(dir, 'x.bvh'), '--scale', 'mm'], /^charades: --scale must be "cm" or "m", got "mm"$/],
    [
      ['convert', SAMPLE, join(dir, 'x.bvh'), '--fps', 'fast'],
      /^charades: --fps must be a positive number of frames per second \(at most 1000\), got "fast"$/,
    ],
    [
      ['convert', SAMPLE, join(dir, 'x.bvh'), '--map', 'cmu'],
      /^charades: unknown joint map "cmu"; known maps: charades, bandai-namco, accad$/,
    ],
    [
      ['convert', SAMPLE, join(dir, 'x.out'), '--format', 'gltf'],
      /^charades: --format must be one of bvh, npy, json, got "gltf"$/,
    ],
    [
      ['convert', SAMPLE, join(dir, 'x.bvh'), '--order', 'XXY'],
      /^charades: --order must be one of XYZ, XZY, YXZ, YZX, ZXY, ZYX, got "XXY"$/,
    ],
  ];
  // Two at a time: each is a fresh node process.
  for (let i = 0; i < cases.length; i += 2) {
    const results = await Promise.all(cases.slice(i, i + 2).map(([args]) => charades(...args)));
    results.forEach((r, k) => {
      const [args, pattern] = cases[i + k];
      assert.equal(r.code, 1, `${args.join(' ')}: exit code ${r.code}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, got:\n${r.stderr}`);
      assert.match(lines[0], pattern);
      assert.equal(r.stdout, '');
    });
  }
});

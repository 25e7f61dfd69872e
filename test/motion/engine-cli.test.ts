import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMotionFile } from '../../src/motion/formats.js';
import { createEngine } from '../../src/motion/engine/engine.js';
import {
  parseKeyArg,
  parsePoseArg,
  requestFromCli,
  runMotionCommand,
  samplePaths,
} from '../../src/motion/cli/motion.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny-model');
const enginePromise = createEngine({ modelDir: TINY });
const dir = mkdtempSync(join(tmpdir(), 'charades-motion-cli-'));

test('command-line options become a contract request', () => {
  const r = requestFromCli(['wave', 'sit down'], {
    seconds: ['2', '3'],
    seed: '5',
    samples: '4',
    init: 'standing',
    last: 'sitting',
    speed: '0.5',
  });
  assert.deepEqual(
    r.segments.map((s) => [s.text, s.seconds]),
    [
      ['wave', 2],
      ['sit down', 3],
    ],
  );
  assert.deepEqual(r.segments[0].control?.init, { kind: 'named', name: 'standing' });
  assert.deepEqual(r.segments[1].control?.last, { kind: 'named', name: 'sitting' });
  assert.equal(r.samples, 4);
  assert.equal(r.seed, 5);
  assert.equal(r.speed, 0.5);
  assert.equal(r.pinPoses, undefined, 'poses are pinned unless --no-pin');
  assert.equal(requestFromCli(['sit'], { last: 'sitting', pin: false }).pinPoses, false);
  const k = requestFromCli(['dance'], { key: ['1.5=hands-up', '3=t-pose'], describe: ['Arms swing overhead.'] });
  assert.deepEqual(k.segments[0].control?.keys, [
    { at: 1.5, pose: { kind: 'named', name: 'hands-up' } },
    { at: 3, pose: { kind: 'named', name: 't-pose' } },
  ]);
  assert.deepEqual(k.segments[0].descriptions, ['Arms swing overhead.']);
  assert.equal(k.segments[0].seconds, 4, 'default duration');
  assert.deepEqual(parsePoseArg(`${join(ROOT, 'package.json')}#-1`, '--init'), {
    kind: 'frame',
    motion: { path: join(ROOT, 'package.json') },
    frame: -1,
  });
  assert.deepEqual(samplePaths('/x/out.bvh', 4), ['/x/out-1.bvh', '/x/out-2.bvh', '/x/out-3.bvh', '/x/out-4.bvh']);
});

test('bad command-line values are one clear line each', () => {
  assert.throws(
    () => requestFromCli(['a', 'b', 'c'], { seconds: ['1', '2'] }),
    /--seconds was given 2 times for 3 prompts/,
  );
  assert.throws(() => requestFromCli(['a'], { seconds: ['abc'] }), /--seconds must be a number, got "abc"/);
  assert.throws(() => requestFromCli(['a'], { samples: '3' }), /invalid motion request: samples/);
  assert.throws(() => parseKeyArg('hands-up'), /--key "hands-up": expected SECONDS=POSE/);
  assert.throws(() => parseKeyArg('x=hands-up'), /the time must be a number/);
  assert.throws(() => parsePoseArg('nope.bvh', '--last'), /--last "nope\.bvh": not a named pose .* and no such file/);
  assert.throws(() => requestFromCli(['a', 'b'], { key: ['1=t-pose'] }), /--key works with one prompt/);
  assert.throws(
    () => requestFromCli(['a'], { continue: '/no/such.json' }),
    /--continue \/no\/such\.json: no such file/,
  );
});

test('runMotionCommand writes one file per sample in the asked format; continue reads a written file', async () => {
  const engine = await enginePromise;
  const out = join(dir, 'wave.json');
  const r = await runMotionCommand(
    ['wave both hands'],
    { output: out, samples: '4', seconds: ['1.5'], init: 'standing' },
    engine,
  );
  assert.deepEqual(r.files, samplePaths(out, 4));
  for (const f of r.files)
    assert.equal(loadMotionFile(f).numFrames, 32, '1.5 s = 7.5 tokens, rounded to 8 = 32 frames');
  const next = await runMotionCommand(
    ['walk away'],
    { output: join(dir, 'next.bvh'), continue: r.files[0], seconds: ['1'] },
    engine,
  );
  assert.equal(next.format, 'bvh');
  assert.equal(loadMotionFile(next.files[0]).numFrames, 20);
  await assert.rejects(
    runMotionCommand(['x'], { output: join(dir, 'x.mp4') }, engine),
    /cannot tell the format from the extension/,
  );
  await assert.rejects(
    runMotionCommand(['x'], { output: join(dir, 'x.bvh'), format: 'fbx' }, engine),
    /--format: unknown export format "fbx"/,
  );
});

test('`charades motion` runs end to end from the real CLI entry and fails with one line on a bad pose', () => {
  const out = join(dir, 'cli.glb');
  const stdout = execFileSync(
    'node',
    ['bin/charades.js', 'motion', 'a person bows', '-s', '1', '--seed', '3', '--model', TINY, '-o', out, '--json'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const r = JSON.parse(stdout) as { files: string[]; model: string; frames: number };
  assert.equal(r.model, 'tiny-fixture');
  assert.equal(r.frames, 20);
  assert.ok(existsSync(out));
  let stderr = '';
  try {
    execFileSync('node', ['bin/charades.js', 'motion', 'x', '--init', 'dabbing', '--model', TINY, '-o', out], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (err) {
    stderr = String((err as { stderr: string }).stderr);
  }
  assert.match(stderr, /^charades: --init "dabbing": not a named pose/);
  assert.equal(stderr.trim().split('\n').length, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOINT, NUM_JOINTS } from '../../src/motion/index.js';
import type { Motion } from '../../src/motion/index.js';
import {
  headingAt,
  outputFrameCount,
  planCameras,
  projectToNdc,
  resampleJoints,
  SAFE_AREA,
} from '../../src/render/framing.js';
import { RenderOptionsSchema, bitrateFor, buildSceneJob } from '../../src/render/renderer.js';
import { findChromium, findFfmpeg } from '../../src/render/tools.js';
import { RenderInputError, validateMotion } from '../../src/render/validate.js';
import { clip, clipWithLabel, trim } from './helpers.js';

const opts = (o: Record<string, unknown> = {}) => RenderOptionsSchema.parse(o);

function still(frames: number, fps = 20): Motion {
  const m = clip('bnr2_walk_normal_001');
  const joints = new Float32Array(frames * NUM_JOINTS * 3);
  for (let i = 0; i < frames; i++) joints.set(m.joints.subarray(0, NUM_JOINTS * 3), i * NUM_JOINTS * 3);
  return { ...m, fps, numFrames: frames, joints, rotations: undefined, segments: [] };
}

test('output frame count keeps the duration at 20 and 30 fps', () => {
  assert.equal(outputFrameCount(80, 20, 20), 80);
  assert.equal(outputFrameCount(80, 20, 30), 120);
  assert.equal(outputFrameCount(85, 20, 30), 128);
  assert.equal(outputFrameCount(1, 20, 20), 1);
});

test('resampling interpolates between source frames and holds the last pose', () => {
  const src = new Float32Array(2 * NUM_JOINTS * 3);
  src.fill(1, 0, NUM_JOINTS * 3);
  src.fill(3, NUM_JOINTS * 3);
  const out = resampleJoints(src, 2, 20, 40, 4);
  assert.deepEqual([out[0], out[NUM_JOINTS * 3], out[2 * NUM_JOINTS * 3], out[3 * NUM_JOINTS * 3]], [1, 2, 3, 3]);
});

test('heading of a rest pose facing +Z is 0, and +X after a quarter turn', () => {
  const m = clip('bnr2_walk_normal_001');
  const f = new Float32Array(m.joints.subarray(0, NUM_JOINTS * 3));
  // build a synthetic frame: left on +X, right on −X, facing +Z
  for (const [j, x] of [
    [JOINT.left_hip, 0.1],
    [JOINT.right_hip, -0.1],
    [JOINT.left_shoulder, 0.2],
    [JOINT.right_shoulder, -0.2],
  ] as const) {
    f[j * 3] = x;
    f[j * 3 + 2] = 0;
  }
  assert.ok(Math.abs(headingAt(f, 0)) < 1e-6);
  for (const j of [JOINT.left_hip, JOINT.right_hip, JOINT.left_shoulder, JOINT.right_shoulder]) {
    // rotate the across vector by +90° about Y: (x, z) → (z, −x)
    const x = f[j * 3];
    f[j * 3] = f[j * 3 + 2];
    f[j * 3 + 2] = -x;
  }
  assert.ok(Math.abs(headingAt(f, 0) - Math.PI / 2) < 1e-6);
});

test('the camera keeps every joint of a 9 s walk, a wave and a bow inside the safe area', () => {
  for (const id of [
    'bnr2_walk_normal_001',
    clipWithLabel('wave-right-hand'),
    clipWithLabel('bow'),
    clipWithLabel('run'),
  ]) {
    const m = clip(id);
    const frames = outputFrameCount(m.numFrames, m.fps, 20);
    const joints = resampleJoints(m.joints, m.numFrames, m.fps, 20, frames);
    const [rig] = planCameras([{ joints, frames }], 20);
    let worst = 0;
    for (let i = 0; i < frames; i++) {
      for (let j = 0; j < NUM_JOINTS; j++) {
        const o = (i * NUM_JOINTS + j) * 3;
        const [x, y] = projectToNdc(rig, i, [joints[o], joints[o + 1], joints[o + 2]]);
        assert.ok(
          x >= SAFE_AREA.left - 1e-6 &&
            x <= SAFE_AREA.right + 1e-6 &&
            y >= SAFE_AREA.bottom - 1e-6 &&
            y <= SAFE_AREA.top + 1e-6,
          `${id} frame ${i} joint ${j} at (${x.toFixed(2)}, ${y.toFixed(2)})`,
        );
        worst = Math.max(worst, Math.abs(x), y);
      }
    }
    // framed, not lost in the distance: something reaches at least a third of the way to an edge
    assert.ok(worst > 0.33, `${id}: the body only reaches ${worst.toFixed(2)} of the frame`);
  }
});

test('the followed camera path is smooth (no per-step jitter)', () => {
  const m = clip('bnr2_walk_normal_001');
  const frames = outputFrameCount(m.numFrames, m.fps, 20);
  const joints = resampleJoints(m.joints, m.numFrames, m.fps, 20, frames);
  const [rig] = planCameras([{ joints, frames }], 20);
  let maxJerk = 0;
  for (let i = 2; i < frames; i++) {
    for (const k of [0, 2]) {
      const acc = rig.track[i * 3 + k] - 2 * rig.track[(i - 1) * 3 + k] + rig.track[(i - 2) * 3 + k];
      maxJerk = Math.max(maxJerk, Math.abs(acc));
    }
  }
  // the pelvis itself bobs ~1 cm per frame² while walking; the camera must stay well below that
  assert.ok(maxJerk < 0.002, `camera acceleration ${maxJerk.toFixed(4)} m/frame²`);
});

test('a grid shares one camera distance across the four cells', () => {
  const ids = ['bnr2_walk_normal_001', clipWithLabel('wave-right-hand'), clipWithLabel('bow'), clipWithLabel('run')];
  const job = buildSceneJob(clip(ids[0]), opts({ grid: ids.map((id) => trim(clip(id), 4)) }), 'webcodecs');
  assert.equal(job.cells.length, 4);
  assert.deepEqual(
    job.cells.map((c) => c.label),
    ['1', '2', '3', '4'],
  );
  assert.equal(job.frames, 80);
  const single = buildSceneJob(trim(clip(clipWithLabel('bow')), 4), opts(), 'webcodecs');
  assert.ok(job.distance >= single.distance, "the run in the grid needs at least the bow's distance");
});

test('a duel puts two motions side by side at one scale, each framed inside its half-width cell', () => {
  const walk = trim(clip('bnr2_walk_normal_001'), 6);
  const bow = trim(clip(clipWithLabel('bow')), 4);
  const job = buildSceneJob(walk, opts({ grid: [walk, bow], labels: ['walker', 'bower'] }), 'webcodecs');
  assert.equal(job.cells.length, 2);
  assert.deepEqual(
    job.cells.map((c) => c.label),
    ['walker', 'bower'],
  );
  assert.equal(job.frames, 120, 'the longer motion sets the length; the shorter holds its last pose');
  assert.deepEqual(
    buildSceneJob(walk, opts({ grid: [walk, bow] }), 'webcodecs').cells.map((c) => c.label),
    ['1', '2'],
  );
  const resampled = [walk, bow].map((m) => {
    const frames = outputFrameCount(m.numFrames, m.fps, 20);
    return { joints: resampleJoints(m.joints, m.numFrames, m.fps, 20, frames), frames };
  });
  const rigs = planCameras(resampled, 20, 0.5);
  assert.equal(rigs[0].distance, rigs[1].distance, 'one camera scale');
  assert.ok(rigs[0].distance >= planCameras(resampled, 20, 1)[0].distance);
  // a standing person is taller than wide, so only something lying down shows the narrower cell's cost
  const lying = still(20);
  for (let k = 0; k < lying.joints.length; k += 3)
    [lying.joints[k], lying.joints[k + 1]] = [lying.joints[k + 1], 0.15 + 0.1 * lying.joints[k]];
  const flat = [{ joints: lying.joints, frames: 20 }];
  assert.ok(
    planCameras(flat, 20, 0.5)[0].distance > planCameras(flat, 20, 1)[0].distance * 1.3,
    'a half-width cell needs the camera further back for a wide pose',
  );
  rigs.forEach((rig, c) => {
    const { joints, frames } = resampled[c];
    for (let i = 0; i < frames; i++) {
      for (let j = 0; j < NUM_JOINTS; j++) {
        const o = (i * NUM_JOINTS + j) * 3;
        const [x, y] = projectToNdc(rig, i, [joints[o], joints[o + 1], joints[o + 2]]);
        assert.ok(
          x >= SAFE_AREA.left - 1e-6 &&
            x <= SAFE_AREA.right + 1e-6 &&
            y >= SAFE_AREA.bottom - 1e-6 &&
            y <= SAFE_AREA.top + 1e-6,
          `cell ${c} frame ${i} joint ${j} at (${x.toFixed(2)}, ${y.toFixed(2)})`,
        );
      }
    }
  });
});

test('captions follow the segments frame by frame', () => {
  const m = {
    ...still(40),
    segments: [
      { text: 'wave', start: 0, end: 20 },
      { text: 'bow', start: 20, end: 40 },
    ],
  };
  const job = buildSceneJob(m, opts({ fps: 30 }), 'webcodecs');
  assert.deepEqual(job.captions, ['wave', 'bow']);
  assert.equal(job.cells[0].captionAt[0], 0);
  assert.equal(job.cells[0].captionAt[29], 0);
  assert.equal(job.cells[0].captionAt[30], 1);
  assert.equal(job.cells[0].captionAt[59], 1);
});

test("a segment's caption (the user's words a pantomime acts out) is shown instead of the model's text", () => {
  const m = {
    ...still(40),
    segments: [
      { text: 'crawl forward low on the floor, on knees and forearms', caption: 'act like a dog', start: 0, end: 30 },
      { text: 'crouch down', caption: 'act like a dog', start: 30, end: 40 },
    ],
  };
  const job = buildSceneJob(m, opts({ fps: 20 }), 'webcodecs');
  assert.deepEqual(job.captions, ['act like a dog', 'act like a dog']);
});

test('bitrate keeps 12 s under 8 MB at every offered size', () => {
  for (const size of [512, 768, 1024])
    assert.ok((bitrateFor(size) * 12) / 8 < 7.5e6, `${size}: ${bitrateFor(size)} b/s`);
});

test('bad motions fail with messages that name the field', () => {
  const nan = still(10);
  nan.joints[5 * NUM_JOINTS * 3 + JOINT.left_knee * 3 + 1] = Number.NaN;
  assert.throws(
    () => validateMotion(nan),
    (e: Error) => e instanceof RenderInputError && /frame 5, joint 4 \(left_knee\), y is NaN/.test(e.message),
  );
  assert.throws(() => validateMotion(still(0)), /0 frames; there is nothing to render/);
  assert.throws(
    () => validateMotion(still(10_000)),
    /500\.0 s long \(10000 frames at 20 fps\); the renderer's limit is 60 s/,
  );
  const mm = still(4);
  mm.joints[0] = 930;
  mm.joints[1] = 1200;
  assert.throws(() => validateMotion(mm), /1200 m is implausibly far .*millimetres/);
  const short = { ...still(4), joints: new Float32Array(10) };
  assert.throws(() => validateMotion(short), /joints has 10 values; 4 frames × 22 joints × 3 = 264/);
  assert.throws(() => validateMotion({ ...still(4), fps: 0 }), /fps must be a positive number/);
  const inf = still(3);
  inf.joints[7] = Number.POSITIVE_INFINITY;
  assert.throws(
    () => validateMotion(inf, 'grid[2]'),
    /grid\[2\]\.joints at frame 0, joint 2 \(right_hip\), y is Infinity/,
  );
});

test('bad render options fail with messages that name the option', () => {
  const m = still(20);
  assert.throws(
    () => buildSceneJob(m, opts({ pngFrames: [25] }), 'webcodecs'),
    /pngFrames: frame 25 is past the end \(the video has 20 frames\)/,
  );
  for (const [o, re] of [
    [{ size: 513 }, /size: must be even/],
    [{ fps: 25 }, /fps/],
    [{ grid: [m, m, m] }, /^grid: 3 motions — give 2 \(side by side\) or 4 \(2×2\)$/],
    [{ grid: [m] }, /^grid: 1 motion — give 2 \(side by side\) or 4 \(2×2\)$/],
    [{ grid: [m, m], labels: ['a'] }, /^labels: 1 labels for 2 grid motions — give one per motion$/],
    [{ grid: [m, m], labels: ['a', 'thirteen-char'] }, /^labels\.1: at most 12 characters each$/],
    [{ grid: [m, m], labels: ['a', ' '] }, /^labels\.1: a label may not be empty$/],
    [{ labels: ['a'] }, /^labels: labels name grid cells; give them together with grid$/],
    [{ timeoutMs: -1 }, /timeoutMs/],
    [{ preview: 'mp4' }, /preview/],
  ] as const) {
    const r = RenderOptionsSchema.safeParse(o);
    assert.equal(r.success, false, JSON.stringify(o));
    assert.match(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '', re);
  }
});

test('tool discovery honours CHROMIUM_PATH / FFMPEG_PATH and explains a bad one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-tools-'));
  const notExec = join(dir, 'chromium');
  writeFileSync(notExec, '');
  assert.throws(() => findChromium({ CHROMIUM_PATH: notExec }), /CHROMIUM_PATH=.* is not an executable file/);
  assert.throws(() => findFfmpeg({ FFMPEG_PATH: join(dir, 'missing') }), /FFMPEG_PATH=.* is not an executable file/);
  const fake = join(dir, 'fake-ffmpeg');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);
  assert.equal(findFfmpeg({ FFMPEG_PATH: fake }), fake);
  assert.match(findChromium({}), /chromium/);
});

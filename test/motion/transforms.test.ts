import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeMotion } from '../../src/motion/contracts.js';
import type { Motion } from '../../src/motion/contracts.js';
import { openDataset } from '../../src/motion/dataset.js';
import { forwardKinematics, positionError } from '../../src/motion/kinematics.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';
import {
  alignToFloor,
  centerMotion,
  concatMotions,
  FOOT_JOINT_CLEARANCE,
  lowestFootHeight,
  mirrorMotion,
  mirrorPositions,
  mirrorRotations,
  resampledFrameCount,
  resampleMotion,
  resamplePositions,
  retimeMotion,
  sliceMotion,
  translateMotion,
} from '../../src/motion/transforms.js';

const ds = openDataset();
const STRIDE = NUM_JOINTS * 3;
const walk = ds.clip('bnr2_walk_exhausted_003');
const accad = ds.clip('accad_male1_c27_crouch-to-run');

function fkOf(m: Motion): Float32Array {
  assert.ok(m.rotations && m.restOffsets);
  const root = new Float32Array(m.numFrames * 3);
  for (let t = 0; t < m.numFrames; t++) root.set(m.joints.subarray(t * STRIDE, t * STRIDE + 3), t * 3);
  return forwardKinematics(m.rotations, root, m.restOffsets);
}

/** A motion whose every coordinate moves linearly in time: linear resampling must reproduce it exactly. */
function linearMotion(T: number, fps: number): Motion {
  const joints = new Float32Array(T * STRIDE);
  for (let t = 0; t < T; t++)
    for (let k = 0; k < STRIDE; k++) joints[t * STRIDE + k] = k * 0.01 + (t / fps) * ((k % 5) - 2);
  return makeMotion({ fps, numFrames: T, joints, segments: [{ text: 'a', start: 0, end: T }] });
}

test('resampling keeps the duration and is exact on linear motion', () => {
  assert.equal(resampledFrameCount(91, 30, 20), 61);
  assert.equal(resampledFrameCount(1, 30, 20), 1);
  const m30 = linearMotion(91, 30);
  const r = resamplePositions(m30.joints, 91, 30, 20);
  assert.equal(r.numFrames, 61);
  const expected = linearMotion(61, 20).joints;
  assert.ok(positionError(r.joints, expected).max < 1e-5);
  const m20 = resampleMotion(m30, 20);
  assert.equal(m20.fps, 20);
  assert.deepEqual(m20.segments, [{ text: 'a', start: 0, end: 61 }]);
  assert.equal(resampleMotion(m30, 30), m30, 'same rate is a no-op');
});

test('resampling a real clip up and back down loses under a centimetre; slerped rotations stay unit and close to the positions', () => {
  const up = resampleMotion(walk, 30);
  assert.equal(up.numFrames, resampledFrameCount(walk.numFrames, 20, 30));
  const back = resampleMotion(up, 20);
  assert.equal(back.numFrames, walk.numFrames);
  assert.ok(positionError(back.joints, walk.joints).mean < 0.01);
  assert.ok(up.rotations);
  for (let i = 0; i < up.rotations.length; i += 4) {
    assert.ok(
      Math.abs(Math.hypot(up.rotations[i], up.rotations[i + 1], up.rotations[i + 2], up.rotations[i + 3]) - 1) < 1e-3,
    );
  }
  // FK of the interpolated rotations and linearly interpolated positions describe the same pose.
  assert.ok(positionError(fkOf(up), up.joints).mean < 0.005);
});

test('retiming at speed 2 halves the frames and at 0.5 doubles them, at the same fps', () => {
  const fast = retimeMotion(walk, 2);
  assert.equal(fast.fps, 20);
  assert.equal(fast.numFrames, walk.numFrames / 2);
  assert.deepEqual([...fast.joints.subarray(STRIDE, 2 * STRIDE)], [...walk.joints.subarray(2 * STRIDE, 3 * STRIDE)]);
  assert.equal(retimeMotion(walk, 0.5).numFrames, walk.numFrames * 2);
  assert.throws(() => retimeMotion(walk, 0), /retimeMotion: speed must be a positive number, got 0/);
});

test('mirroring reflects x, swaps sides, and its rotations reproduce the mirrored positions', () => {
  for (const m of [walk, accad]) {
    const mm = mirrorMotion(m);
    assert.equal(mm.joints[7 * 3], -m.joints[8 * 3], 'left ankle x = −right ankle x');
    assert.equal(mm.joints[7 * 3 + 1], m.joints[8 * 3 + 1]);
    assert.ok(positionError(fkOf(mm), mm.joints).max < 0.003, 'rotations and offsets mirrored consistently');
    const twice = mirrorMotion(mm);
    assert.deepEqual(twice.joints, m.joints);
    assert.deepEqual(twice.rotations, m.rotations);
    assert.deepEqual(twice.restOffsets, m.restOffsets);
  }
  assert.throws(
    () => mirrorPositions(new Float32Array(10), 1),
    /mirrorPositions: joints has 10 values, expected 1×22×3 = 66/,
  );
  assert.throws(
    () => mirrorRotations(new Float32Array(10), 1),
    /mirrorRotations: rotations has 10 values, expected 1×22×4 = 88/,
  );
});

test('slicing keeps the frames and clips the segments', () => {
  const two = concatMotions([walk, walk]);
  const s = sliceMotion(two, 200, 230);
  assert.equal(s.numFrames, 30);
  assert.deepEqual([...s.joints.subarray(0, STRIDE)], [...walk.joints.subarray(200 * STRIDE, 201 * STRIDE)]);
  assert.deepEqual(
    s.segments.map((g) => [g.start, g.end]),
    [
      [0, 10],
      [10, 30],
    ],
  );
  assert.equal(s.rotations?.length, 30 * NUM_JOINTS * 4);
  assert.equal(sliceMotion(walk, 5).numFrames, walk.numFrames - 5);
  assert.throws(() => sliceMotion(walk, 10, 10), /sliceMotion: frames 10–10 are not a non-empty range within 0–210/);
  assert.throws(() => sliceMotion(walk, 0, 999), /frames 0–999/);
});

test('concatenation shifts segments, keeps rotations only over one skeleton, and rejects mixed rates', () => {
  const c = concatMotions([walk, walk]);
  assert.equal(c.numFrames, 2 * walk.numFrames);
  assert.deepEqual(c.segments[1], { text: walk.segments[0].text, start: walk.numFrames, end: 2 * walk.numFrames });
  assert.ok(c.rotations && c.restOffsets);
  assert.equal(c.provenance.source, 'dataset:bnr2_walk_exhausted_003 + dataset:bnr2_walk_exhausted_003');
  const mixed = concatMotions([walk, accad]);
  assert.equal(mixed.rotations, undefined, 'two bodies: rotations would be meaningless');
  assert.equal(mixed.numFrames, walk.numFrames + accad.numFrames);
  assert.throws(
    () => concatMotions([walk, resampleMotion(accad, 30)]),
    /concatMotions: motion 1 is 30 fps, motion 0 is 20 fps; resample first/,
  );
  assert.throws(() => concatMotions([]), /no motions to join/);
});

test('translation, centring and floor alignment move the joints only', () => {
  const moved = translateMotion(walk, [1, 2, 3]);
  assert.ok(Math.abs(moved.joints[4] - walk.joints[4] - 2) < 1e-6, 'joint 1 y moved by 2');
  assert.ok(Math.abs(moved.joints[5] - walk.joints[5] - 3) < 1e-6, 'joint 1 z moved by 3');
  assert.equal(moved.rotations, walk.rotations);
  const centred = centerMotion(moved);
  assert.ok(Math.abs(centred.joints[0]) < 1e-6 && Math.abs(centred.joints[2]) < 1e-6);
  assert.ok(Math.abs(centred.joints[1] - moved.joints[1]) < 1e-6);
  const floored = alignToFloor(moved);
  assert.ok(Math.abs(lowestFootHeight(floored.joints, floored.numFrames) - FOOT_JOINT_CLEARANCE) < 1e-6);
  assert.ok(Math.abs(lowestFootHeight(alignToFloor(walk, 0).joints, walk.numFrames)) < 1e-6);
  assert.throws(() => translateMotion(walk, [0, NaN, 0]), /translateMotion: offset must be 3 finite numbers/);
  const empty = makeMotion({ fps: 20, numFrames: 0, joints: new Float32Array(0) });
  assert.throws(() => alignToFloor(empty), /alignToFloor: the motion has no frames/);
  assert.throws(() => centerMotion(empty), /centerMotion: the motion has no frames/);
  assert.throws(() => lowestFootHeight(new Float32Array(3), 1), /lowestFootHeight: joints has 3 values/);
});

test('resampling rejects bad rates and shapes', () => {
  assert.throws(
    () => resamplePositions(walk.joints, walk.numFrames, 0, 20),
    /resamplePositions \(from\): fps must be a positive number, got 0/,
  );
  assert.throws(
    () => resamplePositions(walk.joints, 3, 20, 30),
    /resamplePositions: joints has \d+ values, expected 3×22×3 = 198/,
  );
  assert.throws(() => resampleMotion(walk, -1), /resampleMotion: fps must be a positive number, got -1/);
  assert.throws(
    () => resamplePositions(walk.joints, 1.5, 20, 30),
    /frame count must be a non-negative integer, got 1.5/,
  );
});

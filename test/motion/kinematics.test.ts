import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDataset } from '../../src/motion/dataset.js';
import {
  EULER_ORDERS,
  eulerFromQuat,
  forwardKinematics,
  positionError,
  quatAngleBetween,
  quatConjugate,
  quatFromAxisAngle,
  quatFromEuler,
  quatFromMatrix,
  quatMultiply,
  quatNlerp,
  quatNormalize,
  quatRotate,
  quatSlerp,
  quatSwing,
  quatToMatrix,
  rotationsFromJoints,
} from '../../src/motion/kinematics.js';
import type { EulerOrder, Quat } from '../../src/motion/kinematics.js';
import { PARENTS, REST_OFFSETS_BANDAI } from '../../src/motion/skeleton.js';

/** Deterministic pseudo-random numbers so a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, eps: number, what: string): void {
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= eps, `${what}: [${Array.from(a)}] vs [${Array.from(b)}]`);
}

test('quaternion basics: axis-angle rotation, multiply, conjugate, matrix round trip', () => {
  const q = quatFromAxisAngle([0, 0, 1], Math.PI / 2);
  close(quatRotate(q, [1, 0, 0]), [0, 1, 0], 1e-12, 'z-90 turns x into y');
  close(quatRotate(quatMultiply(q, q), [1, 0, 0]), [-1, 0, 0], 1e-12, 'two quarter turns');
  close(quatRotate(quatConjugate(q), [0, 1, 0]), [1, 0, 0], 1e-12, 'conjugate undoes');
  const rand = rng(1);
  for (let i = 0; i < 200; i++) {
    const r = quatNormalize([rand() - 0.5, rand() - 0.5, rand() - 0.5, rand() - 0.5]);
    assert.ok(quatAngleBetween(quatFromMatrix(quatToMatrix(r)), r) < 1e-7);
    const v: [number, number, number] = [rand(), rand(), rand()];
    const m = quatToMatrix(r);
    const mv = [0, 1, 2].map((row) => m[row * 3] * v[0] + m[row * 3 + 1] * v[1] + m[row * 3 + 2] * v[2]);
    close(quatRotate(r, v), mv, 1e-12, 'matrix and quaternion rotate alike');
  }
  assert.throws(() => quatFromAxisAngle([0, 0, 0], 1), /zero length/);
});

test('slerp moves at constant angular speed; nlerp stays close for small steps', () => {
  const a: Quat = [1, 0, 0, 0];
  const b = quatFromAxisAngle([0, 1, 0], 2);
  for (const t of [0, 0.25, 0.5, 1]) assert.ok(Math.abs(quatAngleBetween(a, quatSlerp(a, b, t)) - 2 * t) < 1e-9);
  const c = quatFromAxisAngle([0, 1, 0], 0.2);
  assert.ok(quatAngleBetween(quatSlerp(a, c, 0.3), quatNlerp(a, c, 0.3)) < 1e-3);
  // The shorter arc is taken even when the second quaternion has the opposite sign.
  const negC: Quat = [-c[0], -c[1], -c[2], -c[3]];
  assert.ok(quatAngleBetween(quatSlerp(a, negC, 0.5), quatFromAxisAngle([0, 1, 0], 0.1)) < 1e-9);
});

test('Euler ↔ quaternion round trips for all six intrinsic orders, gimbal lock included', () => {
  const rand = rng(7);
  for (const order of EULER_ORDERS) {
    for (let i = 0; i < 300; i++) {
      const angles = [rand() * 360 - 180, rand() * 180 - 90, rand() * 360 - 180];
      const q = quatFromEuler(angles, order);
      const back = eulerFromQuat(q, order);
      assert.ok(quatAngleBetween(quatFromEuler(back, order), q) < 1e-7, `${order} ${angles}`);
      close(back, angles, 1e-6, `${order} angles`);
    }
    for (const mid of [90, -90]) {
      const q = quatFromEuler([30, mid, 40], order);
      assert.ok(quatAngleBetween(quatFromEuler(eulerFromQuat(q, order), order), q) < 1e-6, `${order} gimbal ${mid}`);
    }
  }
  // ZXY means R = Rz · Rx · Ry: rotate about the local Y axis first.
  const q = quatFromEuler([90, 0, 90], 'ZXY');
  const expected = quatMultiply(quatFromAxisAngle([0, 0, 1], Math.PI / 2), quatFromAxisAngle([0, 1, 0], Math.PI / 2));
  assert.ok(quatAngleBetween(q, expected) < 1e-12);
  assert.throws(() => quatFromEuler([0, 0, 0], 'XXY' as EulerOrder), /unknown Euler order "XXY"/);
});

test('swing turns one direction onto another, also for opposite directions', () => {
  close(quatRotate(quatSwing([0, -1, 0], [1, 0, 0]), [0, -2, 0]), [2, 0, 0], 1e-12, 'swing');
  close(quatRotate(quatSwing([0, 1, 0], [0, -3, 0]), [0, 1, 0]), [0, -1, 0], 1e-12, 'opposite');
});

test('forward kinematics of the rest pose places every joint at its summed rest offsets', () => {
  const rot = new Float32Array(22 * 4);
  for (let j = 0; j < 22; j++) rot[j * 4] = 1;
  const p = forwardKinematics(rot, [0, 1, 0], REST_OFFSETS_BANDAI, PARENTS);
  const leftWrist = [1, 0, 0].map((_, k) => {
    let s = k === 1 ? 1 : 0;
    for (let j = 20; j >= 0; j = PARENTS[j]) s += REST_OFFSETS_BANDAI[j][k];
    return s;
  });
  close(p.subarray(20 * 3, 21 * 3), leftWrist, 1e-6, 'left wrist');
  assert.throws(
    () => forwardKinematics(rot, [0, 1, 0, 0, 0, 0], REST_OFFSETS_BANDAI, PARENTS),
    /rotations: expected 2×22×4 = 176 values, got 88/,
  );
  assert.throws(() => forwardKinematics(rot, [0, 1], REST_OFFSETS_BANDAI, PARENTS), /T×3/);
});

test('forward kinematics of the stored rotations reproduces the stored positions of real clips', () => {
  const ds = openDataset();
  for (const id of ['bnr1_kick_normal_001', 'accad_male1_a10_lie-to-crouch']) {
    const m = ds.clip(id);
    const root = new Float32Array(m.numFrames * 3);
    for (let t = 0; t < m.numFrames; t++) root.set(m.joints.subarray(t * 66, t * 66 + 3), t * 3);
    const err = positionError(forwardKinematics(m.rotations!, root, m.restOffsets!, PARENTS), m.joints);
    assert.ok(err.max < 0.0025, `${id}: FK error ${err.max} m`);
  }
});

test('rotationsFromJoints reproduces real dataset clips by FK (error reported)', () => {
  const ds = openDataset();
  // Every 40th clip of both sources: bows, waves, walks, runs, crawls, lying down.
  const records = ds.records.filter((_, i) => i % 40 === 0);
  let worst = 0;
  let sum = 0;
  let count = 0;
  for (const r of records) {
    const joints = ds.positions(r);
    const rest = r.rest_offsets_m;
    assert.ok(rest, `${r.id} has rest offsets`);
    const rot = rotationsFromJoints(joints, r.num_frames, rest);
    const root = new Float32Array(r.num_frames * 3);
    for (let t = 0; t < r.num_frames; t++) root.set(joints.subarray(t * 66, t * 66 + 3), t * 3);
    const err = positionError(forwardKinematics(rot, root, rest, PARENTS), joints);
    worst = Math.max(worst, err.max);
    sum += err.mean * r.num_frames;
    count += r.num_frames;
  }
  const mean = sum / count;
  console.log(
    `rotationsFromJoints on ${records.length} real clips (${count} frames): FK error mean ${(mean * 1000).toFixed(2)} mm, max ${(worst * 1000).toFixed(2)} mm`,
  );
  assert.ok(mean < 0.002, `mean FK error ${mean} m`);
  assert.ok(worst < 0.01, `max FK error ${worst} m`);
});

test('rotationsFromJoints rejects arrays of the wrong size', () => {
  assert.throws(
    () => rotationsFromJoints(new Float32Array(65), 1, REST_OFFSETS_BANDAI),
    /joints: expected 1×22×3 = 66 values, got 65/,
  );
  assert.throws(
    () => rotationsFromJoints(new Float32Array(66), 1, REST_OFFSETS_BANDAI.slice(1)),
    /expected 22 rest offsets, got 21/,
  );
});

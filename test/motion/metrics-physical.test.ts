import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  boneLengthStd,
  floatHeight,
  floorPenetration,
  footSkateRatio,
  jitter,
  meanAcceleration,
  physicalMetrics,
  aggregatePhysicalMetrics,
} from '../../src/motion/metrics/index.js';
import { NUM_JOINTS, PARENTS, REST_OFFSETS_BANDAI } from '../../src/motion/skeleton.js';

const FPS = 20;

/** The Bandai-Namco rest T-pose with the pelvis at 0.9 m: balls of the feet ≈ 3.4 cm above the floor. */
function restPose(pelvisY = 0.9): Float32Array {
  const p = new Float32Array(NUM_JOINTS * 3);
  p[1] = pelvisY;
  for (let j = 1; j < NUM_JOINTS; j++)
    for (let c = 0; c < 3; c++) p[j * 3 + c] = p[PARENTS[j] * 3 + c] + REST_OFFSETS_BANDAI[j][c];
  return p;
}

/** Height of the lowest foot joint of the rest pose (the right ball of the foot, by 0.01 mm). */
function restFootHeight(): number {
  const p = restPose();
  return Math.min(p[10 * 3 + 1], p[11 * 3 + 1]);
}

/** T frames of the rest pose, each translated by offset(t) (metres). */
function moving(T: number, offset: (t: number) => [number, number, number], pose = restPose()): Float32Array {
  const out = new Float32Array(T * NUM_JOINTS * 3);
  for (let t = 0; t < T; t++) {
    const [dx, dy, dz] = offset(t);
    for (let j = 0; j < NUM_JOINTS; j++) {
      out[(t * NUM_JOINTS + j) * 3] = pose[j * 3] + dx;
      out[(t * NUM_JOINTS + j) * 3 + 1] = pose[j * 3 + 1] + dy;
      out[(t * NUM_JOINTS + j) * 3 + 2] = pose[j * 3 + 2] + dz;
    }
  }
  return out;
}

test('the synthetic rest pose stands with its feet inside the 5 cm contact band', () => {
  const p = restPose();
  assert.ok(p[10 * 3 + 1] > 0.02 && p[10 * 3 + 1] < 0.05, `left foot at ${p[10 * 3 + 1]}`);
});

test('a foot sliding at 1 m/s on the floor skates in every frame pair', () => {
  const T = 40;
  const joints = moving(T, (t) => [0, 0, t / FPS]);
  assert.equal(footSkateRatio(joints, T, FPS), 1);
});

test('a still pose has no skating, no jitter, no acceleration and rigid bones', () => {
  const T = 30;
  const joints = moving(T, () => [0, 0, 0]);
  const m = physicalMetrics(joints, T, FPS);
  assert.equal(m.footSkateRatio, 0);
  assert.equal(m.jitter, 0);
  assert.equal(m.meanAcceleration, 0);
  assert.ok(m.boneLengthStd < 1e-7);
  assert.equal(m.floorPenetrationMax, 0);
  assert.equal(m.floatFrameRatio, 0);
  assert.equal(m.frames, T);
});

test('a constant-velocity walk has zero acceleration and zero jitter', () => {
  const T = 60;
  const joints = moving(T, (t) => [(0.3 * t) / FPS, 0, (1.2 * t) / FPS]);
  // float32 positions of a few metres round to ~2e-7 m; × fps² and × fps³ that is the only residue.
  assert.ok(meanAcceleration(joints, T, FPS) < 1e-3, `acc ${meanAcceleration(joints, T, FPS)}`);
  assert.ok(jitter(joints, T, FPS) < 0.05, `jitter ${jitter(joints, T, FPS)}`);
});

test('constant acceleration g gives mean acceleration g and no jitter', () => {
  const T = 30;
  const g = 2.5;
  const joints = moving(T, (t) => [0, 0.5 * g * (t / FPS) ** 2, 0]);
  assert.ok(Math.abs(meanAcceleration(joints, T, FPS) - g) < 1e-3);
  assert.ok(jitter(joints, T, FPS) < 0.05);
});

test('an alternating ±a wobble has jitter 8a·fps³ and acceleration 4a·fps²', () => {
  const T = 20;
  const a = 0.001;
  const joints = moving(T, (t) => [t % 2 ? a : -a, 0, 0]);
  assert.ok(Math.abs(jitter(joints, T, FPS) - 8 * a * FPS ** 3) < 0.01 * 8 * a * FPS ** 3);
  assert.ok(Math.abs(meanAcceleration(joints, T, FPS) - 4 * a * FPS ** 2) < 0.01 * 4 * a * FPS ** 2);
});

test('slow sliding, a lifted fast foot and a one-frame glitch do not count as skating', () => {
  const T = 40;
  assert.equal(
    footSkateRatio(
      moving(T, (t) => [0, 0, (0.3 * t) / FPS]),
      T,
      FPS,
    ),
    0,
  );
  assert.equal(
    footSkateRatio(
      moving(T, (t) => [0, 0.1, (2 * t) / FPS]),
      T,
      FPS,
    ),
    0,
  );
  // One 5 cm jump (1 m/s for a single pair): instantaneous speed passes, the 5-frame average (0.2 m/s) does not.
  assert.equal(
    footSkateRatio(
      moving(T, (t) => [0, 0, t > 20 ? 0.05 : 0]),
      T,
      FPS,
    ),
    0,
  );
});

test('sliding during half of the clip gives a ratio of about one half', () => {
  const T = 41;
  const joints = moving(T, (t) => [0, 0, Math.min(t, 20) / FPS]);
  // Pairs 0–19 slide at 1 m/s; pairs 18–19 still average above 0.5 m/s, pair 20 onwards is still.
  assert.equal(footSkateRatio(joints, T, FPS), 20 / 40);
});

test('the contact band, speed threshold and feet are options', () => {
  const T = 20;
  const joints = moving(T, (t) => [0, 0, (0.3 * t) / FPS]);
  assert.equal(footSkateRatio(joints, T, FPS), 0);
  assert.equal(footSkateRatio(joints, T, FPS, { speedThreshold: 0.2 }), 1);
  assert.equal(footSkateRatio(joints, T, FPS, { speedThreshold: 0.2, contactHeight: 0.03 }), 0);
  assert.equal(footSkateRatio(joints, T, FPS, { speedThreshold: 0.2, feet: [0] }), 0);
});

test('floor penetration measures the lowest foot joint below y = 0', () => {
  const T = 10;
  const lowered = moving(T, (t) => [0, t < 5 ? -0.1 : 0, 0]);
  const footY = restFootHeight() - 0.1;
  const pen = floorPenetration(lowered, T);
  assert.ok(Math.abs(pen.max - -footY) < 1e-6);
  assert.ok(Math.abs(pen.mean - -footY / 2) < 1e-6);
});

test('float height averages the lowest foot height over frames where nothing touches the floor', () => {
  const T = 10;
  const raised = moving(T, (t) => [0, t < 4 ? 0.5 : 0, 0]);
  const footY = restFootHeight() + 0.5;
  const f = floatHeight(raised, T);
  assert.equal(f.ratio, 0.4);
  assert.ok(Math.abs(f.mean - footY) < 1e-6);
  assert.deepEqual(
    floatHeight(
      moving(T, () => [0, 0, 0]),
      T,
    ),
    { mean: 0, ratio: 0 },
  );
});

test('bone-length std of a bone alternating between two lengths is half their difference over 21 bones', () => {
  const T = 10;
  const joints = moving(T, () => [0, 0, 0]);
  // Move the left wrist (a leaf) ±1 cm along its bone (+X): that bone's length alternates ±1 cm.
  for (let t = 0; t < T; t++) joints[(t * NUM_JOINTS + 20) * 3] += t % 2 ? 0.01 : -0.01;
  assert.ok(Math.abs(boneLengthStd(joints, T) - 0.01 / 21) < 1e-6);
});

test('aggregate weighs clips by frame pairs and keeps maxima', () => {
  const a = physicalMetrics(
    moving(41, (t) => [0, 0, t / FPS]),
    41,
    FPS,
  );
  const b = physicalMetrics(
    moving(11, () => [0, 0, 0]),
    11,
    FPS,
  );
  const agg = aggregatePhysicalMetrics([a, b]);
  assert.equal(agg.frames, 52);
  assert.equal(agg.footSkateRatio, 40 / 50);
  assert.throws(() => aggregatePhysicalMetrics([]), /no clips/);
});

test('bad input gets a message naming the argument and the problem', () => {
  const joints = moving(10, () => [0, 0, 0]);
  assert.throws(
    () => footSkateRatio(joints, 11, FPS),
    /footSkateRatio joints: expected T×22×3 = 726 values for T=11, got 660/,
  );
  assert.throws(
    () =>
      jitter(
        moving(3, () => [0, 0, 0]),
        3,
        FPS,
      ),
    /jitter joints: needs at least 4 frames, got 3/,
  );
  assert.throws(() => meanAcceleration(joints, 10, 0), /fps must be a positive number, got 0/);
  const bad = joints.slice();
  bad[5 * 66 + 7 * 3 + 1] = Number.NaN;
  assert.throws(() => physicalMetrics(bad, 10, FPS), /non-finite value NaN at frame 5, joint 7/);
  assert.throws(() => footSkateRatio(joints, 10, FPS, { window: 0 }), /window must be a positive integer/);
  assert.throws(() => footSkateRatio(joints, 10, FPS, { feet: [22] }), /foot joint 22 is not within 0–21/);
  assert.throws(() => floorPenetration([1, 2, 3] as unknown as Float32Array, 1), /expected a Float32Array/);
  assert.throws(() => boneLengthStd(joints, -1), /T must be a non-negative integer/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFloat16, encodeFloat16, openDataset } from '../../src/motion/dataset.js';
import {
  computeNormStats,
  CONTACT_JOINTS,
  denormalizeFeatures,
  FEATURE_DIM,
  FEATURE_LAYOUT,
  FEATURE_MIRROR,
  FEATURE_SLICES,
  featurize,
  headingAngles,
  mirrorFeatures,
  normalizeFeatures,
  recoverJoints,
  wrapAngle,
} from '../../src/motion/features.js';
import { forwardKinematics, quatFromAxisAngle } from '../../src/motion/kinematics.js';
import { NUM_JOINTS, REST_OFFSETS_BANDAI } from '../../src/motion/skeleton.js';
import { mirrorPositions } from '../../src/motion/transforms.js';

const ds = openDataset();
const STRIDE = NUM_JOINTS * 3;

/** A T-posed Bandai Namco body per frame, turned by heading(t) about Y with its pelvis at root(t). */
function syntheticBody(
  T: number,
  heading: (t: number) => number,
  root: (t: number) => [number, number, number],
): Float32Array {
  const rotations = new Float32Array(T * NUM_JOINTS * 4);
  const roots = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < NUM_JOINTS; j++) rotations[(t * NUM_JOINTS + j) * 4] = 1;
    rotations.set(quatFromAxisAngle([0, 1, 0], heading(t)), t * NUM_JOINTS * 4);
    roots.set(root(t), t * 3);
  }
  return forwardKinematics(rotations, roots, REST_OFFSETS_BANDAI);
}

/** Mean and max joint distance between recovered frames and the first N original frames. */
function recoveryError(original: Float32Array, recovered: Float32Array): { sum: number; count: number; max: number } {
  let sum = 0;
  let max = 0;
  const count = recovered.length / 3;
  for (let i = 0; i < count; i++) {
    const e = Math.hypot(
      recovered[i * 3] - original[i * 3],
      recovered[i * 3 + 1] - original[i * 3 + 1],
      recovered[i * 3 + 2] - original[i * 3 + 2],
    );
    sum += e;
    if (e > max) max = e;
  }
  return { sum, count, max };
}

test('the layout has 71 dims in the documented slice order', () => {
  assert.equal(FEATURE_LAYOUT, 'charades-ric71/1');
  assert.equal(FEATURE_DIM, 71);
  const slices = Object.values(FEATURE_SLICES);
  assert.equal(slices[0][0], 0);
  for (let i = 1; i < slices.length; i++) assert.equal(slices[i][0], slices[i - 1][1], 'slices are contiguous');
  assert.equal(slices[slices.length - 1][1], FEATURE_DIM);
  assert.deepEqual([...CONTACT_JOINTS], [7, 10, 8, 11]);
});

test('heading is 0 facing +Z and follows a turn about Y', () => {
  const T = 8;
  const angles = [0, 0.5, Math.PI / 2, 2, 3, -3, -Math.PI / 2, -0.2];
  const joints = syntheticBody(
    T,
    (t) => angles[t],
    () => [0, 0.93, 0],
  );
  const h = headingAngles(joints, T);
  for (let t = 0; t < T; t++)
    assert.ok(Math.abs(wrapAngle(h[t] - angles[t])) < 1e-6, `frame ${t}: ${h[t]} vs ${angles[t]}`);
});

test('a body walking along +X while facing +X moves forward in its own frame', () => {
  const T = 10;
  const joints = syntheticBody(
    T,
    () => Math.PI / 2,
    (t) => [0.05 * t, 0.93, 0],
  );
  const f = featurize(joints, T);
  assert.equal(f.length, (T - 1) * FEATURE_DIM);
  for (let t = 0; t < T - 1; t++) {
    const o = t * FEATURE_DIM;
    assert.ok(Math.abs(f[o]) < 1e-6, 'no turning');
    assert.ok(Math.abs(f[o + 1]) < 1e-6, 'no sideways motion');
    assert.ok(Math.abs(f[o + 2] - 0.05) < 1e-6, `forward 0.05 m/frame, got ${f[o + 2]}`);
    assert.ok(Math.abs(f[o + 3] - 0.93) < 1e-6, 'root height');
    // Left hip (joint 1) is on the body's left: +x in the facing frame, whichever way the body faces.
    assert.ok(f[o + FEATURE_SLICES.ric[0]] > 0.06);
  }
});

test('turning across ±π gives a small wrapped angular velocity', () => {
  const joints = syntheticBody(
    2,
    (t) => (t === 0 ? 3.1 : -3.1),
    () => [0, 0.93, 0],
  );
  const f = featurize(joints, 2);
  assert.ok(Math.abs(f[0] - (2 * Math.PI - 6.2)) < 1e-5, `got ${f[0]}`);
  assert.equal(wrapAngle(-Math.PI), Math.PI);
  assert.equal(wrapAngle(3 * Math.PI), Math.PI);
});

test('contacts: planted feet are 1, feet moving at 1 m/s or lifted are 0', () => {
  // The T-pose's foot joints sit far below the pelvis; put the ankles at 0.1 m and the balls at ~0.06 m.
  const still = syntheticBody(
    3,
    () => 0,
    () => [0, 0.93, 0],
  );
  const lift = 0.1 - still[7 * 3 + 1];
  const planted = syntheticBody(
    3,
    () => 0,
    () => [0, 0.93 + lift, 0],
  );
  const f = featurize(planted, 3);
  assert.deepEqual([...f.subarray(FEATURE_SLICES.contacts[0], FEATURE_SLICES.contacts[1])], [1, 1, 1, 1]);
  const moving = syntheticBody(
    3,
    () => 0,
    (t) => [0.05 * t, 0.93 + lift, 0],
  );
  assert.deepEqual([...featurize(moving, 3).subarray(67, 71)], [0, 0, 0, 0]);
  const lifted = syntheticBody(
    3,
    () => 0,
    () => [0, 1.3, 0],
  );
  assert.deepEqual([...featurize(lifted, 3).subarray(67, 71)], [0, 0, 0, 0]);
});

test('positions → features → positions over the whole test split: mean error ≤ 1 cm (float32 and float16)', (t) => {
  const totals = { f32: { sum: 0, count: 0, max: 0 }, f16: { sum: 0, count: 0, max: 0 } };
  for (const r of ds.split('test')) {
    const joints = ds.positions(r);
    const f = featurize(joints, r.num_frames);
    const opts = {
      heading0: headingAngles(joints.subarray(0, STRIDE), 1)[0],
      root0: [joints[0], joints[2]] as [number, number],
    };
    for (const [kind, feats] of [
      ['f32', f],
      ['f16', decodeFloat16(encodeFloat16(f))],
    ] as const) {
      const e = recoveryError(joints, recoverJoints(feats, r.num_frames - 1, opts));
      totals[kind].sum += e.sum;
      totals[kind].count += e.count;
      totals[kind].max = Math.max(totals[kind].max, e.max);
    }
  }
  for (const kind of ['f32', 'f16'] as const) {
    const mean = totals[kind].sum / totals[kind].count;
    t.diagnostic(
      `${kind}: mean joint error ${(mean * 1000).toPrecision(3)} mm, max ${(totals[kind].max * 1000).toPrecision(3)} mm over ${totals[kind].count / NUM_JOINTS} frames of ${ds.split('test').length} clips`,
    );
    assert.ok(mean <= 0.01, `${kind} mean error ${mean} m`);
  }
  assert.ok(totals.f32.max < 1e-4, 'float32 features recover the positions to float precision');
});

test('recovery without heading/root options starts facing +Z at the origin', () => {
  const joints = syntheticBody(
    5,
    (t) => 1 + 0.1 * t,
    (t) => [2 + 0.03 * t, 0.9, -1],
  );
  const rec = recoverJoints(featurize(joints, 5), 4);
  assert.ok(Math.abs(rec[0]) < 1e-6 && Math.abs(rec[2]) < 1e-6, 'pelvis at the origin');
  assert.ok(Math.abs(headingAngles(rec, 4)[0]) < 1e-5, 'facing +Z');
  const turned = headingAngles(rec, 4);
  assert.ok(Math.abs(turned[3] - 0.3) < 1e-5, 'keeps the turn');
});

test('mirroring in feature space equals featurising mirrored positions', () => {
  const ids = [
    'bnr2_walk_exhausted_003',
    'accad_male1_c27_crouch-to-run',
    ...ds.records
      .filter((r) => r.action_labels.includes('walk-turn-left'))
      .slice(0, 3)
      .map((r) => r.id),
  ];
  for (const id of ids) {
    const r = ds.byId(id);
    const joints = ds.positions(r);
    const a = mirrorFeatures(featurize(joints, r.num_frames), r.num_frames - 1);
    const b = featurize(mirrorPositions(joints, r.num_frames), r.num_frames);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    assert.ok(max < 1e-5, `${id}: max difference ${max}`);
  }
});

test('the feature mirror is an involution that swaps left and right contacts', () => {
  const { perm, sign } = FEATURE_MIRROR;
  for (let i = 0; i < FEATURE_DIM; i++) {
    assert.equal(perm[perm[i]], i);
    assert.equal(sign[i] * sign[perm[i]], 1);
  }
  assert.deepEqual(perm.slice(67), [69, 70, 67, 68]);
  assert.deepEqual(sign.slice(0, 4), [-1, -1, 1, 1]);
});

test('normalisation statistics: mean, floored std, and normalise ∘ denormalise = identity', () => {
  const a = new Float32Array(2 * FEATURE_DIM);
  const b = new Float32Array(2 * FEATURE_DIM);
  for (let i = 0; i < FEATURE_DIM; i++) {
    a[i] = 1;
    a[FEATURE_DIM + i] = 3;
    b[i] = 1;
    b[FEATURE_DIM + i] = 3;
  }
  a[5] = b[5] = a[FEATURE_DIM + 5] = b[FEATURE_DIM + 5] = 7; // a constant dimension
  const stats = computeNormStats([a, b]);
  assert.equal(stats.frames, 4);
  assert.equal(stats.mean[0], 2);
  assert.ok(Math.abs(stats.std[0] - 1) < 1e-12);
  assert.equal(stats.mean[5], 7);
  assert.equal(stats.std[5], 1e-3, 'the floor applies to a constant dimension');
  assert.equal(computeNormStats([a], { stdFloor: 0.5 }).std[5], 0.5);
  const r = ds.byId('bnr1_bow_active_001');
  const f = featurize(ds.positions(r), r.num_frames);
  const n = normalizeFeatures(f, stats);
  assert.equal(n[0], Math.fround(f[0] - 2));
  const back = denormalizeFeatures(n, stats);
  for (let i = 0; i < f.length; i++) assert.ok(Math.abs(back[i] - f[i]) < 1e-4);
});

test('bad shapes and statistics are clear errors', () => {
  assert.throws(() => featurize(new Float32Array(66), 1), /featurize: needs at least 2 frame\(s\), got numFrames = 1/);
  assert.throws(() => featurize(new Float32Array(100), 2), /featurize: joints has 100 values, expected 2×22×3 = 132/);
  assert.throws(() => headingAngles(new Float32Array(5), 1), /headingAngles: joints has 5 values/);
  assert.throws(
    () => recoverJoints(new Float32Array(70), 1),
    /recoverJoints: features has 70 values, expected 1×71 = 71/,
  );
  assert.throws(() => recoverJoints(new Float32Array(71), 1.5), /recoverJoints: 71 values do not make whole frames/);
  assert.throws(
    () => mirrorFeatures(new Float32Array(71), 2),
    /mirrorFeatures: features has 71 values, expected 2×71 = 142/,
  );
  assert.throws(() => computeNormStats([]), /computeNormStats: no feature frames/);
  assert.throws(() => computeNormStats([new Float32Array(70)]), /not a multiple of 71/);
  assert.throws(() => computeNormStats([new Float32Array(71)], { stdFloor: 0 }), /stdFloor must be positive/);
  const good = { mean: new Array(71).fill(0), std: new Array(71).fill(1) };
  assert.throws(
    () => normalizeFeatures(new Float32Array(71), { mean: [0], std: [1] }),
    /normalizeFeatures: stats have 1 means and 1 stds, expected 71 each/,
  );
  assert.throws(
    () => denormalizeFeatures(new Float32Array(71), { ...good, std: [...good.std.slice(1), 0] }),
    /denormalizeFeatures: std\[70\] is 0, must be positive/,
  );
  assert.throws(
    () => normalizeFeatures(new Float32Array(72), good),
    /normalizeFeatures: 72 values do not make whole frames of 71/,
  );
});

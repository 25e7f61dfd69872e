import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDataset } from '../../src/motion/dataset.js';
import { CONTACT_JOINTS, featurize } from '../../src/motion/features.js';
import { forwardKinematics } from '../../src/motion/kinematics.js';
import { footSkateRatio } from '../../src/motion/metrics/index.js';
import { NUM_JOINTS, PARENTS } from '../../src/motion/skeleton.js';
import { FOOT_JOINT_CLEARANCE, lowestFootHeight } from '../../src/motion/transforms.js';
import {
  LEGS,
  cleanFootContacts,
  contactsFromFeatures,
  finishMotion,
  twoBoneIk,
} from '../../src/motion/engine/postprocess.js';

const ds = openDataset();
const walk = ds.records.find((r) => r.action_labels[0] === 'walk' && r.style === 'normal' && r.split === 'test');
if (!walk) throw new Error('no normal walk clip in the test split of the shared data');
const T = walk.num_frames;
const positions = ds.positions(walk);
const features = featurize(positions, T);
const N = T - 1;
const joints = positions.slice(0, N * NUM_JOINTS * 3);
const contacts = contactsFromFeatures(features, N);

const dist = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const jointAt = (j: Float32Array, t: number, k: number): Float32Array =>
  j.subarray((t * NUM_JOINTS + k) * 3, (t * NUM_JOINTS + k) * 3 + 3);

/** Model-like foot errors: the planted feet wobble a few centimetres from frame to frame. */
function withSlidingFeet(src: Float32Array): Float32Array {
  const out = Float32Array.from(src);
  for (let t = 0; t < N; t++) {
    CONTACT_JOINTS.forEach((j, i) => {
      out[(t * NUM_JOINTS + j) * 3] += 0.03 * Math.sin(t * 0.7 + i);
      out[(t * NUM_JOINTS + j) * 3 + 2] += 0.03 * Math.cos(t * 0.9 + i);
    });
  }
  return out;
}

test('two-bone IK keeps both bone lengths, reaches a reachable target and bends the knee the same way', () => {
  const hip: [number, number, number] = [0, 1, 0];
  const knee: [number, number, number] = [0, 0.6, 0.1];
  const ankle: [number, number, number] = [0, 0.2, 0];
  const r = twoBoneIk(hip, knee, ankle, [0.05, 0.25, 0.1]);
  assert.ok(Math.abs(dist(r.knee, hip) - dist(knee, hip)) < 1e-9);
  assert.ok(Math.abs(dist(r.ankle, r.knee) - dist(ankle, knee)) < 1e-9);
  assert.ok(dist(r.ankle, [0.05, 0.25, 0.1]) < 1e-9);
  assert.ok(r.knee[2] > 0.05, 'the knee still points forward');
  const far = twoBoneIk(hip, knee, ankle, [0, -2, 0]);
  assert.ok(
    Math.abs(dist(far.ankle, hip) - (dist(knee, hip) + dist(ankle, knee))) < 1e-5,
    'an unreachable target straightens the leg toward it',
  );
});

test('foot clean-up removes injected foot skate on a real walk and keeps the leg bones', () => {
  const noisy = withSlidingFeet(joints);
  const before = footSkateRatio(noisy, N, 20);
  const clean = cleanFootContacts(noisy, N, contacts);
  const after = footSkateRatio(clean, N, 20);
  assert.ok(before > 0.05, `the injected error must skate (ratio ${before})`);
  assert.ok(
    after <= footSkateRatio(joints, N, 20) + 0.01,
    `after clean-up ${after}, ground truth ${footSkateRatio(joints, N, 20)}`,
  );
  for (const leg of LEGS) {
    for (let t = 0; t < N; t++) {
      for (const [a, b] of [
        [leg.hip, leg.knee],
        [leg.knee, leg.ankle],
        [leg.ankle, leg.ball],
      ] as const) {
        assert.ok(
          Math.abs(
            dist(jointAt(clean, t, a), jointAt(clean, t, b)) - dist(jointAt(noisy, t, a), jointAt(noisy, t, b)),
          ) < 1e-4,
          `frame ${t} bone ${a}-${b}`,
        );
      }
    }
  }
  // Inside a contact run the planted ankle stays put; only where the leg is fully stretched (IK out of reach) may it creep.
  const leftAnkle = 0;
  let planted = 0;
  let still = 0;
  for (let t = 1; t < N; t++) {
    if (contacts[t * 4 + leftAnkle] && contacts[(t - 1) * 4 + leftAnkle]) {
      const moved = dist(jointAt(clean, t, 7), jointAt(clean, t - 1, 7));
      assert.ok(moved < 5e-3, `frame ${t}: the planted ankle moved ${moved} m`);
      if (moved < 1e-5) still++;
      planted++;
    }
  }
  assert.ok(still >= 0.8 * planted, `${still} of ${planted} planted frames exactly still`);
  assert.ok(planted > 5);
});

test('a planted foot that drifts is held at its mean spot, so the lock moves it at most half the drift', () => {
  // The model's failure mode: a foot flagged planted that creeps 1 cm per frame through its contact run.
  const leftAnkle = 0;
  let s = 0;
  while (s < N && !contacts[s * 4 + leftAnkle]) s++;
  let e = s;
  while (e < N && contacts[e * 4 + leftAnkle]) e++;
  assert.ok(e - s >= 6, `a contact run of the left ankle (${s}–${e})`);
  const drifting = Float32Array.from(joints);
  for (let t = s; t < N; t++)
    for (const j of [7, 10]) drifting[(t * NUM_JOINTS + j) * 3] += 0.01 * Math.min(t - s, e - 1 - s);
  const clean = cleanFootContacts(drifting, N, contacts);
  const drift = 0.01 * (e - 1 - s);
  let worst = 0;
  let still = 0;
  for (let t = s; t < e; t++) {
    worst = Math.max(worst, dist(jointAt(clean, t, 7), jointAt(drifting, t, 7)));
    // As above, where the leg cannot reach (fully stretched) the ankle may creep.
    if (t > s && dist(jointAt(clean, t, 7), jointAt(clean, t - 1, 7)) < 1e-5) still++;
  }
  assert.ok(still >= 0.6 * (e - 1 - s), `${still} of ${e - 1 - s} planted steps exactly still`);
  assert.ok(
    worst <= drift / 2 + 0.01,
    `held ${worst.toFixed(3)} m away from a foot that drifted ${drift.toFixed(3)} m`,
  );
});

test('foot clean-up refuses mismatched arrays', () => {
  assert.throws(() => cleanFootContacts(joints, N + 1, contacts), /joints has \d+ values, expected \d+×22×3/);
  assert.throws(() => cleanFootContacts(joints, N, contacts.subarray(4)), /contacts has \d+ values, expected \d+×4/);
});

test('finishMotion: features → joints on the floor, rotations that reproduce them, speed without sliding', () => {
  const m = finishMotion(features, N, { recover: { heading0: 0 } });
  assert.equal(m.numFrames, N);
  assert.ok(Math.abs(lowestFootHeight(m.joints, N) - FOOT_JOINT_CLEARANCE) < 1e-6);
  const root = new Float32Array(N * 3);
  for (let t = 0; t < N; t++) root.set(m.joints.subarray(t * 66, t * 66 + 3), t * 3);
  const fk = forwardKinematics(m.rotations ?? new Float32Array(), root, m.restOffsets ?? [], PARENTS);
  let worst = 0;
  for (let i = 0; i < fk.length; i++) worst = Math.max(worst, Math.abs(fk[i] - m.joints[i]));
  assert.ok(worst < 0.03, `rotations reproduce the joints within 3 cm (worst ${worst})`);
  const slow = finishMotion(features, N, { speed: 0.5 });
  assert.equal(slow.numFrames, 2 * N);
  assert.ok(footSkateRatio(slow.joints, slow.numFrames, 20) <= footSkateRatio(m.joints, N, 20) + 1e-9);
  const fast = finishMotion(features, N, { speed: 2 });
  assert.equal(fast.numFrames, Math.round(N / 2));
});

test('finishMotion refuses to drop more frames than it has', () => {
  assert.throws(() => finishMotion(features, N, { dropFrames: N }), new RegExp(`cannot drop ${N} of ${N} frames`));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averagePositionalError,
  averageVarianceError,
  bestOfDisplacementError,
  displacementError,
  initialPoseError,
  keyPoseDistance,
  lastPoseError,
} from '../../src/motion/metrics/index.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';

const FPS = 20;

/** A deterministic, non-degenerate pose: joint j at (sin j, 0.9 + 0.05 j, cos 2j) × scale. */
function pose(j: number): [number, number, number] {
  return [0.3 * Math.sin(j), 0.05 + 0.06 * j, 0.2 * Math.cos(2 * j)];
}

function motion(T: number, offset: (t: number, j: number) => [number, number, number] = () => [0, 0, 0]): Float32Array {
  const out = new Float32Array(T * NUM_JOINTS * 3);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < NUM_JOINTS; j++) {
      const p = pose(j);
      const o = offset(t, j);
      for (let c = 0; c < 3; c++) out[(t * NUM_JOINTS + j) * 3 + c] = p[c] + o[c];
    }
  }
  return out;
}

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('APE of a motion shifted by 0.3 m along x: root, trajectory and global 0.3, local 0; AVE 0', () => {
  const T = 25;
  const reference = motion(T, (t) => [0, 0, t * 0.05]);
  const generated = motion(T, (t) => [0.3, 0, t * 0.05]);
  const ape = averagePositionalError([{ generated, reference, T }]);
  close(ape.root, 0.3);
  close(ape.traj, 0.3);
  close(ape.meanLocal, 0);
  close(ape.meanGlobal, 0.3);
  const ave = averageVarianceError([{ generated, reference, T }]);
  for (const v of Object.values(ave)) close(v, 0, 1e-6);
});

test('APE separates height from the ground trajectory and local pose from global', () => {
  const T = 10;
  const reference = motion(T);
  // Lift only the root by 0.2 m: root APE 0.2, trajectory 0, every other joint 0.2 away locally.
  const generated = motion(T, (_t, j) => [0, j === 0 ? 0.2 : 0, 0]);
  const ape = averagePositionalError([{ generated, reference, T }]);
  close(ape.root, 0.2);
  close(ape.traj, 0);
  close(ape.meanLocal, 0.2);
  close(ape.meanGlobal, 0.2 / NUM_JOINTS);
});

test('AVE of a root moving linearly vs a still one equals the sample variance v²·T(T+1)/12', () => {
  const T = 21;
  const v = 0.05;
  const reference = motion(T);
  const generated = motion(T, (t) => [v * t, 0, 0]);
  const expected = (v * v * T * (T + 1)) / 12;
  const ave = averageVarianceError([{ generated, reference, T }]);
  close(ave.root, expected);
  close(ave.traj, expected);
  close(ave.meanLocal, 0);
  close(ave.meanGlobal, expected);
});

test('APE averages over all frames of all samples; AVE over samples', () => {
  const a = { generated: motion(10, () => [0.1, 0, 0]), reference: motion(10), T: 10 };
  const b = { generated: motion(30, () => [0.5, 0, 0]), reference: motion(30), T: 30 };
  close(averagePositionalError([a, b]).root, (10 * 0.1 + 30 * 0.5) / 40);
  assert.throws(() => averagePositionalError([]), /no samples/);
  assert.throws(
    () => averageVarianceError([{ ...a, T: 1, generated: motion(1), reference: motion(1) }]),
    /needs at least 2 frames/,
  );
  assert.throws(
    () => averagePositionalError([{ ...a, reference: motion(11) }]),
    /sample 0 reference: expected T×22×3 = 660 values for T=10, got 726/,
  );
});

test('initial-pose Recon/Vel are 0 for the given poses, see through a horizontal shift, and measure velocity', () => {
  const T = 40;
  const given = motion(4, (t) => [0, 0, 0.05 * t]);
  const generated = motion(T, (t) => [1, 0, 0.05 * t]);
  const aligned = initialPoseError(generated, T, given, 4, FPS);
  close(aligned.recon, 0);
  close(aligned.vel, 0);
  assert.deepEqual(initialPoseError(given, 4, given, 4, FPS), { recon: 0, vel: 0 });
  const raw = initialPoseError(generated, T, given, 4, FPS, { align: 'none' });
  close(raw.recon, 1);
  close(raw.vel, 0);
  // Standing still where the given poses walk at 0.05 m/frame: velocity error 0.05 × 20 = 1 m/s.
  const still = motion(T);
  close(initialPoseError(still, T, given, 4, FPS).vel, 1, 1e-4);
});

test('last-pose Recon compares the last K generated frames', () => {
  const T = 30;
  const generated = motion(T, (t) => [0, t >= 26 ? 0.1 : 0, 0]);
  const given = motion(4, () => [0, 0.1, 0]);
  close(lastPoseError(generated, T, given, 4, FPS).recon, 0);
  close(initialPoseError(generated, T, given, 4, FPS).recon, 0.1);
  assert.throws(
    () => lastPoseError(motion(3), 3, given, 4, FPS),
    /4 given poses but the generated motion has only 3 frames/,
  );
});

test('key-pose Dist takes the nearest generated frame for each key pose', () => {
  const T = 20;
  const generated = motion(T, (t) => [0, 0.01 * t, 0]);
  const keys = new Float32Array(3 * NUM_JOINTS * 3);
  keys.set(generated.subarray(5 * 66, 6 * 66), 0);
  keys.set(generated.subarray(12 * 66, 13 * 66), 66);
  keys.set(
    motion(1, () => [0, 0.5, 0]),
    132,
  ); // 0.31 m above the highest generated frame (0.19)
  close(keyPoseDistance(generated, T, keys, 3), (0 + 0 + 0.31) / 3);
  assert.throws(
    () => keyPoseDistance(generated, T, keys, 4),
    /key poses: expected T×22×3 = 264 values for T=4, got 198/,
  );
});

test('ADE/FDE of a drift growing 0.1 m per frame', () => {
  const T = 10;
  const reference = motion(T);
  const predicted = motion(T, (t) => [0, 0, 0.1 * (t + 1)]);
  const e = displacementError(predicted, reference, T);
  close(e.ade, 0.1 * 5.5);
  close(e.fde, 1.0);
  const best = bestOfDisplacementError([predicted, reference], reference, T);
  assert.deepEqual(best, { ade: 0, fde: 0 });
  assert.throws(() => bestOfDisplacementError([], reference, T), /no samples/);
  assert.throws(() => bestOfDisplacementError([motion(9)], reference, T), /sample 0: displacementError predicted/);
});

/**
 * Pose pinning on real motion (a test-split walk of the shared data) and through the engine (tiny model):
 * controlled frames show the pose, the root keeps its path, bones keep their lengths, the falloff keeps the
 * added velocity small, and `pinPoses: false` leaves the model's own result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Motion, PoseRef } from '../../src/motion/contracts.js';
import { openDataset } from '../../src/motion/dataset.js';
import { createEngine } from '../../src/motion/engine/engine.js';
import { DEFAULT_PIN_FALLOFF_FRAMES, pinPoses, raisedCosine } from '../../src/motion/engine/pin.js';
import { namedPose } from '../../src/motion/engine/poses.js';
import { headingAngles, wrapAngle } from '../../src/motion/features.js';
import { initialPoseError, keyPoseDistance, lastPoseError } from '../../src/motion/metrics/index.js';
import { NUM_JOINTS, PARENTS } from '../../src/motion/skeleton.js';

const POS = NUM_JOINTS * 3;
const ds = openDataset();
const walkRecord = ds.records.find((r) => r.action_labels[0] === 'walk' && r.style === 'normal' && r.split === 'test');
if (!walkRecord) throw new Error('no normal walk clip in the test split of the shared data');
const T = Math.min(walkRecord.num_frames, 80);
const walk = ds.positions(walkRecord).slice(0, T * POS);
const sitting = namedPose('sitting').joints;

const frameOf = (j: Float32Array, t: number): Float32Array => j.subarray(t * POS, (t + 1) * POS);

/** Root-relative joints in the body's facing frame (x/z about the pelvis, heights absolute). */
function facingFrame(pose: Float32Array): number[] {
  const h = headingAngles(pose, 1)[0];
  const [c, s] = [Math.cos(h), Math.sin(h)];
  const out: number[] = [];
  for (let j = 0; j < NUM_JOINTS; j++) {
    const x = pose[j * 3] - pose[0];
    const z = pose[j * 3 + 2] - pose[2];
    out.push(x * c - z * s, pose[j * 3 + 1], x * s + z * c);
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function bone(j: Float32Array, t: number, k: number): number {
  const o = t * POS;
  const p = PARENTS[k];
  return Math.hypot(
    j[o + k * 3] - j[o + p * 3],
    j[o + k * 3 + 1] - j[o + p * 3 + 1],
    j[o + k * 3 + 2] - j[o + p * 3 + 2],
  );
}

/** Largest per-joint acceleration (m/frame²) over the clip: what a too-short falloff turns into a jerk. */
function peakAcceleration(j: Float32Array, frames: number): number {
  let m = 0;
  for (let t = 1; t + 1 < frames; t++) {
    for (let k = 0; k < POS; k += 3) {
      const a = [0, 1, 2].map((c) => j[(t + 1) * POS + k + c] - 2 * j[t * POS + k + c] + j[(t - 1) * POS + k + c]);
      m = Math.max(m, Math.hypot(a[0], a[1], a[2]));
    }
  }
  return m;
}

test('raised cosine: 1 at the pin, 0 from the radius on, symmetric', () => {
  assert.equal(raisedCosine(0, 8), 1);
  assert.equal(raisedCosine(8, 8), 0);
  assert.equal(raisedCosine(-3, 8), raisedCosine(3, 8));
  assert.ok(Math.abs(raisedCosine(4, 8) - 0.5) < 1e-12);
});

test('a pinned frame shows the pose in the body facing frame; root path, far frames and bone lengths are kept', () => {
  const at = 40;
  const out = pinPoses(walk, T, [{ frame: at, joints: sitting }]);
  assert.ok(
    maxDiff(facingFrame(frameOf(out, at)), facingFrame(sitting)) < 1e-4,
    'the pose, as the body faces at that frame',
  );
  assert.ok(
    Math.abs(wrapAngle(headingAngles(frameOf(out, at), 1)[0] - headingAngles(frameOf(walk, at), 1)[0])) < 1e-3,
    "facing 'motion' keeps the walk's heading",
  );
  for (let t = 0; t < T; t++) {
    assert.ok(
      Math.abs(out[t * POS] - walk[t * POS]) < 1e-6 && Math.abs(out[t * POS + 2] - walk[t * POS + 2]) < 1e-6,
      `pelvis x/z unchanged at frame ${t}`,
    );
    if (Math.abs(t - at) >= DEFAULT_PIN_FALLOFF_FRAMES)
      assert.equal(maxDiff(frameOf(out, t), frameOf(walk, t)), 0, `frame ${t} outside the falloff untouched`);
  }
  for (let t = at - DEFAULT_PIN_FALLOFF_FRAMES + 1; t < at + DEFAULT_PIN_FALLOFF_FRAMES; t++) {
    const w = raisedCosine(t - at, DEFAULT_PIN_FALLOFF_FRAMES);
    for (let k = 1; k < NUM_JOINTS; k++) {
      const want = (1 - w) * bone(walk, t, k) + w * bone(sitting, 0, k);
      assert.ok(Math.abs(bone(out, t, k) - want) < 1e-5, `bone ${k} at frame ${t}: ${bone(out, t, k)} vs ${want}`);
    }
  }
});

test("facing 'pose' also turns the body to the pose's heading, so the pose matches in world axes", () => {
  const turned = Float32Array.from(sitting);
  // The same pose turned 60° about its pelvis: a world facing the walk does not have.
  const a = Math.PI / 3;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const x = sitting[j * 3] - sitting[0];
    const z = sitting[j * 3 + 2] - sitting[2];
    turned[j * 3] = sitting[0] + x * Math.cos(a) + z * Math.sin(a);
    turned[j * 3 + 2] = sitting[2] - x * Math.sin(a) + z * Math.cos(a);
  }
  const at = 30;
  const out = pinPoses(walk, T, [{ frame: at, joints: turned, facing: 'pose' }]);
  assert.ok(Math.abs(wrapAngle(headingAngles(frameOf(out, at), 1)[0] - headingAngles(turned, 1)[0])) < 1e-3);
  assert.ok(initialPoseError(frameOf(out, at), 1, turned, 1, 20).recon < 1e-4, 'root-xz aligned world error ≈ 0');
  const kept = pinPoses(walk, T, [{ frame: at, joints: turned }]);
  assert.ok(
    initialPoseError(frameOf(kept, at), 1, turned, 1, 20).recon > 0.05,
    "facing 'motion' does not turn, so it misses the world facing",
  );
});

test('close pins share the gap: each controlled frame is still hit exactly', () => {
  const standing = namedPose('standing').joints;
  const out = pinPoses(walk, T, [
    { frame: 20, joints: sitting },
    { frame: 24, joints: standing },
    { frame: 0, joints: standing },
    { frame: T - 1, joints: sitting },
  ]);
  for (const [t, pose] of [
    [20, sitting],
    [24, standing],
    [0, standing],
    [T - 1, sitting],
  ] as const) {
    assert.ok(maxDiff(facingFrame(frameOf(out, t)), facingFrame(pose)) < 1e-4, `frame ${t}`);
  }
});

test('the raised-cosine falloff adds far less acceleration than snapping one frame', () => {
  const at = 40;
  const smooth = peakAcceleration(pinPoses(walk, T, [{ frame: at, joints: sitting }]), T);
  const snapped = peakAcceleration(pinPoses(walk, T, [{ frame: at, joints: sitting }], { falloffFrames: 1 }), T);
  const own = peakAcceleration(walk, T);
  assert.ok(smooth < snapped / 3, `falloff ${smooth.toFixed(4)} vs snap ${snapped.toFixed(4)} m/frame²`);
  assert.ok(
    smooth < own + 0.1,
    `the pin keeps accelerations near the walk's own (${own.toFixed(4)} → ${smooth.toFixed(4)})`,
  );
});

test("a pin's own falloff overrides the call's: it reaches further, the other pin keeps the default", () => {
  const out = pinPoses(walk, T, [
    { frame: 10, joints: sitting, falloffFrames: 20 },
    { frame: 70, joints: sitting },
  ]);
  const touched = (t: number) => maxDiff(frameOf(out, t), frameOf(walk, t)) > 0;
  assert.ok(touched(10 + DEFAULT_PIN_FALLOFF_FRAMES + 5), 'the long pin still acts past the default falloff');
  assert.ok(!touched(10 + 20), 'and not from its own radius on');
  assert.ok(!touched(70 - DEFAULT_PIN_FALLOFF_FRAMES), 'the other pin keeps the default radius');
  assert.throws(
    () => pinPoses(walk, T, [{ frame: 10, joints: sitting, falloffFrames: 2.5 }]),
    /falloffFrames must be a whole number ≥ 0, got 2.5/,
  );
});

test('a held pin shows the pose on every frame of its span and fades out around it', () => {
  const out = pinPoses(walk, T, [{ frame: 30, holdUntil: 60, joints: sitting, falloffFrames: 10 }]);
  for (let t = 30; t <= 60; t++)
    assert.ok(maxDiff(facingFrame(frameOf(out, t)), facingFrame(sitting)) < 1e-4, `frame ${t} holds the pose`);
  assert.equal(maxDiff(frameOf(out, 19), frameOf(walk, 19)), 0, 'untouched before the fade-in');
  assert.equal(maxDiff(frameOf(out, 71), frameOf(walk, 71)), 0, 'untouched after the fade-out');
  assert.ok(maxDiff(frameOf(out, 25), frameOf(walk, 25)) > 0, 'fading in');
  assert.throws(
    () => pinPoses(walk, T, [{ frame: 30, holdUntil: 20, joints: sitting }]),
    /pin 0 holds until frame 20, outside its frame 30…79/,
  );
  assert.throws(
    () =>
      pinPoses(walk, T, [
        { frame: 30, holdUntil: 60, joints: sitting },
        { frame: 50, joints: sitting },
      ]),
    /a pin at frame 50 falls inside another pin's hold \(30…60\)/,
  );
});

test('bad pins are refused with the reason', () => {
  assert.throws(
    () => pinPoses(walk, T, [{ frame: T, joints: sitting }]),
    /pin 0 is at frame 80, outside the motion's 0…79/,
  );
  assert.throws(
    () => pinPoses(walk, T, [{ frame: 1, joints: new Float32Array(10) }]),
    /pin 0 has 10 values, expected 22×3/,
  );
  assert.throws(
    () => pinPoses(walk, T, [{ frame: 1, joints: sitting }], { falloffFrames: 1.5 }),
    /falloffFrames must be a whole number/,
  );
  assert.equal(maxDiff(pinPoses(walk, T, []), walk), 0);
});

const engine = createEngine({ modelDir: join(import.meta.dirname, '..', 'fixtures', 'tiny-model') });

test('the engine pins init, last and key poses by default; pinPoses: false leaves the model to follow them', async () => {
  const e = await engine;
  const frames = [0, 30, 50, 79];
  const ref = (t: number): PoseRef => ({
    kind: 'joints',
    joints: Array.from(frameOf(walk, t)),
    label: `walk frame ${t}`,
  });
  const segment = {
    text: 'a person walks forward',
    seconds: 4,
    control: {
      init: ref(0),
      keys: [
        { at: 30 / 20, pose: ref(30) },
        { at: 50 / 20, pose: ref(50) },
      ],
      last: ref(79),
    },
  };
  const errors = (m: Motion): number[] => [
    initialPoseError(m.joints, m.numFrames, frameOf(walk, 0), 1, 20).recon,
    ...[30, 50].map((t) => keyPoseDistance(frameOf(m.joints, t), 1, frameOf(walk, t), 1)),
    lastPoseError(m.joints, m.numFrames, frameOf(walk, 79), 1, 20).recon,
  ];
  const [pinned] = (await e.generate({ segments: [segment], seed: 3 })).motions;
  const [free] = (await e.generate({ segments: [segment], seed: 3, pinPoses: false })).motions;
  assert.equal(pinned.numFrames, 80);
  const p = errors(pinned);
  const f = errors(free);
  // A few millimetres remain: the poses are re-posed on the model's body and the foot clean-up locks planted feet.
  p.forEach((x, i) => assert.ok(x < 0.015, `frame ${frames[i]}: pinned error ${x.toFixed(4)} m`));
  assert.ok(
    f.reduce((a, b) => a + b) > 5 * p.reduce((a, b) => a + b),
    `unpinned ${f.map((x) => x.toFixed(3))} vs pinned ${p.map((x) => x.toFixed(3))}`,
  );
});

test('a named pose is pinned as the body faces; a request without poses is unchanged by pinning', async () => {
  const e = await engine;
  const [sit] = (
    await e.generate({
      segments: [{ text: 'a person sits down', seconds: 2, control: { last: { kind: 'named', name: 'sitting' } } }],
      seed: 5,
    })
  ).motions;
  const last = frameOf(sit.joints, sit.numFrames - 1);
  assert.ok(
    maxDiff(facingFrame(last), facingFrame(namedPose('sitting').joints)) < 0.02,
    'ends sitting (within the foot clean-up)',
  );
  const plain = { segments: [{ text: 'a person waves', seconds: 2 }], seed: 9 };
  const [a] = (await e.generate(plain)).motions;
  const [b] = (await e.generate({ ...plain, pinPoses: false })).motions;
  assert.equal(maxDiff(a.joints, b.joints), 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NAMED_POSES, makeMotion } from '../../src/motion/contracts.js';
import { openDataset } from '../../src/motion/dataset.js';
import { headingAngles } from '../../src/motion/features.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import { motionToJson } from '../../src/motion/formats.js';
import { JOINT, NUM_JOINTS, PARENTS, REST_OFFSETS_BANDAI, boneLengthsFromOffsets } from '../../src/motion/skeleton.js';
import { FOOT_JOINT_CLEARANCE } from '../../src/motion/transforms.js';
import {
  conformPoseToModelBody,
  namedPose,
  poseFromFile,
  poseFromMotionFrame,
  resolvePoseRef,
  validatePose,
} from '../../src/motion/engine/poses.js';

const SAMPLES = '/work/shared/data/motion/samples';
const at = (p: Float32Array, name: keyof typeof JOINT): [number, number, number] => {
  const j = JOINT[name] * 3;
  return [p[j], p[j + 1], p[j + 2]];
};
const y = (p: Float32Array, name: keyof typeof JOINT): number => at(p, name)[1];

function boneLengths(p: Float32Array): number[] {
  return PARENTS.map((par, j) =>
    par < 0 ? 0 : Math.hypot(p[j * 3] - p[par * 3], p[j * 3 + 1] - p[par * 3 + 1], p[j * 3 + 2] - p[par * 3 + 2]),
  );
}

for (const dataDir of [undefined, null] as const) {
  const source = dataDir === null ? 'joint angles' : 'data where it has them';
  test(`named poses (${source}): valid, on the model's body, facing +Z, over the origin, on the floor`, () => {
    const rest = boneLengthsFromOffsets(REST_OFFSETS_BANDAI);
    for (const name of NAMED_POSES) {
      const { joints, label } = namedPose(name, { dataDir });
      validatePose(joints, name);
      boneLengths(joints).forEach((len, j) =>
        assert.ok(Math.abs(len - rest[j]) < 2e-3, `${name}: bone ${j} ${len} vs ${rest[j]}`),
      );
      assert.ok(Math.abs(headingAngles(joints, 1)[0]) < 1e-3, `${name} faces +Z`);
      assert.ok(Math.abs(joints[0]) < 1e-6 && Math.abs(joints[2]) < 1e-6, `${name} pelvis over the origin`);
      assert.ok(
        Math.abs(Math.min(...joints.filter((_, i) => i % 3 === 1)) - FOOT_JOINT_CLEARANCE) < 1e-6,
        `${name} rests on the floor`,
      );
      assert.match(label, dataDir === null ? /joint angles/ : /./);
    }
  });

  test(`named poses (${source}) look like their names`, () => {
    const p = (n: (typeof NAMED_POSES)[number]): Float32Array => namedPose(n, { dataDir }).joints;
    const t = p('t-pose');
    assert.ok(
      Math.abs(y(t, 'left_wrist') - y(t, 'left_shoulder')) < 0.02 &&
        at(t, 'left_wrist')[0] > 0.5 &&
        at(t, 'right_wrist')[0] < -0.5,
    );
    const a = p('a-pose');
    assert.ok(y(a, 'left_wrist') < y(a, 'left_shoulder') - 0.2 && y(a, 'left_wrist') > y(a, 'pelvis'));
    const s = p('standing');
    assert.ok(y(s, 'pelvis') > 0.85 && y(s, 'left_wrist') < y(s, 'spine3') - 0.2);
    const h = p('hands-up');
    assert.ok(y(h, 'left_wrist') > y(h, 'head') + 0.1 && y(h, 'right_wrist') > y(h, 'head') + 0.1);
    const c = p('crouching');
    assert.ok(y(c, 'pelvis') < 0.55 && at(c, 'left_knee')[2] > 0.2);
    const sit = p('sitting');
    assert.ok(
      Math.abs(y(sit, 'left_knee') - y(sit, 'pelvis')) < 0.1 &&
        at(sit, 'left_knee')[2] > 0.3 &&
        y(sit, 'left_ankle') < 0.15,
    );
    const k = p('kneeling');
    assert.ok(
      y(k, 'left_knee') < 0.1 && y(k, 'right_knee') < 0.1 && y(k, 'pelvis') > 0.4 && at(k, 'left_ankle')[2] < -0.3,
    );
    const l = p('lying');
    assert.ok(y(l, 'pelvis') < 0.3 && y(l, 'head') < 0.3 && y(l, 'neck') < 0.35);
  });
}

test('the posture poses come from real frames of the motion and CMU packs (never HDM05) and show their posture', () => {
  const p = (n: (typeof NAMED_POSES)[number]) => namedPose(n);
  const labels = [
    'on-all-fours',
    'kneeling-up',
    'sitting-floor',
    'sitting-chair',
    'lying-back',
    'lying-front',
    'squatting',
    'arms-raised',
  ] as const;
  for (const n of labels) assert.match(p(n).label, /\(data: (accad_|bnr|cmu_)[\w-]+#\d+/, n);
  for (const n of labels) assert.doesNotMatch(p(n).label, /hdm05/, n);
  const fours = p('on-all-fours').joints;
  assert.ok(
    Math.max(y(fours, 'left_knee'), y(fours, 'right_knee')) < 0.15 &&
      Math.max(y(fours, 'left_wrist'), y(fours, 'right_wrist')) < 0.2,
    'hands and knees on the floor',
  );
  assert.ok(y(fours, 'pelvis') > 0.3 && y(fours, 'head') > 0.3 && y(fours, 'head') < 0.7, 'body held up, head low');
  const kneel = p('kneeling-up').joints;
  assert.ok(
    Math.max(y(kneel, 'left_knee'), y(kneel, 'right_knee')) < 0.15 &&
      y(kneel, 'pelvis') > 0.4 &&
      y(kneel, 'head') > 0.85,
    'on the knees, upright',
  );
  assert.ok(y(kneel, 'left_wrist') < y(kneel, 'pelvis') + 0.1, 'arms down');
  const floor = p('sitting-floor').joints;
  assert.ok(y(floor, 'pelvis') < 0.25 && y(floor, 'head') > 0.5, 'pelvis on the floor, back up');
  const chair = p('sitting-chair').joints;
  assert.ok(y(chair, 'pelvis') > 0.4 && y(chair, 'pelvis') < 0.6, `seat height ${y(chair, 'pelvis')}`);
  assert.ok(
    Math.abs(y(chair, 'left_knee') - y(chair, 'pelvis')) < 0.12 &&
      at(chair, 'left_knee')[2] > 0.25 &&
      y(chair, 'left_ankle') < 0.15,
    'thighs level, feet down',
  );
  const back = p('lying-back').joints;
  const front = p('lying-front').joints;
  for (const l of [back, front]) assert.ok(y(l, 'pelvis') < 0.3 && y(l, 'head') < 0.3 && y(l, 'neck') < 0.35, 'lying');
  // the chest faces up on the back and down on the front: the vertical part of (left − right shoulder) × (pelvis → neck)
  const chestUpOf = (q: Float32Array) => {
    const across = at(q, 'left_shoulder').map((v, i) => v - at(q, 'right_shoulder')[i]);
    const up = at(q, 'neck').map((v, i) => v - at(q, 'pelvis')[i]);
    return across[2] * up[0] - across[0] * up[2];
  };
  assert.ok(chestUpOf(back) > 0.03 && chestUpOf(front) < -0.03, `chest up ${chestUpOf(back)} / ${chestUpOf(front)}`);
  const squat = p('squatting').joints;
  assert.ok(
    y(squat, 'pelvis') < 0.4 &&
      y(squat, 'head') > 0.6 &&
      Math.max(y(squat, 'left_ankle'), y(squat, 'right_ankle')) < 0.2,
    'deep squat, upright, feet down',
  );
  const arms = p('arms-raised').joints;
  assert.ok(
    y(arms, 'left_wrist') > y(arms, 'head') + 0.1 && y(arms, 'right_wrist') > y(arms, 'head') + 0.1,
    'both arms above the head',
  );
});

test('data-derived poses name their clip and frame, always a training clip', () => {
  assert.match(namedPose('crouching').label, /data: accad_male1_b24_walk-to-crouch#\d+/);
  assert.match(namedPose('sitting').label, /joint angles/);
  // a pose from a test clip would hand the floor-level measure that clip's answer when the engine pins it
  const packs = [openDataset(), openDataset(join(defaultDataDir() ?? '', '..', 'cmu'))];
  const split = new Map(packs.flatMap((d) => d.records.map((r) => [r.id, r.split] as const)));
  for (const name of NAMED_POSES) {
    const m = /\(data: ([\w-]+)#\d+/.exec(namedPose(name).label);
    if (m) assert.equal(split.get(m[1]), 'train', `${name} comes from ${m[1]}`);
  }
});

test('unknown pose names and broken poses are refused with the reason', () => {
  assert.throws(() => namedPose('dabbing'), /unknown pose name "dabbing"; named poses are: t-pose, a-pose/);
  const good = namedPose('standing', { dataDir: null }).joints;
  assert.throws(
    () => validatePose(good.subarray(0, 60), 'upload'),
    /upload: expected 22 joints × 3 = 66 numbers, got 60/,
  );
  const nan = Float32Array.from(good);
  nan[JOINT.left_elbow * 3 + 1] = NaN;
  assert.throws(() => validatePose(nan, 'upload'), /upload: left_elbow\.y is NaN, not a finite number/);
  assert.throws(
    () =>
      validatePose(
        good.map((v) => v * 100),
        'upload',
      ),
    /bone pelvis → left_hip is \d+\.\d+ m long, expected about 0\.068 m/,
  );
  const stretched = Float32Array.from(good);
  stretched[JOINT.left_wrist * 3] += 1;
  assert.throws(() => validatePose(stretched, 'upload'), /left_elbow → left_wrist/);
});

test('a pose from another body keeps bone directions, takes the model body lengths, stays on the floor', () => {
  const base = namedPose('crouching', { dataDir: null }).joints;
  const big = base.map((v, i) => (i % 3 === 1 ? v * 1.15 : v * 1.15));
  const conformed = conformPoseToModelBody(big);
  const rest = boneLengthsFromOffsets(REST_OFFSETS_BANDAI);
  boneLengths(conformed).forEach((len, j) => assert.ok(Math.abs(len - rest[j]) < 2e-3, `bone ${j}`));
  for (let j = 1; j < NUM_JOINTS; j++) {
    const p = PARENTS[j];
    const d1 = [0, 1, 2].map((k) => base[j * 3 + k] - base[p * 3 + k]);
    const d2 = [0, 1, 2].map((k) => conformed[j * 3 + k] - conformed[p * 3 + k]);
    const cos = (d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]) / (Math.hypot(...d1) * Math.hypot(...d2));
    assert.ok(cos > 0.999, `joint ${j} direction kept (cos ${cos})`);
  }
  const lowest = (p: Float32Array): number => Math.min(...p.filter((_, i) => i % 3 === 1));
  assert.ok(Math.abs(lowest(conformed) - lowest(big)) < 1e-6);
});

test('poses from frames of motions, files and references', async () => {
  const frames = [namedPose('standing', { dataDir: null }).joints, namedPose('sitting', { dataDir: null }).joints];
  const joints = new Float32Array(2 * 66);
  frames.forEach((f, i) => joints.set(f, i * 66));
  const motion = makeMotion({ fps: 20, numFrames: 2, joints });
  const last = poseFromMotionFrame(motion, -1, 'm');
  assert.ok(Math.abs(y(last.joints, 'pelvis') - y(frames[1], 'pelvis')) < 1e-3);
  assert.throws(() => poseFromMotionFrame(motion, 2, 'm'), /m: frame 2 is outside the motion \(it has 2 frames/);
  assert.throws(() => poseFromMotionFrame(motion, -3, 'm'), /frame -3 is outside/);

  const dir = mkdtempSync(join(tmpdir(), 'charades-poses-'));
  const file = join(dir, 'm.json');
  writeFileSync(file, motionToJson(motion));
  const fromFile = await resolvePoseRef({ kind: 'frame', motion: { path: file }, frame: 1 });
  assert.ok(Math.abs(y(fromFile.joints, 'left_knee') - y(frames[1], 'left_knee')) < 1e-3);
  const bvh = poseFromFile(join(SAMPLES, 'dataset-1_bow_happy_001.bvh'));
  assert.ok(y(bvh.joints, 'head') > 1.2, 'a BVH frame of a standing actor stands');
  const uploaded = await resolvePoseRef({ kind: 'joints', joints: Array.from(frames[0]), label: 'mine' });
  assert.equal(uploaded.label, 'mine');
  assert.equal((await resolvePoseRef({ kind: 'named', name: 'kneeling' })).label, 'named:kneeling (joint angles)');
  await assert.rejects(
    resolvePoseRef({ kind: 'frame', motion: { id: 'abc' }, frame: 0 }),
    /motion "abc" cannot be found/,
  );
  await assert.rejects(
    resolvePoseRef({ kind: 'frame', motion: { path: join(dir, 'none.json') }, frame: 0 }),
    /none\.json: no such file/,
  );
  assert.throws(() => poseFromMotionFrame(motion, 0.5, 'm'), /frame must be a whole number/);
});

test('frames of motions only need a human-sized body in metres; their bones are re-posed anyway', () => {
  const pose = Float32Array.from(namedPose('standing', { dataDir: null }).joints);
  // A generator's short forearm: the wrist pulled toward the elbow to 43 % of the bone.
  for (let k = 0; k < 3; k++)
    pose[JOINT.left_wrist * 3 + k] =
      pose[JOINT.left_elbow * 3 + k] + 0.43 * (pose[JOINT.left_wrist * 3 + k] - pose[JOINT.left_elbow * 3 + k]);
  const motion = makeMotion({ fps: 20, numFrames: 1, joints: pose });
  assert.throws(() => validatePose(pose, 'upload'), /left_elbow → left_wrist/);
  const conformed = poseFromMotionFrame(motion, 0, 'm').joints;
  const rest = boneLengthsFromOffsets(REST_OFFSETS_BANDAI);
  assert.ok(Math.abs(boneLengths(conformed)[JOINT.left_wrist] - rest[JOINT.left_wrist]) < 2e-3);
  const inCm = makeMotion({ fps: 20, numFrames: 1, joints: pose.map((v) => v * 100) });
  assert.throws(
    () => poseFromMotionFrame(inCm, 0, 'm'),
    /m frame 0: the skeleton's bones add up to \d+\.\d+ m, a human body is about \d\.\d+ m \(are the values metres\?\)/,
  );
});

test('an uploaded pose on another skeleton (ACCAD cuts the spine elsewhere) is accepted; a swapped joint order is not', async () => {
  const { openDataset } = await import('../../src/motion/dataset.js');
  const ds = openDataset();
  const accad = ds.records.find((r) => r.dataset === 'accad-male1' && r.action_labels.includes('walk'));
  assert.ok(accad, 'the data has ACCAD walks');
  const pose = ds.positions(accad).slice(0, NUM_JOINTS * 3);
  const spine3ToNeck = Math.hypot(...[0, 1, 2].map((k) => pose[JOINT.neck * 3 + k] - pose[JOINT.spine3 * 3 + k]));
  assert.ok(spine3ToNeck > 0.2, `ACCAD's spine3 → neck is long (${spine3ToNeck.toFixed(3)} m)`);
  validatePose(pose, 'ACCAD frame');
  const swapped = Float32Array.from(pose);
  for (let k = 0; k < 3; k++)
    [swapped[JOINT.left_knee * 3 + k], swapped[JOINT.left_wrist * 3 + k]] = [
      swapped[JOINT.left_wrist * 3 + k],
      swapped[JOINT.left_knee * 3 + k],
    ];
  assert.throws(() => validatePose(swapped, 'swapped'), /swapped: bone .* is .* m long, expected about/);
});

test('limb gesture poses: the asked leg or fist out, mirrored exactly for the other side; hands joined; a hand at the floor', () => {
  const p = (n: (typeof NAMED_POSES)[number]) => namedPose(n).joints;
  const kl = p('kick-left');
  const kr = p('kick-right');
  assert.ok(y(kl, 'left_ankle') > 0.6 && y(kl, 'right_ankle') < 0.15, 'left kick: the left ankle at hip height');
  for (const j of Object.keys(JOINT) as (keyof typeof JOINT)[]) {
    const other = (
      j.startsWith('left_') ? j.replace('left_', 'right_') : j.replace('right_', 'left_')
    ) as keyof typeof JOINT;
    const [x, yy, z] = at(kl, j);
    const [mx, my, mz] = at(kr, other);
    assert.ok(Math.abs(x + mx) < 1e-4 && Math.abs(yy - my) < 1e-4 && Math.abs(z - mz) < 1e-4, `${j} mirrors ${other}`);
  }
  assert.ok(
    y(p('knee-up-right'), 'right_knee') > 0.85 && y(p('knee-up-right'), 'left_knee') < 0.6,
    'right knee above the hip',
  );
  const punch = p('punch-left');
  assert.ok(at(punch, 'left_wrist')[2] - at(punch, 'left_shoulder')[2] > 0.4, 'the left fist straight out');
  assert.ok(at(punch, 'right_wrist')[2] > 0.15 && y(punch, 'right_wrist') > 1.1, 'the right fist in guard by the chin');
  const clap = p('hands-together');
  const apart = Math.hypot(...at(clap, 'left_wrist').map((v, i) => v - at(clap, 'right_wrist')[i]));
  assert.ok(apart < 0.1 && at(clap, 'left_wrist')[2] > 0.3, `hands together in front (${apart.toFixed(3)} m apart)`);
  const forward = p('arms-forward');
  for (const s of ['left', 'right'] as const)
    assert.ok(
      at(forward, `${s}_wrist`)[2] > 0.4 && Math.abs(y(forward, `${s}_wrist`) - y(forward, `${s}_shoulder`)) < 0.05,
    );
  const down = namedPose('reaching-down');
  assert.match(down.label, /data: accad_/);
  assert.ok(Math.min(y(down.joints, 'left_wrist'), y(down.joints, 'right_wrist')) < 0.3, 'a hand near the floor');
});

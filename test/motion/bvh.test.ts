import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  bvhExportPositions,
  bvhFps,
  bvhGlobalPositions,
  estimateRestOffsets,
  parseBvh,
  readBvhFile,
  writeBvh,
} from '../../src/motion/bvh.js';
import { retargetBvh } from '../../src/motion/retarget.js';
import { EULER_ORDERS, positionError, quatAngleBetween } from '../../src/motion/kinematics.js';
import { openDataset } from '../../src/motion/dataset.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import { makeMotion } from '../../src/motion/contracts.js';
import { REST_OFFSETS_BANDAI } from '../../src/motion/skeleton.js';

const SAMPLES = ['dataset-1_bow_happy_001', 'dataset-1_kick_normal_001', 'dataset-2_walk_normal_001'];
const samplePath = (name: string) => join(defaultDataDir(), 'samples', `${name}.bvh`);

test('reads the three real Bandai-Namco samples (6 channels per joint, End Sites)', () => {
  const frames = [138, 358, 273];
  SAMPLES.forEach((name, i) => {
    const clip = readBvhFile(samplePath(name));
    assert.equal(clip.joints.length, 22);
    assert.equal(clip.joints[0].name, 'joint_Root');
    assert.equal(clip.numFrames, frames[i]);
    assert.equal(clip.channelsPerFrame, 22 * 6);
    assert.equal(bvhFps(clip), 30);
    assert.deepEqual(clip.joints.find((j) => j.name === 'Head')!.endSite, [0, 0, 0]);
  });
});

test('real samples: read → write → read keeps every joint within 1 mm (cm/ZXY default, m/XYZ, all orders)', () => {
  for (const name of SAMPLES) {
    const motion = retargetBvh(readBvhFile(samplePath(name)), { fps: 30 });
    const variants = [
      {},
      { scale: 'm' as const, rotationOrder: 'XYZ' as const },
      ...EULER_ORDERS.map((o) => ({ rotationOrder: o })),
    ];
    for (const opts of variants) {
      const text = writeBvh(motion, opts);
      const back = retargetBvh(parseBvh(text, `${name}.bvh`), { fps: 30 });
      const err = positionError(back.joints, motion.joints);
      assert.ok(err.max < 0.001, `${name} ${JSON.stringify(opts)}: max error ${(err.max * 1000).toFixed(3)} mm`);
    }
  }
});

test('the writer emits cm by default, metres on request, and the frame time from fps', () => {
  const motion = retargetBvh(readBvhFile(samplePath(SAMPLES[0])));
  const cm = writeBvh(motion);
  const m = writeBvh(motion, { scale: 'm' });
  assert.match(cm, /Frame Time: 0\.050000000/);
  assert.match(cm, /CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation/);
  const legCm = parseBvh(cm).joints.find((j) => j.name === 'left_knee')!.offset;
  const legM = parseBvh(m).joints.find((j) => j.name === 'left_knee')!.offset;
  assert.ok(Math.abs(legCm[1] / legM[1] - 100) < 0.01, `${legCm} vs ${legM}`);
  assert.ok(Math.abs(legCm[1] + 39.08) < 0.1, `knee offset ${legCm[1]} cm (the Bandai-Namco thigh is 39.08 cm)`);
  assert.throws(() => writeBvh(motion, { rotationOrder: 'XXZ' as never }), /unknown rotation order "XXZ"/);
  assert.throws(() => writeBvh(motion, { scale: 'mm' as never }), /scale must be "cm" or "m", got "mm"/);
  assert.throws(
    () => writeBvh(motion, { restOffsets: REST_OFFSETS_BANDAI.slice(2) }),
    /expected 22 rest offsets, got 20/,
  );
});

test('a dataset clip with rotations is written with them and read back with the same rotations', () => {
  const clip = openDataset().clip('bnr1_kick_normal_001');
  const back = retargetBvh(parseBvh(writeBvh(clip), 'kick.bvh'));
  assert.equal(back.numFrames, clip.numFrames);
  let worst = 0;
  for (let i = 0; i < clip.rotations!.length; i += 4) {
    worst = Math.max(worst, quatAngleBetween(clip.rotations!.subarray(i, i + 4), back.rotations!.subarray(i, i + 4)));
  }
  assert.ok(worst < 1e-4, `rotation error ${worst} rad`);
  assert.ok(positionError(back.joints, clip.joints).max < 0.0025);
  back.restOffsets!.forEach((o, j) => o.forEach((v, k) => assert.ok(Math.abs(v - clip.restOffsets![j][k]) < 1e-6)));
});

test('estimated rest offsets reproduce the bone lengths of a clip from another body (ACCAD)', () => {
  const ds = openDataset();
  const r = ds.byId('accad_male1_a10_lie-to-crouch');
  const est = estimateRestOffsets(ds.positions(r), r.num_frames);
  const rest = r.rest_offsets_m;
  assert.ok(rest, 'the motion pack has rest offsets');
  est.forEach((o, j) => {
    const want = Math.hypot(...rest[j]);
    assert.ok(Math.abs(Math.hypot(...o) - want) < 0.003, `joint ${j}: ${Math.hypot(...o)} vs ${want}`);
  });
  // Written without rotations: solved from the joints on the estimated body, then read back.
  const motion = makeMotion({ fps: 20, numFrames: r.num_frames, joints: ds.positions(r) });
  const back = retargetBvh(parseBvh(writeBvh(motion), 'accad.bvh'));
  const err = positionError(back.joints, motion.joints);
  console.log(
    `ACCAD clip written without rotations (estimated body): mean ${(err.mean * 1000).toFixed(2)} mm, max ${(err.max * 1000).toFixed(2)} mm`,
  );
  assert.ok(err.mean < 0.002 && err.max < 0.005, `mean error ${err.mean} m, max ${err.max} m`);
  // bvhExportPositions predicts what the file shows without writing it.
  assert.ok(positionError(bvhExportPositions(motion), back.joints).max < 0.0002);
  assert.throws(() => estimateRestOffsets(new Float32Array(0), 0), /no frames/);
});

const SYNTHETIC = [
  'HIERARCHY',
  'ROOT\tHips',
  '{',
  '\tOFFSET 0 0 0',
  '\tCHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation',
  '\tJOINT Arm',
  '\t{',
  '\t\tOFFSET 1.0e1 0 0',
  '\t\tCHANNELS 3 Xrotation Zrotation Yrotation',
  '\t\tJOINT Hand',
  '\t\t{',
  '\t\t\tOFFSET 5 0 0',
  '\t\t\tCHANNELS 4 Xposition Zrotation Yrotation Xrotation',
  '\t\t\tEnd Site',
  '\t\t\t{',
  '\t\t\t\tOFFSET 1 0 0',
  '\t\t\t}',
  '\t\t}',
  '\t}',
  '}',
  'MOTION',
  'Frames:\t2',
  'Frame Time:\t2.5E-2',
  '1 2 3 0 0 0 0 0 0 7 0 0 0',
  '0 0 0 90 0 0 0 0 90 5 0 0 0',
  '',
];

test('synthetic BVH: CRLF, tabs, scientific notation, mixed orders, 3/4/6 channels and position channels on a child', () => {
  const clip = parseBvh(SYNTHETIC.join('\r\n'), 'synthetic.bvh');
  assert.deepEqual(
    clip.joints.map((j) => [j.name, j.parent, j.channels.length]),
    [
      ['Hips', -1, 6],
      ['Arm', 0, 3],
      ['Hand', 1, 4],
    ],
  );
  assert.equal(bvhFps(clip), 40);
  const { positions } = bvhGlobalPositions(clip);
  // Frame 0: no rotation; the Hand's Xposition channel (7) replaces its OFFSET x (5).
  assert.deepEqual(Array.from(positions.subarray(0, 9)), [1, 2, 3, 11, 2, 3, 18, 2, 3]);
  // Frame 1: root yaw 90° about Y turns +X into −Z; the Arm's local Y 90° turns the hand's +X into −Z too.
  const f1 = Array.from(positions.subarray(9, 18)).map((v) => Math.round(v * 1e9) / 1e9 + 0);
  assert.deepEqual(f1, [0, 0, 0, 0, 0, -10, -5, 0, -10]);
  // Resampling to 80 fps puts a frame halfway: nlerp of the rotations, not a straight line between positions.
  const half = bvhGlobalPositions(clip, 80);
  assert.equal(half.numFrames, 4);
  const root = half.positions.subarray(9, 12);
  const arm = half.positions.subarray(12, 15);
  assert.ok(Math.abs(Math.hypot(arm[0] - root[0], arm[1] - root[1], arm[2] - root[2]) - 10) < 1e-9, 'bone length kept');
  assert.throws(() => bvhGlobalPositions(clip, -5), /synthetic\.bvh: the target frame rate must be positive, got -5/);
  assert.equal(
    parseBvh(
      SYNTHETIC.join('\n')
        .replace('Frames:\t2', 'Frames: 1')
        .replace(/\n0 0 0 90.*\n/, '\n'),
      'lf.bvh',
    ).numFrames,
    1,
  );
});

function expectError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseBvh(text, 'bad.bvh'),
    (err: Error) => {
      assert.match(err.message, /^bad\.bvh:\d+: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('malformed BVH files give an error naming the file, the line and the problem', () => {
  const lines = [...SYNTHETIC];
  expectError('', /the file is empty/);
  expectError(['HIERARCHY_X', ...lines.slice(1)].join('\n'), /not a BVH file: expected "HIERARCHY"/);
  expectError(
    lines.join('\n').replace('Frames:\t2', 'Frames:\t3'),
    /frame count mismatch: the header says 3 frames, but only 2/,
  );
  expectError(
    lines.join('\n').replace('Frames:\t2', 'Frames:\t1'),
    /bad\.bvh:25: frame count mismatch: the header says 1 frames, but 2 motion lines follow/,
  );
  expectError(
    lines.join('\n').replace('0 0 0 90 0 0 0 0 90 5 0 0 0', '0 0 0 90 0 0 0'),
    /bad\.bvh:25: truncated motion line: expected 13 values \(one per channel\), got 7/,
  );
  expectError(lines.join('\n').replace('1 2 3 0 0', '1 2 abc 0 0'), /bad\.bvh:24: value 3 is not a number: "abc"/);
  expectError(lines.join('\n').replace('1 2 3 0 0', '1 2 nan 0 0'), /value 3 is not a number: "nan"/);
  expectError(
    lines.join('\n').replace('1 2 3 0 0', '1 2 -1e400 0 0'),
    /bad\.bvh:24: value 3 is out of range: "-1e400"/,
  );
  expectError(
    lines.join('\n').replace('OFFSET 1.0e1 0 0', 'OFFSET 1.0e1 zero 0'),
    /bad\.bvh:8: expected a number for the OFFSET of "Arm" y, found "zero"/,
  );
  expectError(
    lines.join('\n').replace('3 Xrotation Zrotation', '3 Xrotation Wrotation'),
    /unknown channel "Wrotation"/,
  );
  expectError(lines.join('\n').replace('CHANNELS 3', 'CHANNELS 9'), /CHANNELS count must be 0–6, got 9/);
  expectError(lines.slice(0, 20).join('\n'), /no MOTION section/);
  expectError(
    lines.slice(0, 12).join('\n') + '\nMOTION\nFrames: 0\nFrame Time: 0.1\n',
    /unexpected end of the HIERARCHY/,
  );
  expectError(
    lines.join('\n').replace('Frame Time:\t2.5E-2', 'Frame Time: fast'),
    /"Frame Time:" must be a number, found "fast"/,
  );
  expectError(lines.join('\n').replace('Frame Time:\t2.5E-2', 'Frame Time: 0'), /"Frame Time:" must be positive/);
  expectError(lines.join('\n').replace('Frames:\t2', 'Frame count 2'), /expected "Frames: <number>"/);
  expectError(lines.join('\n').replace('JOINT Hand', 'JOINT Arm'), /joint "Arm" is defined twice/);
});

test('readBvhFile names a missing file', () => {
  assert.throws(() => readBvhFile('/nonexistent/x.bvh'), /^Error: \/nonexistent\/x\.bvh: no such file$/);
  assert.throws(() => readBvhFile(defaultDataDir()), /: cannot read \(EISDIR/);
});

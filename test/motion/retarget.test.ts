import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBvh, readBvhFile, writeBvh } from '../../src/motion/bvh.js';
import {
  ACCAD_MAP,
  BANDAI_NAMCO_MAP,
  CHARADES_MAP,
  detectJointMap,
  guessMetresPerUnit,
  jointMapByName,
  retargetBvh,
} from '../../src/motion/retarget.js';
import { positionError } from '../../src/motion/kinematics.js';
import { openDataset } from '../../src/motion/dataset.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import { makeMotion } from '../../src/motion/contracts.js';
import { JOINT_NAMES } from '../../src/motion/skeleton.js';

const SAMPLES: [string, string][] = [
  ['dataset-1_bow_happy_001', 'bnr1_bow_happy_001'],
  ['dataset-1_kick_normal_001', 'bnr1_kick_normal_001'],
  ['dataset-2_walk_normal_001', 'bnr2_walk_normal_001'],
];

test('the shipped maps are the ones in skeleton.json', () => {
  const skeleton = JSON.parse(readFileSync(join(defaultDataDir(), 'skeleton.json'), 'utf8'));
  for (const name of JOINT_NAMES) {
    const bn = BANDAI_NAMCO_MAP.joints[name];
    if (skeleton.source_joint_map[name] === null)
      assert.deepEqual(typeof bn === 'object' && [bn.from, bn.to], ['Chest', 'Neck']);
    else assert.equal(bn, skeleton.source_joint_map[name]);
    assert.equal(ACCAD_MAP.joints[name], skeleton.source_joint_map_by_dataset['accad-male1'][name]);
  }
  assert.equal(skeleton.source_joint_map_by_dataset['bandai-namco-dataset-1'], 'source_joint_map');
});

test('retargeted real samples agree with the packed data within 1 cm (30 → 20 fps, cm → m, origin shift)', () => {
  const ds = openDataset();
  for (const [file, id] of SAMPLES) {
    const clip = readBvhFile(join(defaultDataDir(), 'samples', `${file}.bvh`));
    assert.equal(detectJointMap(clip), BANDAI_NAMCO_MAP);
    const motion = retargetBvh(clip);
    const r = ds.byId(id);
    assert.equal(motion.fps, 20);
    assert.equal(motion.numFrames, r.num_frames);
    // The packed data is translated: source = stored + origin_shift_m.
    const shift = r.origin_shift_m;
    assert.ok(shift, `${id} has origin_shift_m`);
    const stored = motion.joints.map((v, i) => v - shift[i % 3]);
    const err = positionError(stored, ds.positions(r));
    console.log(
      `${id}: retargeted vs packed, max ${(err.max * 1000).toFixed(2)} mm, mean ${(err.mean * 1000).toFixed(2)} mm`,
    );
    assert.ok(err.max < 0.01, `${id}: max error ${err.max} m`);
    assert.equal(motion.rotations, undefined);
    assert.match(motion.provenance.source, /^file:.*\.bvh$/);
  }
});

test('an ACCAD-named skeleton is detected and retargeted (ACCAD clip written under ACCAD joint names)', () => {
  const ds = openDataset();
  const motion = ds.clip('accad_male1_a10_lie-to-crouch');
  let text = writeBvh(motion);
  for (const name of JOINT_NAMES)
    text = text.replace(new RegExp(`(JOINT|ROOT) ${name}\\n`), `$1 ${ACCAD_MAP.joints[name] as string}\n`);
  const clip = parseBvh(text, 'accad.bvh');
  assert.equal(detectJointMap(clip), ACCAD_MAP);
  const back = retargetBvh(clip);
  assert.ok(positionError(back.joints, motion.joints).max < 0.0025);
  assert.equal(back.rotations, undefined, 'another skeleton gives positions only');
});

test('our own BVH files are detected, their units guessed (cm or m) and their rotations kept', () => {
  const motion = openDataset().clip('bnr1_bow_happy_001');
  for (const scale of ['cm', 'm'] as const) {
    const clip = parseBvh(writeBvh(motion, { scale }), `own-${scale}.bvh`);
    assert.equal(detectJointMap(clip), CHARADES_MAP);
    assert.equal(guessMetresPerUnit(clip), scale === 'cm' ? 0.01 : 1);
    const back = retargetBvh(clip);
    assert.ok(back.rotations && back.restOffsets);
    assert.ok(positionError(back.joints, motion.joints).max < 0.0025);
  }
  // Resampling to another rate keeps the clip's duration.
  const slow = retargetBvh(parseBvh(writeBvh(motion), 'own.bvh'), { fps: 10 });
  assert.equal(slow.numFrames, Math.floor(motion.numFrames / 2));
});

test('retargeting errors name the file and the problem', () => {
  const sample = readFileSync(join(defaultDataDir(), 'samples', 'dataset-1_bow_happy_001.bvh'), 'utf8');
  const unknown = parseBvh(sample.replaceAll('UpperLeg_L', 'Thigh_L'), 'odd.bvh');
  assert.throws(
    () => detectJointMap(unknown),
    /^Error: odd\.bvh: no known joint map fits this skeleton \(joints: joint_Root, Hips, .*Thigh_L.*\); known maps: charades, bandai-namco, accad/,
  );
  assert.throws(
    () => retargetBvh(unknown, { map: BANDAI_NAMCO_MAP }),
    /odd\.bvh: joint map "bandai-namco" needs joints the file lacks: UpperLeg_L/,
  );
  assert.throws(
    () => retargetBvh(readBvhFile(join(defaultDataDir(), 'samples', 'dataset-1_bow_happy_001.bvh')), { fps: 0 }),
    /frame rate must be a positive number, got 0/,
  );
  assert.throws(() => jointMapByName('cmu'), /unknown joint map "cmu"; known maps: charades, bandai-namco, accad/);
  // A body 100× too small for metres, cm or mm (e.g. kilometres) cannot have its units guessed.
  const tiny = makeMotion({
    fps: 20,
    numFrames: 1,
    joints: openDataset()
      .clip('bnr1_bow_happy_001')
      .joints.slice(0, 66)
      .map((v) => v / 1000),
  });
  const clip = parseBvh(writeBvh(tiny, { scale: 'm', precision: 9 }), 'tiny.bvh');
  assert.throws(() => retargetBvh(clip), /tiny\.bvh: cannot tell the units: the body spans .* units in frame 0/);
  assert.ok(retargetBvh(clip, { metresPerUnit: 1000 }).joints.length === 66);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  groupScores,
  macro,
  measureFloorActs,
  pelvisMin,
  rarestThird,
  sideShown,
  type RowHit,
} from '../../src/motion/engine/fidelity.js';
import { activeLimbs } from '../../src/motion/limbs.js';
import { openDataset } from '../../src/motion/dataset.js';
import { JOINT, NUM_JOINTS } from '../../src/motion/skeleton.js';
import { REPO_ROOT } from '../../src/motion/paths.js';
import { namesFloorAct } from '../../src/motion/engine/intent.js';
import type { Engine } from '../../src/motion/engine/engine.js';
import { join } from 'node:path';

const SHARED = join(REPO_ROOT, '..', 'shared', 'data');

test('macro R-precision weighs every action label equally, whatever its clip count', () => {
  const rows: RowHit[] = [
    ...Array.from({ length: 30 }, () => ({ action: 'walk', pack: 'motion', gt: true, generated: true })),
    { action: 'crawl', pack: 'motion', gt: true, generated: false },
    { action: 'lie-down', pack: 'cmu', gt: false, generated: false },
  ];
  const groups = groupScores(rows, (r) => r.action);
  assert.deepEqual(
    groups.map((g) => [g.name, g.clips]),
    [
      ['crawl', 1],
      ['lie-down', 1],
      ['walk', 30],
    ],
  );
  const m = macro(groups);
  assert.equal(m.gt, 2 / 3);
  assert.equal(m.generated, 1 / 3);
  assert.equal(m.ratio, 0.5);
  const rare = rarestThird(
    groups,
    new Map([
      ['walk', 200],
      ['crawl', 2],
      ['lie-down', 1],
    ]),
  );
  assert.deepEqual(rare.labels, ['lie-down']);
  assert.equal(rare.score.generated, 0);
});

test('the side a motion shows comes from its joints: the raised wrist, the kicking foot', () => {
  const ds = openDataset([join(SHARED, 'motion'), join(SHARED, 'hdm05')]);
  const clip = (id: string) => ds.clip(id);
  const left = ds.records.find((r) => r.action_labels[0] === 'raise-up-left-hand');
  const right = ds.records.find((r) => r.action_labels[0] === 'raise-up-right-hand');
  assert.ok(left && right);
  assert.equal(sideShown(clip(left.id), 'hand-height'), 'left');
  assert.equal(sideShown(clip(right.id), 'hand-height'), 'right');
  // "a person kicks." kicks with the right foot; HDM05's kickLFront with the left.
  assert.equal(sideShown(clip('bnr1_kick_normal_001'), 'foot-lift'), 'right');
  const hdmKick = ds.records.find((r) => r.id.includes('kickLFront'));
  assert.ok(hdmKick);
  assert.equal(sideShown(clip(hdmKick.id), 'foot-lift'), 'left');
  assert.deepEqual(
    activeLimbs(ds.positions(ds.byId('bnr1_kick_normal_001')), ds.byId('bnr1_kick_normal_001').num_frames),
    { hand: null, foot: 'right' },
  );
  assert.equal(
    activeLimbs(ds.positions(ds.byId('bnr1_punch_normal_001')), ds.byId('bnr1_punch_normal_001').num_frames).hand,
    'left',
  );
});

test('pelvisMin finds floor-level acts and not standing ones', () => {
  const ds = openDataset(join(SHARED, 'motion'));
  const crawl = ds.byId('accad_male1_a11_crawl-forward');
  const walk = ds.records.find((r) => r.action_labels[0] === 'walk');
  assert.ok(walk);
  assert.ok(pelvisMin(ds.positions(crawl), crawl.num_frames) < 0.3);
  assert.ok(pelvisMin(ds.positions(walk), walk.num_frames) > 0.8);
  const flat = new Float32Array(2 * NUM_JOINTS * 3);
  flat[1] = 0.9;
  flat[NUM_JOINTS * 3 + 1] = 0.4;
  flat[JOINT.left_wrist * 3 + 1] = 2;
  assert.ok(Math.abs(pelvisMin(flat, 2) - 0.4) < 1e-6);
});

test('the floor rate counts the clips whose words name a floor act; other low clips are reported beside it', async () => {
  assert.ok(namesFloorAct('a person crawls forward low on the floor, on knees and forearms.'));
  assert.ok(namesFloorAct('A person lies down on the floor.'));
  assert.ok(!namesFloorAct('a person dances briefly.'));
  assert.ok(!namesFloorAct('a person: playground - climb, go under.'));
  // an engine whose every motion bottoms out at 0.2 m
  const pelvisAt = (h: number) => {
    const joints = new Float32Array(2 * NUM_JOINTS * 3);
    joints[1] = 0.9;
    joints[NUM_JOINTS * 3 + 1] = h;
    return { joints, numFrames: 2 };
  };
  const engine = { generate: async () => ({ motions: [pelvisAt(0.2)] }) } as unknown as Engine;
  const ds = openDataset(join(SHARED, 'motion'));
  const clip = (text: string, gtPelvisMin: number, saysFloor: boolean) => ({
    record: ds.records[0],
    text,
    descriptions: [],
    gtPelvisMin,
    seconds: 2,
    saysFloor,
  });
  const report = await measureFloorActs(
    engine,
    [
      clip('a person crawls.', 0.25, true),
      clip('a person lies down.', 0.05, true),
      clip('a person dances.', 0.5, false),
    ],
    2,
  );
  assert.equal(report.withinRate, 0.5, 'the crawl is within 0.15 m, the lying is not');
  assert.equal(report.otherWithinRate, 0, 'the dance is reported on its own');
  assert.deepEqual(
    report.clips.map((c) => [c.saysFloor, c.within]),
    [
      [true, 2],
      [true, 0],
      [false, 0],
    ],
  );
});

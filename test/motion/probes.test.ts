/**
 * Acting probes: the physical checks on real mocap clips (a crawl is on all fours and a walk is not, …), the
 * probe set as data (every probe but "stand still" fails for a person standing still), and the runner through
 * the offline planner on the tiny fixture model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offlineProbePlanner } from '../../src/eval-probes.js';
import { openDataset, type Dataset } from '../../src/motion/dataset.js';
import { createEngine } from '../../src/motion/engine/engine.js';
import { parseCheck, runCheck } from '../../src/motion/probes/checks.js';
import {
  formatProbeReport,
  judgeMotion,
  loadProbeFile,
  runProbes,
  type ProbeFile,
} from '../../src/motion/probes/run.js';
import { SHARED_DATA } from '../../src/motion/paths.js';

const REPO = join(import.meta.dirname, '..', '..');
const TINY = join(REPO, 'test', 'fixtures', 'tiny-model');
const PROBES = join(REPO, 'bench', 'probes', 'acting.json');

const packs: Dataset[] = ['motion', 'hdm05'].map((p) => openDataset(join(SHARED_DATA, p)));
function clip(id: string): Float32Array {
  for (const ds of packs) {
    const r = ds.records.find((x) => x.id === id);
    if (r) return ds.positions(r);
  }
  throw new Error(`clip ${id} is not in the shared data`);
}
const passes = (id: string, check: unknown): boolean => runCheck(clip(id), parseCheck(check, id)).pass;

const STAND = 'accad_male1_a1_stand';
const WALK = 'bnr1_walk_normal_001';

test('floor level: a crawl is on all fours and a walk is not; lying is told from crawling', () => {
  const fours = { check: 'on-all-fours', pelvis: 0.7, hands: 0.2, fraction: 0.3 };
  assert.ok(passes('accad_male1_a11_crawl-forward', fours));
  assert.ok(passes('accad_male1_a12_crawl-backward', fours));
  assert.ok(!passes(WALK, fours));
  assert.ok(!passes(STAND, fours));
  const lying = { check: 'lying', tilt: 30, pelvis: 0.22, fraction: 0.25 };
  assert.ok(passes('accad_male1_a9_lie-down', lying));
  assert.ok(!passes('accad_male1_a11_crawl-forward', lying), 'a forearm crawl keeps its knees under the hips');
  assert.ok(!passes(STAND, lying));
  assert.ok(!passes('accad_male1_a9_lie-down', fours), 'lying with the hands on the floor is not on all fours');
  const crouch = { check: 'pelvis-below', height: 0.6, fraction: 0.2 };
  assert.ok(
    passes('accad_male1_a7_crouch', crouch) && passes('hdm05_mm_squat1Reps_037', { ...crouch, fraction: 0.15 }),
  );
  assert.ok(!passes(WALK, crouch));
});

test('sides: the raised, waving, punching or kicking side is the asked one and the other is not', () => {
  const raise = (side: string) => ({ check: 'wrist-above', side, above: 'head', fraction: 0.25, otherAtMost: 0.1 });
  assert.ok(passes('bnr2_raise-up-left-hand_normal_011', raise('left')));
  assert.ok(!passes('bnr2_raise-up-left-hand_normal_011', raise('right')));
  assert.ok(passes('bnr2_raise-up-right-hand_normal_025', raise('right')));
  assert.ok(
    !passes('bnr2_raise-up-both-hands_normal_002', raise('left')),
    'both hands up is not "the left and not the right"',
  );
  const wave = (side: string) => ({ check: 'wrist-above', side, above: 'shoulder', fraction: 0.3, otherAtMost: 0.15 });
  assert.ok(
    passes('bnr2_wave-left-hand_normal_005', wave('left')) && !passes('bnr2_wave-left-hand_normal_005', wave('right')),
  );
  const kick = (side: string) => ({ check: 'raised', side, joint: 'ankle', height: 0.5, margin: 0.2 });
  assert.ok(
    passes('hdm05_mm_kickLFront1Reps_019', kick('left')) && !passes('hdm05_mm_kickLFront1Reps_019', kick('right')),
  );
  const punch = (side: string) => ({ check: 'reach', side, reach: 0.3, margin: 0.1 });
  assert.ok(passes('bnr1_punch_normal_002', punch('right')) && !passes('bnr1_punch_normal_002', punch('left')));
  assert.ok(!passes(WALK, punch('left')) && !passes(WALK, punch('right')), 'an arm swing is not a punch');
});

test('whole body: turns, steps and flight in the body frame of the first frame', () => {
  assert.ok(passes('accad_male1_b9_walk-to-turn-left90', { check: 'turn', side: 'left', degrees: 60 }));
  assert.ok(!passes('accad_male1_b9_walk-to-turn-left90', { check: 'turn', side: 'right', degrees: 60 }));
  assert.ok(passes('accad_male1_b12_walk-turn-right90', { check: 'turn', side: 'right', degrees: 60 }));
  assert.ok(
    passes('accad_male1_b22_side-step-left', { check: 'displacement', direction: 'left', metres: 0.4, dominant: true }),
  );
  assert.ok(
    !passes(WALK, { check: 'displacement', direction: 'right', metres: 0.4, dominant: true }),
    'a walk drifting right is not a sidestep',
  );
  assert.ok(
    passes('accad_male1_b6_walk-backwards', {
      check: 'displacement',
      direction: 'backward',
      metres: 0.75,
      dominant: true,
    }),
  );
  const airborne = { check: 'airborne', clearance: 0.15, frames: 2 };
  assert.ok(passes('hdm05_mm_hopBothLegs1hops_031', airborne) && passes('accad_male1_c20_run2-jump2-walk', airborne));
  assert.ok(!passes(WALK, airborne) && !passes(STAND, airborne));
});

test('the probe set: ≥ 40 probes over five categories, and only "stand still" passes for a person standing still', () => {
  const file = loadProbeFile(PROBES);
  assert.ok(file.probes.length >= 40, `${file.probes.length} probes`);
  assert.deepEqual([...new Set(file.probes.map((p) => p.category))].sort(), [
    'floor',
    'hands',
    'legs',
    'pantomime',
    'whole-body',
  ]);
  assert.equal(file.passSeeds, 2);
  assert.equal(file.seeds.length, 3);
  const stand = clip(STAND);
  const passing = file.probes.filter((p) => judgeMotion(stand, p).pass).map((p) => p.id);
  assert.deepEqual(passing, ['stand-still']);
});

test('a bad probe file is refused with the path of what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-probes-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      format: 'charades-probes/1',
      seeds: [0],
      passSeeds: 1,
      probes: [{ id: 'x', category: 'c', prompt: 'p', checks: [{ check: 'lying', tilt: 30 }] }],
    }),
  );
  assert.throws(() => loadProbeFile(bad), /probe file .*bad\.json: probes\.0\.checks\.0\.(pelvis|fraction)/);
  writeFileSync(
    bad,
    JSON.stringify({
      format: 'charades-probes/1',
      seeds: [0],
      passSeeds: 2,
      probes: [{ id: 'x', category: 'c', prompt: 'p', checks: [{ check: 'spin', degrees: 90 }] }],
    }),
  );
  assert.throws(() => loadProbeFile(bad), /passSeeds 2 exceeds the probe's 1 seeds/);
  assert.throws(
    () => parseCheck({ check: 'wrist-above', side: 'middle', above: 'head', fraction: 0.2 }, 'probe y'),
    /probe y: side/,
  );
});

test('the runner plans through the offline agent, generates on the engine and passes a probe in 2 of 3 seeds', async () => {
  const file: ProbeFile = {
    format: 'charades-probes/1',
    seeds: [0, 1, 2],
    passSeeds: 2,
    probes: [
      {
        id: 'stays-up',
        category: 'whole-body',
        prompt: 'wave your right hand',
        checks: [parseCheck({ check: 'pelvis-above', height: -1, fraction: 1 }, 'a')],
        mustNot: [],
      },
      {
        id: 'impossible',
        category: 'floor',
        prompt: 'lie down on the floor',
        checks: [parseCheck({ check: 'pelvis-below', height: -1, fraction: 0.5 }, 'b')],
        mustNot: [],
      },
    ],
  };
  const engine = await createEngine({ modelDir: TINY });
  try {
    const planner = await offlineProbePlanner({ ...process.env, CHARADES_EXPAND: 'off' });
    const seen: string[] = [];
    const report = await runProbes(file, planner, engine, { onProbe: (r) => seen.push(r.id) });
    assert.deepEqual(seen, ['stays-up', 'impossible']);
    assert.equal(report.planner, 'offline');
    assert.equal(report.model, engine.version);
    const [up, impossible] = report.probes;
    assert.equal(up.seeds.length, 3);
    assert.ok(up.pass && !impossible.pass);
    assert.match(up.planned[0].text, /wave/);
    assert.deepEqual(report.overall, {
      probes: 2,
      passed: 1,
      rate: 0.5,
      seeds: { passed: 3, total: 6, rate: 0.5 },
    });
    assert.deepEqual(
      report.categories.map((c) => [c.category, c.passed, c.probes]),
      [
        ['whole-body', 1, 1],
        ['floor', 0, 1],
      ],
    );
    assert.match(formatProbeReport(report), /\| \*\*all\*\* \| 2 \| 1 \| \*\*50 %\*\* \|/);
    const greeting = await runProbes(
      { ...file, probes: [{ ...file.probes[0], id: 'hello', prompt: 'hello' }] },
      planner,
      engine,
    );
    assert.ok(
      !greeting.probes[0].pass && greeting.probes[0].error,
      'a prompt the planner answers in words fails with the reason',
    );
  } finally {
    await engine.close();
  }
});

test('arms spread relative to the body: a T-pose of the small model body passes 0.85 of its arm span, arms down do not', async () => {
  const { namedPose } = await import('../../src/motion/engine/poses.js');
  const still = (name: 't-pose' | 'standing') => {
    const p = namedPose(name, { dataDir: null }).joints;
    const out = new Float32Array(p.length * 10);
    for (let t = 0; t < 10; t++) out.set(p, t * p.length);
    return out;
  };
  const relative = parseCheck({ check: 'arms-spread', span: 0.85, of: 'arm-span', fraction: 0.5 }, 'test');
  const metres = parseCheck({ check: 'arms-spread', span: 1.2, fraction: 0.5 }, 'test');
  assert.equal(runCheck(still('t-pose'), relative).pass, true);
  assert.equal(runCheck(still('standing'), relative).pass, false);
  assert.equal(runCheck(still('t-pose'), metres).pass, false, 'the model body spans under 1.2 m even in a T-pose');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  averagePositionalError,
  footSkateRatio,
  keyPoseDistance,
  physicalMetrics,
} from '../../src/motion/metrics/index.js';
import type { PhysicalMetrics } from '../../src/motion/metrics/index.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';

// Read straight from the packed files (index.jsonl + int16 mm positions) so these values do not depend on
// any other reader: they are the ground-truth baseline the README's data stats should reproduce.
const DATA = process.env.CHARADES_DATA ?? '/work/shared/data/motion';

interface Record_ {
  id: string;
  num_frames: number;
  fps: number;
  pos_byte_offset: number;
  pos_byte_length: number;
}

function loadIndex(): Map<string, Record_> {
  const file = join(DATA, 'index.jsonl');
  assert.ok(existsSync(file), `missing ${file}: the shared motion data is required (set CHARADES_DATA)`);
  const records = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record_);
  return new Map(records.map((r) => [r.id, r]));
}

const index = loadIndex();

function clip(id: string): { joints: Float32Array; T: number; fps: number } {
  const r = index.get(id);
  assert.ok(r, `clip ${id} is not in ${DATA}/index.jsonl`);
  const bytes = Buffer.alloc(r.pos_byte_length);
  const fd = openSync(join(DATA, 'positions_mm.i16'), 'r');
  try {
    readSync(fd, bytes, 0, r.pos_byte_length, r.pos_byte_offset);
  } finally {
    closeSync(fd);
  }
  const mm = new Int16Array(bytes.buffer, bytes.byteOffset, r.pos_byte_length / 2);
  assert.equal(mm.length, r.num_frames * NUM_JOINTS * 3);
  return { joints: Float32Array.from(mm, (v) => v / 1000), T: r.num_frames, fps: r.fps };
}

const CLIPS = [
  'bnr1_walk_normal_001',
  'bnr2_walk_normal_003',
  'bnr2_run_normal_001',
  'bnr2_raise-up-both-hands_normal_001',
  'accad_male1_a9_lie-down',
  'accad_male1_a11_crawl-forward',
  'accad_male1_c20_run2-jump2-walk',
];

const metrics = new Map<string, PhysicalMetrics>(
  CLIPS.map((id) => {
    const c = clip(id);
    return [id, physicalMetrics(c.joints, c.T, c.fps)];
  }),
);

test('real clips: rigid bones, nothing below the floor, little foot skate', (t) => {
  for (const [id, m] of metrics) {
    t.diagnostic(`${id}: ${JSON.stringify(m)}`);
    assert.ok(
      m.boneLengthStdMax < 0.001,
      `${id}: bone std ${m.boneLengthStdMax} ≥ 1 mm (int16-mm data is rigid to 0.6 mm)`,
    );
    assert.equal(m.floorPenetrationMax, 0, `${id}: the data README says no frame is below the floor`);
    assert.ok(m.footSkateRatio <= 0.02, `${id}: mocap foot skate ${m.footSkateRatio}`);
  }
});

test('real clips: runs jerk and float more than walks, walks more than hand raising', () => {
  const g = (id: string) => metrics.get(id) as PhysicalMetrics;
  const walk = g('bnr2_walk_normal_003');
  const run = g('bnr2_run_normal_001');
  const hands = g('bnr2_raise-up-both-hands_normal_001');
  assert.ok(run.jitter > walk.jitter && walk.jitter > hands.jitter);
  assert.ok(run.meanAcceleration > walk.meanAcceleration && walk.meanAcceleration > hands.meanAcceleration);
  assert.ok(run.floatFrameRatio > 0.4, `a run has flight phases: ${run.floatFrameRatio}`);
  assert.ok(walk.floatFrameRatio < 0.1, `a walk keeps a foot down: ${walk.floatFrameRatio}`);
  assert.equal(g('accad_male1_a9_lie-down').floatFrameRatio, 0);
});

test('a real walk dragged forward by an extra 1 m/s skates whenever a foot is planted', (t) => {
  const { joints, T, fps } = clip('bnr2_walk_normal_003');
  const dragged = joints.slice();
  for (let t = 0; t < T; t++) for (let j = 0; j < NUM_JOINTS; j++) dragged[(t * NUM_JOINTS + j) * 3 + 2] += t / fps;
  const before = footSkateRatio(joints, T, fps);
  const after = footSkateRatio(dragged, T, fps);
  t.diagnostic(`bnr2_walk_normal_003 foot skate ${before} → ${after} when dragged`);
  assert.ok(after > 0.5 && after > before + 0.5, `skate ${before} → ${after}`);
});

test('APE and key-pose Dist of a real clip against itself are 0, against a later window positive', () => {
  const { joints, T } = clip('bnr2_walk_normal_003');
  const half = Math.floor(T / 2);
  const first = joints.subarray(0, half * NUM_JOINTS * 3);
  const second = joints.subarray(half * NUM_JOINTS * 3, 2 * half * NUM_JOINTS * 3);
  const self = averagePositionalError([{ generated: first, reference: first, T: half }]);
  assert.deepEqual(self, { root: 0, traj: 0, meanLocal: 0, meanGlobal: 0 });
  const shifted = averagePositionalError([{ generated: second, reference: first, T: half }]);
  assert.ok(shifted.traj > 1, `the walker moved on: ${shifted.traj}`);
  // Key poses taken from the clip are found in it exactly.
  const keys = Float32Array.from([...joints.subarray(10 * 66, 11 * 66), ...joints.subarray(50 * 66, 51 * 66)]);
  assert.equal(keyPoseDistance(joints, T, keys, 2), 0);
});

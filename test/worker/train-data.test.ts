// Training data from BVH folders and HumanML3D folders: read with src/motion's readers, packed, featurised by the
// TypeScript featurizer, embedded with the real sentence encoder, and trained on through the runner (fixture trainer).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURES_META, motionToNpy, openDataset, readEmbeddingTable, serializeNpy } from '../../src/motion/index.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import {
  TrainingRunner,
  describeSources,
  hashSplit,
  importTrainingData,
  mirrorSides,
  parseCaptionLines,
  prepareFeatureCache,
} from '../../src/worker/train/index.js';
import type { TrainingEvent } from '../../src/worker/train/index.js';
import { FAKE_TRAINER, PYTHON } from '../fixtures/train-worker/models.js';

const SHARED = defaultDataDir();
const haveData = existsSync(join(SHARED, 'index.jsonl'));
const skip = !haveData && 'no shared motion data';
const root = mkdtempSync(join(tmpdir(), 'charades-train-data-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY_BVH = `HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.05
0 90 0 0 0 0 0 0 0
0 90 1 0 0 0 0 0 0
`;

/** Three real Bandai-Namco BVH files (one with a side-car text), one that is not BVH, one with a 2-joint skeleton. */
function bvhFolder(): string {
  const dir = join(root, 'bvh');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const samples = join(SHARED, 'samples');
  copyFileSync(join(samples, 'dataset-1_bow_happy_001.bvh'), join(dir, 'bow_happy.bvh'));
  copyFileSync(join(samples, 'dataset-1_kick_normal_001.bvh'), join(dir, 'sub', 'kick.bvh'));
  writeFileSync(join(dir, 'sub', 'kick.txt'), 'a person kicks forward with the right leg\nsomeone kicks\n');
  copyFileSync(join(samples, 'dataset-2_walk_normal_001.bvh'), join(dir, 'walk_normal_01.bvh'));
  writeFileSync(join(dir, 'broken.bvh'), 'HIERARCHY\n');
  writeFileSync(join(dir, 'stick.bvh'), TINY_BVH);
  return dir;
}

/** HumanML3D layout: new_joints/*.npy (T, 22, 3) from real clips, texts/*.txt caption lines, split files. */
function humanMlFolder(): { dir: string; sourceIds: string[] } {
  const ds = openDataset(SHARED);
  const picks = [...ds.split('train').slice(0, 6), ...ds.split('test').slice(0, 2)];
  const dir = join(root, 'h3d');
  mkdirSync(join(dir, 'new_joints'), { recursive: true });
  mkdirSync(join(dir, 'texts'));
  picks.forEach((r, i) => {
    const id = String(i).padStart(6, '0');
    writeFileSync(join(dir, 'new_joints', `${id}.npy`), motionToNpy(ds.clip(r)));
    const lines = r.texts.map(
      (t) =>
        `${t}#${t
          .split(' ')
          .map((w) => `${w}/X`)
          .join(' ')}#0.0#0.0`,
    );
    if (i === 0) lines.push(`a person raises both hands#a/DET person/NOUN#0.5#2.0`);
    writeFileSync(join(dir, 'texts', `${id}.txt`), `${lines.join('\n')}\n`);
  });
  writeFileSync(
    join(dir, 'train.txt'),
    picks
      .slice(0, 6)
      .map((_, i) => String(i).padStart(6, '0'))
      .join('\n'),
  );
  writeFileSync(join(dir, 'test.txt'), ['000006', '000007'].join('\n'));
  // A 24-joint SMPL array, and a clip with no texts file: both skipped and counted.
  writeFileSync(
    join(dir, 'new_joints', 'smpl24.npy'),
    serializeNpy({ dtype: 'float32', shape: [10, 24, 3], data: new Float32Array(10 * 24 * 3) }),
  );
  writeFileSync(join(dir, 'texts', 'smpl24.txt'), 'a person stands#x#0#0\n');
  writeFileSync(join(dir, 'new_joints', 'untexted.npy'), motionToNpy(ds.clip(picks[0])));
  return { dir, sourceIds: picks.map((r) => r.id) };
}

test('caption lines, split hashing and mirrored texts', () => {
  assert.deepEqual(
    parseCaptionLines('a man walks.#a/DET man/NOUN#0.0#0.0\n\n  waves#x#1.5#3\nplain text\n#only tokens#0#0'),
    [
      { text: 'a man walks.', start: 0, end: 0 },
      { text: 'waves', start: 1.5, end: 3 },
      { text: 'plain text', start: 0, end: 0 },
    ],
  );
  assert.equal(hashSplit('clip-1'), hashSplit('clip-1'));
  const counts = { train: 0, val: 0, test: 0 };
  for (let i = 0; i < 2000; i++) counts[hashSplit(`c${i}`)]++;
  assert.ok(counts.train > 1450 && counts.val > 120 && counts.test > 120, JSON.stringify(counts));
  assert.equal(mirrorSides('kicks with the left leg, then the right'), 'kicks with the right leg, then the left');
});

test('folders that are not motion data are refused with a message naming them', () => {
  const empty = mkdtempSync(join(root, 'empty-'));
  assert.throws(
    () => describeSources([empty]),
    /--data .*empty-\w+: not a motion data folder \(no index\.jsonl, no BVH files, no new_joints\/\*\.npy\)/,
  );
  assert.throws(() => describeSources([join(root, 'missing')]), /--data .*missing: no such folder/);
  const bad = join(root, 'only-bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'a.bvh'), 'not a bvh');
  assert.throws(
    () => importTrainingData(describeSources([bad]), join(root, 'out-bad')),
    /--data .*only-bad: no usable BVH clips: all 1 file\(s\) were unreadable; skipped 1 unreadable file\(s\) \(a\.bvh: /,
  );
});

describe('BVH and HumanML3D folders', { skip }, () => {
  test('are read into one packed dataset: bad files skipped and counted, sub-range captions become clips', () => {
    const bvh = bvhFolder();
    const { dir: h3d, sourceIds } = humanMlFolder();
    const out = join(root, 'merged');
    const summary = importTrainingData(describeSources([bvh, h3d]), out);
    assert.deepEqual(
      summary.sources.map((s) => [s.format, s.clips, s.skipped]),
      [
        ['bvh', 3, 2],
        ['humanml3d', 9, 2],
      ],
    );
    const reasons = summary.skipped.map((s) => `${s.file.split('/').slice(-2).join('/')}: ${s.reason}`).sort();
    assert.equal(reasons.length, 4);
    assert.match(reasons[0], /^bvh\/broken\.bvh: /);
    assert.match(reasons[1], /^bvh\/stick\.bvh: .*(joint map|needs joints)/);
    assert.match(reasons[2], /^new_joints\/smpl24\.npy: .*expected 22 joints, got 24/);
    assert.match(reasons[3], /^new_joints\/untexted\.npy: no texts\/untexted\.txt/);

    const ds = openDataset(out);
    assert.equal(ds.records.length, 12);
    const kick = ds.byId('s1-sub_kick');
    assert.deepEqual(kick.texts, ['a person kicks forward with the right leg', 'someone kicks']);
    assert.equal(kick.text_source, 'sidecar');
    assert.deepEqual(ds.byId('s1-walk_normal_01').texts, ['walk normal'], 'no side-car: the file name');
    assert.equal(ds.byId('s2-000006').split, 'test', 'test.txt decides the split');
    assert.equal(ds.byId('s2-000000').split, 'train');
    const part = ds.byId('s2-000000_0.5-2');
    assert.deepEqual(part.texts, ['a person raises both hands']);
    assert.equal(part.num_frames, 30, '0.5 s to 2.0 s at 20 fps');

    // Positions survive the trip (up to the floor / origin shift and millimetre rounding).
    const original = openDataset(SHARED).positions(openDataset(SHARED).byId(sourceIds[1]));
    const imported = ds.positions(ds.byId('s2-000001'));
    assert.equal(imported.length, original.length);
    const rel = (p: Float32Array, t: number, j: number, k: number) => p[(t * 22 + j) * 3 + k] - p[t * 22 * 3 + k];
    for (const [t, j, k] of [
      [0, 20, 0],
      [5, 10, 1],
      [10, 15, 2],
    ])
      assert.ok(Math.abs(rel(imported, t, j, k) - rel(original, t, j, k)) < 0.002);
    let minY = Infinity;
    for (let i = 1; i < imported.length; i += 3) minY = Math.min(minY, imported[i]);
    assert.ok(Math.abs(minY) < 0.001, 'on the floor');
    assert.equal(
      ds.rotations(ds.byId('s2-000001')).length,
      (original.length / 3) * 4,
      'rotations solved from the joints',
    );

    const prepared = prepareFeatureCache([bvh, h3d], join(root, 'job-prep'));
    assert.ok(existsSync(join(prepared.cacheDir, FEATURES_META)));
    assert.match(
      prepared.note,
      /imported 12 clips, \d+ frames \(train \d+ \/ val \d+ \/ test \d+\) from .*bvh \(bvh: 3 clips, 2 skipped\) \+ .*h3d \(humanml3d: 9 clips, 2 skipped\); skipped 4 unreadable file\(s\)/,
    );
    assert.ok(prepared.texts.includes('a person kicks forward with the left leg'), 'mirrored texts are embedded too');
    const again = prepareFeatureCache([bvh, h3d], join(root, 'job-prep'));
    assert.match(
      again.note,
      /imported data .* is current; features cache .* is current/,
      'a resumed job reuses the import',
    );
  });

  test('a job on two folders: imported, embedded with the real encoder, trained and published', async () => {
    const dir = mkdtempSync(join(root, 'job-'));
    const events: { event: TrainingEvent; detail: string }[] = [];
    const runner = new TrainingRunner({
      dataDir: join(dir, 'state'),
      modelsDir: join(dir, 'models'),
      cacheDir: join(dir, 'no-default-cache'),
      embeddingsDir: join(dir, 'shared-embeddings'),
      trainer: { command: PYTHON, args: [FAKE_TRAINER], env: { FAKE_STEPS: '2', FAKE_STEP_S: '0.01' } },
      onEvent: (_j, event, detail) => events.push({ event, detail }),
    });
    try {
      runner.store.enqueue({ config: 'tiny', data: [join(root, 'bvh'), join(root, 'h3d')] });
      const job = await runner.runNext();
      assert.equal(job?.state, 'published', job?.error ?? '');
      const data = events.find((e) => e.event === 'data')!.detail;
      assert.match(data, /imported 12 clips/);
      assert.match(data, /embedded \d+ new text\(s\) into .*training\/1\/embeddings/);
      const table = await readEmbeddingTable(join(dir, 'state', 'training', '1', 'embeddings'));
      for (const t of ['walk normal', 'a person raises both hands', 'a person kicks forward with the left leg'])
        assert.ok(table.texts.includes(t), t);
      const log = readFileSync(join(dir, 'state', 'training', '1', 'trainer.log'), 'utf8');
      assert.match(log, /--cache \S+training\/1\/features --embeddings \S+training\/1\/embeddings/);
      assert.match(log, /"event": "loaded", "clips": 12/);
    } finally {
      await runner.close();
    }
  });
});

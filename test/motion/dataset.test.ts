import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeFloat16,
  decodeFloat16Bits,
  encodeFloat16,
  encodeFloat16Bits,
  INDEX_FILE,
  nearestIds,
  openDataset,
  POSITIONS_FILE,
  ROTATIONS_FILE,
  writePackedSubset,
} from '../../src/motion/dataset.js';
import { forwardKinematics, positionError } from '../../src/motion/kinematics.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';
import { REPO_ROOT } from '../../src/motion/paths.js';

const ds = openDataset();

function fixture(t: { after: (fn: () => void) => void }, ids: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-dataset-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writePackedSubset(
    ds,
    ids.map((id) => ds.byId(id)),
    dir,
  );
  return dir;
}

const SMALL = ['bnr1_bow_active_001', 'bnr2_walk_exhausted_003', 'accad_male1_c27_crouch-to-run'];

test('the shared data opens with the counts its README states', () => {
  assert.equal(ds.records.length, 3145);
  assert.equal(ds.totalFrames, 285063);
  assert.equal(ds.records.filter((r) => r.dataset === 'accad-male1').length, 69);
  const counts = Object.fromEntries(['train', 'val', 'test'].map((s) => [s, ds.split(s).length]));
  // README: Bandai Namco 2596/183/297 + ACCAD 59/2/8.
  assert.deepEqual(counts, { train: 2655, val: 185, test: 305 });
});

test('positions are the int16 millimetres in metres, as a view-backed decode of only that clip', () => {
  const r = ds.byId('bnr2_walk_exhausted_003');
  const mm = ds.positionsMm(r);
  assert.equal(mm.length, r.num_frames * NUM_JOINTS * 3);
  assert.equal(mm.byteOffset, r.pos_byte_offset, 'positionsMm is a view at the record byte offset');
  const p = ds.positions(r);
  for (let i = 0; i < mm.length; i += 97) assert.equal(p[i], Math.fround(mm[i] / 1000));
  // The README's record: the pelvis starts at x = z = 0.
  assert.equal(p[0], 0);
  assert.equal(p[2], 0);
  assert.ok(p[1] > 0.85 && p[1] < 1.0, `standing pelvis height ${p[1]}`);
});

test('rotations decode to unit quaternions that reproduce the positions by forward kinematics', () => {
  for (const id of ['bnr2_walk_exhausted_003', 'accad_male1_c27_crouch-to-run']) {
    const m = ds.clip(id);
    assert.ok(m.rotations && m.restOffsets);
    for (let i = 0; i < m.rotations.length; i += 4) {
      const n = Math.hypot(m.rotations[i], m.rotations[i + 1], m.rotations[i + 2], m.rotations[i + 3]);
      assert.ok(Math.abs(n - 1) < 1e-3, `quaternion norm ${n}`);
    }
    const root = new Float32Array(m.numFrames * 3);
    for (let t = 0; t < m.numFrames; t++)
      root.set(m.joints.subarray(t * NUM_JOINTS * 3, t * NUM_JOINTS * 3 + 3), t * 3);
    const err = positionError(forwardKinematics(m.rotations, root, m.restOffsets), m.joints);
    // README: FK reproduces the positions to about 1.5 mm; float16 rotations and int16 mm add a little.
    assert.ok(err.max < 0.003, `${id}: FK error ${err.max} m`);
  }
});

test('clip() builds a Motion with the record rest offsets, first text and dataset provenance', () => {
  const r = ds.byId('accad_male1_c27_crouch-to-run');
  const m = ds.clip(r);
  assert.equal(m.fps, 20);
  assert.equal(m.numFrames, r.num_frames);
  assert.deepEqual(m.restOffsets, r.rest_offsets_m);
  assert.notDeepEqual(m.restOffsets, ds.byId('bnr1_bow_active_001').rest_offsets_m, 'ACCAD has its own skeleton');
  assert.deepEqual(m.segments, [{ text: r.texts[0], start: 0, end: r.num_frames }]);
  assert.equal(m.provenance.source, 'dataset:accad_male1_c27_crouch-to-run');
  assert.equal(ds.clip('accad_male1_c27_crouch-to-run').joints[5], m.joints[5]);
});

test('an unknown id or split is an error that suggests the nearest names', () => {
  assert.throws(
    () => ds.byId('bnr2_walk_exhausted_03'),
    /unknown clip id "bnr2_walk_exhausted_03".*nearest ids: bnr2_walk_exhausted_003/,
  );
  assert.throws(() => ds.split('training'), /unknown split "training"; splits are: train, val, test/);
  assert.deepEqual(nearestIds('abd', ['xyz', 'abc', 'abd'], 2), ['abd', 'abc']);
});

test('float16 decoding matches IEEE half precision, and encoding round-trips every finite value', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x3555, 0.333251953125],
  ];
  for (const [bits, value] of cases) assert.equal(decodeFloat16Bits(bits), value);
  assert.ok(Number.isNaN(decodeFloat16Bits(0x7e00)));
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = decodeFloat16(all);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(decoded[h])) continue;
    assert.equal(encodeFloat16Bits(decoded[h]), h, `bits ${h.toString(16)}`);
  }
  assert.equal(encodeFloat16Bits(1e6), 0x7c00, 'overflow becomes infinity');
  assert.equal(encodeFloat16Bits(1 + 2 ** -11), 0x3c00, 'ties round to even');
  assert.equal(decodeFloat16(encodeFloat16([0.1]))[0], 0.0999755859375);
  assert.throws(() => decodeFloat16(all, new Float32Array(3)), /output holds 3 values, input has 65536/);
  assert.throws(() => encodeFloat16([1, 2], new Uint16Array(1)), /output holds 1 values, input has 2/);
});

test('writePackedSubset writes a dataset that reads back clip for clip', (t) => {
  const dir = fixture(t, SMALL);
  const sub = openDataset(dir);
  assert.deepEqual(
    sub.records.map((r) => r.id),
    SMALL,
  );
  for (const id of SMALL) assert.deepEqual(sub.positions(sub.byId(id)), ds.positions(ds.byId(id)));
  assert.deepEqual(sub.rotations(sub.byId(SMALL[2])), ds.rotations(ds.byId(SMALL[2])));
  assert.throws(() => writePackedSubset(ds, [], dir), /no clips given/);
});

test('a missing folder or binary file is named in the error', (t) => {
  assert.throws(
    () => openDataset('/nonexistent/motion'),
    /no motion data at \/nonexistent\/motion \(index.jsonl missing\)/,
  );
  const dir = fixture(t, SMALL);
  unlinkSync(join(dir, ROTATIONS_FILE));
  assert.throws(() => openDataset(dir), new RegExp(`${ROTATIONS_FILE} is missing`));
});

test('truncated or oversized binaries are reported with their sizes', (t) => {
  const dir = fixture(t, SMALL);
  const file = join(dir, POSITIONS_FILE);
  truncateSync(file, 1000);
  assert.throws(() => openDataset(dir), /positions_mm\.i16 has 1000 bytes .* the file is truncated/);
  const dir2 = fixture(t, SMALL);
  appendFileSync(join(dir2, ROTATIONS_FILE), Buffer.alloc(8));
  assert.throws(() => openDataset(dir2), /rotations_quat\.f16 has \d+ bytes .* the file has extra bytes/);
});

test('corrupt index lines name the line, the clip and the field', (t) => {
  const dir = fixture(t, SMALL);
  const indexFile = join(dir, INDEX_FILE);
  const lines = readFileSync(indexFile, 'utf8').trim().split('\n');
  const rewrite = (i: number, line: string) =>
    writeFileSync(indexFile, lines.map((l, k) => (k === i ? line : l)).join('\n'));

  rewrite(1, '{"id": "broken", ');
  assert.throws(() => openDataset(dir), /index\.jsonl line 2: not valid JSON/);

  const rec = JSON.parse(lines[1]);
  rewrite(1, JSON.stringify({ ...rec, num_frames: 'ten' }));
  assert.throws(() => openDataset(dir), /line 2 \(clip bnr2_walk_exhausted_003\): num_frames: /);

  rewrite(1, JSON.stringify({ ...rec, split: 'holdout' }));
  assert.throws(() => openDataset(dir), /line 2 \(clip bnr2_walk_exhausted_003\): split: /);

  rewrite(1, JSON.stringify({ ...rec, pos_byte_length: rec.pos_byte_length - 2 }));
  assert.throws(() => openDataset(dir), /clip bnr2_walk_exhausted_003: pos_byte_length is \d+, expected \d+/);

  rewrite(1, JSON.stringify({ ...rec, frame_offset: rec.frame_offset + 1 }));
  assert.throws(() => openDataset(dir), /clip bnr2_walk_exhausted_003: frame_offset is \d+, expected \d+/);

  rewrite(1, lines[0]);
  assert.throws(() => openDataset(dir), /clip bnr1_bow_active_001: duplicate id/);

  writeFileSync(indexFile, '\n');
  assert.throws(() => openDataset(dir), /index\.jsonl: no clip records/);
});

// ---------------------------------------------------------------- several packs, positions-only packs

const SHARED = join(REPO_ROOT, '..', 'shared', 'data');

test('several packs open as one dataset: every clip keeps its pack and licence, positions-only clips refuse rotations', () => {
  const both = openDataset([join(SHARED, 'motion'), join(SHARED, 'cmu')]);
  assert.deepEqual(
    both.packs.map((p) => [p.name, p.hasRotations]),
    [
      ['motion', true],
      ['cmu', false],
    ],
  );
  assert.equal(both.records.length, ds.records.length + both.packs[1].clips);
  assert.equal(both.totalFrames, ds.totalFrames + both.packs[1].frames);
  const cmu = both.records.find((r) => both.packOf(r) === 'cmu');
  assert.ok(cmu, 'a CMU clip');
  assert.equal(both.hasRotations(cmu), false);
  assert.ok(cmu.license.length > 0);
  assert.equal(cmu.style, '', 'a positions-only pack without styles reads as the empty style');
  assert.throws(() => both.rotations(cmu), /has no rotations: pack "cmu"/);
  const motion = both.clip(cmu);
  assert.equal(motion.rotations, undefined);
  assert.equal(motion.joints.length, cmu.num_frames * NUM_JOINTS * 3);
  const bnr = both.byId('bnr1_bow_active_001');
  assert.equal(both.packOf(bnr), 'motion');
  assert.deepEqual(both.positionsMm(bnr), ds.positionsMm(ds.byId('bnr1_bow_active_001')));
  assert.ok(both.clip(bnr).rotations, 'a motion clip still has rotations');
  // CHARADES_DATA may name several packs in one string.
  assert.equal(openDataset(`${join(SHARED, 'motion')},${join(SHARED, 'cmu')}`).records.length, both.records.length);
});

test('a pack listed twice, or two packs that share a clip id, are refused by name', (t) => {
  assert.throws(() => openDataset([join(SHARED, 'cmu'), join(SHARED, 'cmu')]), /listed twice/);
  const copy = fixture(t, SMALL);
  assert.throws(() => openDataset([join(SHARED, 'motion'), copy]), /clip id "bnr1_bow_active_001" is in both/);
});

test('clip reads give the same positions and rotations as whole-file reads', () => {
  const lazy = openDataset(join(SHARED, 'motion'), { clipReads: true });
  for (const id of SMALL) {
    assert.deepEqual(lazy.positionsMm(lazy.byId(id)), ds.positionsMm(ds.byId(id)));
    assert.deepEqual(lazy.rotationsF16(lazy.byId(id)), ds.rotationsF16(ds.byId(id)));
  }
});

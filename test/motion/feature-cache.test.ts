import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset, writePackedSubset } from '../../src/motion/dataset.js';
import {
  buildFeatureCache,
  FEATURE_CACHE_NAME,
  featureCacheStaleReasons,
  FEATURES_BIN,
  FEATURES_META,
  featurizerSha256,
  readFeatureCache,
  writeFeatureCache,
} from '../../src/motion/featureCache.js';
import { computeNormStats, FEATURE_DIM, FEATURE_MIRROR, featurize } from '../../src/motion/features.js';

const ds = openDataset();

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-features-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the full cache fits the 64 MiB upload, matches the contract, and reads back', (t) => {
  const out = tempDir(t);
  const written = writeFeatureCache({ dataset: ds, outDir: out });
  assert.equal(FEATURE_CACHE_NAME, 'charades-ric71-1');
  assert.equal(written.frames, 285063 - 3145, 'one feature frame fewer than positions per clip');
  assert.equal(written.binBytes, written.frames * FEATURE_DIM * 2);
  const total = written.binBytes + written.metaBytes;
  t.diagnostic(`cache: ${(total / 2 ** 20).toFixed(1)} MiB (${written.binBytes} + ${written.metaBytes} bytes)`);
  assert.ok(total < 64 * 2 ** 20, `${total} bytes`);

  const cache = readFeatureCache(out);
  const { meta } = cache;
  assert.equal(meta.layout, 'charades-ric71/1');
  assert.deepEqual(meta.slices, {
    root_ang_vel: [0, 1],
    root_lin_vel: [1, 3],
    root_y: [3, 4],
    ric: [4, 67],
    contacts: [67, 71],
  });
  assert.deepEqual(meta.mirror, { perm: FEATURE_MIRROR.perm, sign: FEATURE_MIRROR.sign });
  assert.equal(meta.clips.length, 3145);
  assert.deepEqual(
    meta.clips.map((c) => c.id),
    ds.records.map((r) => r.id),
  );
  assert.equal(
    meta.source.indexSha256,
    createHash('sha256')
      .update(readFileSync(join(ds.dir, 'index.jsonl')))
      .digest('hex'),
  );
  const featuresTs = fileURLToPath(new URL('../../src/motion/features.ts', import.meta.url));
  assert.equal(meta.featurizerSha256, createHash('sha256').update(readFileSync(featuresTs)).digest('hex'));
  assert.deepEqual(featureCacheStaleReasons(meta, ds.dir), []);

  for (const id of ['bnr1_bow_active_001', 'accad_male1_c27_crouch-to-run']) {
    const r = ds.byId(id);
    const exact = featurize(ds.positions(r), r.num_frames);
    const cached = cache.clipFeatures(id);
    assert.equal(cached.length, exact.length);
    // float16 keeps 11 significant bits: relative error ≤ 2^-11, plus subnormal steps near zero.
    for (let i = 0; i < exact.length; i++)
      assert.ok(Math.abs(cached[i] - exact[i]) <= Math.abs(exact[i]) * 2 ** -11 + 1e-7);
  }
  assert.throws(() => cache.clipFeatures('nope'), /clip "nope" is not in the features cache .* \(3145 clips\)/);
  assert.throws(() => cache.clipFeatures(5000), /clip 5000 is not in the features cache/);
});

test('mean/std come from the train split only, with the std floor', () => {
  const train = ds.split('train').slice(0, 40);
  const other = ds.split('test').slice(0, 5);
  const sub = { ...ds, records: [...train, ...other] };
  const { meta, features } = buildFeatureCache(sub);
  assert.equal(features.length, meta.frames * FEATURE_DIM);
  const expected = computeNormStats(train.map((r) => featurize(ds.positions(r), r.num_frames)));
  assert.deepEqual(meta.mean, expected.mean);
  assert.deepEqual(meta.std, expected.std);
  assert.equal(meta.statsFrames, expected.frames);
  assert.ok(meta.std.every((s) => s >= 1e-3));
  assert.throws(
    () => buildFeatureCache({ ...ds, records: other }),
    /has no train clips to compute normalisation statistics from/,
  );
});

test('stale caches are detected: another featurizer, or a changed index', (t) => {
  const data = tempDir(t);
  writePackedSubset(ds, [ds.split('train')[0], ds.split('val')[0]], data);
  const out = join(tempDir(t), 'cache');
  writeFeatureCache({ dataDir: data, outDir: out });
  const { meta } = readFeatureCache(out);
  assert.deepEqual(featureCacheStaleReasons(meta, data), []);
  assert.deepEqual(featureCacheStaleReasons({ ...meta, featurizerSha256: 'x'.repeat(64) }), [
    'features.ts changed since the cache was written',
  ]);
  writeFileSync(join(data, 'index.jsonl'), `${readFileSync(join(data, 'index.jsonl'), 'utf8')}\n`);
  assert.match(featureCacheStaleReasons(meta, data)[0], /index\.jsonl changed since the cache was written/);
  unlinkSync(join(data, 'index.jsonl'));
  assert.match(featureCacheStaleReasons(meta, data)[0], /index\.jsonl is missing/);
  assert.equal(
    featurizerSha256(),
    createHash('sha256')
      .update(readFileSync(fileURLToPath(new URL('../../src/motion/features.ts', import.meta.url))))
      .digest('hex'),
  );
});

test('a missing, truncated or inconsistent cache is a clear error', (t) => {
  const data = tempDir(t);
  writePackedSubset(ds, [ds.split('train')[0], ds.split('train')[1]], data);
  const out = tempDir(t);
  assert.throws(
    () => readFeatureCache(join(out, 'none')),
    /no features cache at .*none \(features\.json missing\); run: charades data features --out/,
  );
  writeFeatureCache({ dataDir: data, outDir: out });
  const metaFile = join(out, FEATURES_META);
  const binFile = join(out, FEATURES_BIN);
  const goodMeta = readFileSync(metaFile, 'utf8');
  const meta = JSON.parse(goodMeta);

  writeFileSync(metaFile, '{"layout": ');
  assert.throws(() => readFeatureCache(out), /features\.json: not valid JSON/);
  writeFileSync(metaFile, JSON.stringify({ ...meta, std: meta.std.map(() => -1) }));
  assert.throws(() => readFeatureCache(out), /features\.json: std\.0: /);
  writeFileSync(metaFile, JSON.stringify({ ...meta, layout: 'humanml3d-263' }));
  assert.throws(() => readFeatureCache(out), /layout is "humanml3d-263", this build reads "charades-ric71\/1"/);
  writeFileSync(metaFile, JSON.stringify({ ...meta, mean: [0] }));
  assert.throws(() => readFeatureCache(out), /mean has 1 values, expected 71/);
  writeFileSync(metaFile, JSON.stringify({ ...meta, frames: meta.frames + 1 }));
  assert.throws(() => readFeatureCache(out), /clips cover \d+ frames but frames is \d+/);
  writeFileSync(metaFile, JSON.stringify({ ...meta, clips: [meta.clips[1], meta.clips[0]] }));
  assert.throws(() => readFeatureCache(out), /clip .* starts at frame \d+, expected 0/);

  writeFileSync(metaFile, goodMeta);
  truncateSync(binFile, 100);
  assert.throws(
    () => readFeatureCache(out),
    /features\.f16 has 100 bytes, features\.json describes \d+×71 float16 = \d+ bytes/,
  );
  unlinkSync(binFile);
  assert.throws(() => readFeatureCache(out), /features\.f16 is missing; rebuild with: charades data features/);
});

test('an output folder that cannot be created is named', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(
    () =>
      writeFeatureCache({
        dataset: { ...ds, records: ds.split('train').slice(0, 2) },
        outDir: join(dir, 'file', 'sub'),
      }),
    /cannot create the features cache folder .*file\/sub/,
  );
});

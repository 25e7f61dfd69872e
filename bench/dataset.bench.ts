/**
 * Packed dataset and feature pipeline speed: opening the index, decoding clips, featurising and recovering
 * positions (frames/s), and writing / reading the features cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../src/motion/dataset.js';
import type { Dataset } from '../src/motion/dataset.js';
import { readFeatureCache, writeFeatureCache } from '../src/motion/featureCache.js';
import { featurize, recoverJoints } from '../src/motion/features.js';
import { percentile, report, rssMb, timeIt } from './harness.js';
import type { Row } from './harness.js';

function framesOf(ds: Dataset): number {
  return ds.records.reduce((s, r) => s + r.num_frames, 0);
}

async function main(): Promise<void> {
  const openMs = await timeIt(() => openDataset(), { warmup: 1, runs: 5 });
  const ds = openDataset();
  const frames = framesOf(ds);

  const firstDecodeStart = performance.now();
  ds.positions(ds.records[0]);
  ds.rotations(ds.records[0]);
  const firstDecodeMs = performance.now() - firstDecodeStart;

  const decodeMs = await timeIt(
    () => {
      for (const r of ds.records) {
        ds.positions(r);
        ds.rotations(r);
      }
    },
    { warmup: 1, runs: 3 },
  );
  const clipMs = await timeIt(
    () => {
      for (const r of ds.records) ds.clip(r);
    },
    { warmup: 0, runs: 2 },
  );

  const positions = ds.records.map((r) => ds.positions(r));
  const featurizeMs = await timeIt(
    () => {
      ds.records.forEach((r, i) => featurize(positions[i], r.num_frames));
    },
    { warmup: 1, runs: 3 },
  );
  const features = ds.records.map((r, i) => featurize(positions[i], r.num_frames));
  const recoverMs = await timeIt(
    () => {
      ds.records.forEach((r, i) => recoverJoints(features[i], r.num_frames - 1));
    },
    { warmup: 1, runs: 3 },
  );

  const out = mkdtempSync(join(tmpdir(), 'charades-bench-features-'));
  let writeMs: number[];
  let readMs: number[];
  try {
    writeMs = await timeIt(() => writeFeatureCache({ dataset: ds, outDir: out }), { warmup: 0, runs: 2 });
    readMs = await timeIt(() => readFeatureCache(out), { warmup: 1, runs: 3 });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const p50 = (xs: number[]) => percentile(xs, 50);
  const featureFrames = frames - ds.records.length;
  const result = {
    clips: ds.records.length,
    frames,
    openMsP50: p50(openMs),
    firstBinaryReadMs: firstDecodeMs,
    decodeAllMsP50: p50(decodeMs),
    decodeFramesPerS: frames / (p50(decodeMs) / 1000),
    clipMotionAllMsP50: p50(clipMs),
    featurizeAllMsP50: p50(featurizeMs),
    featurizeFramesPerS: featureFrames / (p50(featurizeMs) / 1000),
    recoverAllMsP50: p50(recoverMs),
    recoverFramesPerS: featureFrames / (p50(recoverMs) / 1000),
    cacheWriteMsP50: p50(writeMs),
    cacheReadMsP50: p50(readMs),
    rssMb: rssMb(),
  };
  const rows: Row[] = [
    { step: 'open index + validate', ms: result.openMsP50, 'frames/s': null },
    { step: 'first binary read (lazy)', ms: result.firstBinaryReadMs, 'frames/s': null },
    { step: 'decode all clips (pos+rot)', ms: result.decodeAllMsP50, 'frames/s': Math.round(result.decodeFramesPerS) },
    {
      step: 'clip() → Motion, all clips',
      ms: result.clipMotionAllMsP50,
      'frames/s': Math.round(frames / (result.clipMotionAllMsP50 / 1000)),
    },
    { step: 'featurize all clips', ms: result.featurizeAllMsP50, 'frames/s': Math.round(result.featurizeFramesPerS) },
    { step: 'recoverJoints all clips', ms: result.recoverAllMsP50, 'frames/s': Math.round(result.recoverFramesPerS) },
    { step: 'write features cache', ms: result.cacheWriteMsP50, 'frames/s': null },
    { step: 'read features cache', ms: result.cacheReadMsP50, 'frames/s': null },
  ];
  report('dataset', result, rows);
}

await main();

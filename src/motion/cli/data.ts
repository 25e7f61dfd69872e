/**
 * `charades data stats` (what the packed data holds, and its ground-truth physical metrics: the baseline every
 * generated motion is compared with) and `charades data features` (writes the features cache the trainer reads).
 */
import type { Command } from 'commander';
import { openDataset, SPLITS } from '../dataset.js';
import type { ClipRecord, Dataset } from '../dataset.js';
import { defaultFeatureCacheDir, writeFeatureCache } from '../featureCache.js';
import { aggregatePhysicalMetrics, physicalMetrics } from '../metrics/index.js';
import type { PhysicalMetrics } from '../metrics/index.js';
import { defaultAllDataDirs, defaultTrainingDataDirs } from '../paths.js';

/** Metrics shown in the human table (the JSON has every field physicalMetrics returns). */
const TABLE_KEYS = ['footSkateRatio', 'floorPenetrationMean', 'floatHeightMean', 'jitter', 'boneLengthStd'] as const;

interface SplitStats {
  clips: number;
  frames: number;
  hours: number;
}

/** One pack's share of the data: what a model trained on it inherits (its licences) and what it teaches. */
export interface PackStats {
  name: string;
  dir: string;
  clips: number;
  frames: number;
  hours: number;
  rotations: boolean;
  licenses: Record<string, number>;
  splits: Record<string, number>;
  actionLabels: Record<string, number>;
}

export interface DataStats {
  dataDir: string;
  packs: PackStats[];
  clips: number;
  frames: number;
  hours: number;
  fps: number;
  splits: Record<string, SplitStats>;
  datasets: Record<string, number>;
  licenses: Record<string, number>;
  actionLabels: Record<string, number>;
  styles: Record<string, number>;
  /**
   * Ground-truth physical metrics over all clips and per split: `meanOverClips` averages each clip's value,
   * `pooled` is aggregatePhysicalMetrics (frame-weighted, as evaluation pools generated clips).
   */
  physical: { meanOverClips: Record<string, PhysicalMetrics>; pooled: Record<string, PhysicalMetrics> };
}

function countBy(records: readonly ClipRecord[], keys: (r: ClipRecord) => readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) for (const k of keys(r)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

function hoursOf(records: readonly ClipRecord[]): { frames: number; hours: number } {
  const frames = records.reduce((s, r) => s + r.num_frames, 0);
  const seconds = records.reduce((s, r) => s + r.num_frames / r.fps, 0);
  return { frames, hours: seconds / 3600 };
}

function meanOverClips(clips: readonly PhysicalMetrics[]): PhysicalMetrics {
  const keys = Object.keys(clips[0]) as (keyof PhysicalMetrics)[];
  const mean = Object.fromEntries(
    keys.map((k) => [k, clips.reduce((s, c) => s + c[k], 0) / clips.length]),
  ) as unknown as PhysicalMetrics;
  mean.frames = clips.reduce((s, c) => s + c.frames, 0);
  return mean;
}

function clipMetrics(ds: Dataset, r: ClipRecord): PhysicalMetrics {
  try {
    return physicalMetrics(ds.positions(r), r.num_frames, r.fps);
  } catch (err) {
    throw new Error(`clip ${r.id}: ${(err as Error).message}`, { cause: err });
  }
}

export function computeDataStats(ds: Dataset): DataStats {
  const all = hoursOf(ds.records);
  const splits: Record<string, SplitStats> = {};
  const perClip = new Map(ds.records.map((r) => [r.id, clipMetrics(ds, r)]));
  const physical: DataStats['physical'] = {
    meanOverClips: { all: meanOverClips([...perClip.values()]) },
    pooled: { all: aggregatePhysicalMetrics([...perClip.values()]) },
  };
  for (const name of SPLITS) {
    const records = ds.split(name);
    splits[name] = { clips: records.length, ...hoursOf(records) };
    if (records.length === 0) continue;
    const metrics = records.map((r) => perClip.get(r.id) as PhysicalMetrics);
    physical.meanOverClips[name] = meanOverClips(metrics);
    physical.pooled[name] = aggregatePhysicalMetrics(metrics);
  }
  const packs = ds.packs.map((p): PackStats => {
    const records = ds.records.filter((r) => ds.packOf(r) === p.name);
    return {
      name: p.name,
      dir: p.dir,
      clips: records.length,
      ...hoursOf(records),
      rotations: p.hasRotations,
      licenses: countBy(records, (r) => [r.license]),
      splits: countBy(records, (r) => [r.split]),
      actionLabels: countBy(records, (r) => r.action_labels),
    };
  });
  return {
    dataDir: ds.dir,
    packs,
    clips: ds.records.length,
    frames: all.frames,
    hours: all.hours,
    fps: ds.records[0].fps,
    splits,
    datasets: countBy(ds.records, (r) => [r.dataset]),
    licenses: countBy(ds.records, (r) => [r.license]),
    actionLabels: countBy(ds.records, (r) => r.action_labels),
    styles: countBy(ds.records, (r) => [r.style]),
    physical,
  };
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function formatDataStats(s: DataStats): string {
  const lines = [
    `data: ${s.packs.map((p) => p.dir).join(', ')}`,
    `clips: ${s.clips}   frames: ${s.frames}   hours: ${s.hours.toFixed(2)}   fps: ${s.fps}`,
    '',
    ...s.packs.flatMap((p) => [
      `pack ${p.name}: ${p.clips} clips, ${p.hours.toFixed(2)} h, ${p.rotations ? 'with rotations' : 'positions only'}; splits ${formatCounts(p.splits)}`,
      `  licences: ${formatCounts(p.licenses)}`,
      `  action labels (${Object.keys(p.actionLabels).length}): ${formatCounts(p.actionLabels)}`,
    ]),
    '',
    'split   clips   frames    hours',
    ...Object.entries(s.splits).map(
      ([n, v]) =>
        `${n.padEnd(6)} ${String(v.clips).padStart(6)} ${String(v.frames).padStart(8)} ${v.hours.toFixed(3).padStart(8)}`,
    ),
    '',
    `datasets: ${formatCounts(s.datasets)}`,
    `licenses: ${formatCounts(s.licenses)}`,
    `action labels (${Object.keys(s.actionLabels).length}): ${formatCounts(s.actionLabels)}`,
    `styles (${Object.keys(s.styles).length}): ${formatCounts(s.styles)}`,
    '',
    'ground-truth physical metrics (metres, m/s³ for jitter; --json has all fields)',
    `${'split'.padEnd(14)} ${TABLE_KEYS.map((k) => k.padStart(21)).join(' ')}`,
    ...(['meanOverClips', 'pooled'] as const).flatMap((how) =>
      Object.entries(s.physical[how]).map(
        ([n, m]) =>
          `${`${n} ${how === 'pooled' ? 'pooled' : 'mean'}`.padEnd(14)} ${TABLE_KEYS.map((k) => formatMetric(m[k]).padStart(21)).join(' ')}`,
      ),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function formatMetric(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('inspect the packed motion data and build derived caches');

  data
    .command('stats')
    .description('clips, hours, frames per split, labels, styles and the ground-truth physical metrics of the data')
    .option(
      '--data <dirs>',
      'motion data pack folders, comma-separated (default: CHARADES_DATA, else every shared pack: motion, cmu, hdm05)',
    )
    .option('--json', 'print one JSON object instead of a table')
    .action((opts: { data?: string; json?: boolean }) => {
      const stats = computeDataStats(openDataset(opts.data ?? defaultAllDataDirs()));
      process.stdout.write(opts.json ? `${JSON.stringify(stats, null, 2)}\n` : formatDataStats(stats));
    });

  data
    .command('features')
    .description('write the features cache (features.f16 + features.json) the trainer reads, see docs/data-contract.md')
    .option(
      '--data <dirs>',
      'motion data pack folders, comma-separated (default: CHARADES_DATA, else the training packs motion + cmu)',
    )
    .option('--out <dir>', `output folder (default: ${defaultFeatureCacheDir()})`)
    .action((opts: { data?: string; out?: string }) => {
      const started = performance.now();
      const r = writeFeatureCache({
        dataDir: opts.data ?? defaultTrainingDataDirs(),
        outDir: opts.out ?? defaultFeatureCacheDir(),
      });
      const mib = (r.binBytes + r.metaBytes) / 2 ** 20;
      process.stdout.write(
        `wrote ${r.dir}: ${r.clips} clips, ${r.frames} feature frames, ${mib.toFixed(1)} MiB ` +
          `(features.f16 ${(r.binBytes / 2 ** 20).toFixed(1)} MiB + features.json ${(r.metaBytes / 2 ** 20).toFixed(2)} MiB) ` +
          `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}

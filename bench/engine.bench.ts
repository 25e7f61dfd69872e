/**
 * Engine latency per task for a 4 s clip (1 sample and 4 samples), decoding throughput (tokens/s) and RSS.
 * Target (DESIGN.md §7): text → 4 s motion p50 ≤ 150 ms on the 2-core CPU.
 *
 *   node --import tsx bench/engine.bench.ts [--model DIR] [--runs N] [--threads N]
 *
 * Model: --model DIR, else the registry's live version, else the tiny CI model (reported as such: its
 * numbers say little about the real model's latency).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MotionRequestInput } from '../src/motion/contracts.js';
import { saveMotionFile } from '../src/motion/formats.js';
import { createEngine, type Engine } from '../src/motion/engine/engine.js';
import { defaultModelsDir } from '../src/motion/paths.js';
import { liveVersionDir } from '../src/motion/registry.js';
import { percentile, report, rssMb, timeIt, type Row } from './harness.js';

const { values: args } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '20' }, threads: { type: 'string' } } });
const runs = Number(args.runs);
const TINY = join(import.meta.dirname, '..', 'test', 'fixtures', 'tiny-model');
const modelDir = args.model ?? liveVersionDir(defaultModelsDir()) ?? TINY;
if (!existsSync(modelDir)) throw new Error(`no model at ${modelDir}`);

const text = 'a person walks forward and waves';
const descriptions = [
  'The person strides forward with an even gait while raising the right hand to shoulder height.',
  'Walking ahead steadily, the person lifts one arm and waves the hand side to side.',
  'The legs alternate in a relaxed walk as the right forearm swings back and forth in a greeting.',
  'Moving forward at a normal pace, the person waves with the palm facing out.',
];

async function main(): Promise<void> {
  const loadStart = performance.now();
  const engine: Engine = await createEngine({ modelDir, threads: args.threads === undefined ? undefined : Number(args.threads) });
  const loadMs = performance.now() - loadStart;
  const dir = mkdtempSync(join(tmpdir(), 'charades-engine-bench-'));
  const past = join(dir, 'past.json');
  saveMotionFile((await engine.generate({ segments: [{ text: 'a person walks', seconds: 4 }], seed: 1 })).motions[0], past);

  const tasks: Record<string, MotionRequestInput['segments']> = {
    text: [{ text, seconds: 4 }],
    'text+descriptions': [{ text, descriptions, seconds: 4 }],
    init_pose: [{ text, seconds: 4, control: { init: { kind: 'named', name: 'sitting' } } }],
    last_pose: [{ text, seconds: 4, control: { last: { kind: 'named', name: 'hands-up' } } }],
    key_poses: [{ text, seconds: 4, control: { keys: [{ at: 1, pose: { kind: 'named', name: 'crouching' } }, { at: 3, pose: { kind: 'named', name: 't-pose' } }] } }],
    continue: [{ text, seconds: 4, control: { continueFrom: { path: past } } }],
    'two segments (2 s + 2 s)': [{ text: 'a person waves', seconds: 2 }, { text: 'a person sits down', seconds: 2 }],
  };
  // Poses are pinned by default; the same key-pose request without pinning shows what pinning costs.
  const unpinned = 'key_poses, pinPoses: false';
  tasks[unpinned] = tasks.key_poses;
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  let seed = 100;
  for (const [task, segments] of Object.entries(tasks)) {
    for (const samples of [1, 4] as const) {
      // A new seed per run, as real rerolls; the text embeddings are cached after the warm-up, as in the bot.
      const pinPoses = task === unpinned ? false : undefined;
      const ms = await timeIt(() => engine.generate({ segments, samples, seed: seed++, pinPoses }), { warmup: 2, runs });
      const row = { task, samples, p50_ms: percentile(ms, 50), p95_ms: percentile(ms, 95), tokens_per_s: (20 * samples * 1000) / percentile(ms, 50) };
      rows.push(row);
      results[`${task}/${samples}`] = row;
    }
  }
  const textP50 = (results['text/1'] as { p50_ms: number }).p50_ms;
  report('engine', {
    model: engine.version,
    modelDir,
    provider: engine.provider,
    loadMs,
    runs,
    clipSeconds: 4,
    tokensPerClip: 20,
    target: { task: 'text/1', p50_ms: 150, met: textP50 <= 150 },
    results,
    rssMb: rssMb(),
  }, rows);
  await engine.close();
}

await main();

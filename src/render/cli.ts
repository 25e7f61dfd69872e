/**
 * `charades render INPUT… -o out.mp4`: draws a motion file (BVH, NPY, Charades JSON) or a dataset clip
 * to MP4, optionally side by side (2) or as a 2×2 grid (4), with a preview and a thumbnail beside it.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadMotionFile, openDataset } from '../motion/index.js';
import type { Dataset, Motion } from '../motion/index.js';
import type { Transport } from './protocol.js';
import { TRANSPORTS } from './protocol.js';
import { createRenderer } from './renderer.js';
import type { RenderOptions } from './renderer.js';

interface RenderCliOptions {
  out: string;
  size: string;
  fps: string;
  grid?: boolean;
  labels?: string;
  clip?: string;
  title?: string;
  preview?: string;
  thumbnail?: boolean;
  quality: string;
  transport?: string;
  timeout: string;
  data?: string;
}

const SIZES = [512, 768, 1024];
const FPS_CHOICES = [20, 30];

function choice(name: string, value: string, allowed: readonly (string | number)[]): string {
  if (!allowed.map(String).includes(value))
    throw new Error(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

/** An input is a file when it exists on disk; otherwise it must be a dataset clip id. */
function loadInput(input: string, dataset: () => Dataset): Motion {
  if (existsSync(input)) return loadMotionFile(input);
  if (/[/\\]|\.(bvh|npy|json)$/i.test(input)) throw new Error(`${input}: no such file`);
  return dataset().clip(input);
}

/** Three more clips with the same first action label, so one clip id can fill a 2×2 grid. */
function siblings(ds: Dataset, id: string): string[] {
  const rec = ds.byId(id);
  const label = rec.action_labels[0];
  return ds.records
    .filter((r) => r.id !== id && r.action_labels[0] === label)
    .slice(0, 3)
    .map((r) => r.id);
}

export function parseRenderCliOptions(raw: RenderCliOptions): RenderOptions {
  const timeout = Number(raw.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new Error(`--timeout must be a positive number of seconds, got "${raw.timeout}"`);
  const preview =
    raw.preview === undefined ? false : (choice('preview', raw.preview, ['webp', 'gif']) as 'webp' | 'gif');
  return {
    size: Number(choice('size', raw.size, SIZES)),
    fps: Number(choice('fps', raw.fps, FPS_CHOICES)) as 20 | 30,
    quality: choice('quality', raw.quality, ['fast', 'high']) as 'fast' | 'high',
    transport: raw.transport === undefined ? undefined : (choice('transport', raw.transport, TRANSPORTS) as Transport),
    title: raw.title,
    preview,
    thumbnail: Boolean(raw.thumbnail),
    timeoutMs: Math.round(timeout * 1000),
    out: raw.out,
  };
}

export function registerRenderCommands(program: Command): void {
  program
    .command('render')
    .description('render a motion (BVH, NPY, Charades JSON or a dataset clip id) to an MP4 of a 3D mannequin')
    .argument(
      '[inputs...]',
      'motion files or dataset clip ids (2 or 4 with --grid, or one clip id whose label fills a 2×2 grid)',
    )
    .requiredOption('-o, --out <file>', 'output MP4 path')
    .option('--clip <id>', 'a dataset clip id (same as giving it as INPUT)')
    .option('--size <px>', `square video size: ${SIZES.join(', ')}`, '512')
    .option('--fps <n>', `output frame rate: ${FPS_CHOICES.join(', ')}`, '20')
    .option('--grid', 'several motions in one video: 2 side by side, or 4 in a 2×2 grid, labelled 1–n')
    .option('--labels <a,b,…>', 'comma-separated cell labels for --grid (≤ 12 characters each)')
    .option('--title <text>', 'a line shown above the caption')
    .option('--preview <kind>', 'also write an animated preview next to the MP4: webp or gif')
    .option('--thumbnail', 'also write a PNG thumbnail next to the MP4')
    .option(
      '--quality <q>',
      'fast (no MSAA, contact shadow) or high (4× MSAA, real shadow map, about 3× slower)',
      'fast',
    )
    .option('--transport <t>', `how frames leave the browser: ${TRANSPORTS.join(', ')} (default webcodecs)`)
    .option('--timeout <s>', 'seconds one render attempt may take', '120')
    .option('--data <dir>', 'dataset folder for clip ids (default: CHARADES_DATA or ../shared/data/motion)')
    .action(async (inputs: string[], raw: RenderCliOptions) => {
      const options = parseRenderCliOptions(raw);
      const all = [...inputs, ...(raw.clip ? [raw.clip] : [])];
      if (all.length === 0)
        throw new Error('nothing to render: give a motion file or a dataset clip id (INPUT or --clip ID)');
      let ds: Dataset | null = null;
      const dataset = () => (ds ??= openDataset(raw.data));
      if (raw.grid && all.length === 1 && !existsSync(all[0])) all.push(...siblings(dataset(), all[0]));
      if (raw.grid && all.length !== 2 && all.length !== 4)
        throw new Error(`--grid needs 2 motions (side by side) or 4 (2×2), got ${all.length}`);
      if (!raw.grid && all.length !== 1)
        throw new Error(`one motion per video (got ${all.length}); add --grid for 2 side by side or 4 in a 2×2 grid`);
      if (raw.labels !== undefined && !raw.grid) throw new Error('--labels names grid cells; add --grid');
      const labels = raw.labels?.split(',').map((l) => l.trim());
      const motions = all.map((x) => loadInput(x, dataset));
      const renderer = createRenderer();
      try {
        const result = await renderer.render(motions[0], raw.grid ? { ...options, grid: motions, labels } : options);
        const base = raw.out.replace(/\.mp4$/i, '');
        const extra: string[] = [];
        if (result.preview) {
          await writeFile(`${base}.${result.preview.kind}`, result.preview.data);
          extra.push(`${base}.${result.preview.kind}`);
        }
        if (result.thumbnail) {
          await writeFile(`${base}.png`, result.thumbnail);
          extra.push(`${base}.png`);
        }
        const s = result.stats;
        process.stdout.write(
          `wrote ${raw.out} (${s.size}×${s.size}, ${s.frames} frames at ${s.fps} fps, ${s.seconds.toFixed(2)} s, ${(s.bytes / 1024).toFixed(0)} KiB) in ${(s.timings.totalMs / 1000).toFixed(2)} s` +
            `${extra.length ? `; also ${extra.join(', ')}` : ''}\n`,
        );
      } finally {
        await renderer.close();
      }
    });
}

/**
 * Renderer benchmark (warm browser pool, launch excluded): frame transports compared on a 4 s clip,
 * then 4/8/12 s clips single and 2×2 at 512² with the default transport, against the DESIGN.md target
 * (4 s at 512², 20 fps → MP4 in ≤ 1.6 s). The machine is shared, so every row also carries the CPU time
 * the whole pipeline used (node + Chromium + ffmpeg), which load from other processes does not inflate.
 *
 *   node --import tsx bench/render.bench.ts [--runs N] [--quick]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { report, summarize } from './harness.js';
import type { Row } from './harness.js';
import { openDataset } from '../src/motion/index.js';
import type { Motion } from '../src/motion/index.js';
import { createRenderer } from '../src/render/index.js';
import type { RenderOptions, RenderResult, Transport } from '../src/render/index.js';

const TARGET_MS = 1600;
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
const quick = args.includes('--quick');

/** CPU ms used so far by this process, its reaped children (ffmpeg) and its live descendants (Chromium). */
function treeCpuMs(): number {
  const stats = new Map<number, { ppid: number; self: number; children: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(d), { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) });
    } catch {
      // the process ended while we looked
    }
  }
  let ticks = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop() as number;
    const s = stats.get(pid);
    if (s) ticks += s.self + s.children;
    for (const [child, v] of stats) if (v.ppid === pid) stack.push(child);
  }
  return ticks * 10;
}

function concat(motions: Motion[], seconds: number): Motion {
  // a long walk: successive clips would jump back to the origin, so take one long take and cut it
  const m = motions.find((x) => x.numFrames >= seconds * x.fps) ?? motions[0];
  const n = Math.min(m.numFrames, Math.round(seconds * m.fps));
  return { ...m, numFrames: n, joints: m.joints.slice(0, n * 66), rotations: undefined, segments: m.segments.map((s) => ({ ...s, end: Math.min(s.end, n), start: Math.min(s.start, n) })) };
}

const ds = openDataset();
const walks = ds.records.filter((r) => r.action_labels.includes('walk') && r.dataset.startsWith('bandai') && r.num_frames >= 240).map((r) => ds.clip(r));

const renderer = createRenderer();
const tLaunch = performance.now();
await renderer.warm();
const launchMs = performance.now() - tLaunch;

interface Measured {
  wall: ReturnType<typeof summarize>;
  cpuMs: number;
  last: RenderResult;
}

async function measure(motion: Motion, options: RenderOptions, n: number): Promise<Measured> {
  await renderer.render(motion, options);
  const walls: number[] = [];
  let cpu = 0;
  let last: RenderResult | null = null;
  for (let i = 0; i < n; i++) {
    const c0 = treeCpuMs();
    const t0 = performance.now();
    last = await renderer.render(motion, options);
    walls.push(performance.now() - t0);
    cpu += treeCpuMs() - c0;
  }
  return { wall: summarize(walls), cpuMs: cpu / n, last: last as RenderResult };
}

const load0 = loadavg()[0];
const rows: Row[] = [];
const transports: Record<string, unknown> = {};
const clip4 = concat(walks, 4);
for (const transport of (quick ? ['webcodecs', 'jpeg'] : ['webcodecs', 'jpeg', 'png', 'raw']) as Transport[]) {
  const m = await measure(clip4, { transport }, transport === 'raw' || transport === 'png' ? 1 : runs);
  const t = m.last.stats.timings;
  transports[transport] = {
    p50Ms: m.wall.p50, cpuMs: m.cpuMs, bytes: m.last.stats.bytes, framesPerS: (m.last.stats.frames / m.wall.p50) * 1000,
    rasterMs: t.rasterMs, captureMs: t.captureMs, transferMs: t.transferMs, encodeMs: t.encodeMs,
  };
  rows.push({ case: `transport ${transport}`, frames: m.last.stats.frames, p50_ms: m.wall.p50, cpu_ms: m.cpuMs, fps: (m.last.stats.frames / m.wall.p50) * 1000, kB: m.last.stats.bytes / 1024, raster: t.rasterMs, capture: t.captureMs, transfer: t.transferMs, encode: t.encodeMs });
}

const cases: Record<string, unknown> = {};
for (const seconds of quick ? [4] : [4, 8, 12]) {
  for (const grid of [false, true]) {
    const motion = concat(walks, seconds);
    // four different long walks, so every cell really lasts `seconds` (the gesture clips are shorter)
    const options: RenderOptions = grid ? { grid: [0, 1, 2, 3].map((i) => concat([walks[i % walks.length]], seconds)), title: 'variations' } : {};
    const m = await measure(motion, options, seconds === 4 ? runs : Math.max(1, runs - 1));
    const t = m.last.stats.timings;
    const name = `${seconds}s ${grid ? '2x2' : 'single'} 512`;
    cases[name] = { p50Ms: m.wall.p50, p95Ms: m.wall.p95, cpuMs: m.cpuMs, frames: m.last.stats.frames, framesPerS: (m.last.stats.frames / m.wall.p50) * 1000, bytes: m.last.stats.bytes, timings: t, transport: m.last.stats.transport };
    rows.push({ case: name, frames: m.last.stats.frames, p50_ms: m.wall.p50, cpu_ms: m.cpuMs, fps: (m.last.stats.frames / m.wall.p50) * 1000, kB: m.last.stats.bytes / 1024, raster: t.rasterMs, capture: t.captureMs, transfer: t.transferMs, encode: t.encodeMs });
  }
}
const withPreview = await measure(clip4, { preview: 'webp', thumbnail: true }, 1);
rows.push({ case: '4s single + webp + png', frames: withPreview.last.stats.frames, p50_ms: withPreview.wall.p50, cpu_ms: withPreview.cpuMs, kB: withPreview.last.stats.bytes / 1024, preview_ms: withPreview.last.stats.timings.previewMs });
const high = await measure(clip4, { quality: 'high' }, 1);
rows.push({ case: '4s single quality=high', frames: high.last.stats.frames, p50_ms: high.wall.p50, cpu_ms: high.cpuMs, raster: high.last.stats.timings.rasterMs, capture: high.last.stats.timings.captureMs });
await renderer.close();

const headline = cases['4s single 512'] as { p50Ms: number; cpuMs: number };
report('render', {
  target: { clip: '4 s, 512², 20 fps → MP4', maxMs: TARGET_MS, p50Ms: headline.p50Ms, cpuMs: headline.cpuMs, met: headline.p50Ms <= TARGET_MS },
  launchMs,
  loadAverage1m: { start: load0, end: loadavg()[0] },
  transports,
  cases,
  previewAndThumbnail: { p50Ms: withPreview.wall.p50, previewMs: withPreview.last.stats.timings.previewMs, previewBytes: withPreview.last.preview?.data.length, thumbnailBytes: withPreview.last.thumbnail?.length },
  qualityHigh: { p50Ms: high.wall.p50, cpuMs: high.cpuMs },
  runs,
}, rows);

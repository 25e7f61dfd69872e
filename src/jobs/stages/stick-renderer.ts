/**
 * A light renderer for machines without Chromium (config renderer=stick): a front orthographic stick
 * figure rasterised in JavaScript and encoded by ffmpeg (H.264, yuv420p, faststart), so the bot still
 * posts a real, playable MP4. Several motions become a 2×2 grid.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KINEMATIC_CHAINS, NUM_JOINTS } from '../../motion/index.js';
import type { Motion } from '../../motion/index.js';
import type { RenderOptions, RendererStage } from '../types.js';

const BACKGROUND = [245, 245, 240] as const;
const COLOURS = [
  [200, 60, 60], [60, 90, 200], [40, 40, 40], [200, 60, 60], [60, 90, 200],
] as const;

export function findFfmpeg(): string {
  for (const p of [process.env.FFMPEG_PATH, '/usr/bin/ffmpeg', '/usr/local/bin/ffmpeg']) if (p && existsSync(p)) return p;
  throw new Error('ffmpeg not found: install it (apt install ffmpeg) or set FFMPEG_PATH');
}

interface View {
  cx: number;
  cy: number;
  scale: number;
}

/** One fixed camera per motion: fits the whole trajectory (x and height) with a margin. */
function viewFor(m: Motion, tile: number): View {
  let minX = Infinity, maxX = -Infinity, maxY = 0;
  for (let i = 0; i < m.joints.length; i += 3) {
    minX = Math.min(minX, m.joints[i]);
    maxX = Math.max(maxX, m.joints[i]);
    maxY = Math.max(maxY, m.joints[i + 1]);
  }
  const span = Math.max(maxX - minX, maxY, 1.2) * 1.15;
  return { cx: (minX + maxX) / 2, cy: maxY / 2, scale: tile / span };
}

function drawLine(buf: Buffer, width: number, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[], thick: number, ox: number, oy: number, tile: number): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
  const r = Math.max(1, Math.floor(thick / 2));
  for (let s = 0; s <= steps; s++) {
    const x = Math.round(x0 + ((x1 - x0) * s) / steps);
    const y = Math.round(y0 + ((y1 - y0) * s) / steps);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const px = x + dx, py = y + dy;
        if (px < 0 || py < 0 || px >= tile || py >= tile) continue;
        const o = ((oy + py) * width + ox + px) * 3;
        buf[o] = rgb[0];
        buf[o + 1] = rgb[1];
        buf[o + 2] = rgb[2];
      }
    }
  }
}

function drawFigure(buf: Buffer, width: number, m: Motion, frame: number, view: View, ox: number, oy: number, tile: number): void {
  const f = Math.min(frame, m.numFrames - 1) * NUM_JOINTS * 3;
  const px = (j: number) => tile / 2 + (m.joints[f + j * 3] - view.cx) * view.scale;
  const py = (j: number) => tile / 2 - (m.joints[f + j * 3 + 1] - view.cy) * view.scale;
  const floor = tile / 2 + view.cy * view.scale;
  drawLine(buf, width, 0, floor, tile - 1, floor, [180, 180, 170], 1, ox, oy, tile);
  KINEMATIC_CHAINS.forEach((chain, c) => {
    for (let k = 1; k < chain.length; k++) drawLine(buf, width, px(chain[k - 1]), py(chain[k - 1]), px(chain[k]), py(chain[k]), COLOURS[c], Math.max(2, tile / 120), ox, oy, tile);
  });
}

export function rasterise(motions: Motion[], size: number, frame: number, views: View[]): Buffer {
  const grid = motions.length > 1 ? 2 : 1;
  const tile = Math.floor(size / grid);
  const buf = Buffer.alloc(size * size * 3);
  for (let i = 0; i < buf.length; i += 3) buf.set(BACKGROUND, i);
  motions.slice(0, 4).forEach((m, i) => drawFigure(buf, size, m, frame, views[i], (i % grid) * tile, Math.floor(i / grid) * tile, tile));
  return buf;
}

function encode(ffmpeg: string, frames: Iterable<Buffer>, size: number, fps: number, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${size}x${size}`, '-r', String(fps), '-i', '-',
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', out];
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`cannot start ffmpeg (${ffmpeg}): ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim().slice(-500)}`))));
    child.stdin.on('error', () => undefined);
    (async () => {
      for (const f of frames) if (!child.stdin.write(f)) await new Promise((r) => child.stdin.once('drain', r));
      child.stdin.end();
    })().catch(reject);
  });
}

export function createStickRenderer(): RendererStage {
  const ffmpeg = findFfmpeg();
  return {
    name: 'stick-figure',
    async render(motions: Motion[], options: RenderOptions): Promise<Buffer> {
      if (motions.length === 0) throw new Error('nothing to render: no motions');
      const size = options.size - (options.size % 4);
      const tile = motions.length > 1 ? size / 2 : size;
      const views = motions.map((m) => viewFor(m, tile));
      const seconds = Math.max(...motions.map((m) => m.numFrames / m.fps));
      const count = Math.max(1, Math.round(seconds * options.fps));
      const frames = function* () {
        for (let i = 0; i < count; i++) yield rasterise(motions, size, Math.round((i / options.fps) * motions[0].fps), views);
      };
      const dir = mkdtempSync(join(tmpdir(), 'charades-stick-'));
      try {
        const out = join(dir, 'clip.mp4');
        await encode(ffmpeg, frames(), size, options.fps, out);
        return readFileSync(out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async close() {},
  };
}

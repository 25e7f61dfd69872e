/**
 * The renderer the bot and the CLI use: Motion → MP4 (+ optional preview and thumbnail), on a warm
 * Chromium pool, with a per-attempt timeout and a retry on a fresh browser when Chromium dies or hangs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Motion } from '../motion/index.js';
import { FrameEncoder, makePreview, muxH264 } from './ffmpeg.js';
import { outputFrameCount, planCameras, resampleJoints } from './framing.js';
import { BrowserPool } from './pool.js';
import type { Lease, PoolOptions } from './pool.js';
import type { BatchResult, SceneJob, SceneResult, Transport } from './protocol.js';
import { TRANSPORTS } from './protocol.js';
import { ffmpegHasEncoder, findFfmpeg } from './tools.js';
import { RENDER_LIMITS, RenderInputError, validateMotion } from './validate.js';

/** Longer names would not fit a cell's corner at 512². */
const MAX_LABEL_CHARS = 12;

export const RenderOptionsSchema = z
  .object({
    /** Square output size in pixels (even). 512 default; 768 and 1024 are the other offered sizes. */
    size: z
      .number()
      .int()
      .min(128)
      .max(1920)
      .refine((n) => n % 2 === 0, 'must be even (H.264 yuv420p)')
      .default(512),
    fps: z.union([z.literal(20), z.literal(30)]).default(20),
    /** fast (default): no MSAA, a contact shadow under the body; high: 4× MSAA and a real 1024² shadow map, about 3× slower. */
    quality: z.enum(['fast', 'high']).default('fast'),
    /**
     * Several motions in one synchronised video at one camera scale: 2 side by side (a duel) or 4 in a
     * 2×2 grid (variations); `motion` then only supplies the captions.
     */
    grid: z
      .array(z.custom<Motion>())
      .superRefine((g, ctx) => {
        if (g.length !== 2 && g.length !== 4)
          ctx.addIssue({
            code: 'custom',
            message: `${g.length} motion${g.length === 1 ? '' : 's'} — give 2 (side by side) or 4 (2×2)`,
          });
      })
      .optional(),
    /** One short name per grid cell, drawn in its corner; default '1'…'n'. */
    labels: z
      .array(
        z
          .string()
          .trim()
          .min(1, 'a label may not be empty')
          .max(MAX_LABEL_CHARS, `at most ${MAX_LABEL_CHARS} characters each`),
      )
      .optional(),
    title: z.string().max(200).optional(),
    preview: z.union([z.enum(['webp', 'gif']), z.literal(false)]).default(false),
    thumbnail: z.boolean().default(false),
    /** Time one attempt may take before its browser is killed (a retry gets the same again). */
    timeoutMs: z.number().int().positive().default(60_000),
    /** Extra attempts on a fresh browser after a crash or timeout. */
    retries: z.number().int().min(0).max(3).default(1),
    /** Where to write the MP4 (it is returned as a Buffer either way). */
    out: z.string().min(1).optional(),
    transport: z.enum(TRANSPORTS as [Transport, ...Transport[]]).optional(),
    /** Output frames to return as PNG (for inspection and tests). */
    pngFrames: z.array(z.number().int().nonnegative()).max(64).default([]),
    maxSeconds: z.number().positive().default(RENDER_LIMITS.maxSeconds),
  })
  .superRefine((o, ctx) => {
    if (o.labels === undefined) return;
    if (!o.grid)
      ctx.addIssue({
        code: 'custom',
        path: ['labels'],
        message: 'labels name grid cells; give them together with grid',
      });
    else if (o.labels.length !== o.grid.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['labels'],
        message: `${o.labels.length} labels for ${o.grid.length} grid motions — give one per motion`,
      });
    }
  });
export type RenderOptions = z.input<typeof RenderOptionsSchema>;
type ParsedOptions = z.output<typeof RenderOptionsSchema>;

export interface RenderTimings {
  /** Validation, resampling and camera planning in Node. */
  prepareMs: number;
  /** Waiting for a free browser (and launching one if none was warm). */
  acquireMs: number;
  /** Scene updates and WebGL command submission in the page's JS (SwiftShader rasterises later, lazily). */
  rasterMs: number;
  /**
   * Getting frames out of the canvas (VideoFrame + H.264 encode, or toDataURL/readPixels). Reading a
   * frame forces SwiftShader to rasterise it, so this includes the actual drawing.
   */
  captureMs: number;
  /** Everything else between Node and the page: protocol round trips, base64, waiting. */
  transferMs: number;
  /** ffmpeg: mux (webcodecs) or encode (images). */
  encodeMs: number;
  previewMs: number;
  totalMs: number;
}

export interface RenderStats {
  frames: number;
  fps: number;
  size: number;
  seconds: number;
  transport: Transport;
  codec: string;
  attempts: number;
  bytes: number;
  timings: RenderTimings;
}

export interface RenderResult {
  mp4: Buffer;
  mp4Path?: string;
  preview?: { kind: 'webp' | 'gif'; data: Buffer };
  thumbnail?: Buffer;
  pngFrames: Record<number, Buffer>;
  stats: RenderStats;
}

export interface RendererOptions extends PoolOptions {
  ffmpegPath?: string;
  /** Default frame transport; 'webcodecs' unless this Chromium lacks an H.264 encoder. */
  transport?: Transport;
}

export interface Renderer {
  render(motion: Motion, options?: RenderOptions): Promise<RenderResult>;
  /** Launches the browsers now instead of on the first render. */
  warm(): Promise<void>;
  /** Process ids of the pool's browsers, and how often they were restarted. */
  health(): { pids: number[]; restarts: number; launches: number; lastLaunchMs: number };
  close(): Promise<void>;
}

export class RenderTimeoutError extends Error {
  override name = 'RenderTimeoutError';
}

const BATCH_FRAMES = 8;

/** Bits per second that keep 12 s well under Discord's 8 MB at every offered size. */
export function bitrateFor(size: number): number {
  return Math.round(Math.min(4_000_000, 1_600_000 * (size / 512) ** 2));
}

function parseOptions(options: RenderOptions | undefined): ParsedOptions {
  const r = RenderOptionsSchema.safeParse(options ?? {});
  if (!r.success)
    throw new RenderInputError(
      `render options: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

function toBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** Caption index of each output frame, from the motion's segments. */
function captionsFor(motion: Motion, frames: number, outFps: number): { captions: string[]; at: number[] } {
  const segments = motion.segments ?? [];
  const captions = segments.map((s) => (s.caption ?? s.text).trim());
  const at: number[] = [];
  for (let i = 0; i < frames; i++) {
    const src = Math.floor((i / outFps) * motion.fps + 1e-6);
    at.push(segments.findIndex((s) => src >= s.start && src < s.end && s.text.trim() !== ''));
  }
  if (at.length && segments.length && at.every((x) => x < 0)) at.fill(0);
  return { captions, at };
}

/** Validates and turns motions into the page's job: resampled joints, camera rigs, captions. */
export function buildSceneJob(motion: Motion, o: ParsedOptions, transport: Transport): SceneJob {
  const sources = o.grid ?? [motion];
  if (o.grid) validateCaptionSource(motion);
  sources.forEach((m, i) => validateMotion(m, o.grid ? `grid[${i}]` : 'motion', o.maxSeconds));
  const frames = Math.max(...sources.map((m) => outputFrameCount(m.numFrames, m.fps, o.fps)));
  const resampled = sources.map((m) => ({
    joints: resampleJoints(m.joints, m.numFrames, m.fps, o.fps, frames),
    frames,
  }));
  // side by side, each cell is half as wide as it is tall
  const rigs = planCameras(resampled, o.fps, sources.length === 2 ? 0.5 : 1);
  const { captions, at } = captionsFor(motion, frames, o.fps);
  const thumbnailFrame = o.thumbnail ? Math.min(frames - 1, Math.round(frames * 0.45)) : -1;
  for (const f of o.pngFrames) {
    if (f >= frames)
      throw new RenderInputError(`pngFrames: frame ${f} is past the end (the video has ${frames} frames)`);
  }
  return {
    size: o.size,
    quality: o.quality,
    fps: o.fps,
    frames,
    distance: rigs[0].distance,
    fovDeg: rigs[0].fovDeg,
    elevationDeg: rigs[0].elevationDeg,
    captions,
    title: o.title ?? '',
    cells: resampled.map((r, i) => ({
      joints: toBase64(r.joints),
      track: toBase64(rigs[i].track),
      azimuthRad: rigs[i].azimuthRad,
      captionAt: at,
      label: o.grid ? (o.labels?.[i] ?? String(i + 1)) : '',
    })),
    transport,
    bitrate: bitrateFor(o.size),
    thumbnailFrame,
    pngFrames: o.pngFrames,
    batchFrames: BATCH_FRAMES,
  };
}

function validateCaptionSource(motion: Motion): void {
  if (!motion || typeof motion !== 'object' || !Array.isArray(motion.segments)) {
    throw new RenderInputError(
      'motion: with grid, the first argument must still be a Motion (its segments give the captions)',
    );
  }
}

/** Whether an error came from the browser dying or the connection dropping (worth a retry on a fresh one). */
function isBrowserFailure(err: unknown): boolean {
  if (err instanceof RenderTimeoutError) return true;
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /Target closed|Session closed|Protocol error|Connection closed|browser has disconnected|detached|crash|ECONNRESET|socket hang up|Navigating frame was detached|Execution context was destroyed|could not start Chromium/i.test(
    msg,
  );
}

class ChromiumRenderer implements Renderer {
  private readonly pool: BrowserPool;
  private readonly ffmpeg: string;
  private readonly defaultTransport: Transport;
  private webpOk: boolean | null = null;
  private attempts = 0;

  constructor(options: RendererOptions) {
    this.pool = new BrowserPool(options);
    this.ffmpeg = options.ffmpegPath ?? findFfmpeg();
    this.defaultTransport = options.transport ?? 'webcodecs';
  }

  warm(): Promise<void> {
    return this.pool.warm();
  }

  health(): { pids: number[]; restarts: number; launches: number; lastLaunchMs: number } {
    return {
      pids: this.pool.pids(),
      restarts: this.pool.restarts,
      launches: this.pool.launches,
      lastLaunchMs: this.pool.lastLaunchMs,
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  async render(motion: Motion, options?: RenderOptions): Promise<RenderResult> {
    const t0 = performance.now();
    const o = parseOptions(options);
    const transport = o.transport ?? this.defaultTransport;
    const job = buildSceneJob(motion, o, transport);
    const prepareMs = performance.now() - t0;
    const work = await mkdtemp(join(tmpdir(), 'charades-render-'));
    try {
      let attempt = 0;
      let lastError: unknown = null;
      while (attempt <= o.retries) {
        attempt++;
        try {
          const r = await this.attempt(job, o, work);
          return await this.finish(r, job, o, work, attempt, prepareMs, t0);
        } catch (err) {
          lastError = err;
          if (!isBrowserFailure(err)) throw err;
        }
      }
      if (lastError instanceof RenderTimeoutError) {
        throw new RenderTimeoutError(
          `render timed out: ${attempt} attempt(s) of ${o.timeoutMs} ms each for ${job.frames} frames at ${o.size}²`,
        );
      }
      const msg = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`render failed after ${attempt} attempt(s), Chromium kept failing: ${msg}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * One try on one browser, bounded by timeoutMs from the moment a browser is ours (time queued behind
   * other jobs does not count; a launch is bounded by the pool's launch timeout). An overrun kills the
   * browser. The lease is always returned by the work itself, also after the deadline has fired.
   */
  private async attempt(job: SceneJob, o: ParsedOptions, work: string): Promise<AttemptResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeoutError = () => new RenderTimeoutError(`render attempt timed out after ${o.timeoutMs} ms`);
    let arm: (lease: Lease) => void = () => undefined;
    const deadline = new Promise<never>((_, reject) => {
      arm = (lease) => {
        timer = setTimeout(() => {
          timedOut = true;
          this.pool.killLease(lease);
          reject(timeoutError());
        }, o.timeoutMs);
      };
    });
    deadline.catch(() => undefined);
    const run = async (): Promise<AttemptResult> => {
      const held = await this.pool.acquire();
      arm(held);
      let encoder: FrameEncoder | null = null;
      let broken = false;
      try {
        const acquireMs = performance.now() - started;
        // one file per attempt: a timed-out attempt may still be finishing its ffmpeg run
        const mp4Path = join(work, `attempt-${++this.attempts}.mp4`);
        const tPage = performance.now();
        await held.page.evaluate((j: SceneJob) => (window as unknown as PageApi).charades.begin(j), job);
        let encodeMs = 0;
        if (job.transport !== 'webcodecs')
          encoder = new FrameEncoder(this.ffmpeg, job.transport, job.size, job.fps, mp4Path);
        for (;;) {
          const batch: BatchResult = await held.page.evaluate(() =>
            (window as unknown as PageApi).charades.nextBatch(),
          );
          if (encoder) {
            const te = performance.now();
            for (const f of batch.frames) await encoder.write(Buffer.from(f, 'base64'));
            encodeMs += performance.now() - te;
          }
          if (batch.done) break;
        }
        const scene: SceneResult = await held.page.evaluate(() => (window as unknown as PageApi).charades.finish());
        const pageMs = performance.now() - tPage;
        const te = performance.now();
        if (encoder) {
          await encoder.end();
        } else {
          const h264 = Buffer.from(scene.h264, 'base64');
          if (h264.length === 0) throw new Error('the page produced no H.264 data');
          await muxH264(this.ffmpeg, h264, job.fps, mp4Path);
        }
        encodeMs += performance.now() - te;
        return { scene, mp4Path, acquireMs, pageMs, encodeMs };
      } catch (err) {
        encoder?.kill();
        broken = timedOut || isBrowserFailure(err);
        throw err;
      } finally {
        this.pool.release(held, broken);
      }
    };
    const running = run();
    running.catch(() => undefined);
    try {
      return await Promise.race([running, deadline]);
    } catch (err) {
      throw timedOut ? timeoutError() : err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async finish(
    r: AttemptResult,
    job: SceneJob,
    o: ParsedOptions,
    work: string,
    attempts: number,
    prepareMs: number,
    t0: number,
  ): Promise<RenderResult> {
    const result: RenderResult = { mp4: Buffer.alloc(0), pngFrames: {}, stats: undefined as unknown as RenderStats };
    let previewMs = 0;
    if (o.preview) {
      const tp = performance.now();
      const kind = o.preview === 'webp' && !this.canWebp() ? 'gif' : o.preview;
      const path = join(work, `preview.${kind}`);
      await makePreview(this.ffmpeg, r.mp4Path, kind, path);
      result.preview = { kind, data: await readFile(path) };
      previewMs = performance.now() - tp;
    }
    result.mp4 = await readFile(r.mp4Path);
    if (o.out) {
      await writeFile(o.out, result.mp4);
      result.mp4Path = o.out;
    }
    if (r.scene.thumbnailPng) result.thumbnail = Buffer.from(r.scene.thumbnailPng, 'base64');
    for (const [k, v] of Object.entries(r.scene.pngFrames)) result.pngFrames[Number(k)] = Buffer.from(v, 'base64');
    const t = r.scene.timings;
    result.stats = {
      frames: job.frames,
      fps: job.fps,
      size: job.size,
      seconds: job.frames / job.fps,
      transport: job.transport,
      codec: job.transport === 'webcodecs' ? r.scene.codec : 'libx264',
      attempts,
      bytes: result.mp4.length,
      timings: {
        prepareMs,
        acquireMs: r.acquireMs,
        rasterMs: t.rasterMs,
        captureMs: t.captureMs,
        transferMs: Math.max(0, r.pageMs - t.rasterMs - t.captureMs - (job.transport === 'webcodecs' ? 0 : r.encodeMs)),
        encodeMs: r.encodeMs,
        previewMs,
        totalMs: performance.now() - t0,
      },
    };
    return result;
  }

  private canWebp(): boolean {
    this.webpOk ??= ffmpegHasEncoder(this.ffmpeg, 'libwebp_anim');
    return this.webpOk;
  }
}

interface AttemptResult {
  scene: SceneResult;
  mp4Path: string;
  acquireMs: number;
  pageMs: number;
  encodeMs: number;
}

interface PageApi {
  charades: {
    begin(job: SceneJob): Promise<void>;
    nextBatch(): Promise<BatchResult>;
    finish(): SceneResult;
  };
}

/** A renderer with its own browser pool; call close() when done (it owns Chromium processes). */
export function createRenderer(options: RendererOptions = {}): Renderer {
  return new ChromiumRenderer(options);
}

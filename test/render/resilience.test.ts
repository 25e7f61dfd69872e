import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeVideo } from '../../src/render/ffmpeg.js';
import { RenderTimeoutError, createRenderer } from '../../src/render/index.js';
import { findFfprobe } from '../../src/render/tools.js';
import { clip, trim } from './helpers.js';

const renderer = createRenderer();
after(() => renderer.close());
const ffprobe = findFfprobe();
const work = mkdtempSync(join(tmpdir(), 'charades-render-resilience-'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process is gone within `ms` (a killed child is a zombie until Node reaps it). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (alive(pid) && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

test('Chromium killed mid-render: the render is retried on a fresh browser and succeeds', async () => {
  await renderer.warm();
  const [pid] = renderer.health().pids;
  assert.ok(pid, 'the warm pool has a browser process');
  const m = trim(clip('bnr2_walk_normal_001'), 6);
  const out = join(work, 'killed.mp4');
  const rendering = renderer.render(m, { out, timeoutMs: 120_000 });
  // let the page get into its frame loop, then kill the browser outright
  await new Promise((r) => setTimeout(r, 700));
  process.kill(pid, 'SIGKILL');
  const r = await rendering;
  assert.equal(r.stats.attempts, 2, 'the first attempt died with the browser, the second succeeded');
  const health = renderer.health();
  assert.ok(health.restarts >= 1, `restarts: ${health.restarts}`);
  assert.ok(!health.pids.includes(pid) && (await goneWithin(pid, 2000)), 'the killed browser was replaced');
  const p = await probeVideo(ffprobe, out);
  assert.equal(p.frames, 120);
  assert.ok(Math.abs(p.durationS - 6) < 1e-6);
});

test('a render that overruns its timeout fails with a clear error, and the pool recovers', async () => {
  const m = trim(clip('bnr2_walk_normal_001'), 4);
  await renderer.warm();
  const [before] = renderer.health().pids;
  const t0 = performance.now();
  await assert.rejects(renderer.render(m, { timeoutMs: 250, retries: 1 }), (e: Error) => {
    assert.ok(e instanceof RenderTimeoutError, `${e.name}: ${e.message}`);
    assert.match(e.message, /render timed out: 2 attempt\(s\) of 250 ms each for 80 frames at 512²/);
    return true;
  });
  assert.ok(performance.now() - t0 < 20_000, 'the timeout is enforced, not waited out');
  assert.ok(await goneWithin(before, 2000), 'the overrunning browser was killed');
  const r = await renderer.render(trim(m, 1), { timeoutMs: 120_000 });
  assert.equal(r.stats.frames, 20);
  assert.equal(r.stats.attempts, 1);
});

test('a closed renderer refuses new work with a clear message', async () => {
  const r = createRenderer();
  await r.close();
  await assert.rejects(r.render(trim(clip('bnr2_walk_normal_001'), 1)), /the renderer is closed/);
});

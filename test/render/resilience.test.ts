import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeVideo } from '../../src/render/ffmpeg.js';
import { RenderTimeoutError, createRenderer } from '../../src/render/index.js';
import { PROFILE_PREFIX, sweepStaleProfiles } from '../../src/render/pool.js';
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

/** Profile folders in the temp directory that this test process owns (other processes' are not ours to count). */
function ownProfiles(): string[] {
  return readdirSync(tmpdir())
    .filter((n) => n.startsWith(PROFILE_PREFIX))
    .filter((n) => {
      try {
        return readFileSync(join(tmpdir(), n, '.charades-owner'), 'utf8').trim() === String(process.pid);
      } catch {
        return false;
      }
    });
}

test('closing the renderer kills Chromium and removes its profile folder before close() returns', async () => {
  // The shared renderer of the tests above has its own folder: only the new one counts.
  const before = new Set(ownProfiles());
  const r = createRenderer();
  await r.warm();
  const [pid] = r.health().pids;
  assert.ok(pid);
  const profiles = ownProfiles().filter((p) => !before.has(p));
  assert.equal(profiles.length, 1, 'the warm browser has a profile folder naming this process');
  await r.close();
  for (const p of profiles) assert.ok(!existsSync(join(tmpdir(), p)), `${p} was removed`);
  assert.ok(await goneWithin(pid, 2000), 'the browser is gone');
});

test('a start sweeps the profile folders of dead processes, kills the orphans still using them, and leaves live and recent ones alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-sweep-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout.trim();
    const folder = (name: string, owner?: string) => {
      const path = join(dir, `${PROFILE_PREFIX}${name}`);
      mkdirSync(path);
      writeFileSync(join(path, 'Local State'), '{}');
      if (owner) writeFileSync(join(path, '.charades-owner'), owner);
      return path;
    };
    const ofDead = folder('dead', dead);
    const ofLive = folder('live', String(process.pid));
    const oldUnowned = folder('old');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(oldUnowned, twoHoursAgo, twoHoursAgo);
    const recentUnowned = folder('recent');
    const other = join(dir, 'not-ours');
    mkdirSync(other);
    // A "browser" a SIGKILLed bot left running on its folder, and one of a live owner.
    const orphan = spawn(
      process.execPath,
      ['-e', 'setInterval(() => undefined, 1000)', '--', `--user-data-dir=${ofDead}`],
      { stdio: 'ignore' },
    );
    const kept = spawn(
      process.execPath,
      ['-e', 'setInterval(() => undefined, 1000)', '--', `--user-data-dir=${ofLive}`],
      { stdio: 'ignore' },
    );
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(alive(orphan.pid!) && alive(kept.pid!), 'both stand-ins are running before the sweep');
      const removed = sweepStaleProfiles(dir).sort();
      assert.deepEqual(removed, [ofDead, oldUnowned].sort());
      assert.ok(await goneWithin(orphan.pid!, 2000), 'the orphan on the stale folder was killed');
      assert.ok(alive(kept.pid!), "the process on a live owner's folder was left alone");
    } finally {
      orphan.kill('SIGKILL');
      kept.kill('SIGKILL');
    }
    for (const kept of [ofLive, recentUnowned, other]) assert.ok(existsSync(kept), `${kept} is kept`);
    assert.deepEqual(sweepStaleProfiles(join(dir, 'missing')), [], 'a missing temp directory is not an error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOINT, NUM_JOINTS } from '../../src/motion/index.js';
import { outputFrameCount, planCameras, projectToNdc, resampleJoints } from '../../src/render/framing.js';
import { probeVideo, runTool } from '../../src/render/ffmpeg.js';
import { createRenderer } from '../../src/render/index.js';
import {
  CHROMIUM_CANDIDATES,
  chromiumFlagsFor,
  findChromium,
  findFfmpeg,
  findFfprobe,
  isHeadlessShell,
} from '../../src/render/tools.js';
import { clip, clipWithLabel, outDir, trim } from './helpers.js';

const renderer = createRenderer();
after(() => renderer.close());
const ffprobe = findFfprobe();
const ffmpeg = findFfmpeg();
const work = mkdtempSync(join(tmpdir(), 'charades-render-test-'));

/** Decodes a PNG to RGB with ffmpeg. */
async function pixels(png: Buffer): Promise<{ w: number; h: number; rgb: Buffer }> {
  const { stdout } = await runTool(
    ffmpeg,
    ['-v', 'error', '-f', 'png_pipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    png,
  );
  const side = Math.round(Math.sqrt(stdout.length / 3));
  return { w: side, h: side, rgb: stdout };
}

/** Counts and mean x (NDC) of the mannequin's left-side (blue) and right-side (orange) pixels, caption and time bar excluded. */
async function sideColours(png: Buffer, region?: { x0: number; y0: number; w: number; h: number }) {
  const { w, rgb } = await pixels(png);
  const r0 = region ?? { x0: 0, y0: 0, w, h: w };
  const stat = { blue: 0, orange: 0, blueX: 0, orangeX: 0 };
  const top = Math.round(r0.h * 0.1);
  const bottom = Math.round(r0.h * 0.05);
  for (let y = r0.y0 + top; y < r0.y0 + r0.h - bottom; y++) {
    for (let x = r0.x0; x < r0.x0 + r0.w; x++) {
      const o = (y * w + x) * 3;
      const [r, g, b] = [rgb[o], rgb[o + 1], rgb[o + 2]];
      const nx = ((x - r0.x0) / r0.w) * 2 - 1;
      if (b > r + 45 && b > g + 15) {
        stat.blue++;
        stat.blueX += nx;
      } else if (r > b + 60 && r > g + 25) {
        stat.orange++;
        stat.orangeX += nx;
      }
    }
  }
  return { ...stat, blueX: stat.blueX / Math.max(1, stat.blue), orangeX: stat.orangeX / Math.max(1, stat.orange) };
}

test('the headless shell is preferred over full Chromium when both are installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-chromium-pick-'));
  const shell = join(dir, 'chromium-headless-shell');
  const full = join(dir, 'chromium');
  for (const f of [shell, full]) {
    writeFileSync(f, '#!/bin/sh\n');
    chmodSync(f, 0o755);
  }
  assert.equal(findChromium({}, [shell, full]), shell);
  assert.equal(findChromium({}, [join(dir, 'missing-shell'), full]), full, 'falls back to full Chromium');
  assert.equal(findChromium({ CHROMIUM_PATH: full }, [shell, full]), full, 'CHROMIUM_PATH wins');
  assert.throws(
    () => findChromium({}, [join(dir, 'none')]),
    /no Chromium found: set CHROMIUM_PATH or install one \(apt-get install chromium-headless-shell/,
  );
  assert.ok(
    CHROMIUM_CANDIDATES.indexOf('/usr/lib/chromium/chromium-headless-shell') <
      CHROMIUM_CANDIDATES.indexOf('/usr/bin/chromium'),
  );
});

test('the headless shell runs as one process; full Chromium keeps its own process model', () => {
  assert.ok(isHeadlessShell('/usr/lib/chromium/chromium-headless-shell'));
  assert.ok(isHeadlessShell('/opt/chrome-headless-shell-linux64/chrome-headless-shell'));
  assert.equal(isHeadlessShell('/usr/bin/chromium'), false);
  assert.equal(isHeadlessShell('/usr/bin/chromium-headless-shell-wrapper'), false);
  assert.deepEqual(chromiumFlagsFor('/usr/lib/chromium/chromium-headless-shell'), ['--single-process', '--no-zygote']);
  assert.deepEqual(chromiumFlagsFor('/usr/bin/chromium'), []);
});

test('a 4 s walk becomes an H.264 yuv420p MP4 with exact frames, duration and +faststart', async () => {
  const m = trim(clip('bnr2_walk_normal_001'), 4);
  const out = join(work, 'walk.mp4');
  const r = await renderer.render(m, { out, pngFrames: [0, 40] });
  assert.equal(r.mp4Path, out);
  const p = await probeVideo(ffprobe, out);
  assert.equal(p.codec, 'h264');
  assert.equal(p.pixFmt, 'yuv420p');
  assert.deepEqual([p.width, p.height], [512, 512]);
  assert.equal(p.fps, 20);
  assert.equal(p.frames, 80);
  assert.ok(Math.abs(p.durationS - 4) < 1e-6, `duration ${p.durationS}`);
  assert.ok(p.faststart, 'moov atom must precede mdat');
  assert.ok(p.sizeBytes < (8e6 * 4) / 12, `${p.sizeBytes} bytes for 4 s would not keep 12 s under 8 MB`);
  assert.equal(r.stats.frames, 80);
  assert.equal(r.stats.attempts, 1);
  writeFileSync(join(outDir(), 'test-walk-f40.png'), r.pngFrames[40]);
});

test('limbs are coloured by side: blue pixels lie where the left joints project', async () => {
  const m = trim(clip('bnr2_walk_normal_001'), 4);
  const frames = outputFrameCount(m.numFrames, m.fps, 20);
  const joints = resampleJoints(m.joints, m.numFrames, m.fps, 20, frames);
  const [rig] = planCameras([{ joints, frames }], 20);
  const side = (names: string[], f: number) =>
    names.reduce((s, n) => {
      const o = (f * NUM_JOINTS + JOINT[n as keyof typeof JOINT]) * 3;
      return s + projectToNdc(rig, f, [joints[o], joints[o + 1], joints[o + 2]])[0];
    }, 0) / names.length;
  // the frame where the two sides are furthest apart on screen
  let best = 0;
  let bestGap = 0;
  for (let f = 0; f < frames; f++) {
    const gap =
      side(['left_shoulder', 'left_elbow', 'left_hip', 'left_knee'], f) -
      side(['right_shoulder', 'right_elbow', 'right_hip', 'right_knee'], f);
    if (Math.abs(gap) > Math.abs(bestGap)) [best, bestGap] = [f, gap];
  }
  const r = await renderer.render(m, { pngFrames: [best] });
  const c = await sideColours(r.pngFrames[best]);
  assert.ok(c.blue > 300 && c.orange > 300, `mannequin colours missing: ${c.blue} blue, ${c.orange} orange pixels`);
  assert.equal(
    Math.sign(c.blueX - c.orangeX),
    Math.sign(bestGap),
    `frame ${best}: left joints project ${bestGap > 0 ? 'right' : 'left'} of the right ones, blue at ${c.blueX.toFixed(2)}, orange at ${c.orangeX.toFixed(2)}`,
  );
});

test('the person stands in a contact shadow: the floor under them is darker than the floor beside them', async () => {
  const m = trim(clip(clipWithLabel('bow')), 3);
  const frames = outputFrameCount(m.numFrames, m.fps, 20);
  const joints = resampleJoints(m.joints, m.numFrames, m.fps, 20, frames);
  const [rig] = planCameras([{ joints, frames }], 20);
  const f = 10;
  const r = await renderer.render(m, { pngFrames: [f] });
  const { w, rgb } = await pixels(r.pngFrames[f]);
  const o = f * NUM_JOINTS * 3;
  // the floor point between the feet, in pixels
  const mid = (k: number) => (joints[o + JOINT.left_ankle * 3 + k] + joints[o + JOINT.right_ankle * 3 + k]) / 2;
  const [nx, ny] = projectToNdc(rig, f, [mid(0), 0, mid(2)]);
  const px = Math.round(((nx + 1) / 2) * w);
  const py = Math.round(((1 - ny) / 2) * w);
  /** Mean luma of the grey (floor) pixels in a square around (cx, cy); limbs and labels are coloured. */
  const floorLuma = (cx: number, cy: number, half: number) => {
    let sum = 0;
    let n = 0;
    for (let y = cy - half; y <= cy + half; y++) {
      for (let x = cx - half; x <= cx + half; x++) {
        const i = (y * w + x) * 3;
        const [R, G, B] = [rgb[i], rgb[i + 1], rgb[i + 2]];
        if (Math.max(R, G, B) - Math.min(R, G, B) > 40) continue;
        sum += 0.3 * R + 0.59 * G + 0.11 * B;
        n++;
      }
    }
    return n > 20 ? sum / n : Number.NaN;
  };
  const under = floorLuma(px, py + 4, 10);
  const beside = (floorLuma(px - 150, py, 30) + floorLuma(px + 150, py, 30)) / 2;
  assert.ok(Number.isFinite(under) && Number.isFinite(beside), `floor not visible around (${px}, ${py})`);
  assert.ok(
    under < beside - 25,
    `floor between the feet (luma ${under.toFixed(0)}) should be clearly darker than beside them (${beside.toFixed(0)})`,
  );
});

test('30 fps output keeps the duration (interpolated frames)', async () => {
  const m = trim(clip(clipWithLabel('bow')), 2);
  const out = join(work, 'bow30.mp4');
  await renderer.render(m, { fps: 30, out });
  const p = await probeVideo(ffprobe, out);
  assert.equal(p.fps, 30);
  assert.equal(p.frames, 60);
  assert.ok(Math.abs(p.durationS - 2) < 1e-6, `duration ${p.durationS}`);
});

test('a 2×2 grid with a WebP preview and a PNG thumbnail, every cell showing a mannequin', async () => {
  const ids = ['bnr2_walk_normal_001', clipWithLabel('wave-right-hand'), clipWithLabel('bow'), clipWithLabel('run')];
  const motions = ids.map((id) => trim(clip(id), 3));
  const r = await renderer.render(motions[0], {
    grid: motions,
    title: 'variations',
    preview: 'webp',
    thumbnail: true,
    out: join(outDir(), 'test-grid.mp4'),
  });
  const p = await probeVideo(ffprobe, join(outDir(), 'test-grid.mp4'));
  assert.equal(p.frames, 60);
  assert.ok(r.preview && r.preview.kind === 'webp');
  assert.equal(r.preview.data.subarray(0, 4).toString(), 'RIFF');
  assert.equal(r.preview.data.subarray(8, 12).toString(), 'WEBP');
  assert.ok(r.thumbnail);
  assert.equal(r.thumbnail.subarray(1, 4).toString(), 'PNG');
  writeFileSync(join(outDir(), 'test-grid-thumb.png'), r.thumbnail);
  for (let i = 0; i < 4; i++) {
    const c = await sideColours(r.thumbnail, { x0: (i % 2) * 256, y0: i < 2 ? 0 : 256, w: 256, h: 256 });
    assert.ok(c.blue > 40 && c.orange > 40, `cell ${i + 1}: ${c.blue} blue, ${c.orange} orange pixels`);
  }
});

/** Widest run of label-pill pixels (dark, opaque) in one row band, and the white text pixels inside the band. */
function labelIn(
  rgb: Buffer,
  w: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
): { pillWidth: number; white: number } {
  let pillWidth = 0;
  let white = 0;
  for (let y = y0; y < y1; y++) {
    let first = -1;
    let last = -1;
    for (let x = x0; x < x1; x++) {
      const o = (y * w + x) * 3;
      const luma = 0.3 * rgb[o] + 0.59 * rgb[o + 1] + 0.11 * rgb[o + 2];
      if (luma < 100) {
        if (first < 0) first = x;
        last = x;
      }
      if (Math.min(rgb[o], rgb[o + 1], rgb[o + 2]) > 245) white++;
    }
    if (first >= 0) pillWidth = Math.max(pillWidth, last - first + 1);
  }
  return { pillWidth, white };
}

test('a duel: two motions side by side in one square video, each half its own mannequin and name', async () => {
  const walk = trim(clip('bnr2_walk_normal_001'), 2);
  const bow = trim(clip(clipWithLabel('bow')), 2);
  const out = join(outDir(), 'test-duel.mp4');
  const r = await renderer.render(walk, {
    grid: [walk, bow],
    labels: ['walker', 'bower'],
    title: 'duel',
    pngFrames: [30],
    out,
  });
  const p = await probeVideo(ffprobe, out);
  assert.deepEqual([p.width, p.height, p.frames, p.fps], [512, 512, 40, 20]);
  writeFileSync(join(outDir(), 'test-duel-f30.png'), r.pngFrames[30]);
  const { w, rgb } = await pixels(r.pngFrames[30]);
  let differing = 0;
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w / 2; x++) {
      const a = (y * w + x) * 3;
      const b = a + (w / 2) * 3;
      if (Math.abs(rgb[a] - rgb[b]) + Math.abs(rgb[a + 1] - rgb[b + 1]) + Math.abs(rgb[a + 2] - rgb[b + 2]) > 60)
        differing++;
    }
  }
  assert.ok(differing > 2000, `the two halves should show different motions; only ${differing} pixels differ`);
  for (const [i, name] of ['walker', 'bower'].entries()) {
    const c = await sideColours(r.pngFrames[30], { x0: i * 256, y0: 0, w: 256, h: 512 });
    assert.ok(c.blue > 150 && c.orange > 150, `${name}'s half: ${c.blue} blue, ${c.orange} orange pixels`);
    // under the caption band, in the cell's top-left corner: a pill wider than a one-digit circle (26 px)
    const label = labelIn(rgb, w, i * 256 + 4, i * 256 + 200, 40, 80);
    assert.ok(
      label.pillWidth > 45 && label.white > 20,
      `${name}'s label: pill ${label.pillWidth} px wide, ${label.white} white text pixels`,
    );
  }
});

test('image transport (JPEG frames → ffmpeg libx264) also gives a valid MP4', async () => {
  const m = trim(clip(clipWithLabel('wave-right-hand')), 1.5);
  const out = join(work, 'jpeg.mp4');
  const r = await renderer.render(m, { transport: 'jpeg', out, preview: 'gif' });
  const p = await probeVideo(ffprobe, out);
  assert.equal(p.codec, 'h264');
  assert.equal(p.pixFmt, 'yuv420p');
  assert.equal(p.frames, 30);
  assert.equal(r.stats.transport, 'jpeg');
  assert.equal(r.preview?.data.subarray(0, 6).toString(), 'GIF89a');
});

test('bad input is refused before Chromium is involved, with a clear message', async () => {
  const m = trim(clip('bnr2_walk_normal_001'), 1);
  const nan = { ...m, joints: m.joints.slice() };
  nan.joints[3 * NUM_JOINTS * 3 + 2] = Number.NaN;
  await assert.rejects(renderer.render(nan), /motion\.joints at frame 3, joint 0 \(pelvis\), z is NaN/);
  await assert.rejects(
    renderer.render({ ...m, numFrames: 0, joints: new Float32Array(0) }),
    /0 frames; there is nothing to render/,
  );
  const long = { ...m, numFrames: 10_000, joints: new Float32Array(10_000 * NUM_JOINTS * 3) };
  await assert.rejects(renderer.render(long), /500\.0 s long .* limit is 60 s/);
  await assert.rejects(renderer.render(m, { size: 511 }), /render options: size: must be even/);
  const badCell = { ...m, joints: m.joints.slice() };
  badCell.joints[0] = Number.POSITIVE_INFINITY;
  await assert.rejects(
    renderer.render(m, { grid: [m, m, badCell, m] }),
    /grid\[2\]\.joints at frame 0, joint 0 \(pelvis\), x is Infinity/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, defaultDataDir } from '../../src/motion/index.js';
import { probeVideo } from '../../src/render/ffmpeg.js';
import { parseRenderCliOptions } from '../../src/render/cli.js';
import { findFfprobe } from '../../src/render/tools.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'charades-render-cli-'));
const base = { out: 'x.mp4', size: '512', fps: '20', quality: 'fast', timeout: '120' };

function charades(args: string[]) {
  return run(process.execPath, [join(REPO_ROOT, 'bin', 'charades.js'), ...args], { cwd: REPO_ROOT, timeout: 240_000 });
}

test('CLI options are checked with messages that name the flag', () => {
  assert.equal(parseRenderCliOptions({ ...base, size: '768', fps: '30' }).size, 768);
  assert.throws(
    () => parseRenderCliOptions({ ...base, size: '500' }),
    /--size must be one of 512, 768, 1024, got "500"/,
  );
  assert.throws(() => parseRenderCliOptions({ ...base, fps: '25' }), /--fps must be one of 20, 30, got "25"/);
  assert.throws(() => parseRenderCliOptions({ ...base, preview: 'mov' }), /--preview must be one of webp, gif/);
  assert.throws(
    () => parseRenderCliOptions({ ...base, transport: 'carrier-pigeon' }),
    /--transport must be one of webcodecs, jpeg, png, raw/,
  );
  assert.throws(
    () => parseRenderCliOptions({ ...base, timeout: 'soon' }),
    /--timeout must be a positive number of seconds/,
  );
});

test('charades render SAMPLE.bvh writes a verified MP4 and a thumbnail', async () => {
  const bvh = join(defaultDataDir(), 'samples', 'dataset-1_bow_happy_001.bvh');
  const out = join(work, 'bow.mp4');
  const { stdout } = await charades(['render', bvh, '-o', out, '--thumbnail']);
  assert.match(
    stdout,
    /^wrote .*bow\.mp4 \(512×512, 92 frames at 20 fps, 4\.60 s, \d+ KiB\) in [\d.]+ s; also .*bow\.png\n$/,
  );
  const p = await probeVideo(findFfprobe(), out);
  assert.equal(p.frames, 92);
  assert.ok(existsSync(join(work, 'bow.png')));
});

test('charades render explains unusable input in one line, without a stack trace', async () => {
  for (const [args, re] of [
    [['render', '-o', join(work, 'a.mp4')], /nothing to render: give a motion file or a dataset clip id/],
    [['render', 'no-such-clip-id', '-o', join(work, 'b.mp4')], /no-such-clip-id/],
    [['render', join(work, 'missing.bvh'), '-o', join(work, 'c.mp4')], /missing\.bvh: no such file/],
    [
      ['render', 'bnr2_walk_normal_001', 'bnr1_bow_active_001', '-o', join(work, 'd.mp4')],
      /one motion per video \(got 2\); add --grid for 2 side by side or 4 in a 2×2 grid/,
    ],
    [
      [
        'render',
        'bnr2_walk_normal_001',
        'bnr1_bow_active_001',
        'bnr1_bow_active_001',
        '--grid',
        '-o',
        join(work, 'e.mp4'),
      ],
      /--grid needs 2 motions \(side by side\) or 4 \(2×2\), got 3/,
    ],
    [
      ['render', 'bnr2_walk_normal_001', '--labels', 'a', '-o', join(work, 'f.mp4')],
      /--labels names grid cells; add --grid/,
    ],
    [
      [
        'render',
        'bnr2_walk_normal_001',
        'bnr1_bow_active_001',
        '--grid',
        '--labels',
        'a,b,c',
        '-o',
        join(work, 'g.mp4'),
      ],
      /labels: 3 labels for 2 grid motions — give one per motion/,
    ],
  ] as const) {
    await assert.rejects(charades([...args]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, re);
      assert.doesNotMatch(e.stderr, /\n\s+at /, 'no stack trace');
      return true;
    });
  }
});

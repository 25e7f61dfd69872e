// The charades guess threshold is a measured number: this recomputes it on the motion data and checks the
// constant the game uses, and runs the calibration command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { GUESS_THRESHOLD, calibrateGuessThreshold, readAnnotations } from '../../src/community/index.js';
import type { Calibration } from '../../src/community/index.js';
import { defaultDataDir } from '../../src/motion/index.js';
import { sharedSentenceEncoder } from '../../src/motion/text/index.js';
import { tempDir } from '../bot/helpers.js';

const REPO = new URL('../..', import.meta.url).pathname;

test('GUESS_THRESHOLD is what calibration on all annotation records gives (USE, false accepts capped at 1 %)', async () => {
  const records = readAnnotations(defaultDataDir());
  assert.equal(records.length, 289);
  const c = await calibrateGuessThreshold(records, await sharedSentenceEncoder(), 0.01);
  assert.equal(c.threshold, GUESS_THRESHOLD, JSON.stringify(c));
  assert.ok(c.falseAcceptRate <= 0.01);
  assert.ok(c.truePositiveRate > 0.8, `paraphrases accepted: ${c.truePositiveRate}`);
  assert.ok(c.nearMissAcceptRate > c.falseAcceptRate, 'the same action in another style is closer than another action');
  assert.deepEqual(c.pairs, { positive: 289, negative: c.pairs.negative, nearMiss: c.pairs.nearMiss });
});

test('`charades community calibrate` prints the calibration as JSON and refuses bad options', () => {
  const out = execFileSync(
    process.execPath,
    [join(REPO, 'bin/charades.js'), 'community', 'calibrate', '--limit', '24'],
    { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const c = JSON.parse(out) as Calibration;
  assert.equal(c.records, 24);
  assert.ok(c.threshold > 0 && c.threshold <= 1);
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          [join(REPO, 'bin/charades.js'), 'community', 'calibrate', '--max-false-accept', '2'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      (err: Error & { stderr: string }) => /--max-false-accept must be a rate from 0 to 1, got "2"/.test(err.stderr),
    );
    assert.throws(
      () =>
        execFileSync(process.execPath, [join(REPO, 'bin/charades.js'), 'report'], {
          encoding: 'utf8',
          env: { ...process.env, CHARADES_DATA_DIR: join(dir, 'nothing') },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      (err: Error & { stderr: string }) => /no Charades store at .*charades\.sqlite yet/.test(err.stderr),
    );
  } finally {
    cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentJobError, applyAction, fitClip } from '../../src/jobs/index.js';
import { parseMotionRequest } from '../../src/motion/index.js';

const base = parseMotionRequest({ segments: [{ text: 'act like a dog', seconds: 4 }], seed: 7 });

test('buttons edit the previous request', () => {
  assert.equal(applyAction(base, 'reroll', { seed: 9 }).seed, 9);
  assert.equal(applyAction(base, 'variations').samples, 4);
  assert.equal(applyAction(base, 'slower').speed, 0.75);
  assert.ok(applyAction(base, 'faster').speed > 1.3);
  const cont = applyAction(base, 'continue', { continueText: 'jump', continueFromId: 'm-0' });
  assert.deepEqual(cont.segments[0].control, { continueFrom: { id: 'm-0' } });
  assert.equal(cont.segments[0].text, 'jump');
});

test('slowing past the length limit is refused with a reason', () => {
  const long = parseMotionRequest({
    segments: [
      { text: 'walk', seconds: 12 },
      { text: 'run', seconds: 12 },
    ],
  });
  assert.throws(
    () => applyAction(long, 'slower'),
    (e: Error) => e instanceof PermanentJobError && /longer than 30 s/.test(e.message),
  );
});

test('clips are fitted to the asked length at the asked speed', () => {
  const joints = new Float32Array(10 * 66).map((_, i) => Math.floor(i / 66));
  const half = fitClip(joints, 10, 20, 0.5);
  assert.equal(half.length, 20 * 66);
  assert.equal(half[66 * 3], 1.5, 'frame 3 at half speed is source frame 1.5');
  const held = fitClip(joints, 10, 15, 1);
  assert.equal(held[66 * 14], 9, 'past the end the last pose is held');
});

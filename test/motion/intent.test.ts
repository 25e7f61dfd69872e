/**
 * What the words ask of the body that the encoder blurs (backwards, sideways, a turn, a side): parsed from the
 * phrase, measured on the joints, and preferred by best-of-N — where the descriptions lose those words, half the
 * candidates are conditioned on the phrase itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreement, floorPostures, intentAgreement, parseIntents } from '../../src/motion/engine/intent.js';
import { createEngine, DEFAULT_LOOKS } from '../../src/motion/engine/engine.js';
import { ranksAbove } from '../../src/motion/engine/rerank.js';
import { defaultModelsDir } from '../../src/motion/paths.js';
import { liveVersionDir } from '../../src/motion/registry.js';
import type { Motion } from '../../src/motion/contracts.js';
import { namedPose } from '../../src/motion/engine/poses.js';
import { JOINT, NUM_JOINTS } from '../../src/motion/skeleton.js';

const POS = NUM_JOINTS * 3;

test('the checkable intents of a phrase: travel, turns, spins, staying in place and the asked hand or leg', () => {
  assert.deepEqual(parseIntents('walk backwards'), [{ kind: 'travel', direction: 'backward' }]);
  assert.deepEqual(parseIntents('back up'), [{ kind: 'travel', direction: 'backward' }]);
  assert.deepEqual(parseIntents('jump forward'), [{ kind: 'travel', direction: 'forward' }, { kind: 'airborne' }]);
  assert.deepEqual(parseIntents('a person crawls forward low on the floor, on knees and forearms.'), [
    { kind: 'travel', direction: 'forward' },
    { kind: 'low', depth: 'low' },
  ]);
  assert.deepEqual(parseIntents('lean backwards'), [], 'leaning goes nowhere');
  assert.deepEqual(parseIntents('bow forward'), []);
  assert.deepEqual(parseIntents('walk sideways to the left'), [{ kind: 'travel', direction: 'left' }]);
  assert.deepEqual(parseIntents('sidestep to the right'), [{ kind: 'travel', direction: 'right' }]);
  assert.deepEqual(parseIntents('walk and turn to the left'), [{ kind: 'turn', side: 'left' }]);
  assert.deepEqual(parseIntents('turn right'), [{ kind: 'turn', side: 'right' }]);
  assert.deepEqual(parseIntents('spin around'), [{ kind: 'spin' }]);
  assert.deepEqual(parseIntents('jump up and down in place'), [{ kind: 'in-place' }, { kind: 'airborne' }]);
  assert.deepEqual(parseIntents('hop on one foot'), [{ kind: 'airborne' }]);
  assert.deepEqual(parseIntents('lift the left hand'), [{ kind: 'limb', limb: 'hand', side: 'left' }]);
  assert.deepEqual(parseIntents('kick with the right leg'), [{ kind: 'limb', limb: 'leg', side: 'right' }]);
  assert.deepEqual(parseIntents('throw a punch with your right fist'), [{ kind: 'limb', limb: 'fist', side: 'right' }]);
  assert.deepEqual(parseIntents('lift the right arm above the head'), [
    { kind: 'limb', limb: 'hand', side: 'right' },
    { kind: 'above-head', side: 'right' },
  ]);
  assert.deepEqual(parseIntents('raise both hands above your head'), [{ kind: 'above-head', side: 'both' }]);
  assert.deepEqual(parseIntents('wave your left hand'), [
    { kind: 'limb', limb: 'hand', side: 'left' },
    { kind: 'hand-up', side: 'left' },
  ]);
  assert.deepEqual(parseIntents('put your right hand up'), [
    { kind: 'limb', limb: 'hand', side: 'right' },
    { kind: 'hand-up', side: 'right' },
  ]);
  assert.deepEqual(
    parseIntents('raise your left hand'),
    [
      { kind: 'limb', limb: 'hand', side: 'left' },
      { kind: 'hand-up', side: 'left' },
    ],
    'no head named: up, not over the head',
  );
  assert.deepEqual(
    parseIntents('lift your left hand'),
    [{ kind: 'limb', limb: 'hand', side: 'left' }],
    'lifting is not holding up',
  );
  for (const low of ['a person crawls low on the floor', 'crouch down', 'sit on the floor'])
    assert.deepEqual(parseIntents(low), [{ kind: 'low', depth: 'low' }], low);
  for (const lying of ['lie down on the floor', 'a person gets up from lying on the floor into a crouch.'])
    assert.deepEqual(parseIntents(lying), [{ kind: 'low', depth: 'lying' }], lying);
  assert.deepEqual(parseIntents('sit down'), [], 'a chair is not the floor');
  // nothing checkable: both sides, no side, "right now", a punch on no side
  for (const phrase of [
    'wave both hands',
    'walk',
    'wave right now',
    'wave the left and the right hand',
    'throw a punch',
  ])
    assert.deepEqual(parseIntents(phrase), [], phrase);
});

/** A standing body moved along a path: frame t at `at(t)` = [x, z], facing +Z (left is +X). */
function moved(
  T: number,
  at: (t: number) => [number, number],
  edit?: (joints: Float32Array, t: number) => void,
): Float32Array {
  const stand = namedPose('standing', { dataDir: null }).joints;
  const out = new Float32Array(T * POS);
  for (let t = 0; t < T; t++) {
    const [x, z] = at(t);
    for (let k = 0; k < NUM_JOINTS; k++) {
      out[t * POS + k * 3] = stand[k * 3] + x;
      out[t * POS + k * 3 + 1] = stand[k * 3 + 1];
      out[t * POS + k * 3 + 2] = stand[k * 3 + 2] + z;
    }
    edit?.(out, t);
  }
  return out;
}

test('agreement is measured on the joints: the asked direction scores 1, the opposite −1, neither 0', () => {
  const back = moved(40, (t) => [0, -t * 0.03]);
  const fwd = moved(40, (t) => [0, t * 0.03]);
  const left = moved(40, (t) => [t * 0.03, 0]);
  const still = moved(40, () => [0, 0]);
  const backward = { kind: 'travel', direction: 'backward' } as const;
  assert.equal(agreement(back, backward), 1);
  assert.equal(agreement(fwd, backward), -1);
  assert.ok(Math.abs(agreement(still, backward)) < 1e-9);
  assert.equal(agreement(left, { kind: 'travel', direction: 'left' }), 1);
  assert.equal(agreement(left, { kind: 'travel', direction: 'right' }), -1);
  assert.equal(agreement(still, { kind: 'in-place' }), 1);
  assert.ok(agreement(fwd, { kind: 'in-place' }) < 0, 'a walk of 1.2 m is not in place');
  const leftHandUp = moved(
    40,
    () => [0, 0],
    (j, t) => {
      j[t * POS + JOINT.left_wrist * 3 + 1] += 0.6;
    },
  );
  const hand = (side: 'left' | 'right') => ({ kind: 'limb', limb: 'hand', side }) as const;
  assert.equal(agreement(leftHandUp, hand('left')), 1);
  assert.equal(agreement(leftHandUp, hand('right')), -1);
  assert.equal(intentAgreement(leftHandUp, []), 0, 'no intent, no preference');
  const overHead = (side: 'left' | 'right' | 'both') => agreement(leftHandUp, { kind: 'above-head', side });
  assert.ok(overHead('left') > overHead('right'), 'the raised wrist is the one nearer over the head');
  assert.equal(overHead('both'), overHead('right'), 'both hands: the lower one decides');
  assert.equal(agreement(still, { kind: 'above-head', side: 'left' }), -1, 'hands at the sides are not over the head');
  assert.equal(agreement(leftHandUp, { kind: 'hand-up', side: 'left' }), 1, 'held over the shoulder throughout');
  assert.equal(agreement(leftHandUp, { kind: 'hand-up', side: 'right' }), -1);
  assert.equal(agreement(still, { kind: 'hand-up', side: 'left' }), -1, 'a hand at the hip is not up');
  assert.equal(agreement(still, { kind: 'airborne' }), -1, 'standing never leaves the ground');
  const hop = moved(
    40,
    () => [0, 0],
    (j, t) => {
      if (t >= 20 && t < 24) for (let k = 0; k < NUM_JOINTS; k++) j[t * POS + k * 3 + 1] += 0.2;
    },
  );
  assert.equal(agreement(hop, { kind: 'airborne' }), 1, 'four frames 0.2 m off the ground');
  assert.equal(agreement(still, { kind: 'low', depth: 'low' }), -1, 'standing is not at floor level');
  assert.equal(agreement(still, { kind: 'low', depth: 'lying' }), -1);
  const lie = namedPose('lying', { dataDir: null }).joints;
  const lying = new Float32Array(lie.length * 2);
  lying.set(lie);
  lying.set(lie, lie.length);
  assert.equal(agreement(lying, { kind: 'low', depth: 'low' }), 1);
  assert.equal(agreement(lying, { kind: 'low', depth: 'lying' }), 1);
  // a squat is at floor level but is not lying: the head stays up
  const squat = namedPose('squatting', { dataDir: null }).joints;
  const crouched = new Float32Array(squat.length * 2);
  crouched.set(squat);
  crouched.set(squat, squat.length);
  assert.ok(agreement(crouched, { kind: 'low', depth: 'low' }) > 0.5, 'a squat is clearly low');
  const asLying = agreement(crouched, { kind: 'low', depth: 'lying' });
  assert.ok(asLying < -0.5, `a squat is not lying (${asLying})`);
  const rightPunch = moved(
    40,
    () => [0, 0],
    (j, t) => {
      j[t * POS + JOINT.right_wrist * 3 + 2] += 0.4;
    },
  );
  assert.equal(agreement(rightPunch, { kind: 'limb', limb: 'fist', side: 'right' }), 1);
  assert.equal(agreement(rightPunch, { kind: 'limb', limb: 'fist', side: 'left' }), -1);
});

test('best of N prefers the candidate that does what the words say, and tries the phrase where descriptions blur it', async () => {
  const live = liveVersionDir(defaultModelsDir());
  if (!live) throw new Error('this test needs the live model in models/ (models/LIVE)');
  const engine = await createEngine({ modelDir: live });
  try {
    const descriptions = [
      'The person walks backward in a straight line at a steady, moderate pace.',
      'Facing ahead, the person moves backward by alternately stepping each foot behind the other.',
    ];
    const request = { segments: [{ text: 'walk backwards', seconds: 3, descriptions }], seed: 0, samples: 1 as const };
    const four = await engine.generate(request, { bestOf: 4, looks: 1, keepScores: true });
    const scores = four.candidateScores?.[0] ?? [];
    assert.equal(scores.length, 4);
    for (const s of scores) assert.ok(s.intent >= -1 && s.intent <= 1);
    const best = scores.reduce((a, b) => (ranksAbove(b, a) ? b : a));
    assert.equal(four.motions[0].provenance.fit?.score, best.similarity);
    assert.ok(scores.some((s) => Math.abs(s.total - (s.similarity - s.sanity.penalty + 0.2 * s.intent)) < 1e-9));
    // the kept motion's own joints agree with the words at least as well as any candidate's total implies
    const kept = four.motions[0];
    assert.ok(
      agreement(kept.joints, { kind: 'travel', direction: 'backward' }) >=
        Math.min(...scores.map((s) => s.intent)) - 0.25,
      'the kept motion is no worse at going backwards than the worst candidate',
    );
    // N = 1 is unchanged by the mixed conditioning: candidate 0 keeps the descriptions
    const one = await engine.generate(request, { bestOf: 1, keepScores: true });
    const again = await engine.generate(request, { bestOf: 4, looks: 1, keepScores: true });
    assert.deepEqual(
      again.candidateScores?.[0].map((s) => s.similarity),
      scores.map((s) => s.similarity),
      'deterministic',
    );
    assert.ok(one.motions[0].joints.length > 0);
  } finally {
    await engine.close();
  }
});

test('a request that names a side also ranks every candidate reflected left ↔ right, and keeps one on the asked side', async () => {
  const live = liveVersionDir(defaultModelsDir());
  if (!live) throw new Error('this test needs the live model in models/ (models/LIVE)');
  const engine = await createEngine({ modelDir: live });
  try {
    const request = { segments: [{ text: 'lift your right hand', seconds: 3 }], seed: 0, samples: 1 as const };
    const result = await engine.generate(request, { bestOf: 4, looks: 1, keepScores: true });
    const scores = result.candidateScores?.[0] ?? [];
    assert.equal(scores.length, 8, 'four generated candidates and their four reflections');
    for (let c = 0; c < 4; c++)
      assert.ok(Math.abs(scores[c].intent + scores[4 + c].intent) < 1e-4, 'a reflection uses the other hand');
    const kept = result.motions[0];
    assert.ok(agreement(kept.joints, { kind: 'limb', limb: 'hand', side: 'right' }) > 0, 'the right hand is higher');
    assert.equal(kept.provenance.fit?.candidates, 8);
    const unsided = await engine.generate(
      { ...request, segments: [{ text: 'wave hello', seconds: 3 }] },
      {
        bestOf: 4,
        looks: 1,
        keepScores: true,
      },
    );
    assert.equal(unsided.candidateScores?.[0].length, 4, 'no side named: nothing to reflect');
    assert.equal(unsided.motions[0].provenance.mirrored, undefined);
  } finally {
    await engine.close();
  }
});

test('when the kept candidate does not clearly do what the words ask, best of N looks again with stronger guidance', async () => {
  const live = liveVersionDir(defaultModelsDir());
  if (!live) throw new Error('this test needs the live model in models/ (models/LIVE)');
  const engine = await createEngine({ modelDir: live });
  try {
    assert.equal(engine.looks, DEFAULT_LOOKS);
    // the live model's first four candidates for this crouch stand (measured: seed 1), so it looks again
    // the data's own crouch text and its Action-GPT descriptions (annotations/action-gpt-k4.jsonl, first two)
    const descriptions = [
      'The person starts standing upright and lowers the body into a crouch. Both knees bend deeply and the hips drop toward the heels while the torso leans slightly forward for balance. The heels may lift off the floor as the weight moves to the balls of the feet. The arms come forward or rest on the knees, and the person settles low to the ground with the head up.',
      'From a standing position, the person bends the knees and hips together and sinks down until the thighs are close to the calves. The back rounds a little forward, the shoulders come over the knees, and the hands reach toward the floor or hang between the legs. The descent is smooth and controlled, taking about a second, and ends in a compact, balanced crouch.',
    ];
    const segment = { text: 'a person crouches down.', seconds: 5.95, descriptions };
    const request = { segments: [segment], seed: 1, samples: 1 as const };
    const first = await engine.generate(request, { looks: 1, keepScores: true });
    const firstBest = Math.max(...(first.candidateScores?.[0] ?? []).map((s) => s.intent));
    assert.ok(firstBest < 0.5, `the first look does not crouch clearly (best intent ${firstBest})`);
    const looked = await engine.generate(request, { keepScores: true });
    const scores = looked.candidateScores?.[0] ?? [];
    const kept = looked.motions[0];
    const looks = kept.provenance.looks ?? 1;
    assert.ok(looks > 1, 'another look was taken');
    assert.equal(scores.length, 4 * looks, 'every look scores four fresh candidates');
    assert.equal(kept.provenance.fit?.candidates, scores.length);
    for (let c = 0; c < 4; c++)
      assert.ok(
        Math.abs(scores[c].total - (first.candidateScores?.[0][c].total ?? NaN)) < 1e-9,
        'look 1 is plain best of 4',
      );
    const best = scores.reduce((a, b) => (ranksAbove(b, a) ? b : a));
    assert.equal(kept.provenance.fit?.score, best.similarity, 'the best ranked candidate of all looks is kept');
    assert.ok(best.intent > firstBest, `and it gets lower than the first look did (${best.intent} vs ${firstBest})`);
    const again = await engine.generate(request, { keepScores: true });
    assert.deepEqual(again.candidateScores, looked.candidateScores, 'deterministic');
    // nothing checkable in the words: one look, whatever the candidates do
    const plain = await engine.generate({ ...request, segments: [{ text: 'a person waves', seconds: 2 }] });
    assert.equal(plain.motions[0].provenance.looks, undefined);
    await assert.rejects(engine.generate(request, { looks: 9 }), /looks must be a whole number from 1 to 5/);
  } finally {
    await engine.close();
  }
});

test('floor postures the words name, and where: the one got up from at the start, the one got down into at the end', () => {
  assert.deepEqual(floorPostures('a person rises from a crouch and walks.'), { start: 'crouching' });
  assert.deepEqual(floorPostures('a person goes from a crouch to lying on the floor.'), {
    start: 'crouching',
    end: 'lying',
  });
  assert.deepEqual(floorPostures('a person gets up from lying on the floor into a crouch.'), {
    start: 'lying',
    end: 'crouching',
  });
  assert.deepEqual(floorPostures('lie down on the floor'), { end: 'lying' });
  assert.deepEqual(floorPostures('lie flat on your back'), { end: 'lying-back' });
  assert.deepEqual(floorPostures('a person walks and then crouches down.'), { end: 'crouching' });
  assert.deepEqual(floorPostures('get down on your hands and knees'), { end: 'on-all-fours' });
  assert.deepEqual(floorPostures('sit down on the floor'), { end: 'sitting-floor' });
  assert.deepEqual(floorPostures('stand up from a squat'), { start: 'squatting' });
  assert.deepEqual(floorPostures('lie down and then get up'), { through: 'lying' });
  assert.deepEqual(floorPostures('crawl on your hands and knees'), {}, 'a crawl is a gait, not a posture');
  assert.deepEqual(floorPostures('walk forward'), {});
});

const tasksOf = (m: Motion) => (m.provenance.request as { tasks?: string[] } | undefined)?.tasks;

test('when no look gets down to the floor, the posture look pins the posture the words name, judged as pinned', async () => {
  const live = liveVersionDir(defaultModelsDir());
  if (!live) throw new Error('this test needs the live model in models/ (models/LIVE)');
  const engine = await createEngine({ modelDir: live });
  const pelvisOverFloor = (m: { joints: Float32Array; numFrames: number }, t: number) => {
    let low = Infinity;
    for (let k = 0; k < NUM_JOINTS; k++) low = Math.min(low, m.joints[t * POS + k * 3 + 1]);
    return m.joints[t * POS + JOINT.pelvis * 3 + 1] - low;
  };
  const lowest = (m: { joints: Float32Array; numFrames: number }) =>
    Math.min(...Array.from({ length: m.numFrames }, (_, t) => pelvisOverFloor(m, t)));
  try {
    // measured: no candidate of the three looks lies down for these words (seed 0)
    const request = { segments: [{ text: 'lie down on the floor', seconds: 4 }], seed: 0 };
    const posed = await engine.generate(request, { keepScores: true });
    const m = posed.motions[0];
    assert.equal(m.provenance.looks, DEFAULT_LOOKS + 1, 'one look more than the ladder');
    assert.deepEqual(tasksOf(m), ['key_poses'], 'standing at the start, lying at the end');
    assert.equal(posed.candidateScores?.[0].length, 4 * (DEFAULT_LOOKS + 1));
    assert.ok(pelvisOverFloor(m, 0) > 0.75, `starts standing (${pelvisOverFloor(m, 0)})`);
    assert.ok(lowest(m) < 0.25, `ends lying: pelvis ${lowest(m)} m over the floor`);
    for (let t = Math.ceil(0.6 * m.numFrames); t < m.numFrames; t++)
      assert.ok(pelvisOverFloor(m, t) < 0.3, `and stays down for the last 40 % (frame ${t})`);
    const scores = posed.candidateScores?.[0] ?? [];
    assert.ok(
      scores.slice(0, 4 * DEFAULT_LOOKS).every((s) => s.intent < 0.5),
      'no candidate of the ladder lies down',
    );
    assert.ok(
      scores.slice(4 * DEFAULT_LOOKS).some((s) => s.intent >= 0.5),
      'the posed candidates are judged as pinned: lying',
    );
    // the request's own pose controls are left alone: no posture is added to a segment that has some
    const own = await engine.generate({
      ...request,
      segments: [{ ...request.segments[0], control: { last: { kind: 'named', name: 'kneeling-up' } } }],
    });
    assert.deepEqual(tasksOf(own.motions[0]), ['last_pose']);
    // nor to a request planned with poses elsewhere (the agent's pantomimes): the other segments stay words alone
    const planned = await engine.generate({
      ...request,
      segments: [
        request.segments[0],
        { text: 'crawl forward', seconds: 2, control: { init: { kind: 'named', name: 'lying-front' } } },
      ],
    });
    assert.deepEqual(tasksOf(planned.motions[0]), ['text', 'continue']);
    // looks: 1 is plain best of N, no posture look either
    const one = (await engine.generate(request, { looks: 1 })).motions[0];
    assert.equal(one.provenance.looks, undefined);
    assert.deepEqual(tasksOf(one), ['text']);
  } finally {
    await engine.close();
  }
});

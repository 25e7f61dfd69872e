import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MotionRequestSchema } from '../../src/motion/contracts.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';
import type { MotionRequest } from '../../src/motion/contracts.js';
import {
  ChatSession,
  ConversationStateSchema,
  InMemoryConversations,
  createAgent,
  emptyConversation,
  parseConversationState,
  pickSample,
  recordMotion,
} from '../../src/agent/index.js';
import type { ConversationState, TurnContext } from '../../src/agent/index.js';

const agent = createAgent({ planner: 'offline' });

/** Runs a conversation; `#id` at the end of a turn records that id as the motion produced for it. */
async function talk(turns: string[], ctx: TurnContext = {}) {
  let state: ConversationState = emptyConversation();
  let last;
  for (const raw of turns) {
    const [text, motion] = raw.split(' #');
    last = await agent.turn(state, text, ctx);
    state = last.state;
    if (motion && last.request) state = recordMotion(state, [motion]);
  }
  return { ...last!, state };
}

const texts = (r?: MotionRequest) => r?.segments.map((s) => s.text);
const secs = (r?: MotionRequest) => r?.segments.map((s) => s.seconds);

test('the issue list: dog, wave then sit, walk 5 s, jump twice, run angrily, like an old man', async () => {
  assert.deepEqual(texts((await talk(['make a person act like a dog'])).request), ['act like a dog']);
  const ws = await talk(['wave, then sit down']);
  assert.deepEqual(texts(ws.request), ['wave the right hand', 'sit down']);
  assert.deepEqual(secs((await talk(['walk for five seconds'])).request), [5]);
  assert.deepEqual(texts((await talk(['jump twice'])).request), ['jump twice']);
  assert.deepEqual(texts((await talk(['run angrily'])).request), ['run forward angrily']);
  const old = await talk(['like an old man']);
  assert.deepEqual(texts(old.request), ['walk forward like an old person']);
  assert.match(old.reply, /didn't say what to do/);
});

test('every request validates against the MotionRequest contract', async () => {
  for (const t of [
    'wave, then sit down',
    'walk for 100 seconds then run for 100 seconds',
    'dance angrily twice in slow motion',
    'act like a dog',
  ]) {
    const r = await talk([t]);
    assert.ok(r.request, t);
    assert.equal(MotionRequestSchema.safeParse(r.request).success, true, t);
  }
});

test('start and end poses: T-pose start, end sitting, from the last frame', async () => {
  const start = await talk(['start from a T-pose and wave']);
  assert.deepEqual(start.request?.segments[0].control?.init, { kind: 'named', name: 't-pose' });
  const end = await talk(['wave', 'end sitting']);
  assert.deepEqual(end.request?.segments[0].control?.last, { kind: 'named', name: 'sitting' });
  const frame = await talk(['walk #clip-1', 'start from where it ended']);
  assert.deepEqual(frame.request?.segments[0].control?.init, { kind: 'frame', motion: { id: 'clip-1' }, frame: -1 });
});

test('a start pose from the last frame without a finished motion is ignored with a note', async () => {
  const r = await talk(['walk', 'start from the last frame']);
  assert.equal(r.request?.segments[0].control, undefined);
  assert.match(r.notes.join(' '), /no finished motion/);
});

test('an uploaded pose becomes a joints pose; none uploaded gives a note', async () => {
  const joints = Array.from({ length: NUM_JOINTS * 3 }, (_, i) => i / 100);
  const r = await talk(['wave and end in my pose'], { uploadedPose: { joints, label: 'victory' } });
  assert.deepEqual(r.request?.segments[0].control?.last, { kind: 'joints', joints, label: 'victory' });
  const none = await talk(['wave and end in my pose']);
  assert.equal(none.request?.segments[0].control, undefined);
  assert.match(none.notes.join(' '), /no uploaded pose/);
});

test('follow-ups edit the last request: slower, faster, longer, again, same but happier, undo', async () => {
  assert.equal((await talk(['walk', 'slower'])).request?.speed, 0.5);
  assert.equal((await talk(['walk', 'faster'])).request?.speed, 2);
  assert.deepEqual(secs((await talk(['walk', 'longer'])).request), [6]);
  const first = await talk(['wave']);
  const again = await talk(['wave', 'again']);
  assert.notEqual(again.request?.seed, first.request?.seed);
  assert.deepEqual(texts(again.request), texts(first.request));
  const happier = await talk(['walk angrily', 'same but happier']);
  assert.deepEqual(texts(happier.request), ['walk forward happily']);
  const undone = await talk(['walk', 'slower', 'undo']);
  assert.equal(undone.request?.speed, 1);
  assert.match(undone.reply, /previous/i);
});

test('"continue with a jump" continues from the picked sample of the last motion', async () => {
  let state = (await agent.turn(emptyConversation(), 'dance')).state;
  state = recordMotion(state, ['a', 'b', 'c', 'd']);
  state = pickSample(state, 2);
  const r = await agent.turn(state, 'continue with a jump');
  assert.deepEqual(
    r.request?.segments.map((s) => [s.text, s.control?.continueFrom]),
    [['jump', { id: 'c' }]],
  );
});

test('"continue" with no finished motion replays the previous part with the new action after it', async () => {
  const r = await talk(['walk', 'continue with a jump']);
  assert.deepEqual(texts(r.request), ['walk forward', 'jump']);
  assert.match(r.notes.join(' '), /no finished motion/);
});

test('absurd values are clamped with a note: 12 s a segment, 30 s a request, 4 samples, speed range', async () => {
  const long = await talk(['walk for 100 seconds']);
  assert.deepEqual(secs(long.request), [12]);
  assert.match(long.notes.join(' '), /at most 12 s/);
  const total = await talk(['walk for 12 seconds, run for 12 seconds, then walk for 12 seconds']);
  assert.ok(total.request!.segments.reduce((s, x) => s + x.seconds, 0) <= 30);
  assert.match(total.notes.join(' '), /30 s limit/);
  const many = await talk(['walk', '10 variations']);
  assert.equal(many.request?.samples, 4);
  assert.match(many.notes.join(' '), /at most 4/);
  const fast = await talk(['walk', 'set speed to 100']);
  assert.equal(fast.request?.speed, 4);
  assert.match(fast.notes.join(' '), /out of range/);
  const tiny = await talk(['jump for 0.1 seconds']);
  assert.deepEqual(secs(tiny.request), [0.5]);
});

test('more than 8 actions keeps the first 8 with a note', async () => {
  const r = await talk([Array.from({ length: 10 }, () => 'jump').join(', then ')]);
  assert.equal(r.request?.segments.length, 8);
  assert.match(r.notes.join(' '), /first 8 of 10/);
});

test('non-motion chatter gets a short friendly answer and no request', async () => {
  for (const t of ['hello', 'what can you do?', 'thanks!', 'what is the capital of France?', '']) {
    const r = await talk([t]);
    assert.equal(r.request, undefined, t);
    assert.ok(r.reply.length > 0 && r.reply.length < 400, t);
  }
});

test('edits without a previous request ask for a motion first; undo with nothing says so', async () => {
  assert.match((await talk(['slower'])).reply, /nothing to change/i);
  assert.match((await talk(['undo'])).reply, /nothing to undo/i);
});

test('the agent never mutates the state it is given, and the state round-trips through JSON', async () => {
  const state = (await agent.turn(emptyConversation(), 'wave')).state;
  const frozen = JSON.stringify(state);
  const next = await agent.turn(state, 'slower');
  assert.equal(JSON.stringify(state), frozen);
  const revived = parseConversationState(JSON.parse(JSON.stringify(next.state)));
  assert.equal(ConversationStateSchema.safeParse(revived).success, true);
  assert.equal(revived.turns.length, 4);
  assert.equal((await agent.turn(revived, 'undo')).request?.speed, 1);
});

test('a corrupt stored state is rejected with the field that is wrong', () => {
  assert.throws(
    () => parseConversationState({ version: 1, turns: 'x', undo: [], motions: [] }, 'row 7'),
    /row 7 is invalid: turns/,
  );
  assert.throws(() => parseConversationState({ version: 2, turns: [], undo: [], motions: [] }), /version/);
});

test('recordMotion and pickSample reject bad input with a clear message', () => {
  assert.throws(() => recordMotion(emptyConversation(), []), /at least one non-empty motion id/);
  assert.throws(() => pickSample(emptyConversation(), 0), /no motion yet/);
  assert.throws(() => pickSample(recordMotion(emptyConversation(), ['a']), 3), /sample 3 does not exist/);
});

test('InMemoryConversations keeps conversations apart and stores copies', async () => {
  const store = new InMemoryConversations();
  const r = await agent.turn(store.get('thread-1'), 'wave');
  store.set('thread-1', r.state);
  assert.equal(store.get('thread-2').turns.length, 0);
  assert.equal(store.get('thread-1').turns.length, 2);
  r.state.turns.length = 0;
  assert.equal(store.get('thread-1').turns.length, 2);
});

test('the same words give the same seed; the planner is deterministic', async () => {
  const a = await talk(['wave, then sit down']);
  const b = await talk(['wave, then sit down']);
  assert.deepEqual(a.request, b.request);
  assert.equal(a.planner, 'offline');
});

test('ChatSession keeps one conversation for the REPL: turns, motions, picked sample, reset', async () => {
  const session = new ChatSession(agent);
  await session.send('dance');
  session.recordMotion(['s0', 's1', 's2', 's3']);
  session.pick(1);
  const r = await session.send('continue with a bow');
  assert.deepEqual(r.request?.segments[0].control, { continueFrom: { id: 's1' } });
  assert.equal(session.state.turns.length, 4);
  assert.throws(() => session.pick(9), /sample 9 does not exist/);
  session.reset();
  assert.equal(session.state.turns.length, 0);
});

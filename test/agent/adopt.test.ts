import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptRequest, createAgent, emptyConversation } from '../../src/agent/index.js';
import { applyAction } from '../../src/jobs/index.js';

const agent = createAgent({ planner: 'offline' });

test('after a button, typed follow-ups edit what the button produced, and undo returns to before it', async () => {
  const first = await agent.turn(emptyConversation(), 'make a person wave happily for 3 seconds');
  assert.ok(first.request);
  // The Slower button edits the stored request outside the planner.
  const slowed = applyAction(first.request, 'slower');
  assert.ok(slowed.speed < first.request.speed);
  const state = adoptRequest(first.state, slowed);
  assert.deepEqual(state.lastRequest, slowed);
  assert.equal(
    state.plan?.segments[0].style,
    first.state.plan?.segments[0].style,
    'the plan keeps action and style apart',
  );

  const factor = (await agent.turn(first.state, 'faster')).request!.speed / first.request.speed;
  assert.ok(factor > 1.1);
  const faster = await agent.turn(state, 'faster');
  assert.ok(faster.request);
  assert.ok(
    Math.abs(faster.request.speed - slowed.speed * factor) < 0.01,
    `"faster" scales the slowed clip's speed ${slowed.speed}, got ${faster.request.speed}`,
  );

  const happier = await agent.turn(state, 'same but angrier');
  assert.equal(happier.request?.speed, slowed.speed, 'a style swap keeps the speed the button set');

  const undone = await agent.turn(state, 'undo');
  assert.deepEqual(undone.request?.segments, first.request.segments);
  assert.equal(undone.request?.speed, first.request.speed, 'undo goes back to before the button');
});

test('a Continue button adds a segment the planner can edit afterwards', async () => {
  const first = await agent.turn(emptyConversation(), 'walk for 4 seconds');
  assert.ok(first.request);
  const continued = applyAction(first.request, 'continue', { continueText: 'jump', continueFromId: 'job-1-0' });
  const state = adoptRequest(first.state, continued);
  assert.equal(state.plan?.segments.length, continued.segments.length);
  const longer = await agent.turn(state, 'longer');
  assert.equal(longer.request?.segments.length, continued.segments.length);
});

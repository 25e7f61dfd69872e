// The node-llama-cpp path with the tiny random-weight GGUF: real model loading, real JSON-schema grammar,
// real generation. The weights are random, so the planner must fail cleanly and the agent fall back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createAgent, createLlamaPlanner, emptyConversation } from '../../src/agent/index.js';
import { fromGrammarPlan } from '../../src/agent/llama.js';
import type { GrammarPlan } from '../../src/agent/llama.js';
import { Draft } from '../../src/agent/tools.js';

const GGUF = new URL('../../../shared/models/tiny-random-llama-gguf/tiny-random-llama.gguf', import.meta.url).pathname;

test('tiny GGUF: the grammar path runs, its gibberish is rejected, and the agent falls back to the offline planner', async () => {
  assert.ok(existsSync(GGUF), `missing test model ${GGUF}`);
  const llama = createLlamaPlanner({ modelPath: GGUF, threads: 1, maxTokens: 48, timeoutMs: 60_000 });
  try {
    const agent = createAgent({ planner: 'llm', llm: llama });
    const r = await agent.turn(emptyConversation(), 'wave, then sit down');
    assert.equal(r.planner, 'offline');
    assert.match(r.fallback ?? '', /llama-cpp:tiny-random-llama\.gguf/);
    assert.deepEqual(
      r.request?.segments.map((s) => s.text),
      ['wave the right hand', 'sit down'],
    );
    const again = await agent.turn(r.state, 'slower');
    assert.equal(again.request?.speed, 0.5);
  } finally {
    await llama.dispose();
  }
});

test('a missing GGUF file is reported by its variable and path, and the agent falls back', async () => {
  const llama = createLlamaPlanner({ modelPath: '/nonexistent/model.gguf' });
  const r = await createAgent({ planner: 'llm', llm: llama }).turn(emptyConversation(), 'jump');
  assert.match(r.fallback ?? '', /LLAMA_MODEL_PATH: no model file at \/nonexistent\/model\.gguf/);
  assert.deepEqual(
    r.request?.segments.map((s) => s.text),
    ['jump'],
  );
  assert.throws(() => createLlamaPlanner({ modelPath: '' }), /LLAMA_MODEL_PATH is empty/);
});

const blank: GrammarPlan = {
  kind: 'motion',
  segments: [],
  continue_previous: false,
  speed_factor: 0,
  seconds_factor: 0,
  new_style: '',
  new_take: false,
  start_pose: 'none',
  end_pose: 'none',
  samples: 1,
  answer: '',
};

test('a well-formed grammar answer plans through the same draft as the tools', () => {
  const plan = fromGrammarPlan({
    ...blank,
    segments: [{ action: 'walk', style: 'angry', seconds: 5 }],
    end_pose: 'sitting',
  });
  const outcome = new Draft(emptyConversation(), {}, 'walk angrily and end sitting').applyOneShot(plan);
  assert.equal(outcome.kind, 'plan');
  if (outcome.kind !== 'plan') return;
  assert.deepEqual(outcome.plan.segments, [
    { action: 'walk forward', style: 'angrily', seconds: 5, last: { kind: 'named', name: 'sitting' } },
  ]);
});

test('grammar answers that make no sense are rejected with a reason', () => {
  assert.throws(
    () => new Draft(emptyConversation(), {}, 'x').applyOneShot(fromGrammarPlan(blank)),
    /"motion" but gave no segments/,
  );
  assert.throws(
    () => new Draft(emptyConversation(), {}, 'x').applyOneShot(fromGrammarPlan({ ...blank, kind: 'edit' })),
    /no previous request/,
  );
  assert.throws(
    () => new Draft(emptyConversation(), {}, 'x').applyOneShot(fromGrammarPlan({ ...blank, kind: 'chat' })),
    /neither a plan nor an answer/,
  );
});

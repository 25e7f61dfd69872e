// The OpenAI provider path end to end: env config → ChatOpenAI → real `openai` client over HTTP → a local
// OpenAI-compatible server. Includes provider failure → fallback to the offline planner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTION_GPT,
  ActionGptExpander,
  actionGptPrompt,
  createAgentFromEnv,
  createDescriptionModel,
  emptyConversation,
  llmSettingsFromEnv,
} from '../../src/agent/index.js';
import { startOpenAIServer } from './openai-server.js';

const envFor = (baseURL: string, extra: Record<string, string> = {}) => ({
  OPENAI_BASE_URL: baseURL,
  OPENAI_MODEL: 'local-test-model',
  CHARADES_LLM_RETRIES: '0',
  CHARADES_LLM_TIMEOUT_MS: '5000',
  CHARADES_EXPAND: 'off',
  // these tests are about the planner over HTTP; grounding has its own (test/agent/grounding.test.ts)
  CHARADES_GROUND: 'off',
  ...extra,
});

test('OpenAI-compatible server: tool calls over HTTP become a request', async () => {
  const server = await startOpenAIServer([
    { toolCalls: [{ name: 'plan_motion', args: { segments: [{ action: 'act like a dog', seconds: 4 }] } }] },
    { content: "Here's a person acting like a dog." },
  ]);
  try {
    const { agent, settings } = createAgentFromEnv(envFor(server.baseURL));
    assert.equal(settings.provider, 'openai-compatible');
    const r = await agent.turn(emptyConversation(), 'make a person act like a dog');
    assert.equal(r.planner, 'llm');
    assert.deepEqual(
      r.request?.segments.map((s) => [s.text, s.seconds]),
      [['act like a dog', 4]],
    );
    assert.equal(server.requests.length, 2);
    const first = server.requests[0] as {
      model: string;
      tools: { function: { name: string } }[];
      messages: { role: string; content: unknown }[];
    };
    assert.equal(first.model, 'local-test-model');
    assert.deepEqual(first.tools.map((t) => t.function.name).sort(), [
      'answer',
      'edit_previous',
      'plan_motion',
      'set_options',
      'set_poses',
      'undo',
    ]);
    assert.equal(first.messages[0].role, 'system');
    assert.equal(first.messages.at(-1)?.content, 'make a person act like a dog');
    const second = server.requests[1] as { messages: { role: string }[] };
    assert.ok(second.messages.some((m) => m.role === 'tool'));
  } finally {
    await server.close();
  }
});

test('provider failure (HTTP 500) falls back to the offline planner and tells the user', async () => {
  const server = await startOpenAIServer([{ status: 500 }]);
  try {
    const { agent } = createAgentFromEnv(envFor(server.baseURL));
    const r = await agent.turn(emptyConversation(), 'wave, then sit down');
    assert.equal(r.planner, 'offline');
    assert.match(r.fallback ?? '', /openai-compatible:local-test-model/);
    assert.deepEqual(
      r.request?.segments.map((s) => s.text),
      ['wave the right hand', 'sit down'],
    );
    assert.match(r.reply, /language model was unavailable/);
  } finally {
    await server.close();
  }
});

test('an unreachable server falls back too (connection refused)', async () => {
  const server = await startOpenAIServer([{ content: 'x' }]);
  const baseURL = server.baseURL;
  await server.close();
  const { agent } = createAgentFromEnv(envFor(baseURL));
  const r = await agent.turn(emptyConversation(), 'jump twice');
  assert.equal(r.planner, 'offline');
  assert.ok(r.fallback);
  assert.deepEqual(
    r.request?.segments.map((s) => s.text),
    ['jump twice'],
  );
});

test('a slow server hits the timeout and falls back', async () => {
  const server = await startOpenAIServer([{ content: 'late', delayMs: 3000 }]);
  try {
    const { agent } = createAgentFromEnv(envFor(server.baseURL, { CHARADES_LLM_TIMEOUT_MS: '100' }));
    const started = Date.now();
    const r = await agent.turn(emptyConversation(), 'walk');
    assert.ok(Date.now() - started < 2000, 'the turn waited for the slow server');
    assert.equal(r.planner, 'offline');
    assert.ok(r.fallback);
    assert.deepEqual(
      r.request?.segments.map((s) => s.text),
      ['walk forward'],
    );
  } finally {
    await server.close();
  }
});

test('Action-GPT over HTTP: exact prompt, k=4 parallel, temperature 0.5, top-p 1, 128 tokens; cached by (phrase, model)', async () => {
  let n = 0;
  const server = await startOpenAIServer(() => ({ content: `The person moves like a penguin, take ${++n}.` }));
  const cacheDir = mkdtempSync(join(tmpdir(), 'charades-agpt-'));
  try {
    const settings = llmSettingsFromEnv(envFor(server.baseURL));
    const expander = new ActionGptExpander({ cacheDir, model: createDescriptionModel(settings), shippedPath: false });
    const first = await expander.lookup('waddle like a penguin');
    assert.equal(first.source, 'llm');
    assert.equal(first.descriptions.length, ACTION_GPT.k);
    assert.equal(server.requests.length, 4);
    for (const body of server.requests as {
      temperature: number;
      top_p: number;
      max_tokens?: number;
      max_completion_tokens?: number;
      messages: { content: string }[];
    }[]) {
      assert.equal(body.temperature, 0.5);
      assert.equal(body.top_p, 1);
      assert.equal(body.max_tokens ?? body.max_completion_tokens, 128);
      assert.equal(body.messages[0].content, actionGptPrompt('waddle like a penguin'));
    }
    assert.equal(
      actionGptPrompt('waddle like a penguin'),
      "Describe a person's body movements who is performing the action waddle like a penguin in detail",
    );
    assert.deepEqual((await expander.lookup('Waddle like a penguin.')).descriptions, first.descriptions);
    assert.equal(server.requests.length, 4);
    const reopened = new ActionGptExpander({ cacheDir, model: createDescriptionModel(settings), shippedPath: false });
    const again = await reopened.lookup('waddle like a penguin');
    assert.equal(again.source, 'cache');
    assert.equal(server.requests.length, 4);
    const line = JSON.parse(readFileSync(reopened.cacheFile, 'utf8').trim()) as { phrase: string; model: string };
    assert.equal(line.phrase, 'waddle like a penguin');
    assert.match(line.model, /local-test-model/);
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('the agent attaches LLM descriptions to new phrases when expansion is on', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'charades-agpt-'));
  const server = await startOpenAIServer((body) => {
    const tools = body.tools as unknown[] | undefined;
    const msgs = body.messages as { role: string }[];
    if (tools && !msgs.some((m) => m.role === 'tool'))
      return { toolCalls: [{ name: 'plan_motion', args: { segments: [{ action: 'juggle three balls' }] } }] };
    if (tools) return { content: 'Juggling!' };
    return { content: 'The person tosses balls in an arc.' };
  });
  try {
    const { agent } = createAgentFromEnv(envFor(server.baseURL, { CHARADES_EXPAND: 'llm', CHARADES_CACHE: cacheDir }));
    const r = await agent.turn(emptyConversation(), 'juggle three balls');
    assert.deepEqual(r.request?.segments[0].descriptions, Array(4).fill('The person tosses balls in an arc.'));
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a small local model that writes the tool call as JSON text still plans (validated by the tool schema)', async () => {
  const server = await startOpenAIServer([
    {
      content:
        '```json\n{"name": "plan_motion", "arguments": {"segments": [{"action": "wave", "seconds": 2}, {"action": "bow"}]}}\n```',
    },
  ]);
  try {
    const { agent } = createAgentFromEnv(envFor(server.baseURL));
    const r = await agent.turn(emptyConversation(), 'wave then bow');
    assert.equal(r.planner, 'llm');
    assert.deepEqual(
      r.request?.segments.map((s) => [s.text, s.seconds]),
      [
        ['wave the right hand', 2],
        ['bow', 3],
      ],
    );
  } finally {
    await server.close();
  }
  const bad = await startOpenAIServer([{ content: '{"name": "plan_motion", "arguments": {"segments": "wave"}}' }]);
  try {
    const { agent } = createAgentFromEnv(envFor(bad.baseURL));
    const r = await agent.turn(emptyConversation(), 'wave');
    assert.equal(
      r.planner,
      'offline',
      'an invalid tool call written as text is never used as a plan or shown to the user',
    );
    assert.match(r.fallback ?? '', /invalid plan_motion call as text/);
    assert.deepEqual(
      r.request?.segments.map((s) => s.text),
      ['wave the right hand'],
    );
  } finally {
    await bad.close();
  }
});

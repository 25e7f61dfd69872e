/**
 * Agent latency: what planning adds to "chat → MP4" (DESIGN §7 budget: first feedback ≤ 300 ms, posted ≤ 3 s).
 * Offline planner turns (fresh request, follow-up, with Action-GPT cache lookups), the LangChain tool loop
 * with a scripted model (framework overhead, no network), the OpenAI path over loopback HTTP, and the eval set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import {
  ActionGptExpander,
  createAgent,
  createAgentFromEnv,
  createLangChainPlanner,
  emptyConversation,
  evaluate,
  loadEvalSet,
} from '../src/agent/index.js';
import { REPO_ROOT, defaultDataDir } from '../src/motion/paths.js';
import { startOpenAIServer } from '../test/agent/openai-server.js';
import { report, summarize, timeIt } from './harness.js';
import type { Row } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const rows: Row[] = [];
const json: Record<string, unknown> = {};

function record(name: string, ms: number[]): void {
  const s = summarize(ms);
  json[name] = { p50: round(s.p50), p95: round(s.p95), mean: round(s.mean), n: s.n };
  rows.push({ case: name, p50_ms: s.p50, p95_ms: s.p95, n: s.n });
}
const round = (x: number) => Math.round(x * 1000) / 1000;

const cacheDir = mkdtempSync(join(tmpdir(), 'charades-agent-bench-'));
try {
  const offline = createAgent({ planner: 'offline' });
  record(
    'offline_fresh_turn',
    await timeIt(() => offline.turn(emptyConversation(), 'wave, then sit down like an old man for 5 seconds'), {
      runs: RUNS,
    }),
  );
  const walked = (await offline.turn(emptyConversation(), 'walk angrily')).state;
  record(
    'offline_followup_turn',
    await timeIt(() => offline.turn(walked, 'same but happier and slower, end sitting'), { runs: RUNS }),
  );

  const expander = new ActionGptExpander({
    cacheDir,
    shippedPath: resolve(defaultDataDir(), 'annotations', 'action-gpt-k4.jsonl'),
  });
  const withCache = createAgent({ planner: 'offline', expander });
  record(
    'offline_turn_with_action_gpt_cache',
    await timeIt(() => withCache.turn(emptyConversation(), 'walk angrily, then wave goodbye sadly'), {
      runs: RUNS,
      warmup: 2,
    }),
  );

  record(
    'langchain_tool_loop_scripted_model',
    await timeIt(
      () => {
        const model = fakeModel()
          .respondWithTools([{ name: 'plan_motion', args: { segments: [{ action: 'wave' }, { action: 'sit down' }] } }])
          .respond(new AIMessage('ok'));
        return createAgent({ planner: 'llm', llm: createLangChainPlanner({ model, id: 'fake' }) }).turn(
          emptyConversation(),
          'wave, then sit down',
        );
      },
      { runs: Math.min(RUNS, 20), warmup: 2 },
    ),
  );

  const server = await startOpenAIServer((body) =>
    (body.messages as { role: string }[]).some((m) => m.role === 'tool')
      ? { content: 'ok' }
      : { toolCalls: [{ name: 'plan_motion', args: { segments: [{ action: 'act like a dog' }] } }] },
  );
  try {
    const { agent } = createAgentFromEnv({
      OPENAI_BASE_URL: server.baseURL,
      CHARADES_EXPAND: 'off',
      CHARADES_LLM_RETRIES: '0',
    });
    record(
      'openai_http_loopback_turn',
      await timeIt(() => agent.turn(emptyConversation(), 'act like a dog'), { runs: Math.min(RUNS, 20), warmup: 2 }),
    );
  } finally {
    await server.close();
  }

  const cases = loadEvalSet(resolve(REPO_ROOT, 'test', 'fixtures', 'chat-eval.jsonl'));
  const evalReport = await evaluate(createAgent({ planner: 'offline' }), cases, 'offline');
  json.eval_offline = {
    cases: evalReport.cases,
    fieldAccuracy: evalReport.fieldAccuracy,
    caseAccuracy: evalReport.caseAccuracy,
    ms: evalReport.ms,
  };
  rows.push({
    case: 'eval_set_offline',
    p50_ms: evalReport.ms / evalReport.cases,
    p95_ms: null,
    n: evalReport.cases,
    field_acc: evalReport.fieldAccuracy,
  });
  report('agent', json, rows);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

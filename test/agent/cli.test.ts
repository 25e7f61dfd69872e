// The agent's commands through the real `charades` binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MotionRequestSchema } from '../../src/motion/contracts.js';
import { llmSettingsFromEnv } from '../../src/agent/index.js';
import { parseTranscript } from '../../src/agent/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OFFLINE_ENV = {
  ...process.env,
  OPENAI_API_KEY: '',
  OPENAI_BASE_URL: '',
  LLAMA_MODEL_PATH: '',
  CHARADES_PLANNER: '',
};

function charades(args: string[], input = '', env: NodeJS.ProcessEnv = OFFLINE_ENV) {
  const r = spawnSync(process.execPath, ['bin/charades.js', ...args], {
    cwd: ROOT,
    input,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('charades plan --json: one request per turn, conversations kept per user', () => {
  const transcript = [
    { user: 'ana', text: 'wave, then sit down' },
    { user: 'bo', text: 'act like a dog' },
    { user: 'ana', text: 'slower', motion: 'clip-1' },
    { user: 'ana', text: 'continue with a jump' },
    { user: 'bo', text: 'hello' },
  ]
    .map((l) => JSON.stringify(l))
    .join('\n');
  const r = charades(['plan', '--json', '--planner', 'offline'], transcript);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { user: string; request: unknown; planned?: unknown; reply: string; planner: string });
  assert.equal(lines.length, 5);
  for (const l of lines.slice(0, 4)) assert.equal(MotionRequestSchema.safeParse(l.request).success, true);
  const req = (i: number) => MotionRequestSchema.parse(lines[i].request);
  // "sit down" has no data: the request holds the stand-in (lowering into a pinned chair pose), `planned` what was understood
  assert.deepEqual(
    MotionRequestSchema.parse(lines[0].planned).segments.map((s) => s.text),
    ['wave the right hand', 'sit down'],
  );
  assert.deepEqual(
    req(0).segments.map((s) => s.text),
    ['wave the right hand', 'crouch down', 'stand still'],
  );
  assert.deepEqual(req(0).segments[2].control?.last, { kind: 'named', name: 'sitting-chair' });
  assert.match(lines[0].reply, /^No sitting data: /);
  assert.equal(req(0).segments[0].descriptions?.length, 4, 'shipped Action-GPT descriptions attached');
  assert.equal(req(2).speed, 0.5);
  assert.deepEqual(req(3).segments[0].control, { continueFrom: { id: 'clip-1' } });
  assert.equal(lines[4].request, null);
  assert.equal(lines[4].planner, 'offline');
});

test('charades plan reports a bad stdin line by number and exits 1', () => {
  const r = charades(['plan'], '{"user":"a","text":"wave"}\n{"user": 5}\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stdin line 2: /);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  assert.throws(() => parseTranscript('\n'), /no turns on stdin/);
  assert.throws(() => parseTranscript('{"text": 3}'), /stdin line 1: text/);
});

test('charades eval-agent --json: offline ≥ 90% field accuracy, LLM reported as not configured', () => {
  const r = charades(['eval-agent', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { cases: number; offline: { fieldAccuracy: number }; llm: { skipped?: string } };
  assert.ok(out.cases >= 100);
  assert.ok(out.offline.fieldAccuracy >= 0.9, String(out.offline.fieldAccuracy));
  assert.match(out.llm.skipped ?? '', /no LLM configured/);
});

test('charades annotate without an LLM and eval-agent --planner llm say what to configure', () => {
  const a = charades(['annotate', '--phrases', 'x.txt']);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /annotate needs an LLM: set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH/);
  const e = charades(['eval-agent', '--planner', 'llm']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /no LLM configured/);
});

test('agent settings from the environment: provider choice and errors named by variable', () => {
  assert.equal(llmSettingsFromEnv({}).provider, 'none');
  assert.equal(llmSettingsFromEnv({ OPENAI_API_KEY: 'sk-x' }).provider, 'openai');
  assert.equal(llmSettingsFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' }).provider, 'openai-compatible');
  assert.equal(llmSettingsFromEnv({ LLAMA_MODEL_PATH: '/m.gguf', LLAMA_THREADS: '2' }).threads, 2);
  assert.equal(llmSettingsFromEnv({}).expand, 'cache');
  assert.throws(
    () => llmSettingsFromEnv({ LLAMA_THREADS: 'many', OPENAI_BASE_URL: 'ftp://x' }),
    (err: Error) =>
      /LLAMA_THREADS: expected an integer/.test(err.message) &&
      /OPENAI_BASE_URL: expected an http\(s\) URL/.test(err.message),
  );
  assert.throws(
    () => llmSettingsFromEnv({ CHARADES_PLANNER: 'gpt' }),
    /CHARADES_PLANNER: expected one of offline, llm, auto/,
  );
  assert.throws(() => llmSettingsFromEnv({ CHARADES_PLANNER: 'llm' }), /CHARADES_PLANNER=llm needs a provider/);
});

test('charades annotate --phrases builds the Action-GPT cache through the configured server; a rerun is free', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startOpenAIServer } = await import('./openai-server.js');
  const server = await startOpenAIServer((body) => ({
    content: `Body movements for: ${(body.messages as { content: string }[])[0].content.slice(70)}`,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'charades-annotate-'));
  const run = () =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const env = { ...OFFLINE_ENV, OPENAI_BASE_URL: server.baseURL, CHARADES_LLM_RETRIES: '0' };
      const child = spawn(
        process.execPath,
        ['bin/charades.js', 'annotate', '--phrases', join(dir, 'phrases.txt'), '--cache', dir, '--json'],
        { cwd: ROOT, env },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
  try {
    writeFileSync(join(dir, 'phrases.txt'), '# zero-shot phrases\nmoonwalk\nact like a penguin\n');
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout).llm, 2);
    assert.equal(server.requests.length, 8);
    const lines = readFileSync(join(dir, 'action-gpt', 'descriptions.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[1]).descriptions.length, 4);
    const second = await run();
    assert.equal(JSON.parse(second.stdout).cache, 2);
    assert.equal(server.requests.length, 8);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('annotate inputs: phrases from a file and a dataset; bad options name themselves', async () => {
  const { collectPhrases, parseCount } = await import('../../src/agent/cli.js');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'charades-phrases-'));
  try {
    writeFileSync(join(dir, 'p.txt'), '# comment\nmoonwalk\n\nmoonwalk\nact like a cat\n');
    assert.deepEqual(collectPhrases({ phrases: join(dir, 'p.txt') }), ['moonwalk', 'act like a cat']);
    const fromData = collectPhrases({ data: new URL('../../../shared/data/motion', import.meta.url).pathname });
    assert.ok(fromData.includes('bows energetically'), 'dataset texts become phrases');
    assert.ok(fromData.length > 100);
    assert.throws(() => collectPhrases({ phrases: join(dir, 'missing.txt') }), /--phrases: no file at/);
    assert.throws(() => collectPhrases({ data: dir }), /no motion data at .*index\.jsonl missing/);
    assert.throws(() => collectPhrases({}), /give --phrases FILE or --data/);
    writeFileSync(join(dir, 'index.jsonl'), '{"texts": ["a person hops."]}\n{broken\n');
    assert.throws(() => collectPhrases({ data: dir }), /index\.jsonl:2: not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(parseCount('--limit', '5', 1), 5);
  assert.throws(() => parseCount('--limit', '0', 1), /--limit: expected an integer ≥ 1, got "0"/);
  assert.throws(() => parseCount('--failures', 'lots', 0), /--failures: expected an integer ≥ 0/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, evaluate, loadEvalSet } from '../../src/agent/index.js';
import { sameText, scoreRequest } from '../../src/agent/eval.js';

const SET = new URL('../fixtures/chat-eval.jsonl', import.meta.url).pathname;

test('the eval set has ≥ 100 cases, single and multi-turn, and the offline planner scores ≥ 90% of fields', async () => {
  const cases = loadEvalSet(SET);
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  assert.ok(cases.filter((c) => c.turns.length > 1).length >= 30);
  assert.ok(cases.filter((c) => 'chat' in c.expect).length >= 5);
  const report = await evaluate(createAgent({ planner: 'offline' }), cases, 'offline');
  assert.ok(
    report.fieldAccuracy >= 0.9,
    `offline field accuracy ${report.fieldAccuracy}: ${JSON.stringify(report.failures.slice(0, 5))}`,
  );
  const blind = await evaluate(
    createAgent({ planner: 'offline' }),
    cases.filter((c) => c.id.startsWith('blind-')),
    'offline',
  );
  assert.ok(blind.cases >= 30 && blind.fieldAccuracy >= 0.9, `blind cases: ${blind.fieldAccuracy}`);
});

test('scoring catches wrong text, seconds, control, speed and seed', () => {
  const [c] = loadEvalSet(SET).filter((x) => x.id === 'm-again');
  const good = {
    segments: [{ text: 'wave the right hand', seconds: 3 }],
    samples: 1 as const,
    seed: 2,
    temperature: 1,
    speed: 1,
  };
  const previous = { ...good, seed: 1 };
  assert.equal(scoreRequest(c, good, previous).misses.length, 0);
  const bad = {
    ...good,
    segments: [{ text: 'bow', seconds: 5, control: { init: { kind: 'named' as const, name: 'sitting' as const } } }],
    speed: 2,
    seed: 1,
  };
  assert.deepEqual(
    scoreRequest(c, bad, previous).misses.map((m) => m.field),
    ['segments.0.text', 'segments.0.seconds', 'segments.0.control', 'speed', 'seed'],
  );
  assert.equal(scoreRequest(c, undefined, previous).correct, 0);
  assert.ok(sameText('Wave the right hand.', 'wave right hand'));
});

test('a broken eval file names the line and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-eval-'));
  try {
    const file = join(dir, 'set.jsonl');
    writeFileSync(file, '{"id":"a","turns":[{"text":"wave"}],"expect":{"chat":true}}\n{oops\n');
    assert.throws(() => loadEvalSet(file), /set\.jsonl:2: not valid JSON/);
    writeFileSync(file, '{"id":"a","turns":[],"expect":{"chat":true}}\n');
    assert.throws(() => loadEvalSet(file), /set\.jsonl:1: turns/);
    assert.throws(() => loadEvalSet(join(dir, 'missing.jsonl')), /cannot read eval set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The small pure parts of the training worker: progress lines, the gate, data detection, the trainer command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { LISTED_METRICS } from '../../src/motion/cli/models.js';
import {
  DEFAULT_GATE,
  DEFAULT_TRAINER,
  PRODUCTION_GATE,
  decideGate,
  describeProgress,
  describeTrainingJob,
  detectDataFormat,
  evaluationFromEnv,
  formatEta,
  metricAt,
  parseGateRules,
  parseProgressLine,
  trainerFromEnv,
} from '../../src/worker/train/index.js';
import type { TrainingJob } from '../../src/worker/train/index.js';

test('progress lines: JSON records with a stage become progress; anything else is left to the log', () => {
  const starts = new Map<string, number>();
  assert.equal(parseProgressLine('loading cache…', starts), null);
  assert.equal(parseProgressLine('{"step": 3}', starts), null);
  assert.equal(parseProgressLine('{"stage": "vq", "step": ', starts), null);
  const first = parseProgressLine('{"stage": "vq", "step": 10, "loss": 0.25, "eta_s": 90}', starts, 1_000_000)!;
  assert.deepEqual([first.stage, first.step, first.loss, first.etaS, first.fraction], ['vq', 10, 0.25, 90, 0]);
  const later = parseProgressLine('{"stage": "vq", "step": 20, "loss": 0.2, "eta_s": 30}', starts, 1_030_000)!;
  assert.equal(later.fraction, 0.5, '30 s done and 30 s to go');
  assert.equal(parseProgressLine('{"stage": "gpt", "step": 5, "total": 20, "eta_s": "soon"}', starts)!.fraction, 0.25);
  assert.equal(parseProgressLine('{"stage": "gpt", "step": 5, "total": 20, "eta_s": "soon"}', starts)!.etaS, undefined);
});

test('progress is described in one line for chat and logs', () => {
  assert.equal(formatEta(42.4), '42s');
  assert.equal(formatEta(250), '4m10s');
  assert.equal(formatEta(3 * 3600 + 120), '3h02m');
  assert.equal(formatEta(undefined), '?');
  assert.equal(
    describeProgress({ stage: 'gpt', step: 1200, loss: 2.31412, etaS: 250, fraction: 0.62, at: '' }),
    'gpt step 1200 · loss 2.3141 · ETA 4m10s (62%)',
  );
  assert.equal(describeProgress({ stage: 'export', at: '' }), 'export');
});

test('the gate: every rule must beat the live model; missing values are explained', () => {
  const rules = parseGateRules('a.r3:higher, fid:lower');
  assert.deepEqual(rules, [
    { metric: 'a.r3', better: 'higher' },
    { metric: 'fid', better: 'lower' },
  ]);
  assert.equal(decideGate({ a: { r3: 0.8 }, fid: 0.3 }, { a: { r3: 0.7 }, fid: 0.4 }, rules).pass, true);
  const tie = decideGate({ a: { r3: 0.7 }, fid: 0.3 }, { a: { r3: 0.7 }, fid: 0.4 }, rules);
  assert.equal(tie.pass, false, 'equal is not better');
  assert.equal(tie.summary, 'gate failed: a.r3 0.7 vs live 0.7: not higher');
  // the same counts summed in another order: equal, so neither better nor a regression
  const rounding = { a: { r3: 0.9159722222222223 }, fid: 0.3 };
  assert.equal(decideGate(rounding, { a: { r3: 0.9159722222222222 }, fid: 0.4 }, rules).pass, false);
  assert.equal(
    decideGate({ p: 0.9159722222222222 }, { p: 0.9159722222222223 }, [{ metric: 'p', better: 'not-lower' }]).pass,
    true,
  );
  assert.match(
    decideGate({ a: { r3: 0.8 }, fid: 0.3 }, { fid: 0.4 }, rules).summary,
    /a\.r3 = 0\.8 \(the live model has no value to compare\)/,
  );
  assert.match(
    decideGate({ a: { r3: Number.NaN }, fid: 0.3 }, null, rules).summary,
    /gate failed: a\.r3: the new model has no finite value/,
  );
  assert.equal(decideGate({}, { fid: 1 }, []).pass, true);
  // no regression: an equal count passes, one fewer fails
  const probes = parseGateRules('probes.passed:not-lower');
  assert.deepEqual(probes, [{ metric: 'probes.passed', better: 'not-lower' }]);
  assert.equal(decideGate({ probes: { passed: 48 } }, { probes: { passed: 48 } }, probes).pass, true);
  assert.equal(
    decideGate({ probes: { passed: 47 } }, { probes: { passed: 48 } }, probes).summary,
    'gate failed: probes.passed 47 vs live 48: lower, a regression',
  );
  assert.equal(metricAt({ a: { b: 2 } }, 'a.b'), 2);
  assert.equal(metricAt({ a: { b: '2' } }, 'a.b'), null);
  assert.equal(metricAt(null, 'a'), null);
  assert.throws(() => parseGateRules('fid'), /'fid' should be METRIC:higher, METRIC:lower or METRIC:not-lower/);
  assert.throws(() => parseGateRules(':lower'), /':lower' should be/);
});

test('data folders are recognised by what they hold', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-detect-'));
  try {
    const make = (name: string, files: string[]) => {
      for (const f of files) {
        mkdirSync(join(dir, name, f, '..'), { recursive: true });
        writeFileSync(join(dir, name, f), '');
      }
      return join(dir, name);
    };
    assert.equal(detectDataFormat(make('packed', ['index.jsonl', 'positions_mm.i16'])), 'packed');
    assert.equal(detectDataFormat(make('h3d', ['new_joints/000001.npy', 'texts/000001.txt'])), 'humanml3d');
    assert.equal(detectDataFormat(make('npy', ['000001.npy'])), 'humanml3d');
    assert.equal(detectDataFormat(make('bvh', ['subject1/walk.BVH'])), 'bvh');
    assert.equal(detectDataFormat(make('other', ['notes.txt'])), 'unknown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the production gate: macro and paraphrases must rise; the aggregate, sides, floor and probes must not fall', () => {
  // job 8's figures (ftA against charades-full-20261206): the aggregate tied to the last count
  const at = (macro: number, para: number, r3: number, sides: number, floor: number, probes: number) => ({
    production: {
      test: {
        r_precision_top3_macro: macro,
        paraphrase_r_precision_top3: para,
        r_precision_top3: r3,
        side_accuracy: sides,
        floor_within_rate: floor,
      },
      probes: { passed: probes },
    },
  });
  const live = at(0.733, 0.501, 0.9159722222222222, 1, 0.96, 78);
  assert.equal(decideGate(at(0.752, 0.532, 0.9159722222222223, 1, 0.96, 78), live, PRODUCTION_GATE).pass, true);
  const fewerFloorActs = decideGate(at(0.752, 0.532, 0.916, 1, 0.9, 78), live, PRODUCTION_GATE);
  assert.equal(fewerFloorActs.pass, false);
  assert.equal(
    fewerFloorActs.summary,
    'gate failed: production.test.floor_within_rate 0.9 vs live 0.96: lower, a regression',
  );
  assert.equal(decideGate(at(0.752, 0.532, 0.91, 1, 0.96, 78), live, PRODUCTION_GATE).pass, false, 'aggregate fell');
  assert.equal(decideGate(at(0.752, 0.532, 0.92, 0.98, 0.96, 78), live, PRODUCTION_GATE).pass, false, 'a side lost');
});

test('CHARADES_TRAINER replaces the trainer command line', () => {
  assert.equal(trainerFromEnv({}), DEFAULT_TRAINER);
  assert.equal(trainerFromEnv({ CHARADES_TRAINER: '  ' }), DEFAULT_TRAINER);
  const custom = trainerFromEnv({ CHARADES_TRAINER: 'python3.11  -m trainer' });
  assert.deepEqual([custom.command, custom.args], ['python3.11', ['-m', 'trainer']]);
});

test('CHARADES_TRAIN_EVAL and CHARADES_TRAIN_EVAL_LIMIT: production by default, bad values named', () => {
  const production = evaluationFromEnv(loadConfig({ env: {} }));
  assert.equal(typeof production.evaluate, 'function');
  assert.equal(typeof production.evaluateLive, 'function');
  assert.deepEqual(production.gate, PRODUCTION_GATE);
  assert.deepEqual(evaluationFromEnv(loadConfig({ env: { CHARADES_TRAIN_EVAL: 'trainer' } })), {});
  assert.throws(() => loadConfig({ env: { CHARADES_TRAIN_EVAL: 'python' } }), /env CHARADES_TRAIN_EVAL = "python"/);
  assert.throws(() => loadConfig({ env: { CHARADES_TRAIN_EVAL_LIMIT: '-3' } }), /env CHARADES_TRAIN_EVAL_LIMIT = "-3"/);
});

test("models list shows exactly the gates' metrics", () => {
  assert.deepEqual(
    LISTED_METRICS,
    [...DEFAULT_GATE, ...PRODUCTION_GATE].map((r) => r.metric),
  );
});

test('chat messages about a training job say where it stands and, at the end, why', () => {
  const base: TrainingJob = {
    id: 4,
    state: 'queued',
    spec: { config: 'tiny', data: [] },
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    owner: null,
    childPid: null,
    heartbeat: null,
    attempts: 0,
    version: null,
    progress: null,
    result: null,
    error: null,
  };
  assert.match(describeTrainingJob(base), /^🏋️ Training job 4 \(config tiny\) is queued/);
  assert.equal(
    describeTrainingJob({
      ...base,
      state: 'running',
      progress: { stage: 'gpt', step: 3, total: 10, loss: 2, etaS: 70, fraction: 0.3, at: '' },
    }),
    '🏋️ Training job 4 (config tiny): gpt step 3/10 · loss 2.0000 · ETA 1m10s (30%)',
  );
  assert.equal(
    describeTrainingJob({ ...base, state: 'failed', error: 'boom' }),
    '⚠️ Training job 4 (config tiny) failed: boom',
  );
  assert.match(
    describeTrainingJob({ ...base, state: 'rejected', error: 'gate failed: x', result: { artefacts: '/a' } }),
    /was not published: gate failed: x\. The model is kept in \/a\.$/,
  );
  assert.ok(
    describeTrainingJob({ ...base, state: 'failed', error: 'x'.repeat(5000) }).length <= 1900,
    'fits a Discord message',
  );
});

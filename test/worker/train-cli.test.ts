// `charades train` and `charades models`: the real CLI for what a person sees (one-line errors, exit codes),
// and the commands in-process for the rest.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { DEFAULT_TEXT_ENCODER, liveVersion, publishVersion } from '../../src/motion/registry.js';
import { registerTrainCommands, TrainingJobStore, trainingDbPath } from '../../src/worker/train/index.js';
import { FAKE_TRAINER, PYTHON, makeModel, writeFakeTrainerInputs } from '../fixtures/train-worker/models.js';
import { registerModelsCommands } from '../../src/motion/cli/models.js';

const root = mkdtempSync(join(tmpdir(), 'charades-train-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'charades.js');

function envFor(dir: string): NodeJS.ProcessEnv {
  const cache = join(dir, 'cache');
  writeFakeTrainerInputs(
    join(cache, 'features', 'charades-ric71-1'),
    join(cache, 'embeddings', DEFAULT_TEXT_ENCODER.id),
  );
  return {
    ...process.env,
    CHARADES_DATA_DIR: join(dir, 'state'),
    CHARADES_MODELS: join(dir, 'models'),
    CHARADES_CACHE: cache,
    CHARADES_TRAINER: `${PYTHON} ${FAKE_TRAINER}`,
    // The fixture's toy graphs carry no ONNX evaluator to run the production evaluation with (see train-production.test.ts).
    CHARADES_TRAIN_EVAL: 'trainer',
    FAKE_STEPS: '3',
    FAKE_STEP_S: '0.01',
  };
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the commands in this process against `env`'s folders; resolves with what they printed. */
async function inProcess(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    const program = new Command('charades').exitOverride();
    registerTrainCommands(program);
    registerModelsCommands(program);
    await program.parseAsync(['node', 'charades', ...args]);
    return out;
  } finally {
    process.stdout.write = write;
    process.env = saved;
  }
}

test('charades train --wait runs the job here: progress on stderr, the new version live, models list marks it', async () => {
  const env = envFor(mkdtempSync(join(root, 'wait-')));
  const r = await cli(['train', '--config', 'tiny', '--wait'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /queued training job 1 \(config tiny\)/);
  assert.match(r.stdout, /job 1 published \(config tiny\): charades-tiny-job1-\S+ is live/);
  assert.match(r.stderr, /train: vq step 1\/3 · loss 1\.0000/);
  const live = liveVersion(env.CHARADES_MODELS!);
  assert.ok(live);
  const list = await inProcess(['models', 'list'], env);
  assert.match(list, new RegExp(`^\\* ${live} .*r_precision_top3=0\\.5000 fid=1\\.000`, 'm'));
});

test('bad input is one line on stderr and exit code 1, never a stack trace', async () => {
  const dir = mkdtempSync(join(root, 'bad-'));
  const env = envFor(dir);
  const notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'walk.txt'), 'a person walks\n');
  const r = await cli(['train', '--data', notes], env);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^charades: --data .*notes: not a motion data folder \(no index\.jsonl, no BVH files, no new_joints\/\*\.npy\)\n$/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const v = await cli(['models', 'verify'], env);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /^charades: no live version in .*models; name one: charades models verify VERSION/);
});

test('train --list, --status and --cancel; bad options say what is wrong', async () => {
  const env = envFor(mkdtempSync(join(root, 'queue-')));
  assert.match(
    await inProcess(['train', '--config', 'small'], env),
    /queued training job 1 \(config small\)\na training worker runs it/,
  );
  assert.match(await inProcess(['train', '--list'], env), /job 1 queued \(config small\)/);
  assert.match(
    await inProcess(['train', '--cancel', '1'], env),
    /job 1 cancelled \(config small\): cancelled before it started/,
  );
  assert.match(await inProcess(['train', '--status', '1'], env), /job 1 cancelled/);
  await assert.rejects(inProcess(['train', '--status', 'x'], env), /--status expects a job number, got 'x'/);
  await assert.rejects(inProcess(['train', '--status', '7'], env), /no training job 7/);
  await assert.rejects(
    inProcess(['train', '--config', 'huge'], env),
    /--config must be a preset \(tiny, small, full\) or a \.json file, got 'huge'/,
  );
  await assert.rejects(inProcess(['train', '--config', 'missing.json'], env), /--config missing\.json: file not found/);
  await assert.rejects(
    inProcess(['train', '--gate', 'test.fid:smaller'], env),
    /--gate: 'test\.fid:smaller' should be METRIC:higher, METRIC:lower or METRIC:not-lower/,
  );
  await assert.rejects(inProcess(['train', '--data', root, '--data', root], env), /--data .*: given twice/);
  await assert.rejects(inProcess(['train', '--data', join(root, 'nope')], env), /--data .*nope: no such folder/);
  await assert.rejects(
    inProcess(['train', '--data', mkdtempSync(join(root, 'empty-'))], env),
    /not a motion data folder \(no index\.jsonl, no BVH files, no new_joints\/\*\.npy\)/,
  );
  const store = new TrainingJobStore(trainingDbPath(env.CHARADES_DATA_DIR!));
  assert.equal(store.list().length, 1, 'rejected commands queued nothing');
  store.close();
});

test('models use, rollback and verify', async () => {
  const env = envFor(mkdtempSync(join(root, 'models-')));
  const registry = env.CHARADES_MODELS!;
  await Promise.all(['m1', 'm2'].map((v) => makeModel(join(root, 'src', v), v)));
  await publishVersion(join(root, 'src', 'm1'), { registry });
  await publishVersion(join(root, 'src', 'm2'), { registry });
  assert.match(await inProcess(['models', 'rollback'], env), /m1 is live again \(was m2\)/);
  assert.match(await inProcess(['models', 'use', 'm2'], env), /m2 is live \(was m1\)/);
  assert.match(await inProcess(['models', 'verify', '--no-load'], env), /^m2: ok$/m);
  writeFileSync(join(registry, 'm1', 'gpt.onnx'), 'garbage');
  const saved = process.exitCode;
  assert.match(await inProcess(['models', 'verify', 'm1'], env), /^m1: gpt\.onnx: sha256 .* does not match/m);
  assert.equal(process.exitCode, 1);
  process.exitCode = saved;
  await assert.rejects(inProcess(['models', 'use', 'm1'], env), /refusing to make m1 live/);
  assert.equal(liveVersion(registry), 'm2');
});

test('charades worker --train: runs queued jobs; stopped with SIGTERM mid-job, the next start resumes it from its checkpoint', async () => {
  const env: NodeJS.ProcessEnv = {
    ...envFor(mkdtempSync(join(root, 'worker-'))),
    FAKE_STEPS: '12',
    FAKE_STEP_S: '0.1',
  };
  assert.match((await cli(['train', '--config', 'tiny'], env)).stdout, /queued training job 1/);
  const startWorker = () => {
    const child = spawn(process.execPath, [BIN, 'worker', '--train'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '' };
    child.stderr.on('data', (d: Buffer) => (out.text += d.toString()));
    child.stdout.on('data', (d: Buffer) => (out.text += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, out, exited };
  };
  const waitFor = async (what: string, check: () => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const store = new TrainingJobStore(trainingDbPath(env.CHARADES_DATA_DIR!));
  const first = startWorker();
  try {
    await waitFor('vq step 3', () => {
      const p = store.require(1).progress;
      return p?.stage === 'vq' && (p.step ?? 0) >= 3;
    });
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.out.text);
    assert.match(first.out.text, /SIGTERM: stopping; a running job will resume from its checkpoint on the next start/);
  } finally {
    first.child.kill('SIGKILL');
  }
  assert.equal(store.require(1).state, 'running', 'the stopped worker left the job to be resumed');
  const second = startWorker();
  try {
    await waitFor('the job to be published', () => store.require(1).state === 'published');
    assert.match(second.out.text, /train: job 1 resuming: /);
    assert.equal(liveVersion(env.CHARADES_MODELS!), store.require(1).result?.version);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  } finally {
    second.child.kill('SIGKILL');
    store.close();
  }
});

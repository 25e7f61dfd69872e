import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Motion } from '../../src/motion/contracts.js';
import { saveMotionFile } from '../../src/motion/formats.js';
import { createEngine, type GenerateProgress } from '../../src/motion/engine/engine.js';
import { loadModel } from '../../src/motion/engine/model.js';
import { createSession, parseExecutionProviders } from '../../src/motion/engine/providers.js';
import { namedPose } from '../../src/motion/engine/poses.js';
import { USE_DIM, USE_ENCODER_ID } from '../../src/motion/text/index.js';
import { loadConfig } from '../../src/config/index.js';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny-model');
const USE = { id: USE_ENCODER_ID, dim: USE_DIM };
const enginePromise = createEngine({ modelDir: TINY });
const walk = { segments: [{ text: 'a person walks forward', seconds: 2 }] };

function sameJoints(a: Motion, b: Motion): boolean {
  return a.numFrames === b.numFrames && a.joints.every((v, i) => v === b.joints[i]);
}

/** A private copy of the tiny model that a test may break. */
function tinyCopy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'charades-engine-')), 'tiny');
  cpSync(TINY, dir, { recursive: true });
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

test('same seed → same motion; another seed → another; sample 0 of four = the single sample', async () => {
  const engine = await enginePromise;
  const [a] = (await engine.generate({ ...walk, seed: 7 })).motions;
  const [b] = (await engine.generate({ ...walk, seed: 7 })).motions;
  const [c] = (await engine.generate({ ...walk, seed: 8 })).motions;
  assert.ok(sameJoints(a, b));
  assert.ok(!sameJoints(a, c));
  const four = (await engine.generate({ ...walk, seed: 7, samples: 4 })).motions;
  assert.equal(four.length, 4);
  assert.ok(sameJoints(four[0], a));
  assert.ok(!sameJoints(four[1], four[2]));
  assert.equal(a.numFrames, 40);
  assert.equal(a.fps, 20);
  assert.equal(a.provenance.source, 'model:tiny-fixture');
  assert.equal(a.provenance.seed, 7);
  assert.ok(a.rotations && a.restOffsets, 'export rotations attached');
});

test('every task of the request contract runs and is recorded in provenance', async () => {
  const engine = await enginePromise;
  const tasks = async (segments: unknown[]): Promise<{ m: Motion; tasks: string[] }> => {
    const [m] = (await engine.generate({ segments, seed: 1 } as never)).motions;
    return { m, tasks: (m.provenance.request as { tasks: string[] }).tasks };
  };
  assert.deepEqual((await tasks([{ text: 'wave', seconds: 1 }])).tasks, ['text']);
  const init = await tasks([{ text: 'stand up', seconds: 2, control: { init: { kind: 'named', name: 'sitting' } } }]);
  assert.deepEqual(init.tasks, ['init_pose']);
  assert.deepEqual(
    (await tasks([{ text: 'sit', seconds: 2, control: { last: { kind: 'named', name: 'sitting' } } }])).tasks,
    ['last_pose'],
  );
  const keys = await tasks([
    {
      text: 'dance',
      seconds: 3,
      control: {
        keys: [
          { at: 1, pose: { kind: 'named', name: 'hands-up' } },
          { at: 2.5, pose: { kind: 'named', name: 't-pose' } },
        ],
      },
    },
  ]);
  assert.deepEqual(keys.tasks, ['key_poses']);
  const multi = await tasks([
    { text: 'wave', seconds: 1.5 },
    { text: 'sit down', seconds: 2, descriptions: ['The person bends the knees and lowers the hips.'] },
  ]);
  assert.deepEqual(multi.tasks, ['text', 'continue']);
  assert.deepEqual(multi.m.segments, [
    { text: 'wave', start: 0, end: 32 },
    { text: 'sit down', start: 32, end: 72 },
  ]);

  const dir = mkdtempSync(join(tmpdir(), 'charades-engine-'));
  const earlier = join(dir, 'earlier.json');
  saveMotionFile(init.m, earlier);
  const cont = await tasks([{ text: 'walk on', seconds: 2, control: { continueFrom: { path: earlier } } }]);
  assert.deepEqual(cont.tasks, ['continue']);
  assert.equal(cont.m.numFrames, 40, 'only the new frames are returned');
  const slow = (await engine.generate({ ...walk, seed: 1, speed: 0.5 })).motions[0];
  assert.equal(slow.numFrames, 80);
});

test('an init pose from an earlier motion places the new motion exactly where that frame stood', async () => {
  const engine = await enginePromise;
  const [first] = (await engine.generate({ segments: [{ text: 'walk forward', seconds: 3 }], seed: 4 })).motions;
  const file = join(mkdtempSync(join(tmpdir(), 'charades-engine-')), 'first.json');
  saveMotionFile(first, file);
  const [next] = (
    await engine.generate({
      segments: [
        { text: 'turn around', seconds: 1, control: { init: { kind: 'frame', motion: { path: file }, frame: -1 } } },
      ],
      seed: 4,
    })
  ).motions;
  const last = (first.numFrames - 1) * 66;
  assert.ok(
    Math.abs(next.joints[0] - first.joints[last]) < 1e-4 && Math.abs(next.joints[2] - first.joints[last + 2]) < 1e-4,
  );
});

test('progress goes from 0 to 1 through every decoded token', async () => {
  const engine = await enginePromise;
  const seen: GenerateProgress[] = [];
  await engine.generate(
    {
      segments: [
        { text: 'jump', seconds: 1 },
        { text: 'land', seconds: 1 },
      ],
      samples: 4,
    },
    { onProgress: (p) => seen.push(p) },
  );
  assert.equal(seen[0].fraction, 0);
  assert.equal(seen.at(-1)?.fraction, 1);
  assert.equal(seen.filter((p) => p.stage === 'decode').length, 10);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].fraction >= seen[i - 1].fraction);
});

test('bad requests are refused with a clear message', async () => {
  const engine = await enginePromise;
  const nanPose = Array.from(namedPose('standing', { dataDir: null }).joints);
  nanPose[10] = NaN;
  const cases: [unknown, RegExp][] = [
    [
      { segments: [{ text: 'wave', seconds: 2, control: { init: { kind: 'joints', joints: nanPose } } }] },
      /segments\.0\.control\.init\.joints\.10: .*(NaN|number)/i,
    ],
    [{ segments: [{ text: 'wave', seconds: 1000 }] }, /segments\.0\.seconds: .*12/],
    [
      { segments: [{ text: 'wave', seconds: 2, control: { init: { kind: 'named', name: 'dabbing' } } }] },
      /segments\.0\.control\.init\.name/,
    ],
    [{ segments: [{ text: '   ', seconds: 2 }] }, /the action text is empty/],
    [
      { segments: [{ text: 'wave', seconds: 2 }], modelVersion: 'v999' },
      /asks for model version "v999", but this engine runs "tiny-fixture"/,
    ],
    [
      {
        segments: [
          { text: 'wave', seconds: 2, control: { keys: [{ at: 3, pose: { kind: 'named', name: 't-pose' } }] } },
        ],
      },
      /keys\[0\]: a key pose at 3 s is after the end of the 2 s segment/,
    ],
    [
      {
        segments: [
          { text: 'a', seconds: 1 },
          { text: 'b', seconds: 1, control: { continueFrom: { path: '/x.json' } } },
        ],
      },
      /segments\[1\]\.control\.continueFrom: only the first segment/,
    ],
    [
      { segments: [{ text: 'wave', seconds: 2, control: { continueFrom: { path: '/nonexistent/m.json' } } }] },
      /\/nonexistent\/m\.json: no such file/,
    ],
    [
      { segments: [{ text: 'wave', seconds: 2, control: { continueFrom: { id: 'abc' } } }] },
      /motion "abc" cannot be found/,
    ],
    [
      {
        segments: [
          { text: 'wave', seconds: 12 },
          { text: 'wave', seconds: 12 },
          { text: 'wave', seconds: 12 },
        ],
      },
      /the request is 36\.0 s long; the limit is 30 s/,
    ],
  ];
  for (const [req, re] of cases)
    await assert.rejects(engine.generate(req as never), re, JSON.stringify(req).slice(0, 120));
  const short = join(mkdtempSync(join(tmpdir(), 'charades-engine-')), 'short.json');
  const [one] = (await engine.generate({ segments: [{ text: 'x', seconds: 0.5 }] })).motions;
  saveMotionFile(
    { ...one, numFrames: 3, joints: one.joints.slice(0, 3 * 66), rotations: undefined, segments: [] },
    short,
  );
  await assert.rejects(
    engine.generate({ segments: [{ text: 'go', seconds: 1, control: { continueFrom: { path: short } } }] }),
    /has 3 frames; at least 5 are needed/,
  );
});

test('a model version that does not match is refused: files, encoder, IO names, layout, registry', async () => {
  const corrupt = tinyCopy();
  const bytes = readFileSync(join(corrupt, 'vq_decoder.onnx'));
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(join(corrupt, 'vq_decoder.onnx'), bytes);
  await assert.rejects(
    loadModel(corrupt, { encoder: USE }),
    /vq_decoder\.onnx has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64} \(corrupt or replaced file\)/,
  );

  await assert.rejects(
    loadModel(TINY, { encoder: { id: 'onnx-minilm-abc', dim: 384 } }),
    /trained with text encoder use-en-energetic-0\.2\.0 \(512-d\), but the configured encoder is onnx-minilm-abc \(384-d\)/,
  );

  const renamed = tinyCopy();
  editManifest(renamed, (m) => ((m.onnx as { gpt: { inputs: string[] } }).gpt.inputs[0] = 'input_ids'));
  await assert.rejects(
    loadModel(renamed, { encoder: USE }),
    /onnx\.gpt\.inputs are \[.*input_ids.*\], the engine expects/,
  );

  const swapped = tinyCopy();
  cpSync(join(swapped, 'vq_decoder.onnx'), join(swapped, 'vq_encoder.onnx'));
  editManifest(
    swapped,
    (m) =>
      ((m.files as Record<string, string>)['vq_encoder.onnx'] = (m.files as Record<string, string>)['vq_decoder.onnx']),
  );
  await assert.rejects(
    loadModel(swapped, { encoder: USE }),
    /vq_encoder\.onnx: the ONNX graph's inputs are \[codes\], but the manifest and engine expect \[features\]/,
  );

  const layout = tinyCopy();
  editManifest(layout, (m) => ((m.features as { layout: string }).layout = 'humanml3d-263'));
  await assert.rejects(loadModel(layout, { encoder: USE }), /model uses feature layout humanml3d-263/);

  const broken = tinyCopy();
  writeFileSync(join(broken, 'manifest.json'), '{"format": "charades-model/1"');
  await assert.rejects(loadModel(broken, { encoder: USE }), /manifest\.json: not valid JSON/);
  editManifest(tinyCopy(), () => undefined);
  const wrongFormat = tinyCopy();
  editManifest(wrongFormat, (m) => (m.format = 'other/2'));
  await assert.rejects(loadModel(wrongFormat, { encoder: USE }), /not a charades-model\/1 manifest: format/);
  await assert.rejects(loadModel(join(tmpdir(), 'no-such-model'), { encoder: USE }), /has no manifest\.json/);

  const registry = mkdtempSync(join(tmpdir(), 'charades-registry-'));
  await assert.rejects(createEngine({ modelsDir: registry }), /no live model in .* \(models\/LIVE is missing\)/);
  await assert.rejects(createEngine({ modelsDir: registry, version: 'v2' }), /model version "v2" is not in/);
  mkdirSync(join(registry, 'tiny'));
  cpSync(TINY, join(registry, 'tiny'), { recursive: true });
  writeFileSync(join(registry, 'LIVE'), 'tiny\n');
  const live = await createEngine({ modelsDir: registry });
  assert.equal(live.version, 'tiny-fixture');
  await live.close();
});

test('execution providers: parsed from config, tried in order, CPU fallback reported', async () => {
  assert.deepEqual(parseExecutionProviders(undefined), ['cpu']);
  assert.deepEqual(parseExecutionProviders('auto'), ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(parseExecutionProviders('cuda, cpu'), ['cuda', 'cpu']);
  assert.throws(() => parseExecutionProviders('tpu,cpu'), /unknown execution provider "tpu"/);
  const warnings: string[] = [];
  const infos: string[] = [];
  const log = { info: (_: object, m: string) => infos.push(m), warn: (_: object, m: string) => warnings.push(m) };
  const { provider, session } = await createSession(readFileSync(join(TINY, 'vq_decoder.onnx')), 'vq_decoder', {
    providers: ['cuda', 'cpu'],
    log,
  });
  await session.release();
  if (provider === 'cuda') {
    assert.equal(warnings.length, 0);
  } else {
    assert.equal(provider, 'cpu');
    assert.match(warnings[0], /cuda unavailable for vq_decoder, trying the next provider/);
  }
  assert.match(infos[0], new RegExp(`vq_decoder runs on ${provider}`));
  await assert.rejects(
    createSession(Buffer.from('not onnx'), 'junk.onnx', { providers: ['cpu'] }),
    /junk\.onnx: no execution provider could load it \(cpu: /,
  );
});

test('hot swap: close() lets running requests finish on the old engine, then refuses new ones', async () => {
  const engine = await createEngine({ modelDir: TINY });
  const running = engine.generate({ segments: [{ text: 'run', seconds: 3 }], samples: 4 });
  const closed = engine.close();
  const { motions } = await running;
  assert.equal(motions.length, 4);
  await closed;
  await assert.rejects(engine.generate(walk), /the engine for model tiny-fixture is closed; create a new engine/);
});

test('inconsistent manifests and settings are refused by name', async () => {
  const vocab = tinyCopy();
  editManifest(vocab, (m) => ((m.gpt as { vocab: number }).vocab = 32));
  await assert.rejects(loadModel(vocab, { encoder: USE }), /gpt vocab 32×1 does not match vq codebooks 64×1/);
  const down = tinyCopy();
  editManifest(down, (m) => ((m.vq as { downsample: number }).downsample = 8));
  await assert.rejects(loadModel(down, { encoder: USE }), /vq\.downsample is 8; the engine supports 4/);
  const noGpt = tinyCopy();
  editManifest(noGpt, (m) => delete (m.onnx as Record<string, unknown>).gpt);
  await assert.rejects(loadModel(noGpt, { encoder: USE }), /onnx\.gpt is missing/);
  const missing = tinyCopy();
  editManifest(missing, (m) => ((m.files as Record<string, string>)['extra.bin'] = 'a'.repeat(64)));
  await assert.rejects(loadModel(missing, { encoder: USE }), /extra\.bin is listed in manifest\.files but missing/);
  const noTasks = tinyCopy();
  editManifest(noTasks, (m) => delete (m.gpt as Record<string, unknown>).tasks);
  await assert.rejects(loadModel(noTasks, { encoder: USE }), /gpt section: tasks/);
  // CHARADES_ORT_THREADS is validated where the configuration is read (src/config), before any engine loads.
  assert.throws(() => loadConfig({ env: { CHARADES_ORT_THREADS: 'many' } }), /env CHARADES_ORT_THREADS = "many"/);
});

test('footCleanup: false returns the same codes without the foot lock', async () => {
  const engine = await enginePromise;
  const req = { segments: [{ text: 'walk in a circle', seconds: 3 }], seed: 11 };
  const [clean] = (await engine.generate(req)).motions;
  const [raw] = (await engine.generate(req, { footCleanup: false })).motions;
  assert.equal(clean.numFrames, raw.numFrames);
  // Only the legs are re-solved; the rest of the body differs at most by one floor shift for the whole clip.
  const dy = clean.joints[1] - raw.joints[1];
  const upper = [0, 3, 6, 9, 12, 15, 16, 17, 18, 19, 20, 21];
  for (let t = 0; t < clean.numFrames; t++) {
    for (const j of upper) {
      const o = (t * 22 + j) * 3;
      assert.ok(
        Math.abs(clean.joints[o] - raw.joints[o]) < 1e-6 && Math.abs(clean.joints[o + 2] - raw.joints[o + 2]) < 1e-6,
      );
      assert.ok(Math.abs(clean.joints[o + 1] - raw.joints[o + 1] - dy) < 1e-5);
    }
  }
});

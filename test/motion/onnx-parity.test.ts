/**
 * The exported graphs, run by onnxruntime-node exactly as the engine runs them, against PyTorch outputs saved by
 * `python -m trainer.fixtures` (trainer/ONNX.md): decoder features within 1e-4, encoder codes and GPT argmax
 * tokens identical, and the engine's whole greedy decoding loop (guidance, control, KV cache) code for code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeTokens } from '../../src/motion/engine/decode.js';
import { TASK_NAMES, loadModel } from '../../src/motion/engine/model.js';
import { sampleRng } from '../../src/motion/engine/sampling.js';
import { USE_DIM, USE_ENCODER_ID } from '../../src/motion/text/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const modelPromise = loadModel(join(FIXTURES, 'tiny-model'), { encoder: { id: USE_ENCODER_ID, dim: USE_DIM } });

interface TensorJson {
  dtype: 'float32' | 'int64';
  dims: number[];
  data: number[];
}
interface ParityFile {
  model: string;
  inputs: Record<string, TensorJson>;
  outputs: Record<string, TensorJson>;
}

function fixture<T = ParityFile>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, 'parity', `${name}.json`), 'utf8')) as T;
}

function toTensor(t: TensorJson): ort.Tensor {
  return t.dtype === 'int64'
    ? new ort.Tensor(
        'int64',
        BigInt64Array.from(t.data, (x) => BigInt(x)),
        t.dims,
      )
    : new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

async function run(name: string): Promise<{ f: ParityFile; out: Record<string, ort.Tensor> }> {
  const f = fixture(name);
  const model = await modelPromise;
  const graph = (Object.keys(model.sessions) as (keyof typeof model.sessions)[]).find(
    (g) => model.manifest.onnx[g].file === f.model,
  );
  assert.ok(graph, `${f.model} is one of the model's graphs`);
  const feeds = Object.fromEntries(Object.entries(f.inputs).map(([k, v]) => [k, toTensor(v)]));
  return { f, out: await model.sessions[graph].run(feeds) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** argmax over the last axis (size V) of a row-major array. */
function argmaxRows(data: ArrayLike<number>, V: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / V; r++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (data[r * V + v] > data[r * V + best]) best = v;
    out.push(best);
  }
  return out;
}

test('vq_encoder: identical codes', async () => {
  const { f, out } = await run('vq_encoder');
  assert.deepEqual(out.codes.dims, f.outputs.codes.dims);
  assert.deepEqual(Array.from(out.codes.data as BigInt64Array, Number), f.outputs.codes.data);
});

test('vq_decoder: features within 1e-4', async () => {
  const { f, out } = await run('vq_decoder');
  assert.deepEqual(out.features.dims, f.outputs.features.dims);
  const diff = maxAbsDiff(out.features.data as Float32Array, f.outputs.features.data);
  assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
});

for (const step of ['gpt_step0', 'gpt_step1']) {
  test(`${step}: identical argmax tokens, cache within 1e-4`, async () => {
    const { f, out } = await run(step);
    const V = f.outputs.logits.dims.at(-1) as number;
    assert.deepEqual(out.logits.dims, f.outputs.logits.dims);
    assert.deepEqual(argmaxRows(out.logits.data as Float32Array, V), argmaxRows(f.outputs.logits.data, V));
    assert.deepEqual(out.present_key_values.dims, f.outputs.present_key_values.dims);
    const diff = maxAbsDiff(out.present_key_values.data as Float32Array, f.outputs.present_key_values.data);
    assert.ok(diff <= 1e-4, `present_key_values max abs diff ${diff}`);
  });
}

interface GreedyFixture {
  request: {
    text_emb: number[];
    task: number;
    duration: number;
    controls: { codes: number[]; pos: number }[];
    guidance: number;
    temperature: number;
  };
  codes: number[][];
}

test("the engine's greedy decoding loop (guidance, init-pose control, KV cache) reproduces PyTorch's codes", async () => {
  const model = await modelPromise;
  const { request, codes } = fixture<GreedyFixture>('gpt_greedy');
  const task = TASK_NAMES.find((t) => model.gpt.tasks[t] === Number(request.task));
  assert.ok(task, `task id ${request.task} is known`);
  const [decoded] = await decodeTokens(model, {
    task,
    textEmb: Float32Array.from(request.text_emb),
    duration: Number(request.duration),
    controls: request.controls.map((c) => ({ codes: c.codes.map(Number), p: Number(c.pos) })),
    past: [[]],
    sampling: { temperature: Number(request.temperature) },
    guidance: Number(request.guidance),
    rngs: [sampleRng(0, 0)],
  });
  assert.deepEqual(decoded, codes);
});

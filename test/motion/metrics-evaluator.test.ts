import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { mmDist, rPrecision } from '../../src/motion/metrics/index.js';

// Debian has no Python onnxruntime, so this is the runtime check of the evaluator export: train the tiny evaluator
// on the synthetic cache (seconds), then run its ONNX files here and compare with the PyTorch outputs it saved.
const REPO = resolve(import.meta.dirname, '../..');
const PYTHON = process.env.CHARADES_PYTHON ?? '/usr/bin/python3';

interface Fixture {
  features: number[][][];
  lengths: number[];
  text_embedding: number[][];
  motion_embedding: number[][];
  text_output: number[][];
}

function trainTinyEvaluator(dir: string): void {
  const script = [
    'import sys',
    'from trainer.synthetic import write_synthetic, write_synthetic_pairs',
    'from trainer.train_evaluator import main',
    `write_synthetic('${dir}/cache', '${dir}/emb', clips_per_pair=8)`,
    `write_synthetic_pairs('${dir}/pairs.json')`,
    `sys.exit(main(['--config', 'tiny', '--steps', '20', '--cache', '${dir}/cache', '--embeddings', '${dir}/emb', '--zeroshot', '${dir}/pairs.json', '--out', '${dir}/out']))`,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `tiny evaluator training failed (needs ${PYTHON} with torch and onnx):\n${r.stderr}`);
}

const flat3 = (x: number[][][]) => Float32Array.from(x.flat(2));

test('eval_motion.onnx and eval_text.onnx reproduce the PyTorch embeddings (max abs diff ≤ 1e-4)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-evaluator-'));
  try {
    trainTinyEvaluator(dir);
    const fx = JSON.parse(readFileSync(join(dir, 'out', 'evaluator_parity.json'), 'utf8')) as Fixture;
    const motion = await ort.InferenceSession.create(join(dir, 'out', 'eval_motion.onnx'));
    const text = await ort.InferenceSession.create(join(dir, 'out', 'eval_text.onnx'));
    assert.deepEqual(motion.inputNames, ['features', 'lengths']);
    assert.deepEqual(text.inputNames, ['text_embedding']);
    const [B, T, D] = [fx.features.length, fx.features[0].length, fx.features[0][0].length];
    const out = await motion.run({
      features: new ort.Tensor('float32', flat3(fx.features), [B, T, D]),
      lengths: new ort.Tensor('int64', BigInt64Array.from(fx.lengths.map(BigInt)), [B]),
    });
    const got = out.embedding.data as Float32Array;
    const want = fx.motion_embedding.flat();
    assert.equal(got.length, want.length);
    const diff = Math.max(...want.map((w, i) => Math.abs(w - got[i])));
    assert.ok(diff <= 1e-4, `motion max abs diff ${diff}`);

    // One clip alone, unpadded, gives the same embedding as inside the padded batch (dynamic batch and time axes).
    const L = fx.lengths[2];
    const alone = await motion.run({
      features: new ort.Tensor('float32', Float32Array.from(fx.features[2].slice(0, L).flat()), [1, L, D]),
      lengths: new ort.Tensor('int64', BigInt64Array.from([BigInt(L)]), [1]),
    });
    const a = alone.embedding.data as Float32Array;
    const E = a.length;
    assert.ok(Math.max(...Array.from(a, (v, i) => Math.abs(v - got[2 * E + i]))) <= 1e-4);

    const tOut = await text.run({
      text_embedding: new ort.Tensor('float32', Float32Array.from(fx.text_embedding.flat()), [
        fx.text_embedding.length,
        fx.text_embedding[0].length,
      ]),
    });
    const tGot = tOut.embedding.data as Float32Array;
    const tDiff = Math.max(...fx.text_output.flat().map((w, i) => Math.abs(w - tGot[i])));
    assert.ok(tDiff <= 1e-4, `text max abs diff ${tDiff}`);

    // The ONNX embeddings plug straight into the distribution metrics.
    const m = { data: got, rows: B, dim: E };
    assert.ok(mmDist(m, m) === 0);
    assert.deepEqual(rPrecision(m, m, { batchSize: 3 }).topK, [1, 1, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

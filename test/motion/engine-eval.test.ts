/**
 * `charades eval` on the tiny CI model: the whole production path runs (engine, ONNX evaluator, metrics,
 * report files). The evaluator is trained here in seconds on the trainer's synthetic data, as the metrics
 * room's evaluator test does; the tiny model's numbers are meaningless, their presence and shape are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { runEvalCommand } from '../../src/motion/cli/eval.js';
import { evaluateProductionPath } from '../../src/motion/engine/evaluate.js';
import { Raster } from '../../src/motion/engine/png.js';

const REPO = resolve(import.meta.dirname, '../..');
const TINY = join(REPO, 'test', 'fixtures', 'tiny-model');
const PYTHON = process.env.CHARADES_PYTHON ?? '/usr/bin/python3';

function trainTinyEvaluator(dir: string): string {
  const script = [
    'import sys',
    'from trainer.synthetic import write_synthetic, write_synthetic_pairs',
    'from trainer.train_evaluator import main',
    `write_synthetic('${dir}/cache', '${dir}/emb', clips_per_pair=8, emb_dim=512)`,
    `write_synthetic_pairs('${dir}/pairs.json')`,
    `sys.exit(main(['--config', 'tiny', '--steps', '20', '--cache', '${dir}/cache', '--embeddings', '${dir}/emb', '--zeroshot', '${dir}/pairs.json', '--out', '${dir}/out']))`,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `tiny evaluator training failed (needs ${PYTHON} with torch and onnx):\n${r.stderr}`);
  return join(dir, 'out');
}

/** An independent PNG reader: signature, chunk CRCs via zlib's crc32-free path (length/type walk), IHDR size, IDAT inflates to the right size. */
function readPng(bytes: Buffer): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off < bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.subarray(off + 4, off + 8).toString('latin1');
    const data = bytes.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  assert.equal(inflateSync(Buffer.concat(idat)).length, (width * 3 + 1) * height);
  return { width, height };
}

test('PNG raster: text and bars encode to a valid PNG', () => {
  const r = new Raster(40, 20);
  r.text(1, 1, 'R-PREC 0.9%');
  r.rect(0, 15, 40, 5, [255, 0, 0]);
  assert.deepEqual(readPng(r.png()), { width: 40, height: 20 });
  assert.deepEqual([...r.pixels.subarray(16 * 40 * 3, 16 * 40 * 3 + 3)], [255, 0, 0]);
});

test('charades eval runs the production path end to end and writes its report', async () => {
  const evaluator = trainTinyEvaluator(mkdtempSync(join(tmpdir(), 'charades-eval-')));
  const out = mkdtempSync(join(tmpdir(), 'charades-eval-report-'));
  const { report, files } = await runEvalCommand({ model: TINY, evaluator, limit: '4', report: out, quiet: true });
  assert.equal(report.model, 'tiny-fixture');
  assert.equal(report.sets.test.clips, 4);
  assert.ok(report.sets.zeroshot && report.sets.zeroshot.clips === 4);
  assert.equal(report.sets.test.rPrecision.gt, null, 'four clips make no full batch of 32');
  assert.match(report.sets.test.rPrecision.note ?? '', /fewer than 32 clips/);
  for (const v of [
    report.sets.test.fid.k4,
    report.sets.test.mmDist.gt,
    report.sets.test.footSkate.k4,
    report.poseControl.init.textOnly,
    report.continuation.model.ade,
  ]) {
    assert.ok(Number.isFinite(v), `finite metric ${v}`);
  }
  assert.equal(report.poseControl.clips, 4);
  assert.equal(report.sets.test.footSkatePerClip.k4.length, 4);
  assert.deepEqual(
    files.map((f) => f.slice(out.length + 1)),
    ['report.json', 'report.md', 'rprecision-per-action.png', 'foot-skate-histogram.png', 'pose-control.png'],
  );
  for (const f of files.filter((x) => x.endsWith('.png'))) assert.ok(readPng(readFileSync(f)).width >= 640);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| initial pose \(Recon\) \|/);
  // Acting fidelity: held-out paraphrases, the external pack, both sides of every hand and leg request, floor acts.
  const f = report.fidelity;
  assert.equal(report.sets.paraphrases?.clips, 4);
  assert.ok(report.sets.paraphrases && report.sets.test.clips === 4);
  assert.equal(f.external?.pack, 'hdm05');
  assert.equal(f.external?.clips, 4);
  assert.deepEqual(
    f.sides.requests.map((r) => r.asked),
    ['left', 'right', 'left', 'right', 'left', 'right', 'left', 'right'],
  );
  assert.equal(f.sides.seeds, 3);
  assert.ok(f.sides.accuracy >= 0 && f.sides.accuracy <= 1);
  assert.ok(
    f.floor.clips.length > 0 && f.floor.clips.every((c) => c.gtPelvisMin <= 0.6 && c.generatedPelvisMin.length === 2),
  );
  assert.equal(f.floor.paraphrases.length, 6);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /### Acting fidelity/);
  assert.equal(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).model, 'tiny-fixture');
});

test('eval refuses a model without an evaluator, an evaluator of another text space, and bad options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-eval-32-'));
  const script = `import sys\nfrom trainer.synthetic import write_synthetic, write_synthetic_pairs\nfrom trainer.train_evaluator import main\nwrite_synthetic('${dir}/cache', '${dir}/emb', clips_per_pair=4)\nwrite_synthetic_pairs('${dir}/pairs.json')\nsys.exit(main(['--config', 'tiny', '--steps', '2', '--cache', '${dir}/cache', '--embeddings', '${dir}/emb', '--zeroshot', '${dir}/pairs.json', '--out', '${dir}/out']))`;
  assert.equal(spawnSync(PYTHON, ['-c', script], { cwd: REPO, encoding: 'utf8', timeout: 120_000 }).status, 0);
  await assert.rejects(
    evaluateProductionPath({ engine: { modelDir: TINY }, evaluatorDir: join(dir, 'out'), limit: 1 }),
    /eval_text\.onnx: the evaluator reads 32-d text embeddings, but model tiny-fixture uses use-en-energetic-0\.2\.0 \(512-d\)/,
  );
  await assert.rejects(
    evaluateProductionPath({ engine: { modelDir: TINY }, limit: 1 }),
    /no evaluator: .*eval_motion\.onnx is missing \(model tiny-fixture carries none; pass --evaluator DIR/,
  );
  await assert.rejects(
    runEvalCommand({ model: TINY, limit: '-2', quiet: true }),
    /--limit must be a whole number ≥ 0, got "-2"/,
  );
  await assert.rejects(
    evaluateProductionPath({ engine: { modelDir: TINY }, zeroShotFile: '/no/pairs.json' }),
    /zero-shot pairs file \/no\/pairs\.json does not exist/,
  );
});

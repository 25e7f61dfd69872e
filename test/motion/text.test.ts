import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, truncateSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CachedSentenceEncoder,
  LruCache,
  USE_ENCODER_ID,
  aggregateEmbedding,
  buildEmbeddingTable,
  collectTableTexts,
  loadSentenceEncoder,
  loadUseEncoder,
  meanVector,
  parseEncoderSpec,
  readEmbeddingTable,
  readExtraTexts,
  tableVector,
  writeEmbeddingTable,
} from '../../src/motion/text/index.js';
import { runEmbed } from '../../src/motion/cli/embed.js';
import { SIDES, textSide } from '../../src/motion/text/side.js';
import { defaultDataDir } from '../../src/motion/paths.js';

const SHARED_USE = '/work/shared/models/use-en-energetic';
const encoderPromise = loadSentenceEncoder('use');

function norm(v: Float32Array): number {
  return Math.hypot(...v);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'charades-text-'));
}

test('USE: 512-d unit vectors, deterministic across calls and encoder instances', async () => {
  const enc = await encoderPromise;
  assert.equal(enc.id, USE_ENCODER_ID);
  assert.equal(enc.dim, 512);
  const texts = ['a person walks forward.', 'someone waves both hands happily.', 'a person bows'];
  const batch = await enc.embed(texts);
  const fresh = await loadUseEncoder();
  const again = await fresh.embed(texts);
  const single = await fresh.embed([texts[1]]);
  assert.equal(batch.length, 3);
  for (const v of batch) assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
  assert.deepEqual(again, batch, 'same texts, fresh encoder: bit-identical vectors');
  assert.ok(
    single[0].every((x, k) => Math.abs(x - batch[1][k]) < 1e-6),
    'alone or in a batch: equal up to float rounding',
  );
  assert.ok(norm(batch[0].map((x, i) => x - batch[1][i])) > 0.1, 'different texts give different vectors');
});

test('USE from a local folder is the same encoder (same id, same vectors) as the npm package', async () => {
  const local = await loadSentenceEncoder(`use:${SHARED_USE}`);
  const pkg = await encoderPromise;
  assert.equal(local.id, USE_ENCODER_ID);
  const [a] = await local.embed(['a person crouches down']);
  const [b] = await pkg.embed(['a person crouches down']);
  assert.deepEqual(a, b);
});

test('USE folder without model.json is refused by name', async () => {
  const dir = tmp();
  await assert.rejects(loadUseEncoder(dir), /has no model\.json/);
});

test('empty texts are refused with the offending index', async () => {
  const enc = await encoderPromise;
  await assert.rejects(enc.embed(['ok', '   ']), /texts\[1\] is empty/);
});

test('the LRU cache serves repeats without calling the encoder and returns copies', async () => {
  const enc = await encoderPromise;
  const c = new CachedSentenceEncoder(enc, 2);
  await c.embed(['a person runs', 'a person runs', 'a person jumps']);
  assert.deepEqual(c.stats, { hits: 1, misses: 2 });
  const [v] = await c.embed(['a person runs']);
  assert.deepEqual(c.stats, { hits: 2, misses: 2 });
  v[0] = 99;
  const [again] = await c.embed(['a person runs']);
  assert.notEqual(again[0], 99);
  await c.embed(['a person sits']); // evicts "a person jumps" (least recently used)
  await c.embed(['a person jumps']);
  assert.equal(c.stats.misses, 4);
});

test('LruCache evicts the least recently used key and rejects capacity 0', () => {
  const l = new LruCache<string, number>(2);
  l.set('a', 1);
  l.set('b', 2);
  l.get('a');
  l.set('c', 3);
  assert.equal(l.get('b'), undefined);
  assert.equal(l.get('a'), 1);
  assert.throws(() => new LruCache(0), /capacity must be at least 1/);
});

test('aggregateEmbedding: mean of description embeddings; the phrase alone when there are none', async () => {
  const enc = await encoderPromise;
  const descriptions = [
    'The person lowers the torso forward from the hips.',
    'The head drops and the back bends, then rises again.',
  ];
  const agg = await aggregateEmbedding('bow', descriptions, enc);
  const parts = await enc.embed(descriptions);
  for (let k = 0; k < 512; k++) assert.ok(Math.abs(agg[k] - (parts[0][k] + parts[1][k]) / 2) < 1e-7);
  const [phrase] = await enc.embed(['bow']);
  assert.deepEqual(await aggregateEmbedding('bow', [], enc), phrase);
  assert.deepEqual(await aggregateEmbedding('bow', undefined, enc), phrase);
  await assert.rejects(aggregateEmbedding('  ', [], enc), /empty phrase/);
});

test('meanVector rejects mismatched and empty input', () => {
  assert.throws(() => meanVector([]), /zero vectors/);
  assert.throws(() => meanVector([new Float32Array(2), new Float32Array(3)]), /vector 1 has 3 dims/);
});

test('encoder spec parsing names the bad part', () => {
  assert.deepEqual(parseEncoderSpec('use'), { kind: 'use' });
  assert.deepEqual(parseEncoderSpec('onnx:/m'), { kind: 'onnx', dir: '/m' });
  assert.throws(() => parseEncoderSpec('onnx:'), /onnx needs a folder/);
  assert.throws(() => parseEncoderSpec('bert:/x'), /unknown encoder "bert"/);
});

test('table texts from the real data: every dataset text, description and label, each once', () => {
  const data = defaultDataDir();
  const meta = collectTableTexts({
    indexPath: join(data, 'index.jsonl'),
    annotationsPath: join(data, 'annotations', 'action-gpt-k4.jsonl'),
  });
  assert.equal(new Set(meta.texts).size, meta.texts.length);
  assert.equal(meta.phrases.length, 289);
  assert.ok(meta.texts.includes('a person walks forward as if exhausted.'));
  assert.equal(meta.kinds[meta.texts.indexOf('walk turn left')], 'label');
  assert.equal(meta.kinds.filter((k) => k === 'description').length, 289 * 4);
  assert.match(meta.sources.indexSha256 ?? '', /^[0-9a-f]{64}$/);
});

function writeMiniData(dir: string): void {
  const records = [
    { id: 'c1', action_labels: ['walk-turn-left'], style: 'tired', texts: ['a person walks and turns left tiredly.'] },
    { id: 'c2', action_labels: ['bow'], style: 'happy', texts: ['a person bows happily.', 'someone bows happily.'] },
  ];
  writeFileSync(join(dir, 'index.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  mkdirSync(join(dir, 'annotations'));
  const ann = {
    phrase: 'bow happily',
    texts: ['a person bows happily.'],
    descriptions: ['The person bends forward cheerfully.', 'A quick, light bow with a smile.'],
  };
  writeFileSync(join(dir, 'annotations', 'action-gpt-k4.jsonl'), JSON.stringify(ann) + '\n');
}

test('charades embed writes a readable, deterministic table keyed by text and encoder id', async () => {
  const data = tmp();
  writeMiniData(data);
  const extra = join(data, 'extra.txt');
  writeFileSync(extra, 'act like a dog\n\n  a person kneels  \n');
  const out1 = join(tmp(), 't');
  const out2 = join(tmp(), 't');
  const s = await runEmbed({ data, texts: extra, out: out1, quiet: true, paraphrases: false });
  await runEmbed({ data, texts: extra, out: out2, quiet: true, paraphrases: false });
  assert.equal(s.encoder, USE_ENCODER_ID);
  // texts, descriptions, labels (walk turn left, tired, bow, happy, phrase "bow happily"), the mirrored sentence and
  // label of the left turn (the trainer mirrors clips), extras
  assert.equal(s.rows, 3 + 2 + 5 + 2 + 2);
  const t1 = await readEmbeddingTable(out1);
  const t2 = await readEmbeddingTable(out2);
  assert.deepEqual(t1.vectors, t2.vectors);
  assert.deepEqual(t1.texts, t2.texts);
  assert.equal(t1.encoder.dim, 512);
  assert.equal(t1.kinds[t1.texts.indexOf('act like a dog')], 'extra');
  assert.equal(t1.kinds[t1.texts.indexOf('a person kneels')], 'extra');
  const [direct] = await (await encoderPromise).embed(['someone bows happily.']);
  // TF.js-WASM sums in a batch-dependent order, so a vector embedded in another batch differs by float rounding only.
  const row = tableVector(t1, 'someone bows happily.') ?? new Float32Array(0);
  assert.equal(row.length, 512);
  assert.ok(row.every((x, k) => Math.abs(x - direct[k]) < 1e-6));
  assert.equal(tableVector(t1, 'not in the table'), undefined);
  assert.equal(t1.sides[t1.texts.indexOf('a person walks and turns right tiredly.')], SIDES.right);
  assert.equal(t1.sides[t1.texts.indexOf('a person bows happily.')], SIDES.none);
  assert.deepEqual(t1.paraphraseSets, []);
});

test("charades embed adds every clip's paraphrase set, held-out phrasings included, with their sides", async () => {
  const data = tmp();
  writeMiniData(data);
  const out = join(tmp(), 't');
  await runEmbed({ data, out, quiet: true });
  const table = await readEmbeddingTable(out);
  const keys = table.paraphraseSets.map((set) => set.key).sort();
  assert.deepEqual(keys, ['bow|happy', 'walk-turn-left|tired']);
  const turn = table.paraphraseSets.find((set) => set.key === 'walk-turn-left|tired');
  assert.ok(
    turn && turn.texts.length >= 12 && turn.heldout.length >= 3,
    'at least 12 trained and 3 held-out phrasings',
  );
  for (const t of [...(turn?.texts ?? []), ...(turn?.heldout ?? [])]) {
    assert.ok(table.texts.includes(t), `"${t}" has a row`);
    assert.equal(table.sides[table.texts.indexOf(t)], SIDES.left, `"${t}" asks for the left side`);
  }
});

test('textSide reads left and right, not "right now"', () => {
  assert.equal(textSide('wave with your right hand'), SIDES.right);
  assert.equal(textSide('raise the LEFT arm'), SIDES.left);
  assert.equal(textSide('step left, then right'), SIDES.both);
  assert.equal(textSide('jump right now'), SIDES.none);
  assert.equal(textSide('that is all right, just walk'), SIDES.none);
  assert.equal(textSide('a person bows'), SIDES.none);
});

test('a truncated or missing table is refused with sizes named', async () => {
  const enc = await encoderPromise;
  const dir = tmp();
  const table = await buildEmbeddingTable({ extraTexts: ['a person hops'] }, enc);
  await writeEmbeddingTable(dir, table);
  truncateSync(join(dir, 'embeddings.f32'), 100);
  await assert.rejects(readEmbeddingTable(dir), /100 bytes, expected 1 × 512 × 4 = 2048/);
  await assert.rejects(readEmbeddingTable(tmp()), /embeddings\.json is missing; run `charades embed`/);
  writeFileSync(join(dir, 'embeddings.json'), '{"encoder": 3}');
  await assert.rejects(readEmbeddingTable(dir), /embeddings\.json: encoder/);
});

test('bad data files are refused with file and line', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'index.jsonl'), '{"id":"a","texts":["x"]}\n{oops\n');
  assert.throws(() => collectTableTexts({ indexPath: join(dir, 'index.jsonl') }), /index\.jsonl:2: not valid JSON/);
  writeFileSync(join(dir, 'ann.jsonl'), '{"phrase":"p","descriptions":[]}\n');
  assert.throws(() => collectTableTexts({ annotationsPath: join(dir, 'ann.jsonl') }), /ann\.jsonl:1: descriptions/);
  assert.throws(() => readExtraTexts(join(dir, 'nope.txt')), /does not exist/);
  writeFileSync(join(dir, 'x.json'), '{"a":1}');
  assert.throws(() => readExtraTexts(join(dir, 'x.json')), /expected a JSON array of strings/);
  await assert.rejects(runEmbed({ data: dir + '/missing', quiet: true }), /no motion data/);
});

test('guards of the table builder and the vector helpers', async () => {
  const { l2Normalise } = await import('../../src/motion/text/index.js');
  assert.throws(() => l2Normalise(new Float32Array(3)), /cannot normalise an embedding of norm 0/);
  const liar = { id: 'liar', dim: 4, embed: async (t: readonly string[]) => t.map(() => new Float32Array(3)) };
  await assert.rejects(
    buildEmbeddingTable({ extraTexts: ['x'] }, liar),
    /encoder liar returned 3 dims for "x", declared 4/,
  );
  const dir = tmp();
  const enc = await encoderPromise;
  await writeEmbeddingTable(dir, await buildEmbeddingTable({ extraTexts: ['a person hops'] }, enc));
  writeFileSync(
    join(dir, 'embeddings.json'),
    JSON.stringify({ encoder: { id: 'x', dim: 512 }, texts: ['a person hops'], kinds: [], phrases: [] }),
  );
  await assert.rejects(readEmbeddingTable(dir), /1 texts but 0 kinds/);
});

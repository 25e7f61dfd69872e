/**
 * The ONNX sentence-encoder path, tested honestly without a downloadable MiniLM: the test builds a tiny
 * BERT-shaped ONNX graph (token + type embeddings, masked) with the `onnx` Python package and a small WordPiece
 * vocabulary, then checks tokenisation, pooling and normalisation against values computed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  basicTokenize,
  loadOnnxSentenceEncoder,
  loadSentenceEncoder,
  loadWordPieceTokenizer,
} from '../../src/motion/text/index.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'a',
  'person',
  'walk',
  '##s',
  'forward',
  '.',
  'wave',
  '##d',
  'cafe',
  ',',
];
const HIDDEN = 6;
const embedding = (v: number, h: number): number => Math.sin(v * 1.7 + h * 0.9) + 0.1 * h;
const typeEmbedding = (h: number): number => 0.05 * (h + 1);

const BUILD = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
V, H, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
IDS, MASK, TYPES = sys.argv[4].split(',')
E = np.array([[np.sin(v * 1.7 + h * 0.9) + 0.1 * h for h in range(H)] for v in range(V)], dtype=np.float32)
TT = np.array([[0.05 * (h + 1) for h in range(H)], [0.0] * H], dtype=np.float32)
nodes = [
  helper.make_node('Gather', ['E', IDS], ['tok']),
  helper.make_node('Gather', ['TT', TYPES], ['typ']),
  helper.make_node('Add', ['tok', 'typ'], ['emb']),
  helper.make_node('Unsqueeze', [MASK, 'axis2'], ['mask3']),
  helper.make_node('Cast', ['mask3'], ['maskf'], to=TensorProto.FLOAT),
  helper.make_node('Mul', ['emb', 'maskf'], ['last_hidden_state']),
]
ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ['batch', 'tokens']) for n in [IDS, MASK, TYPES]]
outs = [helper.make_tensor_value_info('last_hidden_state', TensorProto.FLOAT, ['batch', 'tokens', H])]
inits = [numpy_helper.from_array(E, 'E'), numpy_helper.from_array(TT, 'TT'), numpy_helper.from_array(np.array([2], dtype=np.int64), 'axis2')]
m = helper.make_model(helper.make_graph(nodes, 'tiny-bert', ins, outs, inits), opset_imports=[helper.make_opsetid('', 13)])
onnx.checker.check_model(m)
onnx.save(m, out)
`;

const BERT_INPUTS = 'input_ids,attention_mask,token_type_ids';

function buildModelDir(tokenizer: 'json' | 'txt', pooling?: 'cls', inputs = BERT_INPUTS): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-onnx-enc-'));
  execFileSync('/usr/bin/python3', [
    '-c',
    BUILD,
    String(VOCAB.length),
    String(HIDDEN),
    join(dir, 'model.onnx'),
    inputs,
  ]);
  if (tokenizer === 'txt') writeFileSync(join(dir, 'vocab.txt'), VOCAB.join('\n') + '\n');
  else {
    const json = {
      normalizer: { type: 'BertNormalizer', lowercase: true, strip_accents: null },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])),
      },
    };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  }
  if (pooling === 'cls') {
    mkdirSync(join(dir, '1_Pooling'));
    writeFileSync(
      join(dir, '1_Pooling', 'config.json'),
      JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }),
    );
  }
  return dir;
}

function expected(ids: number[], pooling: 'mean' | 'cls'): number[] {
  const used = pooling === 'cls' ? ids.slice(0, 1) : ids;
  const v = Array.from(
    { length: HIDDEN },
    (_, h) => used.reduce((s, id) => s + embedding(id, h) + typeEmbedding(h), 0) / used.length,
  );
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const id = (t: string): number => VOCAB.indexOf(t);

test('BERT basic tokenisation: lower-case, accents stripped, punctuation split', () => {
  assert.deepEqual(basicTokenize('A Person, walks Forward.', true, true), [
    'a',
    'person',
    ',',
    'walks',
    'forward',
    '.',
  ]);
  assert.deepEqual(basicTokenize('Café', true, true), ['cafe']);
  assert.deepEqual(basicTokenize('Café', false, false), ['Café']);
});

test('WordPiece: greedy longest match with ## pieces, unknown words → [UNK], [CLS]/[SEP] around', () => {
  const tok = loadWordPieceTokenizer(buildModelDir('txt'));
  assert.deepEqual(tok.encode('A person walks forward.').ids, [
    id('[CLS]'),
    id('a'),
    id('person'),
    id('walk'),
    id('##s'),
    id('forward'),
    id('.'),
    id('[SEP]'),
  ]);
  assert.deepEqual(tok.encode('waved zebra').ids, [id('[CLS]'), id('wave'), id('##d'), id('[UNK]'), id('[SEP]')]);
});

test('ONNX encoder: mean pooling over real tokens, unit length, independent of batch padding', async () => {
  const enc = await loadSentenceEncoder(`onnx:${buildModelDir('json')}`);
  assert.equal(enc.dim, HIDDEN);
  assert.match(enc.id, /^onnx-charades-onnx-enc-\w+-[0-9a-f]{12}$/);
  const [short, long] = await enc.embed(['a person', 'a person walks forward.']);
  const want = expected([id('[CLS]'), id('a'), id('person'), id('[SEP]')], 'mean');
  short.forEach((x, k) => assert.ok(Math.abs(x - want[k]) < 1e-5, `dim ${k}: ${x} vs ${want[k]}`));
  const [alone] = await enc.embed(['a person']);
  alone.forEach((x, k) => assert.ok(Math.abs(x - short[k]) < 1e-6));
  assert.ok(Math.abs(Math.hypot(...long) - 1) < 1e-5);
  await enc.close();
});

test('ONNX encoder: CLS pooling when 1_Pooling/config.json asks for it', async () => {
  const enc = await loadOnnxSentenceEncoder(buildModelDir('txt', 'cls'));
  const [v] = await enc.embed(['a person walks']);
  const want = expected([id('[CLS]')], 'cls');
  v.forEach((x, k) => assert.ok(Math.abs(x - want[k]) < 1e-5));
});

test('ONNX encoder folders that cannot work are refused with the reason', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'charades-onnx-bad-'));
  await assert.rejects(loadOnnxSentenceEncoder(empty), /has no model\.onnx/);
  await assert.rejects(loadOnnxSentenceEncoder(join(empty, 'nope')), /does not exist/);
  const dir = buildModelDir('json');
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: {} } }));
  await assert.rejects(loadOnnxSentenceEncoder(dir), /only WordPiece tokenizers/);
  const noSpecials = buildModelDir('txt');
  writeFileSync(join(noSpecials, 'vocab.txt'), 'a\nperson\n');
  await assert.rejects(loadOnnxSentenceEncoder(noSpecials), /no special token "\[UNK\]"/);
  const garbage = buildModelDir('txt');
  writeFileSync(join(garbage, 'model.onnx'), 'not a model');
  await assert.rejects(loadOnnxSentenceEncoder(garbage), /onnxruntime could not load it/);
  const badJson = buildModelDir('json');
  writeFileSync(join(badJson, 'tokenizer.json'), '{bad');
  await assert.rejects(loadOnnxSentenceEncoder(badJson), /tokenizer\.json: not valid JSON/);
  await assert.rejects(
    loadOnnxSentenceEncoder(buildModelDir('txt', undefined, 'ids,attention_mask,token_type_ids')),
    /no input "input_ids"/,
  );
  await assert.rejects(
    loadOnnxSentenceEncoder(buildModelDir('txt', undefined, 'input_ids,attention_mask,pixel_values')),
    /unsupported ONNX input "pixel_values"/,
  );
  const enc = await loadOnnxSentenceEncoder(buildModelDir('txt'));
  await assert.rejects(enc.embed(['']), /texts\[0\] is empty/);
});

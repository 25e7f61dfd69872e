/**
 * A MiniLM / BGE style sentence encoder exported to ONNX (`model.onnx` + `tokenizer.json` or `vocab.txt`),
 * run with onnxruntime-node. Pooling follows sentence-transformers: a pooled `sentence_embedding` output if
 * the graph has one, else CLS or attention-masked mean over the token states (`1_Pooling/config.json`
 * decides; mean when absent), then L2 normalisation.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { assertEmbeddableTexts, l2Normalise, type SentenceEncoder } from './encoder.js';
import { loadWordPieceTokenizer, type WordPieceTokenizer } from './wordpiece.js';

type Pooling = 'mean' | 'cls';

const ONNX_BATCH = 32;

function findModelFile(dir: string): string {
  for (const rel of ['model.onnx', 'onnx/model.onnx']) {
    const p = join(dir, rel);
    if (existsSync(p)) return p;
  }
  throw new Error(`sentence encoder folder ${dir} has no model.onnx (looked for model.onnx and onnx/model.onnx)`);
}

function readPooling(dir: string): Pooling {
  const p = join(dir, '1_Pooling', 'config.json');
  if (!existsSync(p)) return 'mean';
  const cfg = JSON.parse(readFileSync(p, 'utf8')) as {
    pooling_mode_cls_token?: boolean;
    pooling_mode_mean_tokens?: boolean;
  };
  return cfg.pooling_mode_cls_token ? 'cls' : 'mean';
}

function int64Tensor(rows: number[][], width: number, fill: (row: number[], j: number) => number): ort.Tensor {
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let j = 0; j < width; j++) data[i * width + j] = BigInt(fill(row, j));
  });
  return new ort.Tensor('int64', data, [rows.length, width]);
}

class OnnxSentenceEncoder implements SentenceEncoder {
  dim = 0;
  private readonly stateOutput: string;

  constructor(
    readonly id: string,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly pooling: Pooling,
    private readonly source: string,
  ) {
    const names = session.outputNames;
    this.stateOutput = names.includes('sentence_embedding')
      ? 'sentence_embedding'
      : names.includes('last_hidden_state')
        ? 'last_hidden_state'
        : names[0];
    if (!session.inputNames.includes('input_ids')) {
      throw new Error(
        `${source}: the ONNX graph has no input "input_ids" (inputs: ${session.inputNames.join(', ')}); not a BERT-style sentence encoder`,
      );
    }
  }

  private feeds(rows: number[][]): Record<string, ort.Tensor> {
    const width = Math.max(...rows.map((r) => r.length));
    const pad = this.tokenizer.padId;
    const all: Record<string, () => ort.Tensor> = {
      input_ids: () => int64Tensor(rows, width, (r, j) => (j < r.length ? r[j] : pad)),
      attention_mask: () => int64Tensor(rows, width, (r, j) => (j < r.length ? 1 : 0)),
      token_type_ids: () => int64Tensor(rows, width, () => 0),
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const make = all[name];
      if (!make)
        throw new Error(`${this.source}: unsupported ONNX input "${name}" (supported: ${Object.keys(all).join(', ')})`);
      feeds[name] = make();
    }
    return feeds;
  }

  private pool(out: ort.Tensor, rows: number[][]): Float32Array[] {
    const data = out.data as Float32Array;
    if (out.dims.length === 2) {
      const h = out.dims[1];
      return rows.map((_, i) => data.slice(i * h, (i + 1) * h));
    }
    if (out.dims.length !== 3)
      throw new Error(
        `${this.source}: output "${this.stateOutput}" has shape [${out.dims.join(', ')}]; expected [batch, tokens, hidden] or [batch, hidden]`,
      );
    const [, t, h] = out.dims;
    return rows.map((row, i) => {
      const v = new Float32Array(h);
      const used = this.pooling === 'cls' ? 1 : row.length;
      for (let j = 0; j < used; j++) for (let k = 0; k < h; k++) v[k] += data[(i * t + j) * h + k];
      for (let k = 0; k < h; k++) v[k] /= used;
      return v;
    });
  }

  async embedRaw(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += ONNX_BATCH) {
      const rows = texts.slice(i, i + ONNX_BATCH).map((t) => this.tokenizer.encode(t).ids);
      const result = await this.session.run(this.feeds(rows), [this.stateOutput]);
      out.push(...this.pool(result[this.stateOutput], rows).map(l2Normalise));
    }
    return out;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts, this.id);
    return this.embedRaw(texts);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads an ONNX sentence encoder from a folder. Its id carries the model file's hash, so two different
 * exports can never share an embedding table or satisfy each other's model manifest.
 */
export async function loadOnnxSentenceEncoder(dir: string): Promise<SentenceEncoder> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`sentence encoder folder ${root} does not exist`);
  const modelFile = findModelFile(root);
  const tokenizer = loadWordPieceTokenizer(root);
  const bytes = readFileSync(modelFile);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new Error(`${modelFile}: onnxruntime could not load it (${(err as Error).message})`, { cause: err });
  }
  const enc = new OnnxSentenceEncoder(
    `onnx-${basename(root)}-${hash}`,
    session,
    tokenizer,
    readPooling(root),
    modelFile,
  );
  const [probe] = await enc.embedRaw(['a person stands still']);
  enc.dim = probe.length;
  return enc;
}

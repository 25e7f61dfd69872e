/**
 * Action-GPT's aggregation (Kalakonda et al., §2.1): the k LLM descriptions of a phrase are embedded by the
 * frozen encoder and averaged into v_aggr, which conditions the motion model. Without descriptions the
 * phrase itself is embedded, so the model works with raw text too (it is trained on both).
 */
import type { SentenceEncoder } from './encoder.js';

/** Element-wise mean of equally long vectors; the paper's plain average, not re-normalised. */
export function meanVector(vectors: readonly Float32Array[]): Float32Array {
  if (vectors.length === 0) throw new Error('cannot average zero vectors');
  const dim = vectors[0].length;
  const out = new Float32Array(dim);
  for (const [i, v] of vectors.entries()) {
    if (v.length !== dim) throw new Error(`vector ${i} has ${v.length} dims, vector 0 has ${dim}`);
    for (let k = 0; k < dim; k++) out[k] += v[k];
  }
  for (let k = 0; k < dim; k++) out[k] /= vectors.length;
  return out;
}

/** v_aggr for one phrase: mean of its description embeddings, or the phrase's own embedding when it has none. */
export async function aggregateEmbedding(
  phrase: string,
  descriptions: readonly string[] | undefined,
  encoder: SentenceEncoder,
): Promise<Float32Array> {
  const usable = (descriptions ?? []).filter((d) => d.trim().length > 0);
  if (usable.length === 0) {
    if (phrase.trim().length === 0) throw new Error('cannot embed an empty phrase without descriptions');
    const [v] = await encoder.embed([phrase]);
    return v;
  }
  return meanVector(await encoder.embed(usable));
}

/** Cosine similarity of two vectors; 0 when either is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

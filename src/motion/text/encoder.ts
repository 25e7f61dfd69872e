/**
 * The one interface every frozen sentence encoder implements, plus the pieces shared by all of them:
 * L2 normalisation and an in-process LRU cache.
 *
 * Vectors are always L2-normalised (unit length). USE already returns unit vectors, a MiniLM/BGE model
 * with mean pooling does not; normalising both makes cosine = dot product everywhere and keeps the
 * trainer's input scale independent of which encoder produced the table. The Action-GPT aggregate (a mean of
 * unit vectors, see aggregate.ts) is deliberately NOT re-normalised, as in the paper.
 */

/** Named `SentenceEncoder` so it does not shadow the DOM/Node `TextEncoder`. */
export interface SentenceEncoder {
  /** Stable identifier of the encoder and its weights, e.g. `use-en-energetic-0.2.0`; keys embedding tables and manifests. */
  readonly id: string;
  /** Length of every vector `embed` returns. */
  readonly dim: number;
  /** One unit-length vector per input text, in input order. Rejects empty texts. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Frees native / WASM resources. */
  close?(): Promise<void>;
}

export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new Error(`cannot normalise an embedding of norm ${norm}`);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / norm;
  return out;
}

/** Encoders crash or return garbage on empty input; say which text is wrong instead. */
export function assertEmbeddableTexts(texts: readonly string[], encoderId: string): void {
  for (const [i, t] of texts.entries()) {
    if (typeof t !== 'string') throw new Error(`text encoder ${encoderId}: texts[${i}] is not a string`);
    if (t.trim().length === 0)
      throw new Error(`text encoder ${encoderId}: texts[${i}] is empty; there is nothing to embed`);
  }
}

/** Least-recently-used map: Map keeps insertion order, so re-inserting on read moves a key to the back. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`LRU capacity must be at least 1, got ${capacity}`);
  }
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }
}

export interface CacheStats {
  hits: number;
  misses: number;
}

/**
 * Wraps an encoder with an LRU cache keyed by the exact text: the bot embeds the same phrases and
 * Action-GPT descriptions again and again (rerolls, variations), and USE costs ~10–40 ms per text.
 * Only the uncached texts go to the encoder, in one batch; duplicates inside a call are embedded once.
 */
export class CachedSentenceEncoder implements SentenceEncoder {
  readonly id: string;
  readonly dim: number;
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private readonly cache: LruCache<string, Float32Array>;

  constructor(
    private readonly inner: SentenceEncoder,
    capacity = 4096,
  ) {
    this.id = inner.id;
    this.dim = inner.dim;
    this.cache = new LruCache(capacity);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts, this.id);
    const found = new Map<string, Float32Array>();
    for (const t of texts) {
      const v = this.cache.get(t);
      if (v) found.set(t, v);
    }
    const missing = [...new Set(texts.filter((t) => !found.has(t)))];
    this.stats.misses += missing.length;
    this.stats.hits += texts.length - missing.length;
    if (missing.length > 0) {
      const vecs = await this.inner.embed(missing);
      missing.forEach((t, i) => {
        found.set(t, vecs[i]);
        this.cache.set(t, vecs[i]);
      });
    }
    // Copies, so a caller that writes into a vector cannot corrupt the cache.
    return texts.map((t) => Float32Array.from(found.get(t) as Float32Array));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

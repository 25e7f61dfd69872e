/**
 * Picks the sentence encoder from configuration: `CHARADES_TEXT_ENCODER` = `use` (default, the npm-packaged
 * USE), `use:/folder` (a local copy of USE's TF.js files) or `onnx:/folder` (a MiniLM/BGE ONNX export).
 */
import { activeConfig } from '../../config/active.js';
import { CachedSentenceEncoder, type SentenceEncoder } from './encoder.js';
import { loadOnnxSentenceEncoder } from './onnx-encoder.js';
import { loadUseEncoder } from './use.js';

export const TEXT_ENCODER_ENV = 'CHARADES_TEXT_ENCODER';

export type EncoderSpec = { kind: 'use'; dir?: string } | { kind: 'onnx'; dir: string };

export function parseEncoderSpec(spec: string): EncoderSpec {
  const s = spec.trim();
  if (s === '' || s === 'use') return { kind: 'use' };
  const colon = s.indexOf(':');
  const kind = colon < 0 ? s : s.slice(0, colon);
  const dir = colon < 0 ? '' : s.slice(colon + 1).trim();
  if (kind === 'use') return dir ? { kind: 'use', dir } : { kind: 'use' };
  if (kind === 'onnx') {
    if (!dir) throw new Error(`${TEXT_ENCODER_ENV}="${spec}": onnx needs a folder, e.g. onnx:/models/all-MiniLM-L6-v2`);
    return { kind: 'onnx', dir };
  }
  throw new Error(
    `${TEXT_ENCODER_ENV}="${spec}": unknown encoder "${kind}"; use "use", "use:/folder" or "onnx:/folder"`,
  );
}

/** The configured encoder spec (CHARADES_TEXT_ENCODER through src/config), else `use`. */
export function configuredEncoderSpec(): string {
  return activeConfig()?.textEncoder ?? 'use';
}

/** Loads the configured encoder wrapped in an LRU cache. */
export async function loadSentenceEncoder(
  spec: string = configuredEncoderSpec(),
  cacheSize = 4096,
): Promise<CachedSentenceEncoder> {
  const parsed = parseEncoderSpec(spec);
  const inner: SentenceEncoder =
    parsed.kind === 'onnx' ? await loadOnnxSentenceEncoder(parsed.dir) : await loadUseEncoder(parsed.dir);
  return new CachedSentenceEncoder(inner, cacheSize);
}

const shared = new Map<string, Promise<CachedSentenceEncoder>>();

/**
 * One encoder per spec per process: USE takes ~150 ms and ~100 MB to load, and engines of different model
 * versions (hot swap) share it. A failed load is forgotten so the next call can retry.
 */
export function sharedSentenceEncoder(spec: string = configuredEncoderSpec()): Promise<CachedSentenceEncoder> {
  let p = shared.get(spec);
  if (!p) {
    p = loadSentenceEncoder(spec);
    p.catch(() => shared.delete(spec));
    shared.set(spec, p);
  }
  return p;
}

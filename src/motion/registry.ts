/**
 * The model registry: `models/<version>/` folders (manifest.json + ONNX files) and ONE pointer file,
 * `models/LIVE`, naming the version bots load. Every switch of the pointer is a temp file + rename, so a
 * reader sees the old name or the new one, never half of either; a version folder appears by renaming a
 * fully copied and verified staging folder, so a reader never sees a half-written version.
 *
 * Layout:
 *   models/LIVE             the live version's name (one line)
 *   models/HISTORY.json     { stack: [versions made live, oldest first], events: [...] } — rollback pops the stack
 *   models/<version>/       manifest.json + every file it lists
 *   models/.staging/        copies in progress (ignored by readers: no manifest.json directly under it)
 *   models/.lock            held while the pointer or the history changes
 *
 * The parts, in src/motion/registry/: common.ts (layout names, RegistryError, file helpers), onnx-header.ts (an
 * ONNX file's inputs and outputs without onnxruntime), verify.ts, live.ts (the pointer, its history, the lock),
 * list.ts, publish.ts (publish, use, rollback), signals.ts (watching LIVE, swap messages on Redis) and
 * hot-swap.ts (a model user following LIVE). This file is the registry's public surface.
 */

export {
  LIVE_FILE,
  HISTORY_FILE,
  STAGING_DIR,
  DEFAULT_TEXT_ENCODER,
  RegistryError,
  sha256File,
  assertVersionName,
} from './registry/common.js';
export type { TextEncoderSpec, VerifyOptions, VerifyResult } from './registry/common.js';
export { inspectOnnx } from './registry/onnx-header.js';
export type { OnnxValueInfo, OnnxSummary } from './registry/onnx-header.js';
export { readManifest, verifyVersion } from './registry/verify.js';
export { readHistory, liveVersion, liveVersionDir } from './registry/live.js';
export type { HistoryEvent } from './registry/live.js';
export { listVersions } from './registry/list.js';
export type { VersionInfo } from './registry/list.js';
export { publishVersion, useVersion, rollback } from './registry/publish.js';
export type { PublishOptions, PublishResult } from './registry/publish.js';
export { watchLive, SWAP_CHANNEL, publishSwap, subscribeSwap } from './registry/signals.js';
export type { LiveWatch, WatchOptions, SwapMessage } from './registry/signals.js';
export { createHotSwap } from './registry/hot-swap.js';
export type { HotSwapOptions, HotSwap } from './registry/hot-swap.js';

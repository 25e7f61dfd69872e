/** Hot swap for model users: the loaded model follows the LIVE pointer. */
import { join, resolve } from 'node:path';
import type { ModelManifest } from '../contracts.js';
import { assertVersionName, RegistryError } from './common.js';
import type { VerifyOptions } from './common.js';
import { liveVersion } from './live.js';
import { subscribeSwap, watchLive } from './signals.js';
import { failure, verifyVersion } from './verify.js';

export interface HotSwapOptions<T> {
  registry: string;
  /** Loads a verified version (e.g. onnxruntime sessions); a throw keeps the current version. */
  load: (dir: string, manifest: ModelManifest) => Promise<T>;
  /** Frees a retired version once the last request using it has finished. */
  dispose?: (model: T, version: string) => Promise<void> | void;
  /** Checks run before loading (default: the full check without onnxruntime, which `load` exercises anyway). */
  verify?: VerifyOptions;
  /** Also follow swap announcements on Redis (BullMQ mode); the pointer file is always watched. */
  redisUrl?: string;
  channel?: string;
  pollMs?: number;
  onSwap?: (version: string, previous: string | null) => void;
  /** A version that failed to verify or load; the previous one stays in use. */
  onError?: (error: Error, version: string) => void;
}

export interface HotSwap<T> {
  /** The version new requests get. */
  readonly version: string;
  /**
   * Runs `fn` with the version live when it starts. A swap during `fn` does not affect it: the old version is
   * disposed only after its last request finished, so a request in flight always completes on the old model.
   */
  use<R>(fn: (model: T, version: string) => Promise<R> | R): Promise<R>;
  /** Switches to `version` (default: what the pointer names now); resolves once it is in use or rejected. */
  refresh(version?: string): Promise<void>;
  close(): Promise<void>;
}

interface Slot<T> {
  version: string;
  model: T;
  leases: number;
  retired: boolean;
}

/**
 * Keeps the live model loaded and swaps it between requests when the pointer changes (file watch, and Redis
 * when configured). Each candidate is verified and loaded before it replaces the current one, so a corrupt,
 * truncated or incompatible version is rejected at load and the previous one keeps serving.
 */
export async function createHotSwap<T>(opts: HotSwapOptions<T>): Promise<HotSwap<T>> {
  const registry = resolve(opts.registry);
  const prepare = async (version: string): Promise<Slot<T>> => {
    const check = await verifyVersion(join(registry, assertVersionName(version)), opts.verify ?? {});
    if (!check.ok) throw failure(`cannot load ${version}`, check);
    return { version, model: await opts.load(check.dir, check.manifest!), leases: 0, retired: false };
  };
  const first = liveVersion(registry);
  if (!first)
    throw new RegistryError(
      `no live model in ${registry}; publish one (charades train) or pick one (charades models use VERSION)`,
    );
  let slot = await prepare(first);
  const release = async (s: Slot<T>) => {
    if (s.retired && s.leases === 0) await opts.dispose?.(s.model, s.version);
  };
  let chain: Promise<void> = Promise.resolve();
  const switchTo = async (version: string) => {
    if (version === slot.version) return;
    let next: Slot<T>;
    try {
      next = await prepare(version);
    } catch (err) {
      opts.onError?.(err as Error, version);
      return;
    }
    const old = slot;
    slot = next;
    old.retired = true;
    opts.onSwap?.(version, old.version);
    await release(old);
  };
  const refresh = (version?: string): Promise<void> => {
    chain = chain.then(() => {
      const target = version ?? liveVersion(registry);
      return target ? switchTo(target) : undefined;
    });
    return chain;
  };
  const fileWatch = watchLive(registry, () => void refresh(), { pollMs: opts.pollMs });
  const redisWatch = opts.redisUrl
    ? await subscribeSwap(opts.redisUrl, (m) => void refresh(m.version), { channel: opts.channel })
    : undefined;
  return {
    get version() {
      return slot.version;
    },
    async use(fn) {
      const s = slot;
      s.leases++;
      try {
        return await fn(s.model, s.version);
      } finally {
        s.leases--;
        await release(s);
      }
    },
    refresh,
    async close() {
      fileWatch.close();
      redisWatch?.close();
      await chain;
      slot.retired = true;
      await release(slot);
    },
  };
}

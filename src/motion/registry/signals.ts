/** Hot-swap signals: watching models/LIVE and the Redis channel workers announce swaps on. */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { LIVE_FILE, VERSION_NAME } from './common.js';
import { liveVersion } from './live.js';

export interface LiveWatch {
  close(): void;
}

export interface WatchOptions {
  /** Polling period, used beside the file watch (which some filesystems never fire) and instead of it when it fails. */
  pollMs?: number;
}

/**
 * Calls `onChange(version)` whenever the pointer names another version (once per change, not per file event).
 * The folder is watched rather than the file: the pointer is replaced by rename, so a watch on the old file
 * would go quiet after the first switch.
 */
export function watchLive(
  registry: string,
  onChange: (version: string | null) => void,
  opts: WatchOptions = {},
): LiveWatch {
  const abs = resolve(registry);
  let last = liveVersion(abs);
  let closed = false;
  const check = () => {
    if (closed) return;
    let now: string | null;
    try {
      now = liveVersion(abs);
    } catch {
      return; // a transient read error (folder being recreated); the next event or poll tries again
    }
    if (now !== last) {
      last = now;
      onChange(now);
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(abs, { persistent: false }, (_event, file) => {
      if (file === null || file === LIVE_FILE) check();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(check, opts.pollMs ?? (watcher ? 2000 : 250));
  timer.unref();
  return {
    close() {
      closed = true;
      watcher?.close();
      clearInterval(timer);
    },
  };
}

export const SWAP_CHANNEL = 'charades:model-live';

export interface SwapMessage {
  version: string;
  registry: string;
  at: string;
}

interface RedisPublisher {
  publish(channel: string, message: string): Promise<number>;
}

/** Announces a new live version to every subscribed bot and worker (BullMQ mode). Returns the listener count. */
export async function publishSwap(
  redis: RedisPublisher,
  version: string,
  opts: { registry?: string; channel?: string } = {},
): Promise<number> {
  const message: SwapMessage = { version, registry: opts.registry ?? '', at: new Date().toISOString() };
  return redis.publish(opts.channel ?? SWAP_CHANNEL, JSON.stringify(message));
}

/**
 * Subscribes to swap announcements on a connection of its own (a subscribed Redis connection can do nothing
 * else). Malformed messages are ignored: a stray publisher must not crash a bot.
 */
export async function subscribeSwap(
  redisUrl: string,
  onSwap: (message: SwapMessage) => void,
  opts: { channel?: string } = {},
): Promise<LiveWatch> {
  const { Redis } = await import('ioredis');
  const channel = opts.channel ?? SWAP_CHANNEL;
  const sub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  sub.on('error', () => undefined); // reconnects on its own; errors surface through subscribe below
  await sub.connect();
  await sub.subscribe(channel);
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    try {
      const msg = JSON.parse(text) as Partial<SwapMessage>;
      if (typeof msg.version === 'string' && VERSION_NAME.test(msg.version)) {
        onSwap({ version: msg.version, registry: String(msg.registry ?? ''), at: String(msg.at ?? '') });
      }
    } catch {
      // not JSON: ignored, see above
    }
  });
  return { close: () => sub.disconnect() };
}

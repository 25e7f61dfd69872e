/**
 * The gateway connection made visible: every close (with what its code means), reconnect, resume and
 * shard error is logged, and logging in fails after a deadline with what to check instead of retrying
 * silently forever. discord.js reconnects on its own; this only watches and explains.
 */
import { Events } from 'discord.js';
import type { Client } from 'discord.js';
import type { Logger } from 'pino';

/** Gateway close codes (Discord's 4xxx and the WebSocket ones discord.js reports), in words. */
export const CLOSE_CODE_MEANINGS: Record<number, string> = {
  1000: 'normal closure',
  1001: 'the server is going away',
  1006: 'connection lost without a close frame',
  4000: 'unknown error',
  4001: 'unknown opcode',
  4002: 'decode error',
  4003: 'not authenticated',
  4004: 'authentication failed: the token is wrong',
  4005: 'already authenticated',
  4007: 'invalid sequence',
  4008: 'rate limited',
  4009: 'session timed out',
  4010: 'invalid shard',
  4011: 'sharding required',
  4012: 'invalid API version',
  4013: 'invalid intents',
  4014: 'disallowed intents: a privileged intent (Message Content) is not enabled for this application',
};

/** Codes after which discord.js gives up instead of reconnecting. */
const FATAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

export const LOGIN_ADVICE =
  'Check DISCORD_TOKEN (Developer Portal → your application → Bot → Reset Token) and that the privileged ' +
  'Message Content intent is enabled (Bot → Privileged Gateway Intents)';

export function describeCloseCode(code: number): string {
  return `${code} (${CLOSE_CODE_MEANINGS[code] ?? 'unexpected code'})`;
}

export interface GatewayWatch {
  closes: number;
  reconnects: number;
  lastCloseCode?: number;
  stop(): void;
}

/** Logs the gateway's life on `client`; the returned counters feed the login-failure message. */
export function watchGateway(client: Client, log: Logger): GatewayWatch {
  const watch: GatewayWatch = { closes: 0, reconnects: 0, stop: () => undefined };
  const hooked = new WeakSet<object>();
  const recentCloses: number[] = [];
  // Closing the client closes its connection too: that is not news once stop() was called.
  let stopped = false;
  // Close codes are only on discord.js's shard objects, which exist once a login starts: hook each as it appears.
  const hookShards = () => {
    for (const shard of client.ws.shards.values()) {
      if (hooked.has(shard)) continue;
      hooked.add(shard);
      shard.on('close', (event: { code: number }) => {
        if (stopped) return;
        const now = Date.now();
        recentCloses.push(now);
        while (recentCloses.length && recentCloses[0] < now - 60_000) recentCloses.shift();
        watch.closes++;
        watch.lastCloseCode = event.code;
        const fields = {
          shard: shard.id,
          code: event.code,
          meaning: CLOSE_CODE_MEANINGS[event.code] ?? 'unexpected code',
          closesLastMinute: recentCloses.length,
        };
        if (FATAL_CLOSE_CODES.has(event.code))
          log.error(
            fields,
            `gateway closed with ${describeCloseCode(event.code)}; discord.js will not reconnect. ${LOGIN_ADVICE}`,
          );
        else log.warn(fields, `gateway closed with ${describeCloseCode(event.code)}; reconnecting`);
      });
    }
  };
  const onDebug = () => hookShards();
  const onReconnecting = (shardId: number) => {
    watch.reconnects++;
    log.info({ shard: shardId, reconnects: watch.reconnects }, 'gateway reconnecting');
  };
  const onResume = (shardId: number, replayed: number) =>
    log.info({ shard: shardId, replayed }, 'gateway session resumed');
  const onReady = (shardId: number) => log.info({ shard: shardId }, 'gateway shard ready');
  const onDisconnect = (event: { code: number }, shardId: number) =>
    log.error(
      { shard: shardId, code: event.code },
      `gateway disconnected for good: ${describeCloseCode(event.code)}. ${LOGIN_ADVICE}`,
    );
  const onError = (err: Error, shardId: number) =>
    log.warn({ shard: shardId, err: err.message }, 'gateway connection error');
  const onInvalidated = () => log.error('the gateway session was invalidated; the client stops');
  client.on(Events.Debug, onDebug);
  client.on(Events.ShardReconnecting, onReconnecting);
  client.on(Events.ShardResume, onResume);
  client.on(Events.ShardReady, onReady);
  client.on(Events.ShardDisconnect, onDisconnect);
  client.on(Events.ShardError, onError);
  client.on(Events.Invalidated, onInvalidated);
  watch.stop = () => {
    stopped = true;
    client.off(Events.Debug, onDebug);
    client.off(Events.ShardReconnecting, onReconnecting);
    client.off(Events.ShardResume, onResume);
    client.off(Events.ShardReady, onReady);
    client.off(Events.ShardDisconnect, onDisconnect);
    client.off(Events.ShardError, onError);
    client.off(Events.Invalidated, onInvalidated);
  };
  return watch;
}

/** What went wrong when logging in, in words that say what to check. */
export function loginFailure(err: unknown, watch: GatewayWatch, where: string, timeoutMs: number): Error {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
  const lastClose =
    watch.lastCloseCode === undefined
      ? ''
      : `; the gateway closed ${watch.closes} connection${watch.closes === 1 ? '' : 's'}, last with ${describeCloseCode(watch.lastCloseCode)}`;
  if (err instanceof LoginTimeoutError) {
    return new Error(
      `cannot log in to Discord${where}: not ready after ${Math.round(timeoutMs / 1000)} s${lastClose || '; the gateway never answered'}. ${LOGIN_ADVICE}.`,
      { cause: err },
    );
  }
  return new Error(`cannot log in to Discord${where}: ${message}${lastClose}. ${LOGIN_ADVICE}.`, { cause: err });
}

export class LoginTimeoutError extends Error {
  override readonly name = 'LoginTimeoutError';
}

/** Logs in and waits for the client to be ready, or fails after `timeoutMs` with what to check. */
export async function loginWithin(
  client: Client,
  token: string,
  timeoutMs: number,
  watch: GatewayWatch,
  where: string,
): Promise<void> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  const loggingIn = client.login(token);
  // A login abandoned at the deadline may still reject later; that is already reported.
  loggingIn.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoginTimeoutError(`not ready after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([loggingIn.then(() => ready), deadline]);
  } catch (err) {
    throw loginFailure(err, watch, where, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

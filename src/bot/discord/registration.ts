/**
 * Slash-command registration that never takes the bot down: a refused registration (a 400 for a command
 * Discord does not accept, a 5xx, a network error) is logged and retried with back-off, while mentions,
 * replies and buttons keep working.
 */
import type { Logger } from 'pino';
import { classifyRefusal } from './refusals.js';

export interface RegistrationOptions {
  /** First retry delay; doubled after each failure up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface Registration {
  /** Resolves after the first attempt: true when the commands were registered. */
  first: Promise<boolean>;
  registered(): boolean;
  stop(): void;
}

export function keepRegistering(
  register: () => Promise<number>,
  log: Logger,
  options: RegistrationOptions = {},
): Registration {
  const maxRetryMs = options.maxRetryMs ?? 10 * 60_000;
  let delay = options.retryMs ?? 5_000;
  let done = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempts = 0;
  const attempt = async (): Promise<boolean> => {
    attempts++;
    try {
      const count = await register();
      done = true;
      log.info({ commands: count, attempts }, 'slash commands registered');
      return true;
    } catch (err) {
      const refusal = classifyRefusal(err);
      log.error(
        { status: refusal.status, code: refusal.code, err: refusal.message, attempts, retryInMs: delay },
        `slash command registration failed; mentions, replies and buttons keep working; retrying in ${Math.round(delay / 1000)} s`,
      );
      schedule();
      return false;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(), delay);
    // Retrying must not keep a stopping process alive.
    timer.unref();
    delay = Math.min(delay * 2, maxRetryMs);
  };
  return {
    first: attempt(),
    registered: () => done,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The LIVE pointer, the history of switches and the registry lock. */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { HISTORY_FILE, LIVE_FILE, LOCK_FILE, readJson, RegistryError, writeFileAtomically } from './common.js';

export interface HistoryEvent {
  at: string;
  action: 'publish' | 'use' | 'rollback';
  version: string;
  from: string | null;
}

interface History {
  stack: string[];
  events: HistoryEvent[];
}

function historyPath(registry: string): string {
  return join(registry, HISTORY_FILE);
}

export function readHistory(registry: string): History {
  const file = historyPath(registry);
  if (!existsSync(file)) return { stack: [], events: [] };
  try {
    const raw = readJson(file) as Partial<History>;
    return {
      stack: Array.isArray(raw.stack) ? raw.stack.map(String) : [],
      events: Array.isArray(raw.events) ? raw.events : [],
    };
  } catch (err) {
    throw new RegistryError(`${file}: unreadable history (${(err as Error).message}); fix or delete it`);
  }
}

/** The live version's name, or null when nothing was ever made live. */
export function liveVersion(registry: string): string | null {
  const file = join(registry, LIVE_FILE);
  if (!existsSync(file)) return null;
  const name = readFileSync(file, 'utf8').trim();
  return name === '' ? null : name;
}

/** The live version's folder, or null. */
export function liveVersionDir(registry: string): string | null {
  const v = liveVersion(registry);
  return v === null ? null : join(resolve(registry), v);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Serialises pointer and history changes between processes; a lock left by a dead process is taken over. */
export async function withRegistryLock<T>(registry: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const file = join(registry, LOCK_FILE);
  const me = `${hostname()} ${process.pid}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [host, pid] = (existsSync(file) ? readFileSync(file, 'utf8') : '').split(' ');
      if (host === hostname() && Number(pid) > 0 && !pidAlive(Number(pid))) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new RegistryError(
          `the model registry ${registry} is locked by ${host ?? '?'} pid ${pid ?? '?'} (remove ${file} if that process is gone)`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

export function switchPointer(
  registry: string,
  version: string,
  action: HistoryEvent['action'],
  stack: string[],
): void {
  const history = readHistory(registry);
  const event: HistoryEvent = { at: new Date().toISOString(), action, version, from: liveVersion(registry) };
  // The pointer first: it is what readers act on; the history only explains it and drives rollback.
  writeFileAtomically(join(registry, LIVE_FILE), `${version}\n`);
  writeFileAtomically(historyPath(registry), JSON.stringify({ stack, events: [...history.events, event] }, null, 1));
}

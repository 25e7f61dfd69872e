/**
 * The CLI surface, the embedded default (no token, no key, nothing to start): one prompt to one MP4,
 * and `charades chat`, a REPL that is one conversation (like a Discord thread) where every turn writes
 * the next MP4 and prints its path. `--session NAME` resumes a conversation after a restart.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Progress } from '../../jobs/index.js';
import type { Runtime } from '../runtime.js';
import { LimitError } from '../service.js';

/** The CLI is one person at a keyboard: limits exist to protect shared bots, not them. */
const CLI_LIMITS = { userQueue: 1000, userPerMinute: 100000 };

export function describeProgress(p: Progress): string {
  if (p.stage === 'queued') return `queued (position ${p.position})`;
  return p.attempt ? `${p.stage} (attempt ${p.attempt})` : p.stage;
}

export interface PromptOptions {
  out: string;
  seconds?: number;
  samples?: 1 | 4;
  seed?: number;
  /** Where progress and the agent's reply go (stderr by default). */
  log?: (line: string) => void;
}

export interface TurnSummary {
  path?: string;
  reply: string;
  notes: string[];
  seconds?: number;
  jobId: string;
}

async function runTurn(
  rt: Runtime,
  key: string,
  text: string,
  out: string,
  options: Omit<PromptOptions, 'out'>,
): Promise<TurnSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { done } = rt.service.start(
    {
      platform: 'cli',
      conversationKey: key,
      userId: 'cli',
      text,
      limits: CLI_LIMITS,
      options: { seconds: options.seconds, samples: options.samples, seed: options.seed },
    },
    (p) => log(`… ${describeProgress(p)}`),
  );
  const { jobId, result } = await done;
  if (!result.videoPath) return { reply: result.reply, notes: result.notes, jobId };
  mkdirSync(dirname(resolve(out)), { recursive: true });
  copyFileSync(result.videoPath, out);
  return { path: resolve(out), reply: result.reply, notes: result.notes, seconds: result.seconds, jobId };
}

export function checkOutPath(out: string): void {
  if (!out.toLowerCase().endsWith('.mp4')) throw new Error(`--out must name an .mp4 file, got "${out}"`);
}

/** `charades "PROMPT" -o out.mp4`: one request end to end; returns the written path. */
export async function runPrompt(rt: Runtime, prompt: string, options: PromptOptions): Promise<TurnSummary> {
  if (!prompt.trim()) throw new Error('say what the person should do, e.g. charades "act like a dog" -o dog.mp4');
  checkOutPath(options.out);
  const summary = await runTurn(rt, `once-${Date.now()}-${process.pid}`, prompt, options.out, options);
  if (!summary.path) throw new Error(`no video was made: ${summary.reply}`);
  return summary;
}

export interface ChatOptions {
  session: string;
  outDir: string;
  input?: Readable;
  output?: Writable;
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
}

/** The REPL: each non-empty line is a turn; "exit", "quit" or end of input ends the session. */
export async function runChat(rt: Runtime, options: ChatOptions): Promise<TurnSummary[]> {
  if (!/^[A-Za-z0-9_.-]+$/.test(options.session))
    throw new Error(`--session must be letters, digits, '.', '_' or '-', got "${options.session}"`);
  const output = options.output ?? process.stdout;
  const rl = createInterface({ input: options.input ?? process.stdin, terminal: false });
  mkdirSync(options.outDir, { recursive: true });
  const turns: TurnSummary[] = [];
  const say = (line: string) => output.write(`${line}\n`);
  say(`charades chat — session ${options.session}; type what the person should do ("exit" to leave)`);
  const existing = rt.store.conversationByKey('cli', options.session);
  const already = existing ? rt.store.turns(existing.id).length : 0;
  for await (const raw of rl) {
    const line = raw.trim();
    if (!line) continue;
    if (/^(exit|quit)$/i.test(line)) break;
    const n = already + turns.length + 1;
    const out = join(options.outDir, `${options.session}-${String(n).padStart(3, '0')}.mp4`);
    try {
      const summary = await runTurn(rt, options.session, line, out, { log: options.log ?? (() => undefined) });
      turns.push(summary);
      say(summary.reply);
      if (summary.path) say(summary.path);
    } catch (err) {
      const message = err instanceof LimitError ? err.message : `could not do that: ${(err as Error).message}`;
      say(message);
    }
  }
  rl.close();
  return turns;
}

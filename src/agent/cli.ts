/**
 * The agent's commands: `charades plan` (a transcript on stdin → one request per turn),
 * `charades eval-agent` (field accuracy per planner on the chat eval set) and `charades annotate`
 * (build the Action-GPT description cache with the configured LLM).
 */
import { activeConfig, configAsEnv, loadConfig } from '../config/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { z } from 'zod';
import { REPO_ROOT, defaultDataDir, requireDataDir } from '../motion/paths.js';
import { evaluate, loadEvalSet } from './eval.js';
import type { EvalReport } from './eval.js';
import { ActionGptExpander, phraseKey } from './expander.js';
import { createAgentFromEnv, createDescriptionModel, llmSettingsFromEnv, providerId } from './providers.js';
import { InMemoryConversations, pickSample, recordMotion } from './state.js';

/** The agent's settings as variables, from the configuration the CLI installed (env over file, read once). */
function settingsEnv(): Record<string, string> {
  return configAsEnv(activeConfig() ?? loadConfig());
}

const PlannerOption = () =>
  new Option('--planner <kind>', 'offline, llm or auto (LLM when one is configured)')
    .choices(['offline', 'llm', 'auto'])
    .default('auto');

const PlanLineSchema = z.object({
  user: z.string().min(1).default('user'),
  text: z.string(),
  /** Motion id(s) produced for this turn (one per sample), so later turns can continue from them. */
  motion: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  pick: z.number().int().nonnegative().optional(),
});

export function registerAgentCommands(program: Command): void {
  program
    .command('plan')
    .description(
      'read a conversation as JSON lines on stdin ({"user": "...", "text": "..."} per turn) and print one MotionRequest per turn',
    )
    .addOption(PlannerOption())
    .option(
      '--json',
      'print one JSON object per turn: {user, request, planned (before grounding, when it replaced actions), reply, planner, notes}',
    )
    .option('--no-expand', 'do not attach Action-GPT descriptions')
    .action(async (opts: { planner: 'offline' | 'llm' | 'auto'; json?: boolean; expand: boolean }) => {
      const input = await readStdin();
      const lines = parseTranscript(input);
      const configured = createAgentFromEnv(settingsEnv(), {
        planner: opts.planner,
        ...(opts.expand ? {} : { expand: 'off' as const }),
      });
      const conversations = new InMemoryConversations();
      try {
        for (const line of lines) {
          const r = await configured.agent.turn(conversations.get(line.user), line.text, { user: line.user });
          let state = r.state;
          if (line.motion !== undefined && r.request)
            state = recordMotion(state, Array.isArray(line.motion) ? line.motion : [line.motion]);
          if (line.pick !== undefined) state = pickSample(state, line.pick);
          conversations.set(line.user, state);
          if (opts.json) {
            const out = {
              user: line.user,
              request: r.request ?? null,
              ...(r.planned ? { planned: r.planned } : {}),
              reply: r.reply,
              planner: r.planner,
              notes: r.notes,
              ...(r.fallback ? { fallback: r.fallback } : {}),
            };
            process.stdout.write(`${JSON.stringify(out)}\n`);
          } else {
            process.stdout.write(
              `${line.user}> ${line.text}\ncharades> ${r.reply}\n${r.request ? `  ${JSON.stringify(r.request)}\n` : ''}`,
            );
          }
        }
      } finally {
        await configured.dispose();
      }
    });

  program
    .command('eval-agent')
    .description('score planners on the chat eval set (field accuracy of segments, seconds, poses, follow-up edits)')
    .addOption(new Option('--planner <kind>', 'offline, llm or all').choices(['offline', 'llm', 'all']).default('all'))
    .option('--set <file>', 'eval set (JSON lines)', resolve(REPO_ROOT, 'test', 'fixtures', 'chat-eval.jsonl'))
    .option('--json', 'print one JSON object')
    .option('--failures <n>', 'failures to list per planner', '20')
    .action(async (opts: { planner: 'offline' | 'llm' | 'all'; set: string; json?: boolean; failures: string }) => {
      const cases = loadEvalSet(opts.set);
      const maxFailures = parseCount('--failures', opts.failures, 0);
      const result: Record<string, unknown> = { set: opts.set, cases: cases.length };
      const rows: EvalReport[] = [];
      if (opts.planner !== 'llm') {
        const offline = createAgentFromEnv(settingsEnv(), { planner: 'offline', expand: 'off', ground: 'lexicon' });
        const report = await evaluate(offline.agent, cases, 'offline');
        rows.push(report);
        result.offline = summarise(report, maxFailures);
      }
      if (opts.planner !== 'offline') {
        const settings = llmSettingsFromEnv();
        if (settings.provider === 'none') {
          result.llm = {
            skipped: 'no LLM configured or reachable (set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH)',
          };
          if (opts.planner === 'llm')
            throw new Error(
              'eval-agent --planner llm: no LLM configured (set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH)',
            );
        } else {
          const llm = createAgentFromEnv(settingsEnv(), { planner: 'llm', expand: 'off', ground: 'lexicon' });
          try {
            const report = await evaluate(llm.agent, cases, `llm (${providerId(settings)})`);
            rows.push(report);
            result.llm = {
              ...summarise(report, maxFailures),
              provider: providerId(settings),
              reachable: report.fallbacks < report.cases,
            };
          } finally {
            await llm.dispose();
          }
        }
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else printEvalTable(rows, result.llm);
    });

  program
    .command('annotate')
    .description(
      'build the Action-GPT description cache (k = 4, temperature 0.5, top-p 1, ≤ 128 tokens) with the configured LLM',
    )
    .option('--phrases <file>', 'phrases to describe, one per line')
    .option('--data [dir]', 'describe every distinct text of a motion dataset (index.jsonl)')
    .option('--cache <dir>', 'cache folder (default: CHARADES_CACHE or .cache/)')
    .option('--limit <n>', 'describe at most n phrases')
    .option('--json', 'print a JSON summary')
    .action(
      async (opts: { phrases?: string; data?: string | boolean; cache?: string; limit?: string; json?: boolean }) => {
        const settings = llmSettingsFromEnv();
        const model = createDescriptionModel(settings);
        if (!model) throw new Error('annotate needs an LLM: set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH');
        const phrases = collectPhrases(opts);
        const limit = opts.limit === undefined ? phrases.length : parseCount('--limit', opts.limit, 1);
        const expander = new ActionGptExpander({
          cacheDir: opts.cache ?? settings.cacheDir,
          model,
          shippedPath: false,
        });
        const counts = { llm: 0, cache: 0, failed: 0 };
        const failures: string[] = [];
        for (const phrase of phrases.slice(0, limit)) {
          try {
            const r = await expander.lookup(phrase);
            counts[r.source === 'llm' ? 'llm' : 'cache']++;
            if (!opts.json) process.stderr.write(`${r.source === 'llm' ? 'described' : 'cached   '} ${phrase}\n`);
          } catch (err) {
            counts.failed++;
            failures.push(`${phrase}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        const summary = {
          model: model.id,
          cacheFile: expander.cacheFile,
          phrases: Math.min(limit, phrases.length),
          ...counts,
          failures: failures.slice(0, 20),
        };
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else
          process.stdout.write(
            `${summary.llm} described, ${summary.cache} already cached, ${summary.failed} failed → ${summary.cacheFile}\n`,
          );
        if (counts.failed) process.exitCode = 1;
      },
    );
}

/** Parses the transcript; each bad line is reported by number with what is wrong. */
export function parseTranscript(input: string): z.infer<typeof PlanLineSchema>[] {
  const out: z.infer<typeof PlanLineSchema>[] = [];
  const lines = input.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`stdin line ${i + 1}: not valid JSON (expected {"user": "...", "text": "..."})`);
    }
    const r = PlanLineSchema.safeParse(json);
    if (!r.success)
      throw new Error(
        `stdin line ${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.') || 'line'}: ${x.message}`).join('; ')}`,
      );
    out.push(r.data);
  }
  if (!out.length)
    throw new Error('no turns on stdin: pipe JSON lines like {"user": "ana", "text": "wave, then sit down"}');
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function summarise(r: EvalReport, maxFailures: number) {
  return {
    planner: r.planner,
    fieldAccuracy: Math.round(r.fieldAccuracy * 10000) / 10000,
    caseAccuracy: Math.round(r.caseAccuracy * 10000) / 10000,
    fields: r.fields,
    correctFields: r.correctFields,
    cases: r.cases,
    exactCases: r.exactCases,
    fallbacks: r.fallbacks,
    ms: r.ms,
    failures: r.failures
      .slice(0, maxFailures)
      .map((f) => ({ id: f.id, misses: f.misses, ...(f.fallback ? { fallback: f.fallback } : {}) })),
  };
}

function printEvalTable(rows: EvalReport[], llm: unknown): void {
  process.stdout.write('planner                      fields   field acc   cases   exact   fallbacks\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.planner.padEnd(28)} ${String(r.fields).padStart(6)}   ${(r.fieldAccuracy * 100).toFixed(1).padStart(8)}%   ${String(r.cases).padStart(5)}   ${String(r.exactCases).padStart(5)}   ${String(r.fallbacks).padStart(9)}\n`,
    );
    for (const f of r.failures.slice(0, 10))
      process.stdout.write(
        `  ✗ ${f.id}: ${f.misses.map((m) => `${m.field} expected ${JSON.stringify(m.expected)} got ${JSON.stringify(m.got)}`).join('; ')}\n`,
      );
  }
  if (llm && typeof llm === 'object' && 'skipped' in llm)
    process.stdout.write(`llm: skipped — ${(llm as { skipped: string }).skipped}\n`);
}

/** An integer option ≥ min, or an error that names the option. */
export function parseCount(option: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min)
    throw new Error(`${option}: expected an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** Phrases from a file (one per line, # comments) and/or every distinct text of a dataset. */
export function collectPhrases(opts: { phrases?: string; data?: string | boolean }): string[] {
  const phrases: string[] = [];
  if (opts.phrases) {
    if (!existsSync(opts.phrases)) throw new Error(`--phrases: no file at ${opts.phrases}`);
    phrases.push(
      ...readFileSync(opts.phrases, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  if (opts.data) {
    const dir = requireDataDir(typeof opts.data === 'string' ? opts.data : defaultDataDir());
    for (const [n, line] of readFileSync(resolve(dir, 'index.jsonl'), 'utf8').split('\n').entries()) {
      if (!line.trim()) continue;
      let rec: { texts?: unknown };
      try {
        rec = JSON.parse(line) as { texts?: unknown };
      } catch {
        throw new Error(`${resolve(dir, 'index.jsonl')}:${n + 1}: not valid JSON`);
      }
      if (Array.isArray(rec.texts))
        phrases.push(...rec.texts.filter((t): t is string => typeof t === 'string').map(phraseKey));
    }
  }
  if (!opts.phrases && !opts.data) throw new Error('annotate: give --phrases FILE or --data [DIR]');
  return [...new Set(phrases.map((p) => p.trim()).filter(Boolean))];
}

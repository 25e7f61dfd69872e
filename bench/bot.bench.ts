/**
 * Bot benchmark: chat → MP4 delivered (CLI surface and Discord double), first visible feedback,
 * throughput with the in-process queue and with 1 vs 2 BullMQ workers, and the memory of the bot with its
 * models and its Chromium: the bot process plus every process of the browser tree, as RSS (what each
 * process has resident; the sum counts pages they share once per process) and as Pss (shared pages split
 * among their users, so the sum is what the tree really costs).
 * Stages are whatever `createStages` picks on this checkout (reported in the JSON as `stages`).
 * Env: BENCH_RUNS (default 8), BENCH_JOBS (throughput jobs, default 10), BENCH_SECONDS (clip length, default 4),
 * BENCH_ONLY=cli (only the CLI latency and the memory figures: a minute instead of several, for memory work).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../src/bot/index.js';
import { startDiscordBot } from '../src/bot/discord/index.js';
import { loadConfig } from '../src/config/index.js';
import type { Config } from '../src/config/index.js';
import { createStages } from '../src/jobs/index.js';
import { DiscordDouble } from '../test/discord-double/server.js';
import { startRedis } from '../test/jobs/redis.js';
import { percentile, report } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 8);
const JOBS = Number(process.env.BENCH_JOBS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ONLY_CLI = process.env.BENCH_ONLY === 'cli';
if (process.env.BENCH_ONLY !== undefined && !ONLY_CLI)
  throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY}: the only part that runs alone is "cli"`);
const BIN = fileURLToPath(new URL('../bin/charades.js', import.meta.url));
const PROMPTS = [
  'make a person act like a dog',
  'wave with both hands',
  'walk forward happily',
  'jump in place',
  'kick with the right leg',
  'bow politely',
  'sit down on the floor',
  'dance happily',
];

const dataDir = mkdtempSync(join(tmpdir(), 'charades-bench-'));
const config: Config = loadConfig({ overrides: { dataDir, logLevel: 'silent' } });
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length });
const progress = (msg: string) => process.stderr.write(`… ${msg}\n`);

/** A `Key:   123 kB` field of a /proc file, in MiB; undefined when the process is gone or hides it. */
function procKb(path: string, key: string): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The processes under `roots` (and the roots themselves), found through the parent ids in /proc/<pid>/stat. */
function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after it start past the last ')'.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree: number[] = [];
  const frontier = [...roots];
  while (frontier.length > 0) {
    const pid = frontier.pop() as number;
    if (tree.includes(pid)) continue;
    tree.push(pid);
    frontier.push(...(children.get(pid) ?? []));
  }
  return tree;
}

interface Memory {
  rssMb: number;
  pssMb: number;
  processes: number;
}

function memoryOf(pids: readonly number[]): Memory {
  let rssMb = 0;
  let pssMb = 0;
  let processes = 0;
  for (const pid of pids) {
    const rss = procKb(`/proc/${pid}/status`, 'VmRSS');
    if (rss === undefined) continue;
    processes++;
    rssMb += rss;
    pssMb += procKb(`/proc/${pid}/smaps_rollup`, 'Pss') ?? rss;
  }
  return { rssMb, pssMb, processes };
}

async function cliLatency(): Promise<{ ms: number[]; notes: string[]; bot: Memory; chromium: Memory }> {
  const rt = await createRuntime(config);
  const turn = (text: string, key: string) =>
    rt.service.start(
      {
        platform: 'bench',
        conversationKey: key,
        userId: 'bench',
        text,
        options: { seconds: SECONDS },
        limits: { userQueue: 1e6, userPerMinute: 1e6 },
      },
      () => undefined,
    ).done;
  await turn('wave', 'warmup');
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await turn(PROMPTS[i % PROMPTS.length], `cli-${i}`);
    ms.push(performance.now() - t0);
  }
  // Measured warm, right after the runs: models loaded, one Chromium with its renderer processes up.
  const browsers = rt.stages?.renderer.processIds?.() ?? [];
  if (browsers.length === 0) throw new Error('the renderer reports no browser process: cannot measure Chromium memory');
  const bot = memoryOf([process.pid]);
  const chromium = memoryOf(processTree(browsers));
  await rt.close();
  return { ms, notes: rt.stageNotes, bot, chromium };
}

async function inProcessThroughput(): Promise<number> {
  const rt = await createRuntime(config);
  await rt.service.start(
    {
      platform: 'bench',
      conversationKey: 'tp-warm',
      userId: 'w',
      text: 'wave',
      limits: { userQueue: 1e6, userPerMinute: 1e6 },
    },
    () => undefined,
  ).done;
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: JOBS },
      (_, i) =>
        rt.service.start(
          {
            platform: 'bench',
            conversationKey: `tp-${i}`,
            userId: `u${i}`,
            text: PROMPTS[i % PROMPTS.length],
            options: { seconds: SECONDS },
            limits: { userQueue: 1e6, userPerMinute: 1e6 },
          },
          () => undefined,
        ).done,
    ),
  );
  const minutes = (performance.now() - t0) / 60_000;
  await rt.close();
  return JOBS / minutes;
}

async function discordLatency(): Promise<{ total: number[]; firstFeedback: number[] }> {
  const double = await new DiscordDouble().start();
  const bot = await startDiscordBot(
    loadConfig({
      overrides: {
        dataDir,
        logLevel: 'silent',
        limits: { userQueue: 100, userPerMinute: 1000, uploadBytes: 10 * 1024 * 1024 },
        discord: { token: 'bench', appId: double.appId, api: double.apiBase },
      },
    }),
  );
  const user = { id: '200000000000000001', username: 'bench' };
  const total: number[] = [];
  const firstFeedback: number[] = [];
  try {
    for (let i = -1; i < RUNS; i++) {
      const it = double.slashCommand(user, 'act', {
        prompt: PROMPTS[Math.max(0, i) % PROMPTS.length],
        seconds: SECONDS,
      });
      const done = await double.waitFor(
        () => (it.original?.attachments.some((a) => a.filename.endsWith('.mp4')) ? performance.now() : undefined),
        120_000,
        'the MP4',
      );
      if (i < 0) continue;
      firstFeedback.push(it.callbacks[0].at - it.sentAt);
      total.push(done - it.sentAt);
    }
  } finally {
    await bot.close();
    await double.close();
  }
  return { total, firstFeedback };
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('worker ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err.slice(-500)}`)));
  });
}

async function bullThroughput(workers: number): Promise<number> {
  const redis = await startRedis();
  const env = {
    REDIS_URL: redis.url,
    CHARADES_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    CHARADES_QUEUE: `bench${workers}`,
  };
  const procs = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
  const rt = await createRuntime(
    loadConfig({ overrides: { dataDir, logLevel: 'silent', redisUrl: redis.url, queueName: `bench${workers}` } }),
  );
  try {
    const run = (n: number, tag: string) =>
      Promise.all(
        Array.from(
          { length: n },
          (_, i) =>
            rt.service.start(
              {
                platform: 'bench',
                conversationKey: `${tag}-${i}`,
                userId: `${tag}${i}`,
                text: PROMPTS[i % PROMPTS.length],
                options: { seconds: SECONDS },
                limits: { userQueue: 1e6, userPerMinute: 1e6 },
              },
              () => undefined,
            ).done,
        ),
      );
    await run(workers, `warm${workers}`);
    const t0 = performance.now();
    await run(JOBS, `bull${workers}`);
    return JOBS / ((performance.now() - t0) / 60_000);
  } finally {
    await rt.close();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    await redis.stop();
  }
}

interface ThroughputAndDiscord {
  discord: { total: number[]; firstFeedback: number[] };
  clipsPerMinute: { inProcess: number; bullmq1: number; bullmq2: number };
}

/** Everything but the CLI latency and memory (skipped with BENCH_ONLY=cli). */
async function throughputAndDiscord(): Promise<ThroughputAndDiscord> {
  progress('in-process throughput');
  const inProcess = await inProcessThroughput();
  progress('Discord double latency');
  const discord = await discordLatency();
  progress('BullMQ 1 worker');
  const bullmq1 = await bullThroughput(1);
  progress('BullMQ 2 workers');
  const bullmq2 = await bullThroughput(2);
  return { discord, clipsPerMinute: { inProcess, bullmq1, bullmq2 } };
}

function restRows(rest: ThroughputAndDiscord) {
  const discord = stats(rest.discord.total);
  const feedback = stats(rest.discord.firstFeedback);
  const { inProcess, bullmq1, bullmq2 } = rest.clipsPerMinute;
  return [
    {
      metric: 'Discord /act → MP4 p50 (ms)',
      value: discord.p50,
      p95: discord.p95,
      target: '≤ 3000',
      ok: discord.p50 <= 3000,
    },
    {
      metric: 'first feedback p50 (ms)',
      value: feedback.p50,
      p95: feedback.p95,
      target: '≤ 300',
      ok: feedback.p95 <= 300,
    },
    { metric: 'clips/min in-process', value: inProcess, target: '≥ 20', ok: inProcess >= 20 },
    { metric: 'clips/min BullMQ 1 worker', value: bullmq1, target: '≥ 20', ok: bullmq1 >= 20 },
    { metric: 'clips/min BullMQ 2 workers', value: bullmq2, target: '≥ 20', ok: bullmq2 >= 20 },
  ];
}

try {
  const { notes } = await createStages(config).then(async (c) => {
    await c.stages.renderer.close();
    await c.stages.planner.close?.();
    await c.stages.generator.close?.();
    return c;
  });
  progress(`stages: ${notes.join('; ')}`);
  progress('CLI latency');
  const cli = await cliLatency();
  const rest = ONLY_CLI ? null : await throughputAndDiscord();
  const json = {
    clipSeconds: SECONDS,
    stages: notes,
    cliChatToMp4Ms: stats(cli.ms),
    ...(rest
      ? {
          discordChatToMp4Ms: stats(rest.discord.total),
          firstFeedbackMs: stats(rest.discord.firstFeedback),
          clipsPerMinute: rest.clipsPerMinute,
        }
      : {}),
    botRssMb: cli.bot.rssMb,
    memoryMb: {
      bot: { rss: cli.bot.rssMb, pss: cli.bot.pssMb },
      chromium: { rss: cli.chromium.rssMb, pss: cli.chromium.pssMb, processes: cli.chromium.processes },
      totalRss: cli.bot.rssMb + cli.chromium.rssMb,
      totalPss: cli.bot.pssMb + cli.chromium.pssMb,
    },
    targets: { chatToMp4P50Ms: 3000, firstFeedbackMs: 300, clipsPerMinute: 20, pssMb: 700 },
  };
  report('bot', json, [
    {
      metric: 'CLI chat → MP4 p50 (ms)',
      value: json.cliChatToMp4Ms.p50,
      p95: json.cliChatToMp4Ms.p95,
      target: '≤ 3000',
      ok: json.cliChatToMp4Ms.p50 <= 3000,
    },
    ...(rest ? restRows(rest) : []),
    { metric: 'bot process RSS (MB)', value: json.memoryMb.bot.rss, target: '', ok: '' },
    { metric: 'bot process Pss (MB)', value: json.memoryMb.bot.pss, target: '', ok: '' },
    {
      metric: `Chromium tree RSS, ${cli.chromium.processes} processes (MB)`,
      value: json.memoryMb.chromium.rss,
      target: '',
      ok: '',
    },
    {
      metric: `Chromium tree Pss, ${cli.chromium.processes} processes (MB)`,
      value: json.memoryMb.chromium.pss,
      target: '',
      ok: '',
    },
    { metric: 'bot + Chromium RSS sum (MB)', value: json.memoryMb.totalRss, target: '', ok: '' },
    {
      metric: 'bot + Chromium Pss sum (MB)',
      value: json.memoryMb.totalPss,
      target: '≤ 700',
      ok: json.memoryMb.totalPss <= 700,
    },
  ]);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

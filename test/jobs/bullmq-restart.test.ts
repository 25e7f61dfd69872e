import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import { Store, createRuntime } from '../../src/bot/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import type { DiscordMessage } from '../discord-double/server.js';
import { ffprobe, tempDir, testConfig } from '../bot/helpers.js';
import { startRedis } from './redis.js';

const WORKER = fileURLToPath(new URL('./fixtures/slow-worker.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/charades.js', import.meta.url));
const carol = { id: '300000000000000007', username: 'carol' };

interface Proc {
  child: ChildProcess;
  /** Parsed pino lines written so far. */
  lines: Record<string, unknown>[];
  waitFor(check: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A child process that logs pino JSON on stderr; its lines can be awaited. */
function startProcess(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  let raw = '';
  child.stderr!.on('data', (d: Buffer) => {
    raw += d.toString();
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        // non-JSON output (a crash) stays in `raw` for the error message
      }
    }
  });
  return {
    child,
    lines,
    async waitFor(check, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!lines.some(check)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}): ${raw.slice(-1500)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${raw.slice(-1500)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

const mp4Of = (m: DiscordMessage | undefined) => m?.attachments.find((a) => a.filename.endsWith('.mp4'));
const videoMessages = (double: DiscordDouble) => [...double.messages.values()].filter((m) => mp4Of(m));

test(
  'BullMQ: the bot is killed while a worker runs its job; the next bot re-attaches by id, resumes progress edits and replies exactly once',
  { timeout: 180_000 },
  async (t) => {
    const redis = await startRedis();
    const double = await new DiscordDouble().start();
    const { dir, cleanup } = tempDir();
    const queueName = 'restartkill';
    const common = { REDIS_URL: redis.url, CHARADES_DATA_DIR: dir, CHARADES_QUEUE: queueName, LOG_LEVEL: 'info' };
    // The worker holds the job in its generation stage long enough for the bot to die and a new one to start.
    const worker = startProcess(['--import', 'tsx', WORKER], {
      ...common,
      CHARADES_PLANNER: 'offline',
      CHARADES_RENDER_SIZE: '128',
      HOLD_MS: '7000',
    });
    const botA = startProcess([BIN, 'serve'], {
      ...common,
      DISCORD_TOKEN: 'double-token',
      DISCORD_APP_ID: double.appId,
      DISCORD_API: double.apiBase,
    });
    let botB: Awaited<ReturnType<typeof startDiscordBot>> | undefined;
    try {
      await Promise.all([
        worker.waitFor((l) => l.msg === 'worker ready', 'the worker'),
        botA.waitFor((l) => l.msg === 'discord bot ready', 'bot A'),
      ]);
      const act = double.slashCommand(carol, 'act', { prompt: 'wave for 2 seconds' });
      await double.waitFor(
        () => act.original?.history.some((h) => /Generating/.test(h)),
        60_000,
        'the worker generating',
      );
      await botA.stop('SIGKILL');
      const seenBeforeB = act.original!.history.length;
      assert.equal(mp4Of(act.original), undefined, 'nothing was delivered before the kill');

      botB = await startDiscordBot(
        testConfig(dir, {
          redisUrl: redis.url,
          queueName,
          discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
        }),
      );
      const result = await double.waitFor(
        () => (mp4Of(act.original) ? act.original : undefined),
        90_000,
        'the MP4 from bot B',
      );
      assert.ok(
        result.history.slice(seenBeforeB).some((h) => /Rendering/.test(h)),
        `bot B resumed the progress edits: ${result.history.join(' | ')}`,
      );
      assert.match(result.content, /wave for 2 seconds/);
      assert.ok(Math.abs(ffprobe(mp4Of(result)!.data).duration - 2) < 0.3);
      await double.waitFor(() => result.thread, 10_000, 'the thread on the result');
      t.diagnostic(
        `reply edits (bot A killed after edit ${seenBeforeB}): ${result.history.map((h) => h.split('\n')[0]).join(' → ')}`,
      );

      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(videoMessages(double).length, 1, 'exactly one reply with a video');
      const jobId = [...(botB.runtime.store.db.prepare('SELECT id FROM requests').all() as { id: string }[])].map(
        (r) => r.id,
      );
      assert.equal(jobId.length, 1);
      assert.equal(botB.runtime.store.request(jobId[0])?.status, 'done');
      assert.equal(botB.runtime.store.jobDeliveredAs(`discord:${result.channel_id}:${result.id}`), jobId[0]);
      assert.deepEqual(botB.runtime.store.undeliveredRequests('discord'), []);
    } finally {
      await botB?.close();
      await botA.stop('SIGKILL');
      await worker.stop();
      await double.close();
      await redis.stop();
      cleanup();
    }
  },
);

test(
  'BullMQ: a job that completes while no bot runs is delivered when a bot starts (channel fallback for an old token), and a job that is gone is reported',
  { timeout: 180_000 },
  async () => {
    const redis = await startRedis();
    const double = await new DiscordDouble().start();
    const { dir, cleanup } = tempDir();
    const queueName = 'restartidle';
    const worker = startProcess(['--import', 'tsx', WORKER], {
      REDIS_URL: redis.url,
      CHARADES_DATA_DIR: dir,
      CHARADES_QUEUE: queueName,
      LOG_LEVEL: 'info',
      CHARADES_PLANNER: 'offline',
      CHARADES_RENDER_SIZE: '128',
      HOLD_MS: '2500',
    });
    const config = testConfig(dir, {
      redisUrl: redis.url,
      queueName,
      discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
    });
    let botB: Awaited<ReturnType<typeof startDiscordBot>> | undefined;
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    try {
      await worker.waitFor((l) => l.msg === 'worker ready', 'the worker');
      const botA = await startDiscordBot(config);
      const act = double.slashCommand(carol, 'act', { prompt: 'jump for 2 seconds' });
      await double.waitFor(() => act.original?.history.some((h) => /In the queue/.test(h)), 30_000, 'the job queued');
      const jobId = (botA.runtime.store.db.prepare('SELECT id FROM requests').get() as { id: string }).id;
      await botA.close();
      assert.match(
        act.original?.content ?? '',
        /restarting; your clip is still being made/,
        'a graceful stop tells the user the clip is coming',
      );
      assert.notEqual(botA.runtime.queue.kind, 'in-process');

      await worker.waitFor((l) => l.event === 'completed' && l.jobId === jobId, 'the job completed while no bot runs');
      // Redis forgets completed jobs after a while (removeOnComplete); the worker's result file must suffice.
      await queue.remove(jobId);
      assert.equal(await queue.getJob(jobId), undefined);

      // A request whose job vanished without a result (Redis flushed): reported, never left hanging.
      const store = new Store(join(dir, 'charades.sqlite'));
      const conv = store.conversation('discord', 'lost-key', carol.id);
      const turn = store.addTurn({ conversationId: conv.id, userId: carol.id, text: 'spin', action: 'prompt' });
      const lostReply = {
        surface: { kind: 'message', channelId: double.channelId, messageId: '1', uploadLimit: 10_000_000 },
        prompt: 'spin',
        openThread: true,
      };
      store.addRequest({
        id: 'lost-job-1',
        conversationId: conv.id,
        turnId: turn,
        userId: carol.id,
        replyTo: lostReply,
      });
      store.close();

      botB = await startDiscordBot(config, { tokenLifetimeMs: 0 });
      const delivered = await double.waitFor(
        () =>
          double
            .channelMessages(double.channelId)
            .find((m) => !m.webhook_id && mp4Of(m) && /jump for 2 seconds/.test(m.content)),
        60_000,
        'the result posted in the channel',
      );
      assert.match(delivered.content, new RegExp(`^<@${carol.id}> `), 'the channel fallback mentions the requester');
      assert.ok(Math.abs(ffprobe(mp4Of(delivered)!.data).duration - 2) < 0.3);
      assert.equal(botB.runtime.store.request(jobId)?.status, 'done');
      const lost = await double.waitFor(
        () =>
          double
            .channelMessages(double.channelId)
            .find((m) => /could not act that out: job lost-job-1 is no longer in the queue/.test(m.content)),
        20_000,
        'the lost-job notice',
      );
      assert.equal(mp4Of(lost), undefined);
      assert.equal(botB.runtime.store.request('lost-job-1')?.status, 'failed');

      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(videoMessages(double).length, 1, 'exactly one reply with a video');
      assert.deepEqual(botB.runtime.store.undeliveredRequests('discord'), []);
    } finally {
      await botB?.close();
      await queue.close();
      await worker.stop();
      await double.close();
      await redis.stop();
      cleanup();
    }
  },
);

test(
  'BullMQ: a request without a reply surface (CLI) is not failed by a restart; the next runtime follows its job and stores the result',
  { timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const { dir, cleanup } = tempDir();
    const queueName = 'restartcli';
    const worker = startProcess(['--import', 'tsx', WORKER], {
      REDIS_URL: redis.url,
      CHARADES_DATA_DIR: dir,
      CHARADES_QUEUE: queueName,
      LOG_LEVEL: 'info',
      CHARADES_PLANNER: 'offline',
      CHARADES_RENDER_SIZE: '128',
      HOLD_MS: '3000',
    });
    const config = testConfig(dir, { redisUrl: redis.url, queueName });
    let second: Awaited<ReturnType<typeof createRuntime>> | undefined;
    try {
      await worker.waitFor((l) => l.msg === 'worker ready', 'the worker');
      const first = await createRuntime(config);
      const started = first.service.start(
        {
          platform: 'cli',
          conversationKey: 's',
          userId: 'cli',
          text: 'make a person wave for 2 seconds',
          limits: { userQueue: 5, userPerMinute: 50 },
        },
        () => undefined,
      );
      await worker.waitFor((l) => l.event === 'active' && l.jobId === started.jobId, 'the worker taking the job');
      const detached = assert.rejects(
        started.done,
        (err: Error) => err.name === 'JobDetachedError',
        'the first runtime stops following; the job is not failed',
      );
      await first.close();
      await detached;
      const peek = new Store(join(dir, 'charades.sqlite'));
      assert.notEqual(peek.request(started.jobId)?.status, 'failed');
      peek.close();

      second = await createRuntime(config);
      assert.notEqual(
        second.store.request(started.jobId)?.status,
        'failed',
        'a start-up does not fail a job that is still running',
      );
      await worker.waitFor((l) => l.event === 'completed' && l.jobId === started.jobId, 'the job completing');
      const deadline = Date.now() + 20_000;
      while (second.store.request(started.jobId)?.status !== 'done' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const row = second.store.request(started.jobId);
      assert.equal(row?.status, 'done');
      assert.ok(Math.abs(ffprobe(row!.videoPath!).duration - 2) < 0.3);
      assert.equal(second.store.motionsOf(started.jobId).length, 1, 'its motion is recorded for follow-ups');
      assert.equal(second.store.conversationById(started.conversationId)?.lastRequestId, started.jobId);
    } finally {
      await second?.close();
      await worker.stop();
      await redis.stop();
      cleanup();
    }
  },
);

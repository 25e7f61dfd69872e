import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import { ffprobe, tempDir, testConfig } from '../bot/helpers.js';
import { startRedis } from './redis.js';

const WORKER = fileURLToPath(new URL('./fixtures/slow-worker.ts', import.meta.url));

test(
  'BullMQ mode: the Discord bot only enqueues, a separate worker process renders, and progress and the MP4 reach the user',
  { timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const double = await new DiscordDouble().start();
    const { dir, cleanup } = tempDir();
    const worker = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        CHARADES_DATA_DIR: dir,
        CHARADES_QUEUE: 'discordbull',
        CHARADES_PLANNER: 'offline',
        CHARADES_RENDER_SIZE: '128',
        LOG_LEVEL: 'info',
        HOLD_MS: '0',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const ready = new Promise<void>((resolve, reject) => {
      worker.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('worker ready')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}): ${log}`)));
    });
    const bot = await startDiscordBot(
      testConfig(dir, {
        redisUrl: redis.url,
        queueName: 'discordbull',
        discord: { token: 't', appId: double.appId, api: double.apiBase, allowedChannels: [] },
      }),
    );
    try {
      assert.equal(bot.runtime.queue.kind, 'bullmq');
      assert.equal(bot.runtime.stages, undefined, 'the bot itself runs no stages');
      await ready;
      const act = double.slashCommand({ id: '300000000000000001', username: 'carol' }, 'act', {
        prompt: 'wave for 2 seconds',
      });
      const result = await double.waitFor(
        () => (act.original?.attachments.length ? act.original : undefined),
        60_000,
        'the MP4',
      );
      assert.equal(act.callbacks[0].type, 5);
      assert.ok(
        result.history.some((h) => /In the queue — position/.test(h)),
        result.history.join(' | '),
      );
      assert.ok(
        result.history.some((h) => /Rendering/.test(h)),
        'progress from the worker reaches the reply',
      );
      assert.ok(Math.abs(ffprobe(result.attachments[0].data).duration - 2) < 0.3);
      assert.match(log, /"event":"completed"/);
    } finally {
      await bot.close();
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
      await double.close();
      await redis.stop();
      cleanup();
    }
  },
);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startOpsServer } from '../../src/bot/index.js';
import { createJobMetrics } from '../../src/jobs/index.js';
import { runWorker } from '../../src/worker/index.js';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import { tempDir, testConfig } from './helpers.js';

test('the ops server serves Prometheus metrics and a health check that turns 503 when unhealthy', async () => {
  const metrics = createJobMetrics();
  metrics.queueDepth.set(3);
  let healthy = true;
  const ops = await startOpsServer(0, metrics.registry, async () => ({ ok: healthy, queue: 'in-process' }));
  try {
    const base = `http://127.0.0.1:${ops.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /charades_queue_depth 3/);
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true, queue: 'in-process' });
    healthy = false;
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await ops.close();
  }
});

test('a metrics port that is taken is a clear error', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      startOpsServer(port, createJobMetrics().registry, async () => ({ ok: true })),
      new RegExp(`cannot listen on port ${port} for metrics`),
    );
  } finally {
    blocker.close();
  }
});

test('the worker needs REDIS_URL and serve needs the Discord token, each said plainly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(runWorker(testConfig(dir)), /charades worker needs REDIS_URL/);
    await assert.rejects(startDiscordBot(testConfig(dir)), /charades serve needs DISCORD_TOKEN and DISCORD_APP_ID/);
    await assert.rejects(
      startDiscordBot(
        testConfig(dir, { discord: { token: 't', appId: '1', api: 'http://127.0.0.1:9/api', allowedChannels: [] } }),
        { registerCommands: false },
      ),
      /cannot log in to Discord at http:\/\/127\.0\.0\.1:9\/api/,
    );
  } finally {
    cleanup();
  }
});

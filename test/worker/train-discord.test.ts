// Discord /train through the real discord.js client against the API double, with a real training worker (fixture
// trainer) consuming the job table the command writes: admin only, job id in the reply, progress edits, final result.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import { liveVersion, publishVersion } from '../../src/motion/registry.js';
import { runTrainingWorker } from '../../src/worker/train/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import type { InteractionRecord } from '../discord-double/server.js';
import { testConfig } from '../bot/helpers.js';
import {
  FAKE_TRAINER,
  PYTHON,
  evalMetrics,
  makeModel,
  writeFakeTrainerInputs,
} from '../fixtures/train-worker/models.js';

const root = mkdtempSync(join(tmpdir(), 'charades-train-discord-'));
after(() => rmSync(root, { recursive: true, force: true }));

const admin = { id: 'admin', username: 'admin' };
const bob = { id: '100000000000000002', username: 'bob' };

test('/train: admins only; the reply names the job and is edited with progress and the final result', async () => {
  const double = await new DiscordDouble().start();
  const dataDir = join(root, 'state');
  const modelsDir = join(root, 'models');
  const cacheDir = join(root, 'cache');
  writeFakeTrainerInputs(cacheDir, join(root, 'embeddings'));
  await makeModel(join(root, 'old'), 'old', { metrics: evalMetrics(0.5, 1.0) });
  await publishVersion(join(root, 'old'), { registry: modelsDir });
  const config = testConfig(dataDir, {
    modelsDir,
    generator: 'retrieval',
    discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
  });
  const bot = await startDiscordBot(config);
  let metrics = evalMetrics(0.7, 0.4);
  const worker = await runTrainingWorker({
    dataDir,
    modelsDir,
    cacheDir,
    embeddingsDir: join(root, 'embeddings'),
    pollMs: 100,
    progressBar: false,
    log: () => undefined,
    trainer: { command: PYTHON, args: [FAKE_TRAINER], env: { FAKE_STEPS: '6', FAKE_STEP_S: '0.35' } },
    evaluate: (c) => ({ ...c.manifest.metrics, ...metrics }),
  });
  const answer = async (i: InteractionRecord) => {
    await double.waitFor(() => i.callbacks.length > 0, 5_000, 'an answer');
    return { text: String(i.callbacks[0].data?.content), ephemeral: i.ephemeral };
  };
  try {
    const train = double.registeredCommands.find((c) => c.name === 'train');
    assert.equal(train?.default_member_permissions, '32', 'hidden from members without Manage Server');

    const refused = await answer(double.slashCommand(bob, 'train', { config: 'tiny' }, double.channelId, 'start'));
    assert.deepEqual(refused, {
      text: 'Only server members with the Manage Server permission can train models.',
      ephemeral: true,
    });
    const badData = await answer(
      double.slashCommand(admin, 'train', { data: join(root, 'nope') }, double.channelId, 'start'),
    );
    assert.match(badData.text, /^`data` .*nope: no such folder$/);
    assert.equal(badData.ephemeral, true);

    const start = double.slashCommand(admin, 'train', { config: 'tiny' }, double.channelId, 'start');
    const first = await answer(start);
    assert.equal(first.ephemeral, false, 'the job message is public, so its edits show everyone the progress');
    assert.match(first.text, /^🏋️ Training job 1 \(config tiny\) is queued; a training worker/);
    const done = await double.waitFor(
      () => (/^✅/.test(start.original?.content ?? '') ? start.original : undefined),
      30_000,
      'the published message',
    );
    const version = liveVersion(modelsDir)!;
    assert.match(
      done.content,
      new RegExp(
        `^✅ Training job 1 \\(config tiny\\) published \\*\\*${version}\\*\\*; it is live now\\. gate passed: `,
      ),
    );
    const progress = done.history.filter((h) => /step \d+\/6 · loss [\d.]+ · ETA \d+s/.test(h));
    assert.ok(progress.length >= 1, `progress edits: ${done.history.join(' | ')}`);
    assert.match(progress[0], /^🏋️ Training job 1 \(config tiny\): (vq|gpt) step/);

    // A model that does not beat the live one: the message says why the gate refused it.
    metrics = evalMetrics(0.6, 0.9);
    const second = double.slashCommand(admin, 'train', { config: 'tiny' }, double.channelId, 'start');
    await answer(second);
    const refusedByGate = await double.waitFor(
      () => (/^❌/.test(second.original?.content ?? '') ? second.original : undefined),
      30_000,
      'the rejected message',
    );
    assert.match(
      refusedByGate.content,
      /^❌ Training job 2 \(config tiny\) was not published: gate failed: \S+r_precision_top3 0\.6 vs live 0\.7: not higher; \S+fid 0\.9 vs live 0\.4: not lower\. The model is kept in /,
    );
    assert.equal(liveVersion(modelsDir), version);

    assert.match(
      (await answer(double.slashCommand(admin, 'train', { job: 1 }, double.channelId, 'status'))).text,
      /^✅ Training job 1/,
    );
    assert.match(
      (await answer(double.slashCommand(admin, 'train', { job: 9 }, double.channelId, 'cancel'))).text,
      /^There is no training job 9\.$/,
    );
    await worker.close();
    const third = double.slashCommand(admin, 'train', {}, double.channelId, 'start');
    assert.match((await answer(third)).text, /Training job 3 \(config full\) is queued/);
    const cancelled = await answer(double.slashCommand(admin, 'train', { job: 3 }, double.channelId, 'cancel'));
    assert.match(cancelled.text, /^🛑 Training job 3 \(config full\) was cancelled\.$/);
    await double.waitFor(
      () => (/cancelled/.test(third.original?.content ?? '') ? true : undefined),
      10_000,
      'the job message to show the cancel',
    );
  } finally {
    await worker.close();
    await bot.close();
    await double.close();
  }
});

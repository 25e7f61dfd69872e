import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GatewayIntentBits } from 'discord.js';
import { COMMANDS, INTENTS, startDiscordBot } from '../../src/bot/discord/index.js';
import type { DiscordBot } from '../../src/bot/discord/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import type { DiscordMessage, InteractionRecord } from '../discord-double/server.js';
import { Store } from '../../src/bot/index.js';
import { ffprobe, tempDir, testConfig } from './helpers.js';

const alice = { id: '100000000000000001', username: 'alice' };
const bob = { id: '100000000000000002', username: 'bob' };

async function startBot(
  double: DiscordDouble,
  dataDir: string,
  overrides: Record<string, unknown> = {},
): Promise<DiscordBot> {
  const config = testConfig(dataDir, {
    discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
    ...overrides,
  });
  return startDiscordBot(config);
}

const videoOf = (m: DiscordMessage | undefined) => m?.attachments.find((a) => a.filename.endsWith('.mp4'));

async function finished(double: DiscordDouble, i: InteractionRecord): Promise<DiscordMessage> {
  return double.waitFor(
    () => (videoOf(i.original) || /😵/.test(i.original?.content ?? '') ? i.original : undefined),
    60_000,
    `the result of /${i.name ?? i.customId}`,
  );
}

test('Discord end to end: /act → defer ≤ 300 ms → progress edits → MP4 + buttons → thread follow-up "slower" → buttons', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const bot = await startBot(double, dir);
  try {
    const registered = double.registeredCommands.map((c) => String(c.name)).sort();
    assert.deepEqual(registered, COMMANDS.map((c) => c.data.name).sort(), 'every command is registered');
    for (const core of ['act', 'continue', 'help', 'queue', 'settings'])
      assert.ok(registered.includes(core), `/${core} is registered`);
    const intents = Number(double.identify?.intents);
    assert.equal(
      intents,
      INTENTS.reduce((all, bit) => all | bit, 0),
      'the client identifies with exactly the declared intents',
    );
    const core = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;
    assert.equal(intents & core, core);

    const act = double.slashCommand(alice, 'act', { prompt: 'make a person act like a dog' });
    await double.waitFor(() => act.callbacks.length > 0, 5_000, 'the defer');
    assert.equal(act.callbacks[0].type, 5, 'the first answer is a deferral');
    const deferMs = act.callbacks[0].at - act.sentAt;
    assert.ok(deferMs <= 300, `deferred after ${deferMs.toFixed(0)} ms`);

    const result = await finished(double, act);
    const video = videoOf(result);
    assert.ok(video, `an MP4 is attached; content: ${result.content}`);
    const probe = ffprobe(video.data);
    assert.equal(probe.codec, 'h264');
    assert.ok(probe.duration >= 2 && probe.duration <= 12, `a clip of a few seconds, got ${probe.duration}`);
    // Progress edits are coalesced to one a second, so a fast stage may be skipped; the later ones show.
    assert.ok(
      result.history.some((h) => /Generating|Rendering/.test(h)),
      `progress edits shown: ${result.history.join(' | ')}`,
    );
    assert.match(result.content, /act like a dog/);
    assert.match(result.content, /Understood: /);
    const ids = (result.components as { components: { custom_id: string; label: string }[] }[]).flatMap((row) =>
      row.components.map((c) => c.label),
    );
    assert.deepEqual(ids, ['Reroll', 'Variations', 'Continue', 'Slower', 'Faster', 'BVH', 'GLB', '👍', '👎']);

    const thread = await double.waitFor(() => result.thread, 5_000, 'a thread on the result');
    const threadId = thread.id as string;

    // A follow-up in the thread edits the last request: "slower" gives a longer clip.
    double.userMessage(alice, threadId, 'slower');
    const slower = await double.waitFor(
      () => double.channelMessages(threadId).find((m) => videoOf(m)),
      60_000,
      'the slower clip',
    );
    const slowerProbe = ffprobe(videoOf(slower)!.data);
    assert.ok(
      slowerProbe.duration > probe.duration + 0.5,
      `slower is longer: ${slowerProbe.duration} vs ${probe.duration}`,
    );
    assert.match(slower.content, /speed 0\.\d+×/);

    // Only the requester may press a generating button.
    const bobPress = double.pressButton(
      bob,
      result,
      (result.components as { components: { custom_id: string }[] }[])[0].components[0].custom_id,
    );
    await double.waitFor(() => bobPress.callbacks.length > 0, 5_000, 'the refusal');
    assert.equal(bobPress.callbacks[0].type, 4);
    assert.ok(bobPress.ephemeral);
    assert.match(String(bobPress.callbacks[0].data?.content), /Only <@100000000000000001> can change this clip/);

    const customId = (label: string) =>
      (result.components as { components: { custom_id: string; label: string }[] }[])
        .flatMap((r) => r.components)
        .find((c) => c.label === label)!.custom_id;
    const reroll = double.pressButton(alice, result, customId('Reroll'));
    const rerolled = await finished(double, reroll);
    assert.ok(videoOf(rerolled), `reroll posts a clip: ${rerolled.content}`);
    assert.match(rerolled.content, /Another take/);

    const variations = double.pressButton(alice, result, customId('Variations'));
    const grid = await finished(double, variations);
    assert.match(grid.content, /4 variations/);
    const gridProbe = ffprobe(videoOf(grid)!.data);
    assert.equal(gridProbe.width, 256);

    const up = double.pressButton(bob, result, customId('👍'));
    await double.waitFor(() => up.callbacks.length > 0, 5_000, 'the rating answer');
    assert.match(String(up.callbacks[0].data?.content), /👍 1 · 👎 0/);

    const bvh = double.pressButton(alice, result, customId('BVH'));
    await double.waitFor(() => bvh.original?.attachments.length, 10_000, 'the BVH file');
    assert.match(bvh.original!.attachments[0].data.toString('utf8', 0, 20), /^HIERARCHY/);
    const glb = double.pressButton(alice, result, customId('GLB'));
    await double.waitFor(() => glb.original?.attachments.length, 20_000, 'the GLB file');
    assert.equal(glb.original!.attachments[0].data.toString('latin1', 0, 4), 'glTF', 'a binary glTF');
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('Discord: per-user limits, malformed inputs, bots and channels outside the allow-list are answered or ignored', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const bot = await startBot(double, dir, {
    limits: { userQueue: 1, userPerMinute: 2, uploadBytes: 10 * 1024 * 1024 },
  });
  try {
    const ephemeralAnswer = async (i: InteractionRecord) => {
      await double.waitFor(() => i.callbacks.length > 0, 5_000, 'an answer');
      assert.equal(i.callbacks[0].type, 4);
      assert.ok(i.ephemeral, 'the answer is ephemeral');
      return String(i.callbacks[0].data?.content);
    };
    assert.match(await ephemeralAnswer(double.slashCommand(alice, 'act', { prompt: '   ' })), /`prompt` is empty/);
    assert.match(
      await ephemeralAnswer(double.slashCommand(alice, 'act', { prompt: 'wave', seconds: 300 })),
      /`seconds` must be between 0.5 and 30 \(got 300\)/,
    );
    assert.match(
      await ephemeralAnswer(double.slashCommand(alice, 'act', { prompt: 'wave', samples: 3 })),
      /`samples` must be 1 or 4/,
    );

    const first = double.slashCommand(alice, 'act', { prompt: 'wave', seconds: 2 });
    await double.waitFor(() => first.callbacks.length > 0, 5_000, 'the first defer');
    assert.match(
      await ephemeralAnswer(double.slashCommand(alice, 'act', { prompt: 'jump' })),
      /already have 1 request in the queue \(limit 1\)/,
    );
    await finished(double, first);
    const second = double.slashCommand(alice, 'act', { prompt: 'jump', seconds: 2 });
    await finished(double, second);
    assert.match(
      await ephemeralAnswer(double.slashCommand(alice, 'act', { prompt: 'kick' })),
      /2 requests in the last minute \(limit 2\)/,
    );

    const fake = { ...first.original!, components: [] };
    assert.match(
      await ephemeralAnswer(double.pressButton(bob, fake, 'ch:reroll:no-such-job')),
      /no longer in my store/,
    );
    assert.match(await ephemeralAnswer(double.pressButton(bob, fake, 'something-else')), /do not know this button/);
    assert.match(await ephemeralAnswer(double.slashCommand(alice, 'continue', { prompt: ' ' })), /`prompt` is empty/);
    assert.match(
      await ephemeralAnswer(double.slashCommand(bob, 'continue', { prompt: 'jump' })),
      /nothing to continue yet/,
    );
    assert.match(await ephemeralAnswer(double.slashCommand(bob, 'queue')), /Yours: 0 of 1 allowed/);
    assert.match(
      await ephemeralAnswer(double.slashCommand(bob, 'settings', {}, double.channelId, 'show')),
      /Manage Server/,
    );
    assert.match(
      await ephemeralAnswer(
        double.slashCommand({ id: 'admin', username: 'admin' }, 'settings', {}, double.channelId, 'show'),
      ),
      /Channels: all/,
    );
    assert.match(await ephemeralAnswer(double.slashCommand(bob, 'help')), /act like a dog/);

    // Bots are ignored, even when they mention us.
    const before = double.requests.length;
    double.userMessage(
      { id: '100000000000000009', username: 'otherbot', bot: true },
      double.channelId,
      'act like a cat',
      { mentionBot: true },
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(double.requests.length, before, 'no REST call answers a bot');

    // An over-long mention is refused with its length, before anything is queued.
    const long = double.userMessage(bob, double.channelId, 'wave '.repeat(500), { mentionBot: true });
    const tooLong = await double.waitFor(
      () =>
        double
          .channelMessages(double.channelId)
          .find((m) => m.message_reference?.message_id === long.id && /characters long/.test(m.content)),
      5_000,
      'the length refusal',
    );
    assert.match(tooLong.content, /Your message is 2499 characters long; I read at most 2000/);

    // A mention with nothing to do gets a hint instead of a job.
    const empty = double.userMessage(bob, double.channelId, '', { mentionBot: true });
    const hint = await double.waitFor(
      () => double.channelMessages(double.channelId).find((m) => m.message_reference?.message_id === empty.id),
      5_000,
      'the hint',
    );
    assert.match(hint.content, /Tell me what the person should do/);

    // The allow-list: once a channel is allowed, others are refused.
    bot.runtime.store.setGuildSettings(double.guildId, { allowedChannels: [double.channelId] });
    assert.match(
      await ephemeralAnswer(double.slashCommand(bob, 'act', { prompt: 'wave' }, double.otherChannelId)),
      /I only act in <#/,
    );
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('Discord: a mention works like /act, an old interaction token falls back to a channel message, and the upload limit is respected', async () => {
  const double = await new DiscordDouble({ attachmentSizeLimit: 2_000 }).start();
  const { dir, cleanup } = tempDir();
  const config = testConfig(dir, {
    discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
  });
  const bot = await startDiscordBot(config, { tokenLifetimeMs: 0 });
  try {
    // Mention: the bot answers the message, edits its answer with progress, attaches the MP4 and opens a thread.
    const ask = double.userMessage(alice, double.channelId, 'wave for 2 seconds', { mentionBot: true });
    const answer = await double.waitFor(
      () =>
        double.channelMessages(double.channelId).find((m) => m.message_reference?.message_id === ask.id && videoOf(m)),
      60_000,
      'the answer to the mention',
    );
    assert.ok(answer.history.length >= 3, `progress edits: ${answer.history.join(' | ')}`);
    assert.ok(Math.abs(ffprobe(videoOf(answer)!.data).duration - 2) < 0.3);
    await double.waitFor(() => answer.thread, 5_000, 'the thread');

    // Replying to the result (outside the thread) continues the same conversation: "faster" shortens it.
    const reply = double.userMessage(alice, double.channelId, 'faster', { replyTo: answer });
    const faster = await double.waitFor(
      () =>
        double
          .channelMessages(double.channelId)
          .find((m) => m.message_reference?.message_id === reply.id && videoOf(m)),
      60_000,
      'the faster clip',
    );
    assert.ok(ffprobe(videoOf(faster)!.data).duration < 1.8, 'faster edits the 2 s request of that conversation');

    // An interaction whose token is (here: immediately) too old is answered in the channel instead.
    const act = double.slashCommand(alice, 'act', { prompt: 'jump', seconds: 1 });
    const inChannel = await double.waitFor(
      () =>
        double
          .channelMessages(double.channelId)
          .find(
            (m) =>
              !m.webhook_id &&
              m.author.id === double.appId &&
              /over this server's 2 KiB upload limit|jump/.test(m.content) &&
              m.components.length > 0,
          ),
      60_000,
      'the fallback channel message',
    );
    assert.match(inChannel.content, /^<@100000000000000001> /, 'the fallback mentions the requester');
    assert.equal(act.callbacks[0].type, 5);
    // The interaction says uploads are limited to 2,000 bytes: no attachment, an explanation instead.
    assert.equal(videoOf(inChannel), undefined);
    assert.match(
      inChannel.content,
      /The video is \d+ KiB, over this server's 2 KiB upload limit; ask for a shorter clip/,
    );
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('Discord: a graceful shutdown finishes the running job and tells the waiting one to ask again', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const bot = await startBot(double, dir);
  try {
    // A longer first clip keeps it running while the second waits; progress edits are paced (≤ 1/s), so a stage of
    // the running job may never show, and "still running" is read as "not delivered yet".
    const running = double.slashCommand(alice, 'act', { prompt: 'wave', seconds: 8 });
    const waiting = double.slashCommand(bob, 'act', { prompt: 'jump', seconds: 1 });
    await double.waitFor(
      () => (waiting.original?.history.some((h) => /position 1/.test(h)) && !videoOf(running.original)) || undefined,
      30_000,
      'one job running, one waiting',
    );
    await bot.close();
    assert.ok(videoOf(running.original), `the running job was finished and delivered: ${running.original?.content}`);
    assert.match(waiting.original?.content ?? '', /shutting down; your request was not started, please ask again/);

    // A request a crashed run left behind (its in-process job died with it) whose token Discord refuses.
    const store = new Store(join(dir, 'charades.sqlite'));
    const conv = store.conversation('discord', 'crashed-key', alice.id);
    const turnId = store.addTurn({ conversationId: conv.id, userId: alice.id, text: 'spin', action: 'prompt' });
    const surface = {
      kind: 'interaction',
      applicationId: double.appId,
      token: 'no-such-token',
      channelId: double.channelId,
      userId: alice.id,
      deferredAt: Date.now(),
      uploadLimit: 10_000_000,
    };
    store.addRequest({
      id: 'crashed-1',
      conversationId: conv.id,
      turnId,
      userId: alice.id,
      replyTo: { surface, prompt: 'spin', openThread: true },
    });
    store.close();

    // The answers of the first run were claimed, so a bot that starts on the same data directory sends
    // them nothing again; the crashed request's requester is told, in the channel, once.
    const messagesBefore = double.messages.size;
    const editsBefore = [running, waiting].map((i) => i.original?.history.length);
    const again = await startBot(double, dir);
    const notice = await double.waitFor(
      () =>
        double
          .channelMessages(double.channelId)
          .find((m) => /could not act that out: interrupted: the bot restarted/.test(m.content)),
      10_000,
      'the crashed-request notice',
    );
    assert.match(notice.content, /^<@100000000000000001> /);
    await new Promise((r) => setTimeout(r, 1000));
    await again.close();
    assert.equal(double.messages.size, messagesBefore + 1, 'only the notice was posted');
    assert.deepEqual(
      [running, waiting].map((i) => i.original?.history.length),
      editsBefore,
      'no answer was edited again',
    );
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

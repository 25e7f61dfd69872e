// Community zero-shot testing end to end through the Discord double: real discord.js, real engine, real
// Chromium and ffmpeg, real SQLite, real USE, and Action-GPT through a local OpenAI-compatible server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import type { DiscordBot } from '../../src/bot/discord/index.js';
import type { CommunityOptions } from '../../src/bot/discord/community.js';
import { CommunityStore, buildReport, expandedSide, wilson, writeReport } from '../../src/community/index.js';
import { Store } from '../../src/bot/store.js';
import { defaultModelsDir, liveVersion } from '../../src/motion/index.js';
import type { CommunityReport } from '../../src/community/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import type { DiscordMessage, InteractionRecord, User } from '../discord-double/server.js';
import { startOpenAIServer } from '../agent/openai-server.js';
import { ffprobe, tempDir, testConfig } from '../bot/helpers.js';

const alice = { id: '200000000000000001', username: 'alice' };
const bob = { id: '200000000000000002', username: 'bob' };
const carol = { id: '200000000000000003', username: 'carol' };
const dave = { id: '200000000000000004', username: 'dave' };
const admin = { id: 'admin', username: 'admin' };
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const REPO = new URL('../..', import.meta.url).pathname;

async function startBot(double: DiscordDouble, dataDir: string, community: CommunityOptions): Promise<DiscordBot> {
  const config = testConfig(dataDir, {
    discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
  });
  return startDiscordBot(config, { community: { sweepMs: 150, clipSeconds: 1.5, ...community } });
}

async function answer(double: DiscordDouble, i: InteractionRecord): Promise<string> {
  await double.waitFor(() => i.callbacks.length > 0, 10_000, `an answer to ${i.name ?? i.customId}`);
  return String(i.callbacks[0].data?.content ?? i.original?.content ?? '');
}

const fileOf = (m: DiscordMessage | undefined, ext: string) => m?.attachments.find((a) => a.filename.endsWith(ext));

function buttonIds(m: DiscordMessage): { label: string; id: string }[] {
  return (m.components as { components: { custom_id: string; label: string }[] }[]).flatMap((r) =>
    r.components.map((c) => ({ label: c.label, id: c.custom_id })),
  );
}

/** A user adds or removes an emoji reaction, as the gateway tells the bot. */
function react(double: DiscordDouble, user: User, message: DiscordMessage, emoji: string, added: boolean): void {
  double.dispatch(added ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE', {
    user_id: user.id,
    channel_id: message.channel_id,
    message_id: message.id,
    guild_id: double.guildId,
    emoji: { id: null, name: emoji },
    burst: false,
    type: 0,
    ...(added
      ? {
          member: {
            user: { id: user.id, username: user.username, discriminator: '0', avatar: null, bot: false },
            roles: [],
            joined_at: new Date().toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
          },
        }
      : {}),
  });
}

function charades(args: string[], dataDir: string): string {
  return execFileSync(process.execPath, [join(REPO, 'bin/charades.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CHARADES_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  });
}

test('zero-shot: submit → blinded k=0 vs k=4 duel → votes (changeable) → reveal → ratings by button and reaction → report numbers, JSON, charts and feedback JSONL', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const llm = await startOpenAIServer(() => ({
    content: 'The person tosses three balls upward in turn, hands circling at waist height, eyes following the arc.',
  }));
  const bot = await startBot(double, dir, {
    duelVotingMs: 6_000,
    env: { OPENAI_BASE_URL: llm.baseURL, OPENAI_MODEL: 'test-model', CHARADES_CACHE: join(dir, 'cache') },
  });
  try {
    const names = double.registeredCommands.map((c) => c.name);
    assert.ok(names.includes('zeroshot') && names.includes('charades'), `registered: ${names.join(', ')}`);

    const empty = double.slashCommand(alice, 'zeroshot', {}, double.channelId, 'duel');
    assert.match(await answer(double, empty), /pool is empty/);
    assert.match(
      await answer(double, double.slashCommand(alice, 'zeroshot', {}, double.channelId, 'list')),
      /pool is empty/,
    );

    assert.match(
      await answer(
        double,
        double.slashCommand(alice, 'zeroshot', { phrase: 'Juggle three balls' }, double.channelId, 'submit'),
      ),
      /Added #1 “Juggle three balls”/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'a person juggles three balls!' }, double.channelId, 'submit'),
      ),
      /Added #2/,
      'a different verb form is a different phrase',
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'juggle  THREE balls.' }, double.channelId, 'submit'),
      ),
      /Already in the pool as #1/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'sh1t on the floor' }, double.channelId, 'submit'),
      ),
      /profanity or abuse filter/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'see https://x.example' }, double.channelId, 'submit'),
      ),
      /Links are not allowed/,
    );
    assert.match(
      await answer(double, double.slashCommand(bob, 'zeroshot', { phrase: '#2' }, double.channelId, 'remove')),
      /Only members with the Manage Server permission/,
    );
    assert.match(
      await answer(double, double.slashCommand(admin, 'zeroshot', { phrase: '#2' }, double.channelId, 'remove')),
      /Removed #2/,
    );
    const list = await answer(double, double.slashCommand(bob, 'zeroshot', {}, double.channelId, 'list'));
    assert.match(list, /1 phrase \(page 1 of 1\)\n#1 Juggle three balls$/);
    const before = await answer(double, double.slashCommand(bob, 'zeroshot', {}, double.channelId, 'report'));
    assert.match(before, /No closed duels yet/);

    // The duel: one video, two sides; the message says what is compared, never which side is which.
    const duel = double.slashCommand(alice, 'zeroshot', {}, double.channelId, 'duel');
    const posted = await double.waitFor(
      () => (fileOf(duel.original, '.mp4') || /😵/.test(duel.original?.content ?? '') ? duel.original : undefined),
      120_000,
      'the duel video',
    );
    const video = fileOf(posted, '.mp4');
    assert.ok(video, posted.content);
    const probe = ffprobe(video.data);
    assert.deepEqual([probe.codec, probe.width, probe.height], ['h264', 256, 256]);
    assert.match(posted.content, /Blind duel\*\* #1: “Juggle three balls”/);
    assert.match(posted.content, /the raw phrase \(k=0\) against Action-GPT's k=4 descriptions/);
    assert.doesNotMatch(posted.content, /A = |B = /, 'no reveal before voting closes');
    assert.equal(llm.requests.length, 4, 'Action-GPT asked the LLM for k=4 descriptions');
    assert.match(
      JSON.stringify(llm.requests[0]),
      /Describe a person's body movements who is performing the action Juggle three balls in detail/,
    );

    const cs = new CommunityStore(bot.runtime.store.db);
    const stored = cs.duel(buttonIds(posted)[0].id.split(':')[2])!;
    const k4 = expandedSide(stored.a, stored.b)!;
    const k0 = k4 === 'A' ? 'B' : 'A';
    const voteIds = buttonIds(posted);
    assert.deepEqual(
      voteIds.map((b) => b.label),
      ['A is better', 'B is better', 'Neither'],
    );
    const press = (user: User, side: 'A' | 'B' | 'N') =>
      double.pressButton(user, posted, voteIds.find((b) => b.id.endsWith(`:${side.toLowerCase()}`))!.id);
    assert.match(await answer(double, press(alice, k4)), new RegExp(`Your vote: \\*\\*${k4}\\*\\*`));
    assert.match(await answer(double, press(bob, k0)), /Your vote/);
    assert.match(await answer(double, press(bob, k4)), new RegExp(`Changed your vote to \\*\\*${k4}\\*\\*`));
    assert.match(await answer(double, press(carol, k0)), /Your vote/);
    assert.match(await answer(double, press(dave, 'N')), /Your vote: \*\*neither\*\*/);

    const revealed = await double.waitFor(
      () => (/Revealed:/.test(posted.content) ? posted : undefined),
      20_000,
      'the reveal',
    );
    assert.match(revealed.content, new RegExp(`${k4} = k=4 \\(Action-GPT, llm\\)`));
    assert.match(revealed.content, new RegExp(`${k0} = k=0 \\(raw phrase\\)`));
    assert.match(revealed.content, new RegExp(`votes A ${k4 === 'A' ? 2 : 1} · B ${k4 === 'B' ? 2 : 1} · neither 1`));
    assert.equal(revealed.components.length, 0, 'the vote buttons go away');
    assert.ok(fileOf(revealed, '.mp4'), 'the video stays');
    assert.match(await answer(double, press(carol, k4)), /Voting on this duel has closed/);

    // Ratings on a chat result: the 👍 button, and 👍/👎 reactions (added, switched, withdrawn).
    const act = double.slashCommand(alice, 'act', { prompt: 'juggle three balls', seconds: 1.5 });
    const result = await double.waitFor(
      () => (fileOf(act.original, '.mp4') ? act.original : undefined),
      120_000,
      'the /act result',
    );
    const jobId = buttonIds(result)
      .find((b) => b.label === '👍')!
      .id.split(':')[2];
    assert.match(
      await answer(double, double.pressButton(bob, result, buttonIds(result).find((b) => b.label === '👍')!.id)),
      /👍 1 · 👎 0/,
    );
    react(double, carol, result, '👎', true);
    react(double, dave, result, '👍', true);
    await double.waitFor(
      () => {
        const r = bot.runtime.store.ratings(jobId);
        return r.up === 2 && r.down === 1;
      },
      10_000,
      'reaction ratings',
    );
    react(double, dave, result, '👍', false);
    react(double, carol, result, '🎉', true);
    await double.waitFor(
      () => {
        const r = bot.runtime.store.ratings(jobId);
        return r.up === 1 && r.down === 1;
      },
      10_000,
      'the withdrawn reaction',
    );

    const report = double.slashCommand(carol, 'zeroshot', {}, double.channelId, 'report');
    await double.waitFor(() => report.original?.attachments.length, 10_000, 'the report');
    const ci = wilson(2, 3).ci95!.map((x) => (100 * x).toFixed(1));
    assert.match(
      report.original!.content,
      new RegExp(`A/B k=4 over k=0: 2 vs 1 \\(neither 1\\) in 1 duel · win rate 66.7 % \\[${ci[0]}, ${ci[1]}\\]`),
    );
    assert.match(report.original!.content, /Ratings: 👍 1 · 👎 1/);
    assert.match(
      report.original!.content,
      /\*\*Per phrase\*\*\n#1 Juggle three balls — 👍 1 👎 1 · k=4:k=0 2:1 · recognised 0\/0 · similarity -?\d\.\d\d\/-?\d\.\d\d/,
    );
    assert.deepEqual(fileOf(report.original, 'ab-win-rate.png')!.data.subarray(0, 4), PNG);
  } finally {
    await bot.close();
    await double.close();
    await llm.close();
  }
  try {
    // The same numbers from the command line, with the chart files and the feedback export.
    const json = JSON.parse(charades(['report', '--json', '--html', join(dir, 'report')], dir)) as CommunityReport;
    assert.deepEqual(json.overall.expansion.votes, { k4: 2, k0: 1, neither: 1 });
    assert.equal(json.overall.expansion.k4WinRate.rate, 2 / 3);
    assert.deepEqual(json.overall.expansion.k4WinRate.ci95, wilson(2, 3).ci95);
    const p1 = json.phrases.find((p) => p.id === 1)!;
    assert.deepEqual(
      [p1.ratings.up, p1.ratings.down],
      [1, 1],
      'the /act ratings belong to the phrase by normalised text',
    );
    assert.equal(p1.metrics.clips, 2);
    assert.ok(
      p1.metrics.similarity.k0 !== null && p1.metrics.similarity.k4 !== null,
      'evaluator similarity of both sides',
    );
    assert.ok(p1.metrics.footSkate.all !== null && p1.metrics.footSkate.all >= 0);
    assert.equal(json.phrases.find((p) => p.id === 2)!.removed, true);
    for (const f of ['report.json', 'ab-win-rate.png', 'recognition.png', 'index.html'])
      assert.ok(existsSync(join(dir, 'report', f)), f);
    assert.deepEqual(readFileSync(join(dir, 'report', 'ab-win-rate.png')).subarray(0, 4), PNG);
    charades(['export-feedback', '-o', join(dir, 'feedback.jsonl')], dir);
    const lines = readFileSync(join(dir, 'feedback.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const phrase = lines.find((l) => l.kind === 'phrase' && l.phrase_id === 1)!;
    assert.deepEqual(phrase.ab, {
      duels: 1,
      k4: 2,
      k0: 1,
      neither: 1,
      k4_win_rate: 0.6667,
      ci95: wilson(2, 3).ci95!.map((x) => Math.round(x * 1e4) / 1e4),
    });
    assert.equal((phrase.descriptions as string[]).length, 4);
    const ratings = lines.filter((l) => l.kind === 'rating');
    assert.equal(ratings.length, 2);
    assert.ok(
      ratings.every(
        (r) => r.model_version === liveVersion(defaultModelsDir()) && r.seed !== null && r.planner !== null,
      ),
      JSON.stringify(ratings[0]),
    );
  } finally {
    cleanup();
  }
});

test('charades: empty pool, a round with wrong guesses, a hint, a paraphrased correct guess and the reveal; a timed-out round; the leaderboard; a guidance duel without an LLM; report JSON and chart', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const bot = await startBot(double, dir, {
    roundMs: 120_000,
    hintEvery: 2,
    maxHints: 2,
    duelVotingMs: 120_000,
    env: {},
    limits: { submit: [2, 10 * 60_000] },
  });
  try {
    const start = () => double.slashCommand(alice, 'charades', {}, double.channelId, 'start');
    assert.match(await answer(double, start()), /pool is empty, so there is nothing to act/);
    assert.match(
      await answer(double, double.slashCommand(bob, 'charades', {}, double.channelId, 'leaderboard')),
      /No charades rounds have been solved/,
    );
    assert.match(
      await answer(double, double.slashCommand(bob, 'charades', {}, double.channelId, 'stop')),
      /No round is running here/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(alice, 'zeroshot', { phrase: 'wave both hands' }, double.channelId, 'submit'),
      ),
      /Added #1/,
    );

    const round = start();
    const posted = await double.waitFor(
      () => (fileOf(round.original, '.mp4') || /😵/.test(round.original?.content ?? '') ? round.original : undefined),
      120_000,
      'the charades video',
    );
    assert.ok(fileOf(posted, '.mp4'), posted.content);
    assert.ok(ffprobe(fileOf(posted, '.mp4')!.data).duration > 1);
    assert.match(posted.content, /What am I acting\? \(3 words\)/);
    assert.doesNotMatch(posted.content, /wave/i, 'the phrase is secret');
    const thread = await double.waitFor(() => posted.thread, 10_000, 'the guessing thread');
    const threadId = thread.id as string;
    const cs = new CommunityStore(bot.runtime.store.db);
    // The round opens once the thread exists; guesses are read from then on.
    await double.waitFor(() => cs.activeGameIn(threadId)?.status === 'open', 10_000, 'the round to open');
    assert.match(await answer(double, start()), /A round is already running here/);

    const threadMessages = () => double.channelMessages(threadId).filter((m) => m.author.id === double.appId);
    double.userMessage(bob, threadId, 'jump');
    double.userMessage(carol, threadId, 'kick a ball');
    const hint = await double.waitFor(
      () => threadMessages().find((m) => /Hint 1/.test(m.content)),
      20_000,
      'the first hint',
    );
    assert.equal(hint.content, '💡 Hint 1: 3 words: w﹍﹍﹍  b﹍﹍﹍  h﹍﹍﹍﹍');
    double.userMessage(bob, threadId, 'sit down');
    double.userMessage(carol, threadId, `<@${double.appId}> a person waves both hands.`);
    const win = await double.waitFor(() => threadMessages().find((m) => /got it/.test(m.content)), 20_000, 'the win');
    assert.match(
      win.content,
      /^✅ <@200000000000000003> got it \(similarity 0\.\d\d\)! It was \*\*wave both hands\*\* — after 3 wrong guesses\.$/,
    );
    await double.waitFor(() => /🔓/.test(posted.content), 10_000, 'the reveal on the round message');
    assert.match(posted.content, /🔓 ✅ <@200000000000000003> got it/);
    double.userMessage(bob, threadId, 'wave both hands');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      threadMessages().filter((m) => /got it/.test(m.content)).length,
      1,
      'guesses after the reveal do not count',
    );
    assert.match(
      await answer(double, double.slashCommand(bob, 'charades', {}, double.channelId, 'leaderboard')),
      /1\. <@200000000000000003> — 1 round/,
    );

    // A round nobody gets: its time runs out (the deadline is moved, the sweep does the rest).
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'climb a ladder' }, double.channelId, 'submit'),
      ),
      /Added #2/,
    );
    const second = start();
    const posted2 = await double.waitFor(
      () => (fileOf(second.original, '.mp4') ? second.original : undefined),
      120_000,
      'the second round',
    );
    const thread2 = (await double.waitFor(() => posted2.thread, 10_000, 'the second thread')).id as string;
    await double.waitFor(() => cs.activeGameIn(thread2)?.status === 'open', 10_000, 'the second round to open');
    double.userMessage(bob, thread2, 'swim');
    await double.waitFor(() => cs.activeGameIn(thread2)?.wrongGuesses === 1, 10_000, 'the wrong guess');
    bot.runtime.store.db
      .prepare("UPDATE community_games SET deadline_at = '2000-01-01T00:00:00.000Z' WHERE thread_id = ?")
      .run(thread2);
    const timeout = await double.waitFor(
      () => double.channelMessages(thread2).find((m) => /Time's up/.test(m.content)),
      10_000,
      'the timeout',
    );
    assert.match(
      timeout.content,
      /⏰ Time's up! It was \*\*climb a ladder\*\*\. Nobody recognised it this round \(1 wrong guess\)\./,
    );

    // Submissions are rate-limited per user (here 2 per 10 minutes); duplicates and refusals do not count.
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'climb a ladder' }, double.channelId, 'submit'),
      ),
      /Already in the pool/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'do a cartwheel' }, double.channelId, 'submit'),
      ),
      /Added #3/,
    );
    assert.match(
      await answer(
        double,
        double.slashCommand(bob, 'zeroshot', { phrase: 'hop on one foot' }, double.channelId, 'submit'),
      ),
      /Slow down: at most 2 submissions per 10 minutes/,
    );

    // Without an LLM, a duel compares guidance scales and says so.
    const duel = double.slashCommand(dave, 'zeroshot', { phrase: 'climb a ladder' }, double.channelId, 'duel');
    const duelPost = await double.waitFor(
      () => (fileOf(duel.original, '.mp4') || /😵/.test(duel.original?.content ?? '') ? duel.original : undefined),
      120_000,
      'the guidance duel',
    );
    assert.match(duelPost.content, /classifier-free guidance 1 vs 3 — no LLM is configured/);
    assert.ok(fileOf(duelPost, '.mp4'), duelPost.content);

    const report = buildReport(cs);
    assert.equal(report.overall.game.rounds, 2);
    assert.deepEqual(report.overall.game.recognition, wilson(1, 2));
    assert.equal(report.phrases.find((p) => p.text === 'wave both hands')!.game.recognition.rate, 1);
    assert.equal(report.phrases.find((p) => p.text === 'climb a ladder')!.game.recognition.rate, 0);
    assert.equal(report.overall.game.meanWrongGuesses, 2);
    assert.equal(report.overall.metrics.clips, 4, 'two rounds and the two duel sides were measured');
    const files = writeReport(report, join(dir, 'report'));
    const chart = files.find((f) => f.endsWith('recognition.png'))!;
    assert.deepEqual(readFileSync(chart).subarray(0, 4), PNG);
    assert.equal(
      (JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')) as CommunityReport).overall.game.solved,
      1,
    );

    // Voting that ends while no bot runs is revealed by the next one; its vote buttons still answer meanwhile.
    const voteB = buttonIds(duelPost).find((b) => b.label === 'B is better')!.id;
    assert.match(await answer(double, double.pressButton(alice, duelPost, voteB)), /Your vote: \*\*B\*\*/);
    await bot.close();
    const reopened = new Store(join(dir, 'charades.sqlite'));
    reopened.db
      .prepare("UPDATE community_duels SET closes_at = '2000-01-01T00:00:00.000Z' WHERE status = 'open'")
      .run();
    reopened.close();
    const again = await startBot(double, dir, { env: {} });
    try {
      const revealed = await double.waitFor(
        () => (/Revealed:/.test(duelPost.content) ? duelPost : undefined),
        20_000,
        'the reveal after a restart',
      );
      assert.match(revealed.content, /A = guidance [13], B = guidance [13] · votes A 0 · B 1 · neither 0/);
    } finally {
      await again.close();
    }
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

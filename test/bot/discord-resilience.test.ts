// The Discord bot when Discord says no: every refusal of the final answer still leaves the user with the
// video or the reason, in the same turn, and a settled delivery record; progress edits keep to one a
// second; a refused command registration, a throwing handler and gateway trouble do not take the bot down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import { startDiscordBot } from '../../src/bot/discord/index.js';
import type { DiscordBot, DiscordBotOptions } from '../../src/bot/discord/index.js';
import { progressPresenter } from '../../src/bot/discord/deliver.js';
import { Store, pendingDelivery } from '../../src/bot/index.js';
import { DiscordDouble } from '../discord-double/server.js';
import type { DiscordMessage, RecordedRequest } from '../discord-double/server.js';
import { tempDir, testConfig } from './helpers.js';

const alice = { id: '100000000000000001', username: 'alice' };
const bob = { id: '100000000000000002', username: 'bob' };

/** A logger whose lines the test can read. */
function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

async function startBot(
  double: DiscordDouble,
  dataDir: string,
  logger: Logger,
  options: DiscordBotOptions = {},
): Promise<DiscordBot> {
  // Generous per-user limits: these tests send many requests as one user within a minute.
  const config = testConfig(dataDir, {
    discord: { token: 'double-token', appId: double.appId, api: double.apiBase, allowedChannels: [] },
    limits: { userQueue: 5, userPerMinute: 100, uploadBytes: 10 * 1024 * 1024 },
  });
  return startDiscordBot(config, { logger, ...options });
}

const videoOf = (m: DiscordMessage | undefined) => m?.attachments.find((a) => a.filename.endsWith('.mp4'));

/** The latest request of a user, and where its reply went. */
function latestDelivery(bot: DiscordBot, userId: string): { jobId: string; target: string | undefined } {
  const row = bot.runtime.store.db
    .prepare('SELECT id FROM requests WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
    .get(userId) as { id: string };
  return { jobId: row.id, target: bot.runtime.store.deliveryTarget(row.id) };
}

/** The delivery record is settled (not pending, nothing left for a restart) and names `expected`. */
async function assertSettled(double: DiscordDouble, bot: DiscordBot, userId: string, expected: RegExp): Promise<void> {
  // The record is written once Discord's answer reaches the bot, a moment after the double saw the request.
  const target = await double.waitFor(
    () => {
      const t = latestDelivery(bot, userId).target;
      return t && t !== pendingDelivery('discord') ? t : undefined;
    },
    5_000,
    'a settled delivery record',
  );
  assert.match(target, expected);
  assert.equal(bot.runtime.store.undeliveredRequests('discord').length, 0, 'nothing is waiting for the next restart');
}

/** Sends a mention and waits until the bot's answer to it carries the video or says why not. */
async function mention(
  double: DiscordDouble,
  text: string,
  user = alice,
): Promise<{ ask: DiscordMessage; answers: () => DiscordMessage[] }> {
  const ask = double.userMessage(user, double.channelId, text, { mentionBot: true });
  const answers = () =>
    double.channelMessages(double.channelId).filter((m) => m.message_reference?.message_id === ask.id);
  return { ask, answers };
}

const finalAnswer = (m: DiscordMessage) => Boolean(videoOf(m)) || /⚠️|😵/.test(m.content);

test('Discord refusals of the final answer: 50013, 40005, 10008, 5xx and 4xx each end with the video or the reason, and a settled delivery', async (t) => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const { logger, lines } = capturedLogger();
  const bot = await startBot(double, dir, logger);
  try {
    // 50013 Missing Permissions on any upload (no Attach Files): the reply says so, with the buttons.
    let lift = double.refuse({ withFiles: true, status: 403, code: 50013, message: 'Missing Permissions' });
    let turn = await mention(double, 'wave for 1 second');
    let answer = await double.waitFor(
      () => turn.answers().find(finalAnswer),
      60_000,
      'the answer without Attach Files',
    );
    assert.equal(videoOf(answer), undefined);
    assert.match(answer.content, /missing the \*\*Attach Files\*\* permission/);
    assert.match(answer.content, /wave/, 'the answer still says what was understood');
    assert.equal(answer.components.length, 2, 'the buttons (BVH, GLB downloads) are still there');
    await assertSettled(double, bot, alice.id, new RegExp(`^discord:${double.channelId}:${answer.id}$`));
    assert.ok(
      lines.some((l) => l.code === 50013 && l.kind === 'permission'),
      'the refusal is logged with its code',
    );

    // The same for /act: the deferred reply is edited with the reason instead of hanging on "thinking".
    const act = double.slashCommand(alice, 'act', { prompt: 'jump', seconds: 1 });
    const actAnswer = await double.waitFor(
      () => (act.original && finalAnswer(act.original) ? act.original : undefined),
      60_000,
      'the /act answer without Attach Files',
    );
    assert.match(actAnswer.content, /Attach Files/);
    await assertSettled(double, bot, alice.id, /^discord:\d+:\d+$/);
    lift();

    // 40005 once: the video is re-encoded smaller and attached.
    lift = double.refuse({ withFiles: true, status: 413, code: 40005, message: 'Request entity too large', times: 1 });
    turn = await mention(double, 'walk for 6 seconds');
    answer = await double.waitFor(() => turn.answers().find(finalAnswer), 60_000, 'the re-encoded answer');
    const refused = double.requests.find((r) => r.status === 413 && r.files.length > 0)!;
    const small = videoOf(answer);
    assert.ok(small, `a smaller video is attached: ${answer.content}`);
    assert.ok(
      small.size < refused.files[0].data.length,
      `re-encoded ${small.size} B < refused ${refused.files[0].data.length} B`,
    );
    assert.match(answer.content, /re-encoded to .* Discord refused the .* original as too large/);
    await assertSettled(double, bot, alice.id, new RegExp(`:${answer.id}$`));
    lift();

    // A known upload limit below the clip's size: re-encoded to fit before anything is sent.
    const limit = Math.floor(refused.files[0].data.length * 0.6);
    double.options.attachmentSizeLimit = limit;
    const fitted = double.slashCommand(alice, 'act', { prompt: 'walk', seconds: 6 });
    const fittedAnswer = await double.waitFor(
      () => (fitted.original && finalAnswer(fitted.original) ? fitted.original : undefined),
      60_000,
      'the fitted video',
    );
    const fittedVideo = videoOf(fittedAnswer);
    assert.ok(fittedVideo, `a video that fits is attached: ${fittedAnswer.content}`);
    assert.ok(fittedVideo.size <= limit, `${fittedVideo.size} B ≤ the ${limit} B limit`);
    assert.match(fittedAnswer.content, /re-encoded to .* to fit this server's .* upload limit/);
    delete double.options.attachmentSizeLimit;
    t.diagnostic(
      `6 s clip ${refused.files[0].data.length} B; after 40005 re-encoded to ${small.size} B; for a ${limit} B limit re-encoded to ${fittedVideo.size} B`,
    );

    // 40005 every time: the reason, with the size.
    lift = double.refuse({ withFiles: true, status: 413, code: 40005, message: 'Request entity too large' });
    turn = await mention(double, 'kick for 1 second');
    answer = await double.waitFor(() => turn.answers().find(finalAnswer), 60_000, 'the too-large answer');
    assert.equal(videoOf(answer), undefined);
    assert.match(answer.content, /Discord refused the video \(\d+ KiB\) as too large/);
    await assertSettled(double, bot, alice.id, new RegExp(`:${answer.id}$`));
    lift();

    // 10008: the acknowledgement is deleted mid-turn; the video comes as a new reply to the user.
    turn = await mention(double, 'spin for 2 seconds');
    const ack = await double.waitFor(() => turn.answers()[0], 10_000, 'the acknowledgement');
    double.deleteMessage(ack.id);
    answer = await double.waitFor(() => turn.answers().find((m) => videoOf(m)), 60_000, 'the video in a new message');
    assert.notEqual(answer.id, ack.id);
    assert.ok(
      double.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${ack.id}`) && r.status === 404),
      'the edit of the deleted message got 10008',
    );
    await assertSettled(double, bot, alice.id, new RegExp(`:${answer.id}$`));

    // 10008 for /act: the deferred reply is deleted; a follow-up carries the video.
    const deleted = double.slashCommand(alice, 'act', { prompt: 'wave', seconds: 1 });
    await double.waitFor(() => deleted.original, 10_000, 'the deferred reply');
    double.deleteMessage(deleted.original!.id);
    const followup = await double.waitFor(
      () => deleted.followups.find((m) => videoOf(m)),
      60_000,
      'the follow-up with the video',
    );
    await assertSettled(double, bot, alice.id, new RegExp(`:${followup.id}$`));

    // 5xx on every edit with a file (discord.js retries, then gives up): a new message carries the video.
    lift = double.refuse({ method: 'PATCH', withFiles: true, status: 502, code: 0, message: 'Bad Gateway' });
    turn = await mention(double, 'jump for 1 second');
    answer = await double.waitFor(() => turn.answers().find((m) => videoOf(m)), 60_000, 'the video after 5xx');
    await assertSettled(double, bot, alice.id, new RegExp(`:${answer.id}$`));
    lift();

    // A 4xx on every upload: the reason, with the status and code.
    lift = double.refuse({ withFiles: true, status: 400, code: 50035, message: 'Invalid Form Body' });
    turn = await mention(double, 'sit down for 1 second');
    answer = await double.waitFor(() => turn.answers().find(finalAnswer), 60_000, 'the answer after 400');
    assert.match(answer.content, /Discord did not take the video \(400 \/ 50035\)/);
    await assertSettled(double, bot, alice.id, new RegExp(`:${answer.id}$`));
    lift();

    // Discord refuses everything the bot sends after the acknowledgement: nothing to show, but the record is settled.
    turn = await mention(double, 'bow for 1 second', bob);
    await double.waitFor(() => turn.answers()[0], 10_000, 'the acknowledgement');
    lift = double.refuse({
      path: /\/channels\/\d+\/messages/,
      status: 403,
      code: 50013,
      message: 'Missing Permissions',
    });
    await double.waitFor(
      () => lines.some((l) => /could not answer at all/.test(String(l.msg))),
      60_000,
      'the give-up log line',
    );
    await assertSettled(double, bot, bob.id, /^discord:undeliverable$/);
    lift();

    // Nothing the bot sent could ping: only the requester it addresses, never @everyone, roles or other users —
    // not even when it echoes a prompt full of mentions, or its help text that names the bot.
    turn = await mention(double, '@everyone @here <@&100000000000000077> <@100000000000000002> wave for 1 second');
    await double.waitFor(
      () => turn.answers().find((m) => videoOf(m)),
      60_000,
      'the answer to a prompt full of mentions',
    );
    const help = double.slashCommand(bob, 'help');
    await double.waitFor(() => help.callbacks.length > 0, 10_000, 'the help reply');
    // Interaction callbacks carry the message under `data`; everything else at the top of the body.
    const messageOf = (r: RecordedRequest) =>
      r.path.endsWith('/callback') ? (r.body?.data as Record<string, unknown> | undefined) : r.body;
    const sent = double.requests.filter(
      (r: RecordedRequest) =>
        (r.method === 'POST' || r.method === 'PATCH') && typeof messageOf(r)?.content === 'string',
    );
    assert.ok(sent.length > 10);
    assert.ok(
      sent.some((r) => r.path.endsWith('/callback')),
      'interaction replies are checked too',
    );
    for (const r of sent) {
      const allowed = messageOf(r)!.allowed_mentions as
        { parse?: string[]; users?: string[]; roles?: string[] } | undefined;
      assert.ok(allowed, `${r.method} ${r.path} says which mentions may ping`);
      assert.deepEqual(allowed.parse ?? [], [], `${r.method} ${r.path} parses no mentions from its text`);
      assert.deepEqual(allowed.roles ?? [], [], `${r.method} ${r.path} pings no role`);
      for (const u of allowed.users ?? [])
        assert.ok([alice.id, bob.id].includes(u), `${r.method} ${r.path} pings only a requester`);
    }
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('progress edits: at most one a second per message (counted as PATCHes on the double), the final one never held back', async (t) => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const { logger } = capturedLogger();
  const bot = await startBot(double, dir, logger);
  try {
    // Two turns queued at once: the second sits in the queue while the first runs, so it sees many stages.
    const first = await mention(double, 'walk for 4 seconds');
    const second = await mention(double, 'run for 4 seconds', bob);
    for (const turn of [first, second]) {
      const answer = await double.waitFor(() => turn.answers().find((m) => videoOf(m)), 90_000, 'the video');
      const patches = double.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${answer.id}`));
      const progress = patches.filter((r) => r.files.length === 0);
      const final = patches.find((r) => r.files.length > 0)!;
      assert.ok(final, 'the video came in an edit');
      for (let i = 1; i < progress.length; i++) {
        const gap = progress[i].at - progress[i - 1].at;
        assert.ok(
          gap >= 900,
          `progress edits ${i - 1}→${i} were ${gap.toFixed(0)} ms apart (${progress.map((p) => String(p.body?.content)).join(' | ')})`,
        );
      }
      const span = (final.at - patches[0].at) / 1000;
      assert.ok(patches.length <= Math.ceil(span) + 2, `${patches.length} edits in ${span.toFixed(1)} s`);
      const gaps = progress.slice(1).map((p, i) => Math.round(p.at - progress[i].at));
      t.diagnostic(
        `${patches.length} PATCHes (${progress.length} progress + the final) in ${span.toFixed(2)} s; progress gaps ${gaps.join(', ')} ms; final ${Math.round(final.at - progress[progress.length - 1].at)} ms after the last progress edit`,
      );
    }
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('the presenter coalesces progress to the latest text and runs the final answer at once', async () => {
  const edits: { text: string; at: number }[] = [];
  const present = progressPresenter(
    { progress: async (text: string) => void edits.push({ text, at: performance.now() }) },
    1000,
    (err) => assert.fail(err),
  );
  const t0 = performance.now();
  present.show('queued');
  await new Promise((r) => setTimeout(r, 20));
  present.show('planning');
  present.show('generating');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    edits.map((e) => e.text),
    ['queued'],
    'later texts wait for the interval',
  );
  const answeredAt = await present.answer(async () => performance.now());
  assert.ok(
    answeredAt - t0 < 200,
    `the final answer ran after ${(answeredAt - t0).toFixed(0)} ms, not after the interval`,
  );
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(
    edits.map((e) => e.text),
    ['queued'],
    'no progress edit after the final answer',
  );

  const paced: string[] = [];
  const slow = progressPresenter({ progress: async (text: string) => void paced.push(text) }, 300, (err) =>
    assert.fail(err),
  );
  slow.show('a');
  await new Promise((r) => setTimeout(r, 20));
  slow.show('b');
  slow.show('c');
  await new Promise((r) => setTimeout(r, 450));
  assert.deepEqual(paced, ['a', 'c'], 'the latest text wins when the interval is up');
  await slow.answer(async () => undefined);
});

test('a handler that throws: the user is told, the bot stays up and answers the next message', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const { logger, lines } = capturedLogger();
  const bot = await startBot(double, dir, logger);
  try {
    // /act without its required prompt (a hand-made payload): discord.js throws inside the command handler.
    const broken = double.slashCommand(alice, 'act', {});
    await double.waitFor(() => broken.callbacks.length > 0, 10_000, 'an answer to the broken command');
    assert.equal(broken.callbacks[0].type, 4);
    assert.ok(broken.ephemeral);
    assert.match(String(broken.callbacks[0].data?.content), /Something went wrong: .*prompt/);
    assert.ok(lines.some((l) => l.msg === 'interaction handling failed'));

    const turn = await mention(double, 'wave for 1 second');
    const answer = await double.waitFor(() => turn.answers().find((m) => videoOf(m)), 60_000, 'the next answer');
    assert.ok(videoOf(answer));
  } finally {
    await bot.close();
    await double.close();
    cleanup();
  }
});

test('slash-command registration refused with 400: logged, retried with back-off, and mentions are answered meanwhile; an unreadable stored reply target is settled once', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  // A request a dead run was posting (pending claim) whose stored reply target is unreadable.
  const store = new Store(join(dir, 'charades.sqlite'));
  const conv = store.conversation('discord', 'old-key', alice.id);
  const turnId = store.addTurn({ conversationId: conv.id, userId: alice.id, text: 'spin', action: 'prompt' });
  store.addRequest({
    id: 'unreadable-1',
    conversationId: conv.id,
    turnId,
    userId: alice.id,
    replyTo: { surface: { kind: 'carrier pigeon' } },
  });
  assert.ok(store.claimDelivery('unreadable-1', pendingDelivery('discord')));
  store.close();

  const { logger, lines } = capturedLogger();
  const lift = double.refuse({
    method: 'PUT',
    path: /\/commands$/,
    status: 400,
    code: 50035,
    message: 'Invalid Form Body',
    times: 2,
  });
  const bot = await startBot(double, dir, logger, { registration: { retryMs: 300 } });
  try {
    assert.equal(double.registeredCommands.length, 0, 'the first registration was refused');
    const failure = lines.find((l) => /slash command registration failed/.test(String(l.msg)));
    assert.ok(failure, 'the refusal is logged');
    assert.equal(failure.status, 400);
    assert.equal(failure.code, 50035);

    const turn = await mention(double, 'wave for 1 second');
    const answer = await double.waitFor(
      () => turn.answers().find((m) => videoOf(m)),
      60_000,
      'the answer to a mention',
    );
    assert.ok(videoOf(answer));

    await double.waitFor(() => bot.registration?.registered(), 10_000, 'the registration to succeed on a retry');
    assert.ok(double.registeredCommands.length > 0);
    assert.equal(
      lines.filter((l) => /slash command registration failed/.test(String(l.msg))).length,
      2,
      'refused twice, then registered',
    );

    assert.equal(lines.filter((l) => /stored reply target is unreadable/.test(String(l.msg))).length, 1);
    assert.equal(bot.runtime.store.deliveryTarget('unreadable-1'), 'discord:unreachable');
  } finally {
    lift();
    await bot.close();
  }
  // The next start has nothing left to say about it.
  const again = capturedLogger();
  const second = await startBot(double, dir, again.logger, { registerCommands: false });
  try {
    assert.equal(
      again.lines.filter((l) => /stored reply target is unreadable/.test(String(l.msg))).length,
      0,
      'settled once, not logged at every start',
    );
  } finally {
    await second.close();
    await double.close();
    cleanup();
  }
});

test('gateway: close codes and reconnects are logged and the session resumes; login fails in time with what to check', async () => {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const { logger, lines } = capturedLogger();
  const bot = await startBot(double, dir, logger, { registerCommands: false });
  try {
    double.closeGateway(4000);
    await double.waitFor(() => double.resumes.length > 0, 15_000, 'the bot to resume its session');
    const closed = lines.find((l) => /gateway closed with 4000 \(unknown error\); reconnecting/.test(String(l.msg)));
    assert.ok(closed, `the close is logged: ${lines.map((l) => l.msg).join(' | ')}`);
    assert.equal(closed.code, 4000);
    assert.ok(lines.some((l) => l.msg === 'gateway reconnecting'));
    await double.waitFor(() => lines.some((l) => l.msg === 'gateway session resumed'), 5_000, 'the resume log line');

    const turn = await mention(double, 'wave for 1 second');
    await double.waitFor(() => turn.answers().find((m) => videoOf(m)), 60_000, 'an answer after the reconnect');

    // Connections refused at the handshake while reconnecting: each one is logged, then the bot is back.
    const before = lines.length;
    double.rejectGatewayConnections(3);
    double.closeGateway(4000);
    await double.waitFor(
      () =>
        double.rejectedUpgrades === 3 &&
        lines.slice(before).some((l) => l.msg === 'gateway session resumed' || l.msg === 'gateway shard ready'),
      30_000,
      'the bot back after 3 refused connections',
    );
    const refused = lines.slice(before).filter((l) => l.msg === 'gateway connection error');
    assert.ok(
      refused.length >= 3,
      `each refused connection is logged: ${lines
        .slice(before)
        .map((l) => `${String(l.msg)} ${String(l.err ?? l.code ?? '')}`)
        .join(' | ')}`,
    );
    assert.match(String(refused[0].err), /503/);
    const again = await mention(double, 'jump for 1 second');
    await double.waitFor(
      () => again.answers().find((m) => videoOf(m)),
      60_000,
      'an answer after the refused connections',
    );
  } finally {
    await bot.close();
  }

  const attempt = async (code: number, timeoutMs: number) => {
    double.closeOnIdentify(code);
    const t0 = performance.now();
    const failed = await startBot(double, dir, capturedLogger().logger, {
      registerCommands: false,
      loginTimeoutMs: timeoutMs,
    }).then(
      async (b) => {
        await b.close();
        return undefined;
      },
      (err: Error) => err,
    );
    assert.ok(failed, `login with every IDENTIFY closed by ${code} fails`);
    return { message: failed.message, ms: performance.now() - t0 };
  };
  try {
    // Closed again and again (the reconnect loop): a clear failure after the deadline, naming token and intents.
    const loop = await attempt(4000, 3_000);
    assert.match(
      loop.message,
      /cannot log in to Discord at http:\/\/127\.0\.0\.1:\d+\/api: not ready after 3 s; the gateway closed \d+ connections?, last with 4000 \(unknown error\)/,
    );
    assert.match(loop.message, /Check DISCORD_TOKEN .* Message Content intent is enabled/);
    // Refusals discord.js does not retry fail at once, with what the code means.
    const intents = await attempt(4014, 30_000);
    assert.match(intents.message, /4014 \(disallowed intents: a privileged intent \(Message Content\) is not enabled/);
    assert.ok(intents.ms < 15_000, `failed after ${intents.ms.toFixed(0)} ms, not at the deadline`);
    const token = await attempt(4004, 30_000);
    assert.match(token.message, /4004 \(authentication failed: the token is wrong\).*Check DISCORD_TOKEN/);
  } finally {
    await double.close();
    cleanup();
  }
});

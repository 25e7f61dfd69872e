/**
 * Runs one Discord turn against a "surface" (a deferred interaction reply, or a bot message answering a
 * mention or thread message): progress edits in order, then exactly one result message with the MP4,
 * what the agent understood and the buttons, then a thread that becomes the conversation.
 *
 * Each request stores where its reply goes (the surface's record). A bot that starts finds every
 * request whose reply never went out — queued, still running in a worker, finished while no bot ran,
 * or failed — and answers it on a surface rebuilt from that record, claiming each delivery once.
 */
import { statSync } from 'node:fs';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  DiscordAPIError,
  InteractionWebhook,
} from 'discord.js';
import type { Client, Message } from 'discord.js';
import { z } from 'zod';
import { stripMentions } from '../../agent/index.js';
import { JobDetachedError } from '../../jobs/index.js';
import type { JobResult, Progress } from '../../jobs/index.js';
import { LimitError } from '../service.js';
import type { StartedTurn, TurnRequest } from '../service.js';
import { pendingDelivery } from '../store.js';
import { addressedTo, sendableChannel } from './channels.js';
import type { MessagePayload } from './channels.js';
import type { BotContext } from './context.js';
import { classifyRefusal, newMessageMayWork, refusalText } from './refusals.js';
import type { Refusal } from './refusals.js';
import { shrinkVideo } from './shrink.js';
import type { Shrunk } from './shrink.js';

export const BUTTON_ACTIONS = [
  'reroll',
  'variations',
  'continue',
  'slower',
  'faster',
  'bvh',
  'glb',
  'up',
  'down',
] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];
/** Buttons that start a new generation: only the person who asked may press them. */
export const GENERATING_ACTIONS: readonly ButtonAction[] = ['reroll', 'variations', 'continue', 'slower', 'faster'];

export function buttonId(action: ButtonAction, jobId: string): string {
  return `ch:${action}:${jobId}`;
}

export function parseButtonId(customId: string): { action: ButtonAction; jobId: string } | undefined {
  const m = /^ch:([a-z]+):([A-Za-z0-9-]{1,80})$/.exec(customId);
  if (!m || !(BUTTON_ACTIONS as readonly string[]).includes(m[1])) return undefined;
  return { action: m[1] as ButtonAction, jobId: m[2] };
}

export function resultComponents(jobId: string): ActionRowBuilder<ButtonBuilder>[] {
  const b = (action: ButtonAction, label: string, style = ButtonStyle.Secondary) =>
    new ButtonBuilder().setCustomId(buttonId(action, jobId)).setLabel(label).setStyle(style);
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      b('reroll', 'Reroll', ButtonStyle.Primary),
      b('variations', 'Variations'),
      b('continue', 'Continue'),
      b('slower', 'Slower'),
      b('faster', 'Faster'),
    ),
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      b('bvh', 'BVH'),
      b('glb', 'GLB'),
      b('up', '👍', ButtonStyle.Success),
      b('down', '👎', ButtonStyle.Danger),
    ),
  ];
}

export function progressText(p: Progress): string {
  const retry = 'attempt' in p && p.attempt ? ` (attempt ${p.attempt})` : '';
  switch (p.stage) {
    case 'queued':
      return `⏳ In the queue — position ${p.position}`;
    case 'planning':
      return `🧠 Reading your request…${retry}`;
    case 'generating':
      return `🕺 Generating the motion…${retry}`;
    case 'rendering':
      return `🎬 Rendering the video…${retry}`;
    case 'uploading':
      return '📤 Uploading…';
  }
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

export const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** Discord's limit on a message's content. */
const MAX_CONTENT = 2000;

export function resultContent(prompt: string, result: JobResult): string {
  const r = result.request;
  // The user's words are shown back without their mentions: allowedMentions stops the ping, this the noise.
  const lines = [`🎭 **${clip(stripMentions(prompt), 200)}**`, clip(result.reply, 600)];
  if (r) {
    const segs = r.segments.map((s) => `“${clip(s.text, 120)}” ${s.seconds.toFixed(1)} s`).join(' → ');
    const total = r.segments.length > 1 || r.speed !== 1 ? ` · ${(result.seconds ?? 0).toFixed(1)} s in all` : '';
    lines.push(
      `Understood: ${segs}${total} · ${r.samples === 4 ? '4 variations · ' : ''}speed ${r.speed}× · seed ${r.seed}`,
    );
  }
  const detail = [
    `planner ${result.planner}`,
    result.generator && `generator ${result.generator}`,
    ...result.notes.map((n) => clip(n, 160)),
  ]
    .filter(Boolean)
    .join(' · ');
  lines.push(`-# ${clip(detail, 700)}`);
  return clip(lines.join('\n'), 1900);
}

export type { MessagePayload } from './channels.js';

const SurfaceRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('interaction'),
    applicationId: z.string().min(1),
    /** The interaction token (valid 15 minutes); past that the reply goes to the channel instead. */
    token: z.string().min(1),
    channelId: z.string().min(1),
    userId: z.string().min(1),
    /** Epoch ms of the deferral, which starts the token's lifetime. */
    deferredAt: z.number(),
    uploadLimit: z.number().positive(),
  }),
  z.object({
    kind: z.literal('message'),
    channelId: z.string().min(1),
    messageId: z.string().min(1),
    uploadLimit: z.number().positive(),
  }),
]);
/** What it takes to reach a surface again from another process: stored with the request. */
export type SurfaceRecord = z.infer<typeof SurfaceRecordSchema>;

const ReplyRecordSchema = z.object({ surface: SurfaceRecordSchema, prompt: z.string(), openThread: z.boolean() });
export type ReplyRecord = z.infer<typeof ReplyRecordSchema>;

export interface Surface {
  progress(text: string): Promise<unknown>;
  /** Turns the surface's own message (deferred reply, acknowledgement) into the answer. */
  finish(payload: MessagePayload): Promise<Message>;
  /** A new message with the answer, for when the surface's own message cannot carry it (deleted, token refused). */
  post(payload: MessagePayload): Promise<Message>;
  uploadLimit: number;
  record: SurfaceRecord;
}

export interface DiscordTurn extends TurnRequest {
  /** Shown as the title of the result. */
  prompt: string;
  /** Open a thread on the result when it is not already in one. */
  openThread: boolean;
}

/** Runs `work` strictly one after another, so an early progress edit can never land after the result. */
function serial() {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };
}

export interface Presenter {
  /** Asks for a progress edit; coalesced so the message is edited at most once per interval. */
  show(text: string): void;
  /** Runs the final answer at once (never held back by the pace), after any edit already under way. */
  answer<T>(work: () => Promise<T>): Promise<T>;
  /** Inside `answer`: one last progress note ("Uploading…"), only if it keeps to the pace. */
  noteIfDue(text: string): Promise<void>;
}

/** Discord rate-limits edits of one message; progress arriving faster than this is coalesced (latest wins). */
export const PROGRESS_INTERVAL_MS = 1000;

/**
 * Progress edits of one surface: in order, skipping repeats, none after the final answer, and at most one
 * per `intervalMs` counted from when Discord answered the previous edit (so they also arrive that far
 * apart); in between, the latest text wins.
 */
export function progressPresenter(
  surface: Pick<Surface, 'progress'>,
  intervalMs: number,
  onError: (err: Error) => void,
): Presenter {
  const inOrder = serial();
  let shown = '';
  let wanted = '';
  let answered = false;
  let pumping = false;
  let lastEditDoneAt = Number.NEGATIVE_INFINITY;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const edit = async (text: string) => {
    shown = text;
    await surface.progress(text).then(() => undefined, onError);
    lastEditDoneAt = Date.now();
  };
  const pump = async () => {
    while (!answered && wanted !== shown) {
      const wait = lastEditDoneAt + intervalMs - Date.now();
      if (wait > 0) await pause(wait);
      else await edit(wanted);
    }
    pumping = false;
  };
  return {
    show(text) {
      if (answered) return;
      wanted = text;
      if (pumping || wanted === shown) return;
      pumping = true;
      void inOrder(pump);
    },
    answer(work) {
      answered = true;
      // The final answer waits for an edit already on its way (order), never for the pace.
      clearTimeout(timer);
      wake?.();
      return inOrder(work);
    },
    async noteIfDue(text) {
      if (Date.now() - lastEditDoneAt < intervalMs || text === shown) return;
      await edit(text);
    },
  };
}

function presenter(ctx: BotContext, surface: Surface): Presenter {
  return progressPresenter(surface, ctx.progressIntervalMs ?? PROGRESS_INTERVAL_MS, (err) =>
    ctx.runtime.logger.warn({ err: err.message }, 'progress edit failed'),
  );
}

/** What a turn answers with: text, the result's buttons, and the video when there is one. */
export interface Answer {
  content: string;
  components: ActionRowBuilder<ButtonBuilder>[];
  video?: { path: string; description: string };
}

function describeRefusal(r: Refusal): Record<string, unknown> {
  return { kind: r.kind, status: r.status, code: r.code, err: r.message };
}

/** Text only: edit the surface's message, else post a new one; undefined when Discord took neither. */
async function sendText(ctx: BotContext, surface: Surface, payload: MessagePayload): Promise<Message | undefined> {
  const log = ctx.runtime.logger;
  try {
    return await surface.finish(payload);
  } catch (err) {
    log.warn(describeRefusal(classifyRefusal(err)), 'could not edit the reply; posting a new message');
  }
  try {
    return await surface.post(payload);
  } catch (err) {
    log.error(
      describeRefusal(classifyRefusal(err)),
      'could not answer at all: Discord refused both the edit and a new message',
    );
    return undefined;
  }
}

async function shrinkOrNot(ctx: BotContext, path: string, budget: number): Promise<Shrunk | undefined> {
  try {
    return await shrinkVideo(path, budget);
  } catch (err) {
    ctx.runtime.logger.warn({ err: (err as Error).message }, 'could not re-encode the video smaller');
    return undefined;
  }
}

/**
 * Answers on a surface so that the user always sees either the video or why not, in the same turn:
 * edit the reply with the video → (too large: a smaller re-encode; reply gone or Discord failing: a new
 * message with the video) → the answer as text saying why the video is missing. Returns the message that
 * carries the answer, or undefined when Discord refused every route.
 */
export async function deliverAnswer(
  ctx: BotContext,
  surface: Surface,
  answer: Answer,
  present?: Pick<Presenter, 'noteIfDue'>,
): Promise<Message | undefined> {
  const log = ctx.runtime.logger;
  const asText = (extra?: string) => ({
    content: clip(extra ? `${answer.content}\n${extra}` : answer.content, MAX_CONTENT),
    components: answer.components,
  });
  if (!answer.video) return sendText(ctx, surface, asText());
  const video = answer.video;
  let size: number;
  try {
    size = statSync(video.path).size;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'the finished video is missing');
    return sendText(
      ctx,
      surface,
      asText('😵 The video file went missing before I could post it; press Reroll to make it again.'),
    );
  }
  const limit = surface.uploadLimit;
  const withVideo = (path: string, note?: string): MessagePayload => ({
    content: clip(note ? `${answer.content}\n${note}` : answer.content, MAX_CONTENT),
    files: [new AttachmentBuilder(path, { name: 'charades.mp4', description: clip(video.description, 100) })],
    components: answer.components,
  });
  let path = video.path;
  let bytes = size;
  let note: string | undefined;
  if (size > limit) {
    const shrunk = await shrinkOrNot(ctx, video.path, limit);
    if (!shrunk)
      return sendText(
        ctx,
        surface,
        asText(
          `⚠️ The video is ${formatBytes(size)}, over this server's ${formatBytes(limit)} upload limit; ask for a shorter clip or fewer variations.`,
        ),
      );
    ({ path, bytes } = shrunk);
    note = `-# re-encoded to ${formatBytes(shrunk.bytes)} to fit this server's ${formatBytes(limit)} upload limit`;
  }
  await present?.noteIfDue(progressText({ stage: 'uploading' }));
  let refusal: Refusal;
  try {
    return await surface.finish(withVideo(path, note));
  } catch (err) {
    refusal = classifyRefusal(err);
    log.warn(describeRefusal(refusal), 'the reply with the video was refused');
  }
  if (refusal.kind === 'too-large') {
    const budget = Math.floor(Math.min(bytes, limit) / 2);
    const smaller = await shrinkOrNot(ctx, video.path, budget);
    if (smaller) {
      try {
        return await surface.finish(
          withVideo(
            smaller.path,
            `-# re-encoded to ${formatBytes(smaller.bytes)}: Discord refused the ${formatBytes(size)} original as too large`,
          ),
        );
      } catch (err) {
        refusal = classifyRefusal(err);
        log.warn(describeRefusal(refusal), 'the smaller re-encode was refused too');
      }
    }
  } else if (newMessageMayWork(refusal)) {
    try {
      return await surface.post(withVideo(path, note));
    } catch (err) {
      refusal = classifyRefusal(err);
      log.warn(describeRefusal(refusal), 'a new message with the video was refused too');
    }
  }
  return sendText(ctx, surface, asText(refusalText(refusal, { size: formatBytes(size), limit: formatBytes(limit) })));
}

export async function runDiscordTurn(
  ctx: BotContext,
  surface: Surface,
  turn: DiscordTurn,
): Promise<Message | undefined> {
  const present = presenter(ctx, surface);
  const replyTo: ReplyRecord = { surface: surface.record, prompt: turn.prompt, openThread: turn.openThread };
  let started: StartedTurn;
  try {
    started = ctx.runtime.service.start({ ...turn, replyTo }, (p) => present.show(progressText(p)));
  } catch (err) {
    const text = err instanceof LimitError ? err.message : `😵 ${(err as Error).message}`;
    await present.answer(() => sendText(ctx, surface, { content: clip(text, MAX_CONTENT), components: [] }));
    return undefined;
  }
  return deliverWhenDone(ctx, surface, replyTo, started, present);
}

function answerFor(reply: ReplyRecord, result: JobResult): Answer {
  if (!result.videoPath) return { content: clip(result.reply, 1900), components: [] };
  return {
    content: resultContent(reply.prompt, result),
    components: resultComponents(result.jobId),
    video: { path: result.videoPath, description: stripMentions(reply.prompt) },
  };
}

/** Waits for a turn's outcome and answers on the surface: the result, or why there is none — once. */
async function deliverWhenDone(
  ctx: BotContext,
  surface: Surface,
  reply: ReplyRecord,
  started: StartedTurn,
  present: Presenter,
): Promise<Message | undefined> {
  const { service, store, logger, metrics } = ctx.runtime;
  let result: JobResult;
  try {
    ({ result } = await started.done);
  } catch (err) {
    if (err instanceof JobDetachedError) {
      // Said at once, not coalesced: it is this process's last word on the surface.
      const note = '⏸️ The bot is restarting; your clip is still being made and will be posted here when it is back.';
      await present.answer(() =>
        surface
          .progress(note)
          .catch((e: Error) => logger.warn({ err: e.message }, 'could not say the bot is restarting')),
      );
      return undefined;
    }
    if (!service.claimDelivery(started.jobId, 'discord:failed')) return undefined;
    logger.warn({ jobId: started.jobId, err: (err as Error).message }, 'job failed');
    return present.answer(() =>
      sendText(ctx, surface, {
        content: `😵 I could not act that out: ${clip((err as Error).message, 1500)}`,
        components: [],
      }),
    );
  }
  if (!service.claimDelivery(result.jobId, pendingDelivery('discord'))) {
    logger.info({ jobId: result.jobId }, 'already delivered; skipping duplicate completion');
    return undefined;
  }
  let message: Message | undefined;
  try {
    message = await present.answer(() => deliverAnswer(ctx, surface, answerFor(reply, result), present));
  } finally {
    // Settled either way: a pending claim would keep this request "undelivered" until the next restart.
    if (message) store.setDeliveryTarget(result.jobId, `discord:${message.channelId}:${message.id}`);
    else {
      store.settleDelivery(result.jobId, 'discord:undeliverable');
      logger.error({ jobId: result.jobId }, 'the answer could not be posted anywhere; the delivery is given up');
    }
  }
  if (!message) return undefined;
  metrics.deliveries.inc({ platform: 'discord' });
  if (reply.openThread && result.videoPath && !message.channel.isThread()) {
    try {
      const thread = await message.startThread({
        name: clip(stripMentions(reply.prompt), 90) || 'charades',
        autoArchiveDuration: 1440,
      });
      store.moveConversation(started.conversationId, thread.id);
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        'could not open a thread (Create Public Threads permission?); follow-ups will need replies to the bot message',
      );
    }
  }
  return message;
}

/** Discord turned the request down for good (unknown or expired token, deleted message), not a hiccup. */
const refused = (err: unknown) =>
  err instanceof DiscordAPIError && Number(err.status) >= 400 && Number(err.status) < 500;

/** A message whose channel discord.js knows (a webhook edit in an uncached thread returns a bare one). */
async function withChannel(ctx: BotContext, message: Message): Promise<Message> {
  if (message.channel) return message;
  return (await sendableChannel(ctx, message.channelId)).messages.fetch(message.id);
}

/**
 * A deferred interaction reply reached again through its token, from any process. Past the token's
 * lifetime — or when Discord no longer accepts it — the reply becomes a channel message that mentions
 * the requester, as for long queues in the live path.
 */
function restoredInteractionSurface(ctx: BotContext, record: Extract<SurfaceRecord, { kind: 'interaction' }>): Surface {
  const webhook = new InteractionWebhook(ctx.client as Client<true>, record.applicationId, record.token);
  let tokenUsable = () => Date.now() - record.deferredAt <= ctx.tokenLifetimeMs;
  let fallback: Message | undefined;
  const viaChannel = async (payload: MessagePayload, fresh = false): Promise<Message> => {
    const addressed = addressedTo(record.userId, payload);
    if (fallback && !fresh) return (fallback = await fallback.edit(addressed));
    fallback = await (await sendableChannel(ctx, record.channelId)).send(addressed);
    return fallback;
  };
  const tokenRefused = (err: unknown) => {
    if (!refused(err)) return false;
    ctx.runtime.logger.warn(
      { err: (err as Error).message },
      'the interaction token was refused; answering in the channel',
    );
    tokenUsable = () => false;
    return true;
  };
  const edit = async (payload: MessagePayload): Promise<Message> => {
    if (!tokenUsable()) return viaChannel(payload);
    try {
      return await webhook.editMessage('@original', payload);
    } catch (err) {
      if (!tokenRefused(err)) throw err;
      return viaChannel(payload);
    }
  };
  const post = async (payload: MessagePayload): Promise<Message> => {
    if (tokenUsable()) {
      try {
        return await withChannel(ctx, await webhook.send(payload));
      } catch (err) {
        if (!tokenRefused(err)) throw err;
      }
    }
    return viaChannel(payload, true);
  };
  return {
    record,
    uploadLimit: record.uploadLimit,
    progress: (text) => edit({ content: text }),
    finish: async (payload) => withChannel(ctx, await edit(payload)),
    post,
  };
}

/** The bot's answer to a mention or thread message, edited again by id; posted anew if it is gone. */
function restoredMessageSurface(ctx: BotContext, record: Extract<SurfaceRecord, { kind: 'message' }>): Surface {
  let messageId = record.messageId;
  const post = async (payload: MessagePayload): Promise<Message> => {
    const sent = await (await sendableChannel(ctx, record.channelId)).send(payload);
    messageId = sent.id;
    return sent;
  };
  const edit = async (payload: MessagePayload): Promise<Message> => {
    const channel = await sendableChannel(ctx, record.channelId);
    try {
      return await channel.messages.edit(messageId, payload);
    } catch (err) {
      if (!refused(err)) throw err;
      return post(payload);
    }
  };
  return { record, uploadLimit: record.uploadLimit, progress: (text) => edit({ content: text }), finish: edit, post };
}

export function restoreSurface(ctx: BotContext, record: SurfaceRecord): Surface {
  return record.kind === 'interaction' ? restoredInteractionSurface(ctx, record) : restoredMessageSurface(ctx, record);
}

/**
 * Answers every Discord request whose reply has not gone out: results that finished while no bot ran
 * are posted at once, jobs still queued or running are followed again (progress edits resume), and
 * failures are reported. Returns the deliveries under way (the caller awaits them at shutdown).
 */
export function resumeDiscordDeliveries(ctx: BotContext): Promise<Message | undefined>[] {
  const { store, service, logger } = ctx.runtime;
  const pending: Promise<Message | undefined>[] = [];
  for (const request of store.undeliveredRequests('discord')) {
    const parsed = ReplyRecordSchema.safeParse(request.replyTo);
    if (!parsed.success) {
      // Settled, not claimed: a pending claim left by a dead run would make a claim a no-op, and this
      // request would be listed (and logged) at every start forever.
      logger.warn({ jobId: request.id }, 'a stored reply target is unreadable; this request cannot be answered');
      store.settleDelivery(request.id, 'discord:unreachable');
      continue;
    }
    // A run that died while posting this reply left its claim pending: the reply goes out again (at least once).
    store.releasePendingDelivery(request.id, 'discord');
    const surface = restoreSurface(ctx, parsed.data.surface);
    const present = presenter(ctx, surface);
    try {
      const started = service.resume(request.id, (p) => present.show(progressText(p)));
      logger.info({ jobId: request.id, status: request.status }, 'resuming the delivery of an earlier request');
      pending.push(
        deliverWhenDone(ctx, surface, parsed.data, started, present).catch((err: Error) => {
          logger.warn({ jobId: request.id, err: err.message }, 'could not deliver an earlier request');
          return undefined;
        }),
      );
    } catch (err) {
      logger.warn({ jobId: request.id, err: (err as Error).message }, 'cannot resume an earlier request');
      store.settleDelivery(request.id, 'discord:unreachable');
    }
  }
  return pending;
}

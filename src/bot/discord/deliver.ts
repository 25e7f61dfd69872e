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
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, DiscordAPIError, InteractionWebhook } from 'discord.js';
import type { Client, Message } from 'discord.js';
import { z } from 'zod';
import { JobDetachedError } from '../../jobs/index.js';
import type { JobResult, Progress } from '../../jobs/index.js';
import { LimitError } from '../service.js';
import type { StartedTurn, TurnRequest } from '../service.js';
import { pendingDelivery } from '../store.js';
import { sendableChannel } from './surfaces.js';
import type { BotContext } from './context.js';

export const BUTTON_ACTIONS = ['reroll', 'variations', 'continue', 'slower', 'faster', 'bvh', 'glb', 'up', 'down'] as const;
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
  const b = (action: ButtonAction, label: string, style = ButtonStyle.Secondary) => new ButtonBuilder().setCustomId(buttonId(action, jobId)).setLabel(label).setStyle(style);
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      b('reroll', 'Reroll', ButtonStyle.Primary), b('variations', 'Variations'), b('continue', 'Continue'), b('slower', 'Slower'), b('faster', 'Faster'),
    ),
    new ActionRowBuilder<ButtonBuilder>().addComponents(b('bvh', 'BVH'), b('glb', 'GLB'), b('up', '👍', ButtonStyle.Success), b('down', '👎', ButtonStyle.Danger)),
  ];
}

export function progressText(p: Progress): string {
  const retry = 'attempt' in p && p.attempt ? ` (attempt ${p.attempt})` : '';
  switch (p.stage) {
    case 'queued': return `⏳ In the queue — position ${p.position}`;
    case 'planning': return `🧠 Reading your request…${retry}`;
    case 'generating': return `🕺 Generating the motion…${retry}`;
    case 'rendering': return `🎬 Rendering the video…${retry}`;
    case 'uploading': return '📤 Uploading…';
  }
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function resultContent(prompt: string, result: JobResult): string {
  const r = result.request;
  const lines = [`🎭 **${clip(prompt, 200)}**`, clip(result.reply, 600)];
  if (r) {
    const segs = r.segments.map((s) => `“${clip(s.text, 120)}” ${s.seconds.toFixed(1)} s`).join(' → ');
    const total = r.segments.length > 1 || r.speed !== 1 ? ` · ${(result.seconds ?? 0).toFixed(1)} s in all` : '';
    lines.push(`Understood: ${segs}${total} · ${r.samples === 4 ? '4 variations · ' : ''}speed ${r.speed}× · seed ${r.seed}`);
  }
  const detail = [`planner ${result.planner}`, result.generator && `generator ${result.generator}`, ...result.notes.map((n) => clip(n, 160))].filter(Boolean).join(' · ');
  lines.push(`-# ${clip(detail, 700)}`);
  return clip(lines.join('\n'), 1900);
}

export interface MessagePayload {
  content: string;
  files?: AttachmentBuilder[];
  components?: ActionRowBuilder<ButtonBuilder>[];
}

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
  z.object({ kind: z.literal('message'), channelId: z.string().min(1), messageId: z.string().min(1), uploadLimit: z.number().positive() }),
]);
/** What it takes to reach a surface again from another process: stored with the request. */
export type SurfaceRecord = z.infer<typeof SurfaceRecordSchema>;

const ReplyRecordSchema = z.object({ surface: SurfaceRecordSchema, prompt: z.string(), openThread: z.boolean() });
export type ReplyRecord = z.infer<typeof ReplyRecordSchema>;

export interface Surface {
  progress(text: string): Promise<unknown>;
  finish(payload: MessagePayload): Promise<Message>;
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

/** Progress edits of one surface, in order, skipping repeats; none after the final answer. */
function presenter(ctx: BotContext, surface: Surface) {
  const inOrder = serial();
  let shown = '';
  let answered = false;
  const show = (text: string) =>
    inOrder(async () => {
      if (text === shown || answered) return;
      shown = text;
      await surface.progress(text).catch((err: Error) => ctx.runtime.logger.warn({ err: err.message }, 'progress edit failed'));
    });
  const answer = <T>(work: () => Promise<T>): Promise<T> =>
    inOrder(() => {
      answered = true;
      return work();
    });
  return { show, answer };
}

export async function runDiscordTurn(ctx: BotContext, surface: Surface, turn: DiscordTurn): Promise<Message | undefined> {
  const present = presenter(ctx, surface);
  const replyTo: ReplyRecord = { surface: surface.record, prompt: turn.prompt, openThread: turn.openThread };
  let started: StartedTurn;
  try {
    started = ctx.runtime.service.start({ ...turn, replyTo }, (p) => void present.show(progressText(p)));
  } catch (err) {
    const text = err instanceof LimitError ? err.message : `😵 ${(err as Error).message}`;
    await present.answer(() => surface.finish({ content: text, components: [] }));
    return undefined;
  }
  return deliverWhenDone(ctx, surface, replyTo, started, present);
}

/** Waits for a turn's outcome and answers on the surface: the result, or why there is none — once. */
async function deliverWhenDone(ctx: BotContext, surface: Surface, reply: ReplyRecord, started: StartedTurn, present: ReturnType<typeof presenter>): Promise<Message | undefined> {
  const { service, store, logger, metrics } = ctx.runtime;
  let result: JobResult;
  try {
    ({ result } = await started.done);
  } catch (err) {
    if (err instanceof JobDetachedError) {
      await present.show('⏸️ The bot is restarting; your clip is still being made and will be posted here when it is back.');
      return undefined;
    }
    if (!service.claimDelivery(started.jobId, 'discord:failed')) return undefined;
    logger.warn({ jobId: started.jobId, err: (err as Error).message }, 'job failed');
    return present.answer(() => surface.finish({ content: `😵 I could not act that out: ${clip((err as Error).message, 1500)}`, components: [] }));
  }
  if (!service.claimDelivery(result.jobId, pendingDelivery('discord'))) {
    logger.info({ jobId: result.jobId }, 'already delivered; skipping duplicate completion');
    return undefined;
  }
  const message = await present.answer(async () => {
    if (!result.videoPath) return surface.finish({ content: clip(result.reply, 1900), components: [] });
    const size = statSync(result.videoPath).size;
    if (size > surface.uploadLimit) {
      return surface.finish({
        content: `${resultContent(reply.prompt, result)}\n⚠️ The video is ${formatBytes(size)}, over this server's ${formatBytes(surface.uploadLimit)} upload limit; ask for a shorter clip or fewer variations.`,
        components: resultComponents(result.jobId),
      });
    }
    await surface.progress(progressText({ stage: 'uploading' })).catch(() => undefined);
    return surface.finish({
      content: resultContent(reply.prompt, result),
      files: [new AttachmentBuilder(result.videoPath, { name: 'charades.mp4', description: clip(reply.prompt, 100) })],
      components: resultComponents(result.jobId),
    });
  });
  store.setDeliveryTarget(result.jobId, `discord:${message.channelId}:${message.id}`);
  metrics.deliveries.inc({ platform: 'discord' });
  if (reply.openThread && result.videoPath && !message.channel.isThread()) {
    try {
      const thread = await message.startThread({ name: clip(reply.prompt, 90) || 'charades', autoArchiveDuration: 1440 });
      store.moveConversation(started.conversationId, thread.id);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not open a thread; follow-ups will need replies to the bot message');
    }
  }
  return message;
}

/** Discord turned the request down for good (unknown or expired token, deleted message), not a hiccup. */
const refused = (err: unknown) => err instanceof DiscordAPIError && Number(err.status) >= 400 && Number(err.status) < 500;

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
  const viaChannel = async (payload: MessagePayload): Promise<Message> => {
    const addressed = { ...payload, content: `<@${record.userId}> ${payload.content}` };
    if (fallback) return (fallback = await fallback.edit(addressed));
    fallback = await (await sendableChannel(ctx, record.channelId)).send(addressed);
    return fallback;
  };
  const edit = async (payload: MessagePayload): Promise<Message> => {
    if (!tokenUsable()) return viaChannel(payload);
    try {
      return await webhook.editMessage('@original', payload);
    } catch (err) {
      if (!refused(err)) throw err;
      ctx.runtime.logger.warn({ err: (err as Error).message }, 'the interaction token was refused; answering in the channel');
      tokenUsable = () => false;
      return viaChannel(payload);
    }
  };
  return { record, uploadLimit: record.uploadLimit, progress: (text) => edit({ content: text }), finish: async (payload) => withChannel(ctx, await edit(payload)) };
}

/** The bot's answer to a mention or thread message, edited again by id; posted anew if it is gone. */
function restoredMessageSurface(ctx: BotContext, record: Extract<SurfaceRecord, { kind: 'message' }>): Surface {
  let messageId = record.messageId;
  const edit = async (payload: MessagePayload): Promise<Message> => {
    const channel = await sendableChannel(ctx, record.channelId);
    try {
      return await channel.messages.edit(messageId, payload);
    } catch (err) {
      if (!refused(err)) throw err;
      const sent = await channel.send(payload);
      messageId = sent.id;
      return sent;
    }
  };
  return { record, uploadLimit: record.uploadLimit, progress: (text) => edit({ content: text }), finish: edit };
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
      logger.warn({ jobId: request.id }, 'a stored reply target is unreadable; this request cannot be answered');
      service.claimDelivery(request.id, 'discord:unreachable');
      continue;
    }
    // A run that died while posting this reply left its claim pending: the reply goes out again (at least once).
    store.releasePendingDelivery(request.id, 'discord');
    const surface = restoreSurface(ctx, parsed.data.surface);
    const present = presenter(ctx, surface);
    try {
      const started = service.resume(request.id, (p) => void present.show(progressText(p)));
      logger.info({ jobId: request.id, status: request.status }, 'resuming the delivery of an earlier request');
      pending.push(deliverWhenDone(ctx, surface, parsed.data, started, present).catch((err: Error) => {
        logger.warn({ jobId: request.id, err: err.message }, 'could not deliver an earlier request');
        return undefined;
      }));
    } catch (err) {
      logger.warn({ jobId: request.id, err: (err as Error).message }, 'cannot resume an earlier request');
      service.claimDelivery(request.id, 'discord:unreachable');
    }
  }
  return pending;
}

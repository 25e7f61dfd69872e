/**
 * Runs one Discord turn against a "surface" (a deferred interaction reply, or a bot message answering a
 * mention or thread message): progress edits in order, then exactly one result message with the MP4,
 * what the agent understood and the buttons, then a thread that becomes the conversation.
 */
import { statSync } from 'node:fs';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import type { Message } from 'discord.js';
import type { JobResult, Progress } from '../../jobs/index.js';
import { LimitError } from '../service.js';
import type { TurnRequest } from '../service.js';
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

export interface Surface {
  progress(text: string): Promise<unknown>;
  finish(payload: MessagePayload): Promise<Message>;
  uploadLimit: number;
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

export async function runDiscordTurn(ctx: BotContext, surface: Surface, turn: DiscordTurn): Promise<Message | undefined> {
  const { service, store, logger, metrics } = ctx.runtime;
  const inOrder = serial();
  let shown = '';
  const show = (text: string) =>
    inOrder(async () => {
      if (text === shown) return;
      shown = text;
      await surface.progress(text).catch((err: Error) => logger.warn({ err: err.message }, 'progress edit failed'));
    });
  let started: ReturnType<typeof service.start>;
  try {
    started = service.start(turn, (p) => void show(progressText(p)));
  } catch (err) {
    const text = err instanceof LimitError ? err.message : `😵 ${(err as Error).message}`;
    await inOrder(() => surface.finish({ content: text, components: [] }));
    return undefined;
  }
  let result: JobResult;
  try {
    ({ result } = await started.done);
  } catch (err) {
    logger.warn({ jobId: started.jobId, err: (err as Error).message }, 'job failed');
    return inOrder(() => surface.finish({ content: `😵 I could not act that out: ${clip((err as Error).message, 1500)}`, components: [] }));
  }
  if (!service.claimDelivery(result.jobId, 'discord:pending')) {
    logger.info({ jobId: result.jobId }, 'already delivered; skipping duplicate completion');
    return undefined;
  }
  const message = await inOrder(async () => {
    if (!result.videoPath) return surface.finish({ content: clip(result.reply, 1900), components: [] });
    const size = statSync(result.videoPath).size;
    if (size > surface.uploadLimit) {
      return surface.finish({
        content: `${resultContent(turn.prompt, result)}\n⚠️ The video is ${formatBytes(size)}, over this server's ${formatBytes(surface.uploadLimit)} upload limit; ask for a shorter clip or fewer variations.`,
        components: resultComponents(result.jobId),
      });
    }
    shown = progressText({ stage: 'uploading' });
    await surface.progress(shown).catch(() => undefined);
    return surface.finish({
      content: resultContent(turn.prompt, result),
      files: [new AttachmentBuilder(result.videoPath, { name: 'charades.mp4', description: clip(turn.prompt, 100) })],
      components: resultComponents(result.jobId),
    });
  });
  store.setDeliveryTarget(result.jobId, `discord:${message.channelId}:${message.id}`);
  metrics.deliveries.inc({ platform: 'discord' });
  if (turn.openThread && result.videoPath && !message.channel.isThread()) {
    try {
      const thread = await message.startThread({ name: clip(turn.prompt, 90) || 'charades', autoArchiveDuration: 1440 });
      store.moveConversation(started.conversationId, thread.id);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not open a thread; follow-ups will need replies to the bot message');
    }
  }
  return message;
}

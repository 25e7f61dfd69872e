/**
 * The result buttons. Generating ones (Reroll, Variations, Continue, Slower, Faster) start a new turn
 * that edits the clicked clip's request and only its requester may press them; BVH / GLB send the
 * motion as a file (the first sample); 👍 / 👎 record a rating from anyone (one per user, changeable; the
 * community tables keep the model version that made the clip with it).
 */
import { AttachmentBuilder, MessageFlags } from 'discord.js';
import type { ButtonInteraction } from 'discord.js';
import { MotionFiles } from '../../jobs/index.js';
import type { JobAction } from '../../jobs/index.js';
import { communityOf } from './community.js';
import type { BotContext } from './context.js';
import { GENERATING_ACTIONS, parseButtonId } from './deliver.js';
import type { ButtonAction } from './deliver.js';
import { startFromInteraction } from './surfaces.js';

const LABEL: Partial<Record<ButtonAction, string>> = {
  reroll: 'reroll',
  variations: 'variations',
  continue: 'continue',
  slower: 'slower',
  faster: 'faster',
};

async function sendDownload(
  ctx: BotContext,
  interaction: ButtonInteraction,
  jobId: string,
  action: 'bvh' | 'glb',
): Promise<void> {
  const motions = ctx.runtime.store.motionsOf(jobId);
  if (motions.length === 0)
    return void (await interaction.reply({
      content: 'This clip has no stored motion to download.',
      flags: MessageFlags.Ephemeral,
    }));
  const motion = new MotionFiles(ctx.runtime.config.dataDir).load(motions[0].id);
  // Exports live with the engine (three.js GLB writer); loaded only when someone asks for a file.
  const { exportMotion } = await import('../../motion/engine/index.js');
  const bytes = await exportMotion(motion, action);
  const name = `charades-${jobId.slice(0, 8)}.${action}`;
  const note = `${action.toUpperCase()} of this clip (${motion.numFrames} frames at ${motion.fps} fps${action === 'bvh' ? '; centimetres, import with scale 0.01' : ''}).`;
  await interaction.reply({
    content: note,
    files: [new AttachmentBuilder(bytes, { name })],
    flags: MessageFlags.Ephemeral,
  });
}

export async function handleButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const parsed = parseButtonId(interaction.customId);
  if (!parsed)
    return void (await interaction.reply({
      content: 'I do not know this button (it may be from an older version of Charades).',
      flags: MessageFlags.Ephemeral,
    }));
  const { store } = ctx.runtime;
  const request = store.request(parsed.jobId);
  if (!request)
    return void (await interaction.reply({
      content: 'That clip is no longer in my store.',
      flags: MessageFlags.Ephemeral,
    }));
  const { action, jobId } = parsed;
  if (action === 'up' || action === 'down') {
    store.rate(jobId, interaction.user.id, action === 'up' ? 1 : -1);
    communityOf(ctx).noteRating(jobId);
    const r = store.ratings(jobId);
    return void (await interaction.reply({
      content: `Thanks for rating! 👍 ${r.up} · 👎 ${r.down}`,
      flags: MessageFlags.Ephemeral,
    }));
  }
  if (action === 'bvh' || action === 'glb') return sendDownload(ctx, interaction, jobId, action);
  if (GENERATING_ACTIONS.includes(action) && interaction.user.id !== request.userId) {
    return void (await interaction.reply({
      content: `Only <@${request.userId}> can change this clip. Use /act to make your own!`,
      flags: MessageFlags.Ephemeral,
    }));
  }
  const conversation = store.conversationById(request.conversationId);
  if (!conversation)
    return void (await interaction.reply({
      content: 'The conversation of this clip is gone from my store.',
      flags: MessageFlags.Ephemeral,
    }));
  await startFromInteraction(ctx, interaction, {
    text: LABEL[action] ?? action,
    prompt: `${LABEL[action] ?? action}`,
    action: action as JobAction,
    conversationKey: conversation.key,
    conversationId: conversation.id,
    openThread: false,
    baseRequestId: jobId,
  });
}

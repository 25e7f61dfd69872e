/** /help — what Charades does and how to talk to it. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../context.js';

export const data = new SlashCommandBuilder().setName('help').setDescription('How to use Charades');

export function helpText(botId: string | undefined): string {
  return [
    '**Charades** makes a 3D person act out whatever you ask.',
    '• `/act prompt:make a person act like a dog` (optional: `seconds`, `samples` 1 or 4, `seed`)',
    `• Or mention me: <@${botId ?? 'Charades'}> wave, then sit down`,
    '• Every result opens a thread: write follow-ups there — "slower", "faster", "again", "continue with a jump".',
    '• Buttons: Reroll · Variations (2×2) · Continue · Slower · Faster · BVH · GLB · 👍 · 👎',
    '• `/continue prompt` extends your last clip; `/queue` shows the queue; admins use `/settings`.',
    '• Zero-shot testing: `/zeroshot submit phrase` adds to the community pool, `/zeroshot duel` is a blind A/B vote, `/zeroshot report` shows the results; react 👍/👎 on any result.',
    '• `/charades start`: I act a hidden phrase from the pool and you guess in the thread; `/charades leaderboard`.',
    '-# Motion data: Bandai Namco Research Motiondataset (CC BY-NC 4.0) and ACCAD (CC BY 3.0); non-commercial use.',
  ].join('\n');
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.reply({ content: helpText(ctx.client.user?.id), flags: MessageFlags.Ephemeral });
}

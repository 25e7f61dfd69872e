/**
 * /train — queue a training job (admins: Manage Server), then keep its message up to date while a training
 * worker (`charades worker --train`) runs it: stage, step, loss and ETA, and at the end the published version
 * or why the gate refused. The job lives in the training job table, not in this bot, so the message follows
 * it from whichever process runs it.
 */
import { MessageFlags, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction, Message } from 'discord.js';
import {
  TrainingJobStore,
  describeSources,
  describeTrainingJob,
  trainingDbPath,
  watchTrainingJob,
} from '../../../worker/train/index.js';
import type { TrainingJob } from '../../../worker/train/index.js';
import type { BotContext } from '../context.js';

const PRESETS = ['tiny', 'small', 'full'] as const;

export const data = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Retrain the motion model: train → evaluate → gate → publish (admins)')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) =>
    s
      .setName('start')
      .setDescription('Queue a training job')
      .addStringOption((o) =>
        o
          .setName('config')
          .setDescription('Trainer preset (default full)')
          .addChoices(...PRESETS.map((p) => ({ name: p, value: p }))),
      )
      .addStringOption((o) =>
        o
          .setName('data')
          .setDescription(
            'Data folders on the bot machine, comma-separated (packed, BVH or HumanML3D; default: current data)',
          ),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('status')
      .setDescription('Where a training job stands')
      .addIntegerOption((o) => o.setName('job').setDescription('Job number (default: the latest)').setMinValue(1)),
  )
  .addSubcommand((s) =>
    s
      .setName('cancel')
      .setDescription('Cancel a queued or running training job')
      .addIntegerOption((o) => o.setName('job').setDescription('Job number').setMinValue(1).setRequired(true)),
  );

/** How often the job table is read for the message's progress (a worker saves progress about twice a second). */
export const TRAIN_POLL_MS = 1500;

function openStore(ctx: BotContext): TrainingJobStore {
  return new TrainingJobStore(trainingDbPath(ctx.runtime.config.dataDir));
}

function parseDataOption(raw: string | null): string[] {
  return (raw ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
}

/** Edits the job's message until the job is final; an edit that fails (message deleted, bot closing) ends it. */
function followJob(ctx: BotContext, message: Message, jobId: number): void {
  let last = '';
  const watch = watchTrainingJob(
    trainingDbPath(ctx.runtime.config.dataDir),
    jobId,
    (job) => {
      const content = describeTrainingJob(job);
      if (content === last || !ctx.client.isReady()) return;
      last = content;
      message.edit({ content }).catch((err: Error) => {
        ctx.runtime.logger.warn({ err: err.message, jobId }, 'cannot update the training message; no more updates');
        watch.close();
      });
    },
    { pollMs: TRAIN_POLL_MS },
  );
}

async function start(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const config = interaction.options.getString('config') ?? 'full';
  if (!(PRESETS as readonly string[]).includes(config)) {
    return void (await interaction.reply({
      content: `\`config\` must be one of ${PRESETS.join(', ')} (got ${config}).`,
      flags: MessageFlags.Ephemeral,
    }));
  }
  let data: string[];
  try {
    data = describeSources(parseDataOption(interaction.options.getString('data'))).map((s) => s.dir);
  } catch (err) {
    return void (await interaction.reply({
      content: (err as Error).message.replace(/^--data /, '`data` '),
      flags: MessageFlags.Ephemeral,
    }));
  }
  const store = openStore(ctx);
  let job: TrainingJob;
  try {
    job = store.enqueue({ config, data, requestedBy: `discord:${interaction.user.id}` });
  } finally {
    store.close();
  }
  await interaction.reply({ content: describeTrainingJob(job) });
  followJob(ctx, await interaction.fetchReply(), job.id);
}

async function status(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const id = interaction.options.getInteger('job');
  const store = openStore(ctx);
  try {
    const job = id ? store.get(id) : (store.list(1)[0] ?? null);
    const content = job ? describeTrainingJob(job) : id ? `There is no training job ${id}.` : 'No training jobs yet.';
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  } finally {
    store.close();
  }
}

async function cancel(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const id = interaction.options.getInteger('job', true);
  const store = openStore(ctx);
  try {
    if (!store.get(id))
      return void (await interaction.reply({
        content: `There is no training job ${id}.`,
        flags: MessageFlags.Ephemeral,
      }));
    const job = store.requestCancel(id);
    const content =
      job.state === 'cancelling'
        ? `Stopping training job ${id}; its worker kills the trainer within a few seconds.`
        : describeTrainingJob(job);
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  } finally {
    store.close();
  }
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // The default permission hides the command; this check holds even where a server overrides that.
  if (!interaction.inGuild() || !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    return void (await interaction.reply({
      content: 'Only server members with the Manage Server permission can train models.',
      flags: MessageFlags.Ephemeral,
    }));
  }
  const sub = interaction.options.getSubcommand();
  if (sub === 'status') return status(interaction, ctx);
  if (sub === 'cancel') return cancel(interaction, ctx);
  return start(interaction, ctx);
}

/**
 * The bot module: chat service, store, runtime, CLI and Discord surfaces, and their commands:
 * `charades "PROMPT" -o out.mp4` (default action), `charades chat`, `charades serve`, `charades worker`.
 */
import type { Command } from 'commander';
import { loadConfig, setActiveConfig } from '../config/index.js';
import type { Config } from '../config/index.js';
import { checkOutPath, runChat, runPrompt } from './cli/index.js';
import { createRuntime } from './runtime.js';

export * from './store.js';
export * from './service.js';
export * from './runtime.js';
export * from '../ops/index.js';
export { checkOutPath, runChat, runPrompt, describeProgress } from './cli/index.js';
export type { ChatOptions, PromptOptions, TurnSummary } from './cli/index.js';

function parseNumber(name: string, min: number, max: number, integer = false) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got "${raw}"`);
    }
    return n;
  };
}

function parseSamples(raw: string): 1 | 4 {
  if (raw === '1' || raw === '4') return Number(raw) as 1 | 4;
  throw new Error(`--samples must be 1 or 4 (4 makes a 2×2 grid), got "${raw}"`);
}

function configFrom(opts: { config?: string }): Config {
  const config = loadConfig({ file: opts.config });
  // A --config file reaches the library defaults (text encoder, threads, Chromium path) like CHARADES_CONFIG does.
  setActiveConfig(config);
  return config;
}

/**
 * CLI output stays clean: logs go to stderr and only warnings show unless LOG_LEVEL says otherwise (read here, at the
 * edge: the configuration cannot tell an explicit "info" from its default).
 */
function quietCliConfig(config: Config): Config {
  return process.env.LOG_LEVEL ? config : { ...config, logLevel: 'warn' };
}

export function registerBotCommands(program: Command): void {
  // Options after a subcommand's name belong to that subcommand, so the default action's -o does not
  // swallow another command's -o.
  program.enablePositionalOptions();

  program
    .argument('[prompt...]', 'what the person should do, e.g. "act like a dog" (writes one MP4)')
    .option('-o, --out <file>', 'the MP4 to write', 'charades.mp4')
    .option('--seconds <s>', 'clip length in seconds', parseNumber('--seconds', 0.5, 30))
    .option('--samples <n>', '1, or 4 for a 2×2 grid of variations', parseSamples)
    .option('--seed <n>', 'random seed', parseNumber('--seed', 0, 2 ** 31 - 1, true))
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .action(
      async (
        words: string[],
        opts: { out: string; seconds?: number; samples?: 1 | 4; seed?: number; config?: string },
      ) => {
        if (words.length === 0) program.help();
        // "charades help [command]" is the usual help, not a prompt about helping.
        if (words[0] === 'help' && words.length <= 2) {
          const sub = words[1] && program.commands.find((c) => c.name() === words[1]);
          if (sub) sub.help();
          if (words.length === 1) program.help();
        }
        checkOutPath(opts.out);
        const rt = await createRuntime(quietCliConfig(configFrom(opts)), { name: 'charades-cli' });
        try {
          const summary = await runPrompt(rt, words.join(' '), opts);
          process.stderr.write(
            `${summary.reply}\n${summary.notes.map((n) => `  · ${n}`).join('\n')}${summary.notes.length ? '\n' : ''}`,
          );
          process.stdout.write(`${summary.path}\n`);
        } finally {
          await rt.close();
        }
      },
    );

  program
    .command('chat')
    .description('a conversation in the terminal: each turn writes the next MP4 and prints its path')
    .option(
      '--session <name>',
      'resume (or name) a conversation; follow-ups survive restarts',
      `chat-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`,
    )
    .option('--out-dir <dir>', 'where the MP4s go', 'charades-chat')
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .action(async (opts: { session: string; outDir: string; config?: string }) => {
      const rt = await createRuntime(quietCliConfig(configFrom(opts)), { name: 'charades-chat' });
      try {
        await runChat(rt, {
          session: opts.session,
          outDir: opts.outDir,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } finally {
        await rt.close();
      }
    });

  program
    .command('serve')
    .description(
      'run the Discord bot (DISCORD_TOKEN, DISCORD_APP_ID); jobs run in-process, or in workers when REDIS_URL is set',
    )
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .option('--no-register', 'do not (re-)register the slash commands')
    .action(async (opts: { config?: string; register: boolean }) => {
      const { serveDiscord } = await import('./discord/index.js');
      await serveDiscord(configFrom(opts), { registerCommands: opts.register });
      await new Promise(() => undefined);
    });

  program
    .command('worker')
    .description('process queued jobs from REDIS_URL (run as many as you like); --train: the training worker instead')
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .option(
      '--train',
      'run training jobs (charades train, Discord /train) one at a time: train → evaluate → gate → publish',
    )
    .action(async (opts: { config?: string; train?: boolean }) => {
      if (opts.train) {
        const { startTrainingWorker } = await import('../worker/train/index.js');
        const worker = await startTrainingWorker(configFrom(opts));
        return worker.done;
      }
      const { runWorker } = await import('../worker/index.js');
      await runWorker(configFrom(opts), { installSignalHandlers: true });
      await new Promise(() => undefined);
    });
}

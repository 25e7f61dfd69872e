/**
 * The `charades` command line. Each module registers its own commands; this file only assembles them
 * and turns any error into one readable line (set CHARADES_DEBUG=1 for the stack).
 *
 * Rooms are imported only when their commands are asked for: loading every room (puppeteer, LangChain,
 * onnxruntime, the SQLite store) costs about a second of start-up that `charades data stats` should not pay.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, setActiveConfig, wantsStackTraces } from './config/index.js';

type Register = (program: Command) => void;

/**
 * The motion commands are rooms of their own, not one room: `data` must not pay for `motion` and `eval`, which
 * load onnxruntime and three.js (`test/cli/lazy-loading.test.ts` holds `charades data stats` to that).
 */
const ROOMS: Record<string, () => Promise<Register>> = {
  data: async () => (await import('./motion/cli/data.js')).registerDataCommands,
  convert: async () => (await import('./motion/cli/convert.js')).registerConvertCommand,
  embed: async () => (await import('./motion/cli/embed.js')).registerEmbedCommand,
  motion: async () => (await import('./motion/cli/motion.js')).registerMotionCommand,
  eval: async () => (await import('./motion/cli/eval.js')).registerEvalCommand,
  render: async () => (await import('./render/index.js')).registerRenderCommands,
  bot: async () => (await import('./bot/index.js')).registerBotCommands,
  agent: async () => (await import('./agent/index.js')).registerAgentCommands,
  models: async () => (await import('./motion/cli/models.js')).registerModelsCommands,
  train: async () => (await import('./worker/train/index.js')).registerTrainCommands,
  community: async () => (await import('./community/index.js')).registerCommunityCommands,
  probes: async () => (await import('./eval-probes.js')).registerProbePlanner,
};

/** Rooms a command needs besides its own: `eval --probes` plans through the agent, which src/motion may not import. */
const COMMAND_EXTRA_ROOMS: Partial<Record<string, (keyof typeof ROOMS)[]>> = {
  eval: ['probes'],
  // the training gate runs the acting probes through the planner
  train: ['probes'],
  worker: ['probes'],
};

/** Which room owns each top-level command; anything else (a prompt, help) belongs to the bot or needs all rooms. */
const COMMAND_ROOM: Record<string, keyof typeof ROOMS> = {
  data: 'data',
  convert: 'convert',
  embed: 'embed',
  motion: 'motion',
  eval: 'eval',
  render: 'render',
  chat: 'bot',
  serve: 'bot',
  worker: 'bot',
  plan: 'agent',
  'eval-agent': 'agent',
  annotate: 'agent',
  models: 'models',
  train: 'train',
  report: 'community',
  'export-feedback': 'community',
  community: 'community',
};

function roomsFor(argv: string[]): (keyof typeof ROOMS)[] {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const wantsHelp = argv
    .slice(2)
    .some((a) => a === '-h' || a === '--help' || a === 'help' || a === '-V' || a === '--version');
  if (first && COMMAND_ROOM[first] && !(first === 'help'))
    return [COMMAND_ROOM[first], ...(COMMAND_EXTRA_ROOMS[first] ?? [])];
  if (!first || wantsHelp) return Object.keys(ROOMS);
  return ['bot'];
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('charades')
    .description('Make a 3D person act out whatever you ask: text → motion → video.')
    .version('0.1.0')
    .showHelpAfterError();
  for (const room of roomsFor(argv)) (await ROOMS[room]())(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // A closed pipe (`charades … | head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    // The one place the process's configuration is read (environment + CHARADES_CONFIG file): library defaults
    // (motion folders, onnxruntime threads, text encoder, binaries) come from it, see src/config/index.ts.
    setActiveConfig(loadConfig());
    const program = await buildProgram(argv);
    program.exitOverride();
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`charades: ${message}\n`);
    if (wantsStackTraces() && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}

await main();

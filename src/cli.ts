/**
 * The `charades` command line. Each module registers its own commands; this file only assembles them
 * and turns any error into one readable line (set CHARADES_DEBUG=1 for the stack).
 */
import { Command, CommanderError } from 'commander';
import { registerMotionCommands } from './motion/index.js';

export function buildProgram(): Command {
  const program = new Command('charades')
    .description('Make a 3D person act out whatever you ask: text → motion → video.')
    .version('0.1.0')
    .showHelpAfterError();
  registerMotionCommands(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`charades: ${message}\n`);
    if (process.env.CHARADES_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}

await main();

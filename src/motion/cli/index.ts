import type { Command } from 'commander';
import { registerConvertCommand } from './convert.js';
import { registerDataCommands } from './data.js';
import { registerEmbedCommand } from './embed.js';
import { registerMotionCommand } from './motion.js';
import { registerEvalCommand } from './eval.js';

export function registerMotionCommands(program: Command): void {
  registerDataCommands(program);
  registerConvertCommand(program);
  registerEmbedCommand(program);
  registerMotionCommand(program);
  registerEvalCommand(program);
}

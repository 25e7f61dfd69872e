import type { Command } from 'commander';
import { registerConvertCommand } from './convert.js';
import { registerDataCommands } from './data.js';

export function registerMotionCommands(program: Command): void {
  registerDataCommands(program);
  registerConvertCommand(program);
}

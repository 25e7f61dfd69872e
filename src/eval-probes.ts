/**
 * Composition for `charades eval --probes`: the offline agent planner (the path a chat message takes when no
 * LLM is configured) handed to the probe runner in src/motion/probes, which may not import the agent itself.
 * The agent is imported only when probes run, so a plain `charades eval` does not pay for loading it.
 */
import type { Command } from 'commander';
import { activeConfig, configAsEnv, loadConfig } from './config/index.js';
import type { MotionRequest } from './motion/contracts.js';
import { provideProbePlanner } from './motion/probes/planner.js';
import type { ProbePlanner } from './motion/probes/run.js';

/** The offline planner with the configured Action-GPT descriptions (CHARADES_EXPAND, default: the shipped cache; never an LLM call). */
export async function offlineProbePlanner(
  env: NodeJS.ProcessEnv = configAsEnv(activeConfig() ?? loadConfig()),
): Promise<ProbePlanner> {
  const { createAgentFromEnv, emptyConversation } = await import('./agent/index.js');
  const { agent } = createAgentFromEnv(env, {
    planner: 'offline',
    ...(env.CHARADES_EXPAND === 'llm' ? { expand: 'cache' as const } : {}),
  });
  return {
    id: 'offline',
    async plan(prompt: string): Promise<MotionRequest> {
      const turn = await agent.turn(emptyConversation(), prompt);
      if (!turn.request) throw new Error(`the planner answered "${turn.reply}" instead of planning a motion`);
      return turn.request;
    },
  };
}

/** Registers no command: it gives `charades eval --probes` (registered by the eval room) its planner. */
export function registerProbePlanner(_program: Command): void {
  provideProbePlanner(() => offlineProbePlanner());
}

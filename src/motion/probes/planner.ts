/**
 * Where `charades eval --probes` gets its planner. Probes must go through the path a chat message takes
 * (agent plan → MotionRequest → engine), but src/motion must not import the agent (bot → agent → jobs → motion),
 * so the composition root (src/eval-probes.ts, loaded by src/cli.ts for `eval`) provides it here.
 */
import type { ProbePlanner } from './run.js';

export type ProbePlannerFactory = () => Promise<ProbePlanner>;

let provided: ProbePlannerFactory | null = null;

export function provideProbePlanner(factory: ProbePlannerFactory): void {
  provided = factory;
}

export async function probePlanner(): Promise<ProbePlanner> {
  if (!provided)
    throw new Error(
      'acting probes need the agent planner, which src/cli.ts provides; run them as `charades eval --probes FILE`',
    );
  return provided();
}

/**
 * Chooses the stages a process runs with: the agent's planner (its LLM or offline planner, as the environment says),
 * the ONNX engine when the models registry has a LIVE version (else the interim dataset retrieval), and
 * the three.js renderer. Every choice is reported so logs
 * and replies say what actually produced a clip.
 */
import { configAsEnv } from '../../config/index.js';
import type { Config } from '../../config/index.js';
import type { Motion, MotionRequest } from '../../motion/index.js';
import type { GeneratorStage, PlanInput, PlannerStage, RenderOptions, RendererStage, Stages } from '../types.js';
import { createRetrievalGenerator } from './retrieval.js';
import { createEngineGenerator, hasLiveModel } from './engine.js';

export interface StageChoice {
  stages: Stages;
  /** One line per stage saying which implementation runs and why. */
  notes: string[];
}

export const LOCAL_LLM_PACKAGE = 'node-llama-cpp';

/**
 * node-llama-cpp is an optional package (its CUDA and Vulkan builds alone are 600 MB), so a process that is
 * configured for a local GGUF checks for it first and says how to add it, instead of failing on the first turn
 * with a module-resolution error. `resolve` is Node's resolver; tests pass one that finds nothing.
 */
export function assertLocalLlmInstalled(
  env: NodeJS.ProcessEnv,
  resolve: (specifier: string) => string = (specifier) => import.meta.resolve(specifier),
): void {
  if (!env.LLAMA_MODEL_PATH) return;
  try {
    resolve(LOCAL_LLM_PACKAGE);
  } catch {
    throw new Error(
      `LLAMA_MODEL_PATH is set, but the optional local-LLM backend is not installed: run \`npm install ${LOCAL_LLM_PACKAGE}\` ` +
        '(or `bash scripts/setup.sh --with-llama`), or unset LLAMA_MODEL_PATH',
    );
  }
}

/**
 * The agent's planner (LLM when the environment configures one, else its offline parser). Imported
 * lazily: the agent pulls in LangChain (and node-llama-cpp for a local GGUF), which every other CLI command would pay for.
 */
async function agentPlanner(config: Config): Promise<PlannerStage> {
  // The agent takes its settings by variable name; the configuration renders them (env over file, as loaded).
  const env = configAsEnv(config);
  assertLocalLlmInstalled(env);
  const agentModule = await import('../../agent/index.js');
  const configured = agentModule.createAgentFromEnv(env);
  const stateOf = (stored: unknown) =>
    stored === undefined || stored === null
      ? agentModule.emptyConversation()
      : agentModule.parseConversationState(stored, 'the stored conversation state');
  return {
    name: `agent:${configured.agent.plannerKind}`,
    async plan(input: PlanInput) {
      const out = await configured.agent.turn(stateOf(input.state), input.text, { user: input.userId });
      const notes = [...out.notes, ...(out.fallback ? [`fallback: ${out.fallback}`] : [])];
      return { request: out.request, reply: out.reply, notes, planner: `agent:${out.planner}`, state: out.state };
    },
    recordMotions: (state: unknown, ids: string[]) => agentModule.recordMotion(stateOf(state), ids),
    adoptRequest: (state: unknown, request: MotionRequest) => agentModule.adoptRequest(stateOf(state), request),
    close: () => configured.dispose(),
  };
}

async function choosePlanner(config: Config, notes: string[]): Promise<PlannerStage> {
  const planner = await agentPlanner(config);
  notes.push(`planner: ${planner.name}`);
  return planner;
}

async function chooseGenerator(config: Config, notes: string[]): Promise<GeneratorStage> {
  const retrieval = () => createRetrievalGenerator(config.motionDataDir);
  if (config.generator === 'retrieval') {
    notes.push('generator: dataset retrieval (config generator=retrieval)');
    return retrieval();
  }
  if (hasLiveModel(config.modelsDir)) {
    // Imported lazily: onnxruntime and the text encoder load only where generation runs.
    const engineModule = await import('../../motion/engine/index.js');
    const generator = await createEngineGenerator({
      // A configured best-of-N and looks reach the engine whether they came from the environment or the config file.
      createEngine: (o) =>
        engineModule.createEngine({
          ...o,
          ...(config.bestOf ? { bestOf: config.bestOf } : {}),
          ...(config.looks ? { looks: config.looks } : {}),
        }),
      modelsDir: config.modelsDir,
      dataDir: config.dataDir,
      motionDataDir: config.motionDataDir,
    });
    notes.push(`generator: ONNX engine, model ${generator.version()} (${config.modelsDir}, follows LIVE)`);
    return generator;
  }
  const why = `no LIVE model version in ${config.modelsDir}`;
  if (config.generator === 'engine') throw new Error(`config generator=engine, but ${why}`);
  notes.push(`generator: dataset retrieval (${why})`);
  return retrieval();
}

/** The three.js renderer in headless Chromium; imported lazily (puppeteer) and launched on first use. */
async function chooseRenderer(notes: string[]): Promise<RendererStage> {
  const renderModule = await import('../../render/index.js');
  const renderer = renderModule.createRenderer();
  notes.push('renderer: three.js in Chromium');
  return {
    name: 'three',
    async render(motions: Motion[], o: RenderOptions) {
      const grid = motions.length > 1 ? { grid: motions, ...(o.labels ? { labels: o.labels } : {}) } : {};
      const out = await renderer.render(motions[0], {
        size: o.size,
        fps: o.fps === 30 ? 30 : 20,
        title: o.title,
        ...grid,
      });
      return out.mp4;
    },
    processIds: () => renderer.health().pids,
    close: () => renderer.close(),
  };
}

export async function createStages(config: Config): Promise<StageChoice> {
  const notes: string[] = [];
  const planner = await choosePlanner(config, notes);
  const generator = await chooseGenerator(config, notes);
  const renderer = await chooseRenderer(notes);
  return { stages: { planner, generator, renderer }, notes };
}

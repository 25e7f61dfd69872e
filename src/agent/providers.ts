/**
 * LLM providers chosen by configuration (environment): OpenAI (OPENAI_API_KEY, OPENAI_MODEL), any
 * OpenAI-compatible server (OPENAI_BASE_URL: Ollama, vLLM, LM Studio), a local GGUF through node-llama-cpp
 * (LLAMA_MODEL_PATH, LLAMA_THREADS), or none (the offline planner). Bad values are reported by variable name.
 */
import { resolve } from 'node:path';
import type { ChatOpenAI } from '@langchain/openai';
import { activeConfig, configAsEnv } from '../config/index.js';
import { defaultCacheDir, defaultDataDir, defaultModelsDir } from '../motion/paths.js';
import { liveVersionDir } from '../motion/registry.js';
import { readVocabulary } from '../motion/vocabulary.js';
import { createAgent } from './agent.js';
import type { Agent, LlmPlanner } from './agent.js';
import { ACTION_GPT, ActionGptExpander } from './expander.js';
import { createGrounder } from './ground.js';
import type { Grounder, Knowledge } from './ground.js';
import type { DescriptionModel } from './expander.js';
import { createLlamaPlanner } from './llama.js';
import type { LlamaPlanner } from './llama.js';
import { createLangChainPlanner } from './llm.js';

export type ProviderKind = 'openai' | 'openai-compatible' | 'llama-cpp' | 'none';

export interface LlmSettings {
  planner: 'offline' | 'llm' | 'auto';
  provider: ProviderKind;
  model: string;
  apiKey?: string;
  baseURL?: string;
  llamaModelPath?: string;
  threads: number;
  timeoutMs: number;
  maxRetries: number;
  maxTokens: number;
  /** 'off': no descriptions; 'cache': shipped/cached only (k = 0 on a miss); 'llm': generate on a miss. */
  expand: 'off' | 'cache' | 'llm';
  cacheDir: string;
  shippedAnnotations: string;
  /**
   * Grounding of actions the model does not know: 'off'; 'lexicon' (pantomimes only, no text encoder);
   * 'on' (pantomimes, then the LIVE model's vocabulary; unknown phrases are rewritten by the LLM when there is one).
   */
  ground: 'off' | 'lexicon' | 'on';
  modelsDir: string;
  textEncoder: string;
}

type Env = Record<string, string | undefined>;

/** The settings of the configuration the CLI installed (environment + CHARADES_CONFIG file), by variable name. */
function configuredEnv(): Env {
  const config = activeConfig();
  return config ? configAsEnv(config) : {};
}

/**
 * Reads the agent's settings from `env` (default: the configuration the CLI installed, src/config); every problem
 * is listed with its variable. Unset paths fall back to the configured folders.
 */
export function llmSettingsFromEnv(env: Env = configuredEnv()): LlmSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      problems.push(`${name}: expected one of ${values.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };
  const baseURL = env.OPENAI_BASE_URL || undefined;
  if (baseURL && !/^https?:\/\/[^\s]+$/.test(baseURL))
    problems.push(`OPENAI_BASE_URL: expected an http(s) URL, got "${baseURL}"`);
  const planner = oneOf('CHARADES_PLANNER', ['offline', 'llm', 'auto'] as const, 'auto');
  const provider: ProviderKind = env.LLAMA_MODEL_PATH
    ? 'llama-cpp'
    : baseURL
      ? 'openai-compatible'
      : env.OPENAI_API_KEY
        ? 'openai'
        : 'none';
  if (planner === 'llm' && provider === 'none')
    problems.push('CHARADES_PLANNER=llm needs a provider: set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH');
  const settings: LlmSettings = {
    planner,
    provider,
    model: env.OPENAI_MODEL || 'gpt-4o-mini',
    apiKey: env.OPENAI_API_KEY || undefined,
    baseURL,
    llamaModelPath: env.LLAMA_MODEL_PATH || undefined,
    threads: int('LLAMA_THREADS', 1, 1, 64),
    timeoutMs: int('CHARADES_LLM_TIMEOUT_MS', 20_000, 100, 600_000),
    maxRetries: int('CHARADES_LLM_RETRIES', 1, 0, 10),
    maxTokens: int('CHARADES_LLM_MAX_TOKENS', 512, 16, 8192),
    expand: oneOf('CHARADES_EXPAND', ['off', 'cache', 'llm'] as const, provider === 'none' ? 'cache' : 'llm'),
    cacheDir: env.CHARADES_CACHE || defaultCacheDir(),
    shippedAnnotations: resolve(env.CHARADES_DATA || defaultDataDir(), 'annotations', 'action-gpt-k4.jsonl'),
    ground: oneOf('CHARADES_GROUND', ['off', 'lexicon', 'on'] as const, 'on'),
    modelsDir: env.CHARADES_MODELS || defaultModelsDir(),
    textEncoder: env.CHARADES_TEXT_ENCODER || 'use',
  };
  if (problems.length) throw new Error(`agent settings: ${problems.join('; ')}`);
  return settings;
}

/** ChatOpenAI for OpenAI or an OpenAI-compatible server; local servers need no key, but the client insists on one. */
export async function createOpenAIChatModel(
  settings: LlmSettings,
  overrides: { temperature?: number; topP?: number; maxTokens?: number } = {},
): Promise<ChatOpenAI> {
  const { ChatOpenAI } = await import('@langchain/openai');
  return new ChatOpenAI({
    model: settings.model,
    apiKey: settings.apiKey ?? 'not-needed',
    temperature: overrides.temperature ?? 0,
    ...(overrides.topP !== undefined ? { topP: overrides.topP } : {}),
    maxTokens: overrides.maxTokens ?? settings.maxTokens,
    timeout: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    ...(settings.baseURL ? { configuration: { baseURL: settings.baseURL } } : {}),
  });
}

export function providerId(settings: LlmSettings): string {
  if (settings.provider === 'llama-cpp') return `llama-cpp:${settings.llamaModelPath?.split('/').pop()}`;
  if (settings.provider === 'openai-compatible') return `openai-compatible:${settings.model}@${settings.baseURL}`;
  return `${settings.provider}:${settings.model}`;
}

/** The planner for the configured provider; undefined when there is none or the planner is 'offline'. */
export function createLlmPlanner(settings: LlmSettings): LlmPlanner | undefined {
  if (settings.planner === 'offline' || settings.provider === 'none') return undefined;
  if (settings.provider === 'llama-cpp') {
    return createLlamaPlanner({
      modelPath: settings.llamaModelPath as string,
      threads: settings.threads,
      maxTokens: settings.maxTokens,
      timeoutMs: settings.timeoutMs,
    });
  }
  return createLangChainPlanner({
    model: () => createOpenAIChatModel(settings),
    id: providerId(settings),
    timeoutMs: settings.timeoutMs,
  });
}

interface Sampling {
  temperature: number;
  topP: number;
  maxTokens: number;
}

/** Action-GPT's sampler for the configured provider: temperature 0.5, top-p 1, ≤ 128 new tokens. */
export function createDescriptionModel(settings: LlmSettings): DescriptionModel | undefined {
  return completionModel(settings, {
    temperature: ACTION_GPT.temperature,
    topP: ACTION_GPT.topP,
    maxTokens: ACTION_GPT.maxTokens,
  });
}

/** Grounding's rewriter: deterministic, with room for a JSON answer of up to four steps and their descriptions. */
export function createRewriteModel(settings: LlmSettings): DescriptionModel | undefined {
  return completionModel(settings, { temperature: 0, topP: 1, maxTokens: Math.max(settings.maxTokens, 900) });
}

function completionModel(settings: LlmSettings, sampling: Sampling): DescriptionModel | undefined {
  if (settings.provider === 'none') return undefined;
  if (settings.provider === 'llama-cpp') return llamaCompletionModel(settings, sampling);
  let chat: Promise<ChatOpenAI> | undefined;
  return {
    id: providerId(settings),
    async complete(prompt, signal) {
      chat ??= createOpenAIChatModel(settings, sampling);
      const msg = await (await chat).invoke(prompt, { signal });
      return typeof msg.content === 'string'
        ? msg.content
        : msg.content.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('');
    },
  };
}

function llamaCompletionModel(settings: LlmSettings, sampling: Sampling): DescriptionModel {
  let loading: Promise<{ complete: DescriptionModel['complete'] }> | undefined;
  const load = async () => {
    const { getLlama, LlamaCompletion } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never' });
    const model = await llama.loadModel({ modelPath: settings.llamaModelPath as string });
    const context = await model.createContext({ threads: settings.threads, sequences: 1 });
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    let queue: Promise<unknown> = Promise.resolve();
    return {
      complete(prompt: string, signal?: AbortSignal) {
        const run = queue.then(() => completion.generateCompletion(`${prompt}.\n`, { ...sampling, signal }));
        queue = run.catch(() => undefined);
        return run;
      },
    };
  };
  return {
    id: providerId(settings),
    async complete(prompt, signal) {
      return (await (loading ??= load())).complete(prompt, signal);
    },
  };
}

export interface ConfiguredAgent {
  agent: Agent;
  settings: LlmSettings;
  expander?: ActionGptExpander;
  /** Frees a loaded local model (node-llama-cpp); a no-op for other providers. */
  dispose(): Promise<void>;
}

/** The agent exactly as the environment configures it — what the CLI and the bot use. */
export function createAgentFromEnv(env: Env, overrides: Partial<LlmSettings> = {}): ConfiguredAgent {
  const settings = { ...llmSettingsFromEnv(env), ...overrides };
  if (settings.planner === 'llm' && settings.provider === 'none') {
    throw new Error('planner "llm" needs a provider: set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH');
  }
  const llm = createLlmPlanner(settings);
  const expander =
    settings.expand === 'off'
      ? undefined
      : new ActionGptExpander({
          cacheDir: settings.cacheDir,
          shippedPath: settings.shippedAnnotations,
          ...(settings.expand === 'llm' ? { model: createDescriptionModel(settings) } : {}),
        });
  const grounder = createGrounderFromSettings(settings);
  const agent = createAgent({
    planner: settings.planner,
    ...(llm ? { llm } : {}),
    ...(expander ? { expander } : {}),
    ...(grounder ? { grounder } : {}),
    secrets: [settings.apiKey].filter((s): s is string => !!s),
  });
  return {
    agent,
    settings,
    ...(expander ? { expander } : {}),
    async dispose() {
      if (llm && 'dispose' in llm) await (llm as LlamaPlanner).dispose();
    },
  };
}

/** The grounder the settings ask for; the vocabulary follows LIVE (re-read when it changes) and loads on first use. */
export function createGrounderFromSettings(settings: LlmSettings): Grounder | undefined {
  if (settings.ground === 'off') return undefined;
  if (settings.ground === 'lexicon') return createGrounder();
  const rewriter = settings.planner !== 'offline' ? createRewriteModel(settings) : undefined;
  return createGrounder({
    knowledge: liveKnowledge(settings.modelsDir, settings.textEncoder),
    ...(rewriter ? { rewriter } : {}),
  });
}

/**
 * The LIVE model's vocabulary with the text encoder it was embedded with (shared with the engine in one
 * process); undefined when the live version has no vocabulary or was embedded by another encoder.
 */
function liveKnowledge(modelsDir: string, encoderSpec: string): () => Promise<Knowledge | undefined> {
  let cached: { dir: string; knowledge: Promise<Knowledge | undefined> } | undefined;
  return () => {
    const dir = liveVersionDir(modelsDir);
    if (!dir) return Promise.resolve(undefined);
    if (cached?.dir !== dir) cached = { dir, knowledge: loadKnowledge(dir, encoderSpec) };
    return cached.knowledge;
  };
}

async function loadKnowledge(dir: string, encoderSpec: string): Promise<Knowledge | undefined> {
  const vocabulary = readVocabulary(dir);
  if (!vocabulary) return undefined;
  const { sharedSentenceEncoder } = await import('../motion/text/config.js');
  const encoder = await sharedSentenceEncoder(encoderSpec);
  return encoder.id === vocabulary.file.encoder.id ? { vocabulary, encoder } : undefined;
}

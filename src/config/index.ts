/**
 * Runtime configuration: defaults < optional JSON file (CHARADES_CONFIG or --config) < environment.
 * Every bad value is reported with the place it came from (env var or file field), all at once,
 * so a person fixes their setup in one go instead of one crash at a time. The file is strict: a key the schema
 * does not know is an error naming it.
 *
 * One configuration path: this module is the only one that reads the settings of the README's Configuration
 * table from the environment (every row is in ConfigSchema / ENV_MAP). Modules receive `Config`, or the few
 * values they need as options. Library functions that tests call without a Config keep optional parameters whose
 * default is the process's configuration: `src/cli.ts` loads it once at start-up and installs it with
 * `setActiveConfig` (src/config/active.ts); where none was installed (tests, benches) the defaults below apply,
 * so a library default never depends on the environment of whoever imports it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CHECKOUT_DATA_DIR, REPO_ROOT, checkoutCacheDir, checkoutModelsDir } from '../motion/paths.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const GENERATORS = ['auto', 'engine', 'retrieval'] as const;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const PLANNERS = ['auto', 'offline', 'llm'] as const;
const GROUNDING = ['off', 'lexicon', 'on'] as const;
const EXPANSION = ['off', 'cache', 'llm'] as const;
const TRAIN_EVAL = ['production', 'trainer'] as const;

/** Every object is strict, so an unknown key (a typo in the config file) is an error naming it. */
export const ConfigSchema = z.strictObject({
  /** Where the SQLite store, motion files and videos live. */
  dataDir: z.string().min(1),
  modelsDir: z.string().min(1),
  motionDataDir: z.string().min(1),
  /** Jobs processed at once by the in-process queue or by one worker. */
  concurrency: intIn(1, 16),
  /** Attempts per job (1 = no retry). */
  attempts: intIn(1, 10),
  /** Milliseconds a BullMQ job stays locked to a worker that stopped answering before another takes it. */
  jobLockMs: intIn(500, 10 * 60_000),
  redisUrl: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  queueName: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
  generator: z.enum(GENERATORS),
  /**
   * Best-of-N candidates per sample (CHARADES_BEST_OF or the config file; absent = the engine's measured default,
   * src/motion/engine/rerank.ts). The generation stage passes it to the engine (jobs/stages/load.ts).
   */
  bestOf: intIn(1, 16).optional(),
  /**
   * Looks at most per request (CHARADES_LOOKS or the config file; absent = the engine's default, 3; 1 = off): when
   * best of N's kept candidate does not clearly do what the words ask, fresh candidates with stronger guidance.
   */
  looks: intIn(1, 5).optional(),
  render: z.strictObject({ size: intIn(64, 2048), fps: intIn(5, 60) }),
  limits: z.strictObject({
    /** Jobs one user may have queued or running at once. */
    userQueue: intIn(1, 100),
    /** Requests one user may start per minute. */
    userPerMinute: intIn(1, 1000),
    /** Upload limit when the guild does not say (Discord's default for unboosted guilds). */
    uploadBytes: intIn(1024, 500 * 1024 * 1024),
  }),
  discord: z.strictObject({
    token: z.string().min(1).optional(),
    appId: z.string().regex(/^\d+$/, 'expected a numeric Discord application id').optional(),
    /** REST base, e.g. http://127.0.0.1:PORT/api for the test double; absent = discord.com. */
    api: z.url().optional(),
    /** Channel ids the bot answers in; empty = everywhere. */
    allowedChannels: z.array(z.string().regex(/^\d+$/, 'expected numeric channel ids')),
    /** Guild to register slash commands in (instant); absent = global registration. */
    guildId: z.string().regex(/^\d+$/).optional(),
  }),
  metricsPort: intIn(0, 65535).optional(),
  logLevel: z.enum(LOG_LEVELS),
  /** Derived, re-creatable files (feature caches, embeddings, Action-GPT descriptions). */
  cacheDir: z.string().min(1),
  planner: z.enum(PLANNERS),
  /** Grounding of phrases the model does not know. */
  ground: z.enum(GROUNDING),
  /** Action-GPT descriptions; absent = `llm` with a provider, else `cache` (src/agent/providers.ts). */
  expand: z.enum(EXPANSION).optional(),
  openai: z.strictObject({
    apiKey: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  }),
  llama: z.strictObject({ modelPath: z.string().min(1).optional(), threads: intIn(1, 64).optional() }),
  /** `use`, `use:/dir` or `onnx:/dir`; parsed, and its errors named, by src/motion/text/config.ts. */
  textEncoder: z.string(),
  /** onnxruntime execution providers, a comma list or `auto`; parsed by src/motion/engine/providers.ts. */
  executionProviders: z.string(),
  /** onnxruntime intra-op threads (0 = onnxruntime's own choice). */
  ortThreads: intIn(0, 1024),
  chromiumPath: z.string().min(1).optional(),
  ffmpegPath: z.string().min(1).optional(),
  ffprobePath: z.string().min(1).optional(),
  /** What the training gate compares: this engine (`production`) or the Python trainer's metrics. */
  trainEval: z.enum(TRAIN_EVAL),
  /** Test clips the production gate evaluates (0 = all). */
  trainEvalLimit: intIn(0, 1_000_000),
  /** Limits of the agent's LLM calls (src/agent/providers.ts). */
  llm: z.strictObject({
    timeoutMs: intIn(100, 600_000).optional(),
    retries: intIn(0, 10).optional(),
    maxTokens: intIn(16, 8192).optional(),
  }),
  /** The trainer command line (default `/usr/bin/python3 -m trainer`, src/worker/train/runner.ts). */
  trainer: z.string().optional(),
  /** Print stack traces with errors. */
  debug: z.preprocess((v) => (typeof v === 'string' ? v !== '' : v), z.boolean()),
});
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Environment variable → config path. */
const ENV_MAP: Record<string, string> = {
  CHARADES_DATA_DIR: 'dataDir',
  CHARADES_MODELS: 'modelsDir',
  CHARADES_DATA: 'motionDataDir',
  CHARADES_CONCURRENCY: 'concurrency',
  CHARADES_ATTEMPTS: 'attempts',
  CHARADES_JOB_LOCK_MS: 'jobLockMs',
  REDIS_URL: 'redisUrl',
  CHARADES_QUEUE: 'queueName',
  CHARADES_GENERATOR: 'generator',
  CHARADES_BEST_OF: 'bestOf',
  CHARADES_LOOKS: 'looks',
  CHARADES_RENDER_SIZE: 'render.size',
  CHARADES_RENDER_FPS: 'render.fps',
  CHARADES_USER_QUEUE_LIMIT: 'limits.userQueue',
  CHARADES_USER_PER_MINUTE: 'limits.userPerMinute',
  CHARADES_UPLOAD_BYTES: 'limits.uploadBytes',
  DISCORD_TOKEN: 'discord.token',
  DISCORD_APP_ID: 'discord.appId',
  DISCORD_API: 'discord.api',
  DISCORD_ALLOWED_CHANNELS: 'discord.allowedChannels',
  DISCORD_GUILD_ID: 'discord.guildId',
  CHARADES_METRICS_PORT: 'metricsPort',
  LOG_LEVEL: 'logLevel',
  CHARADES_CACHE: 'cacheDir',
  CHARADES_PLANNER: 'planner',
  CHARADES_GROUND: 'ground',
  CHARADES_EXPAND: 'expand',
  OPENAI_API_KEY: 'openai.apiKey',
  OPENAI_MODEL: 'openai.model',
  OPENAI_BASE_URL: 'openai.baseUrl',
  LLAMA_MODEL_PATH: 'llama.modelPath',
  LLAMA_THREADS: 'llama.threads',
  CHARADES_TEXT_ENCODER: 'textEncoder',
  CHARADES_EXECUTION_PROVIDERS: 'executionProviders',
  CHARADES_ORT_THREADS: 'ortThreads',
  CHROMIUM_PATH: 'chromiumPath',
  FFMPEG_PATH: 'ffmpegPath',
  FFPROBE_PATH: 'ffprobePath',
  CHARADES_TRAIN_EVAL: 'trainEval',
  CHARADES_TRAIN_EVAL_LIMIT: 'trainEvalLimit',
  CHARADES_DEBUG: 'debug',
  CHARADES_TRAINER: 'trainer',
  CHARADES_LLM_TIMEOUT_MS: 'llm.timeoutMs',
  CHARADES_LLM_RETRIES: 'llm.retries',
  CHARADES_LLM_MAX_TOKENS: 'llm.maxTokens',
};

/** The environment variables the configuration reads (the README's Configuration table, plus CHARADES_CONFIG). */
export const CONFIG_ENV_VARS: readonly string[] = ['CHARADES_CONFIG', ...Object.keys(ENV_MAP)];

const LIST_PATHS = new Set(['discord.allowedChannels']);

function defaults(): ConfigInput {
  return {
    dataDir: resolve(REPO_ROOT, '.charades'),
    modelsDir: checkoutModelsDir(),
    motionDataDir: CHECKOUT_DATA_DIR,
    concurrency: 1,
    attempts: 2,
    jobLockMs: 30_000,
    queueName: 'charades',
    generator: 'auto',
    render: { size: 512, fps: 20 },
    limits: { userQueue: 2, userPerMinute: 6, uploadBytes: 10 * 1024 * 1024 },
    discord: { allowedChannels: [] },
    logLevel: 'info',
    cacheDir: checkoutCacheDir(),
    planner: 'auto',
    ground: 'on',
    openai: {},
    llama: {},
    llm: {},
    textEncoder: 'use',
    executionProviders: 'cpu',
    ortThreads: 1,
    trainEval: 'production',
    trainEvalLimit: 0,
    debug: false,
  };
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Tree;
  }
  node[keys[keys.length - 1]] = value;
}

function mergeDeep(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? mergeDeep(b as Tree, v as Tree)
        : v;
  }
  return out;
}

function readConfigFile(path: string): Tree {
  if (!existsSync(path)) throw new Error(`config file ${path} does not exist`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`config file ${path} must hold a JSON object`);
  return parsed as Tree;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** A JSON config file; defaults to env CHARADES_CONFIG. */
  file?: string;
  /** Values that win over everything (CLI flags, tests). */
  overrides?: Tree;
}

/** Loads and validates the configuration; throws one Error listing every bad value and where it came from. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.CHARADES_CONFIG;
  const origin = new Map<string, string>();
  let tree = defaults() as Tree;
  if (file) {
    const fromFile = readConfigFile(file);
    tree = mergeDeep(tree, fromFile);
    for (const key of leafPaths(fromFile)) origin.set(key, `${file}: ${key}`);
  }
  const fromEnv: Tree = {};
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(
      fromEnv,
      path,
      LIST_PATHS.has(path)
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw,
    );
    origin.set(path, `env ${name}`);
  }
  tree = mergeDeep(tree, fromEnv);
  if (options.overrides) tree = mergeDeep(tree, options.overrides);
  const parsed = ConfigSchema.safeParse(tree);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
      const where = file && keys.some((k) => origin.has(k)) ? file : 'config';
      return `  ${where}: unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')} (not a setting; see the README's Configuration table)`;
    }
    const top =
      issue.path.length > 1 && LIST_PATHS.has(issue.path.slice(0, -1).join('.'))
        ? issue.path.slice(0, -1).join('.')
        : path;
    const where = origin.get(top) ?? origin.get(path) ?? `config ${path}`;
    return `  ${where} = ${JSON.stringify(valueAt(tree, issue.path))}: ${issue.message}`;
  });
  throw new Error(`invalid configuration:\n${lines.join('\n')}`);
}

function leafPaths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? leafPaths(v as Tree, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function valueAt(tree: Tree, path: readonly PropertyKey[]): unknown {
  let node: unknown = tree;
  for (const k of path) node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[k] : undefined;
  return node;
}

/**
 * The configuration as the variables it was read from (name → text; unset settings absent), for code that takes
 * its settings by variable name: the agent (src/agent/providers.ts llmSettingsFromEnv). Env wins over the file in
 * `config` already, so this carries the same precedence.
 */
export function configAsEnv(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const value = valueAt(config as unknown as Tree, path.split('.'));
    if (value === undefined || value === null || value === false) continue;
    out[name] = Array.isArray(value) ? value.join(',') : value === true ? '1' : String(value);
  }
  return out;
}

/** Whether errors should carry their stack (CHARADES_DEBUG); read even when the configuration itself is bad. */
export function wantsStackTraces(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.CHARADES_DEBUG;
}

export { activeConfig, setActiveConfig } from './active.js';

/** The Discord settings `charades serve` cannot run without, with a message naming the missing variables. */
export function requireDiscord(config: Config): { token: string; appId: string } {
  const missing = [!config.discord.token && 'DISCORD_TOKEN', !config.discord.appId && 'DISCORD_APP_ID'].filter(Boolean);
  if (missing.length)
    throw new Error(
      `charades serve needs ${missing.join(' and ')} (the bot token and application id from the Discord developer portal)`,
    );
  return { token: config.discord.token as string, appId: config.discord.appId as string };
}

/**
 * ONNX Runtime execution providers from configuration. `CHARADES_EXECUTION_PROVIDERS` lists them in the order
 * to try (e.g. `cuda,webgpu,cpu`); `auto` means exactly that order. The default is `cpu`: probing CUDA and WebGPU
 * on a CPU-only host costs ~0.3 s per session and native libraries print to stderr while failing.
 */
import * as ort from 'onnxruntime-node';

export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
export const EXECUTION_PROVIDERS_ENV = 'CHARADES_EXECUTION_PROVIDERS';

export function parseExecutionProviders(spec: string | undefined): ExecutionProvider[] {
  const s = (spec ?? 'cpu').trim().toLowerCase();
  if (s === '' || s === 'cpu') return ['cpu'];
  if (s === 'auto') return [...EXECUTION_PROVIDERS];
  const list = s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  for (const p of list) {
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p)) {
      throw new Error(
        `${EXECUTION_PROVIDERS_ENV}: unknown execution provider "${p}"; use a comma list of ${EXECUTION_PROVIDERS.join(', ')} or "auto"`,
      );
    }
  }
  return list as ExecutionProvider[];
}

export interface ProviderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SessionWithProvider {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
}

export interface SessionConfig {
  providers: readonly ExecutionProvider[];
  /** Intra-op threads for the CPU provider (0 = onnxruntime's default). */
  threads?: number;
  log?: ProviderLog;
}

/** Creates a session on the first provider that works, saying which one ran and why the others did not. */
export async function createSession(bytes: Uint8Array, what: string, cfg: SessionConfig): Promise<SessionWithProvider> {
  const failures: string[] = [];
  for (const provider of cfg.providers) {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // A failed GPU probe is expected on CPU hosts; only fatal errors should reach the log.
        logSeverityLevel: provider === 'cpu' ? 3 : 4,
        ...(provider === 'cpu' && cfg.threads ? { intraOpNumThreads: cfg.threads, interOpNumThreads: 1 } : {}),
      });
      cfg.log?.info({ model: what, provider, skipped: failures }, `onnxruntime: ${what} runs on ${provider}`);
      return { session, provider };
    } catch (err) {
      const reason = ((err as Error).message ?? String(err)).split('\n')[0].slice(0, 200);
      failures.push(`${provider}: ${reason}`);
      cfg.log?.warn(
        { model: what, provider, reason },
        `onnxruntime: ${provider} unavailable for ${what}, trying the next provider`,
      );
    }
  }
  throw new Error(`${what}: no execution provider could load it (${failures.join('; ')})`);
}

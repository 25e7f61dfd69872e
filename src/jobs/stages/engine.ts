/**
 * The real generator: the ONNX engine of the models registry's LIVE version. It follows the LIVE
 * pointer (a newly published version is loaded beside the old one and swapped in only once it loads,
 * so a bad publish never takes generation down), and resolves `{ id }` motion references to the
 * motion files this data directory keeps.
 */
import { liveVersion, loadMotionFile, watchLive } from '../../motion/index.js';
import type { Motion, MotionRequest } from '../../motion/index.js';
import { MotionFiles } from '../motion-files.js';
import type { GeneratorStage } from '../types.js';

interface EngineLike {
  readonly version: string;
  generate(request: MotionRequest): Promise<{ motions: Motion[] }>;
  close(): Promise<void>;
}

export type CreateEngine = (opts: {
  modelsDir: string;
  version?: string;
  dataDir?: string | null;
  resolveMotion?: (ref: { id: string } | { path: string }) => Motion | Promise<Motion>;
}) => Promise<EngineLike>;

export interface EngineGeneratorOptions {
  createEngine: CreateEngine;
  modelsDir: string;
  /** Where stored motions live (for continue / frame references). */
  dataDir: string;
  /** The packed motion data (named poses). */
  motionDataDir: string;
  onSwap?: (event: { from: string; to: string } | { failed: string; error: string }) => void;
}

export async function createEngineGenerator(
  options: EngineGeneratorOptions,
): Promise<GeneratorStage & { close(): Promise<void>; version(): string }> {
  const files = new MotionFiles(options.dataDir);
  const resolveMotion = (ref: { id: string } | { path: string }) =>
    'id' in ref ? files.load(ref.id) : loadMotionFile(ref.path);
  const open = (version?: string) =>
    options.createEngine({ modelsDir: options.modelsDir, version, dataDir: options.motionDataDir, resolveMotion });
  let current = liveVersion(options.modelsDir) ?? '';
  let engine = await open(current || undefined);
  const watch = watchLive(options.modelsDir, (version) => {
    if (!version || version === current) return;
    open(version).then(
      (next) => {
        const old = engine;
        const from = current;
        engine = next;
        current = version;
        options.onSwap?.({ from, to: version });
        void old.close();
      },
      (err: Error) => options.onSwap?.({ failed: version, error: err.message }),
    );
  });
  return {
    name: 'engine',
    version: () => current,
    async generate(request: MotionRequest) {
      return (await engine.generate(request)).motions;
    },
    async close() {
      watch.close();
      await engine.close();
    },
  };
}

export function hasLiveModel(modelsDir: string): boolean {
  try {
    return liveVersion(modelsDir) !== null;
  } catch {
    return false;
  }
}

/**
 * The configuration of this process, installed once by the CLI (src/cli.ts) after loading it from the environment
 * and the CHARADES_CONFIG file. Library functions use it only as the default of an optional parameter (the motion
 * folders, onnxruntime threads and providers, the text encoder, best-of-N, the Chromium and ffmpeg binaries); with
 * none installed (tests, benches) they fall back to the checkout's defaults. A leaf module: it imports nothing at
 * runtime, so any module may read it without a circle.
 */
import type { Config } from './index.js';

let active: Config | undefined;

/** Makes `config` the process's configuration (the CLI does this once, at start-up). */
export function setActiveConfig(config: Config | undefined): void {
  active = config;
}

/** The configuration the CLI installed, or undefined (library defaults apply). */
export function activeConfig(): Config | undefined {
  return active;
}

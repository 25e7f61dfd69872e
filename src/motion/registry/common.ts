/** Registry layout names, the errors it throws and its small file helpers. */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ModelManifest } from '../contracts.js';
import { sha256Hex } from '../hash.js';
import { USE_DIM, USE_ENCODER_ID } from '../text/use.js';

export const LIVE_FILE = 'LIVE';
export const HISTORY_FILE = 'HISTORY.json';
export const STAGING_DIR = '.staging';
export const LOCK_FILE = '.lock';
export const MANIFEST_FILE = 'manifest.json';
/** Version names become folder names and pointer contents: keep them to one safe path segment. */
export const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface TextEncoderSpec {
  id: string;
  dim: number;
}

/** The encoder bots embed prompts with; a model trained on another encoder's space would get nonsense. */
export const DEFAULT_TEXT_ENCODER: TextEncoderSpec = { id: USE_ENCODER_ID, dim: USE_DIM };

export interface VerifyOptions {
  /** The text encoder the running system uses; default USE (`use-en-energetic-0.2.0`, 512-d). */
  textEncoder?: TextEncoderSpec;
  /** Also open every ONNX file in onnxruntime-node and compare its IO names with the manifest (slower). */
  loadOnnx?: boolean;
}

export interface VerifyResult {
  ok: boolean;
  dir: string;
  version?: string;
  manifest?: ModelManifest;
  errors: string[];
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export function writeFileAtomically(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function sha256File(file: string): string {
  return sha256Hex(readFileSync(file));
}

export function assertVersionName(version: string): string {
  if (!VERSION_NAME.test(version)) {
    throw new RegistryError(
      `'${version}' is not a valid model version name (letters, digits, '.', '_' and '-', starting with a letter or digit)`,
    );
  }
  return version;
}

/** Verification of a version folder: manifest, sha256 of every file, ONNX headers and IO names, text encoder, optionally onnxruntime. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ModelManifestSchema } from '../contracts.js';
import type { ModelManifest } from '../contracts.js';
import { DEFAULT_TEXT_ENCODER, MANIFEST_FILE, readJson, RegistryError, sha256File, VERSION_NAME } from './common.js';
import type { TextEncoderSpec, VerifyOptions, VerifyResult } from './common.js';
import { inspectOnnx } from './onnx-header.js';
import type { OnnxSummary } from './onnx-header.js';

function sameNames(actual: readonly string[], promised: readonly string[]): boolean {
  return actual.length === promised.length && [...actual].sort().every((n, i) => n === [...promised].sort()[i]);
}

/** Dimensions whose size the manifest fixes: the feature width and the text embedding width. */
function expectedLastDims(manifest: ModelManifest): Record<string, number> {
  return { features: manifest.features.dim, text_emb: manifest.textEncoder.dim };
}

function checkManifestConsistency(m: ModelManifest, encoder: TextEncoderSpec, errors: string[]): void {
  if (m.textEncoder.id !== encoder.id) {
    errors.push(
      `text encoder '${m.textEncoder.id}' does not match the configured '${encoder.id}' (the model was trained on another embedding space)`,
    );
  }
  if (m.textEncoder.dim !== encoder.dim)
    errors.push(`text encoder dimension ${m.textEncoder.dim} does not match the configured ${encoder.dim}`);
  if (m.features.mean.length !== m.features.dim)
    errors.push(`features.mean has ${m.features.mean.length} values, features.dim is ${m.features.dim}`);
  if (m.features.std.length !== m.features.dim)
    errors.push(`features.std has ${m.features.std.length} values, features.dim is ${m.features.dim}`);
  const gptTextDim = m.gpt.textDim;
  if (typeof gptTextDim === 'number' && gptTextDim !== m.textEncoder.dim)
    errors.push(`gpt.textDim ${gptTextDim} does not match textEncoder.dim ${m.textEncoder.dim}`);
  const gptVocab = m.gpt.vocab;
  if (typeof gptVocab === 'number' && gptVocab !== m.vq.codebookSize)
    errors.push(`gpt.vocab ${gptVocab} does not match vq.codebookSize ${m.vq.codebookSize}`);
}

function checkFiles(dir: string, m: ModelManifest, errors: string[]): void {
  const listed = new Set(Object.keys(m.files));
  for (const [file, sha] of Object.entries(m.files)) {
    if (basename(file) !== file || file === MANIFEST_FILE) {
      errors.push(`files: '${file}' is not a plain file name in the version folder`);
      continue;
    }
    const path = join(dir, file);
    if (!existsSync(path)) {
      errors.push(`${file}: listed in the manifest but missing`);
      continue;
    }
    const actual = sha256File(path);
    if (actual !== sha)
      errors.push(
        `${file}: sha256 ${actual.slice(0, 12)}… does not match the manifest's ${sha.slice(0, 12)}… (corrupt or altered)`,
      );
  }
  for (const entry of readdirSync(dir)) {
    if (entry !== MANIFEST_FILE && !listed.has(entry))
      errors.push(`${entry}: present in the folder but not listed in the manifest's files`);
  }
  for (const [name, onnx] of Object.entries(m.onnx)) {
    if (!listed.has(onnx.file)) errors.push(`onnx.${name}: file '${onnx.file}' is not listed in the manifest's files`);
  }
}

function checkOnnxGraphs(dir: string, m: ModelManifest, errors: string[]): void {
  const lastDims = expectedLastDims(m);
  for (const [name, entry] of Object.entries(m.onnx)) {
    const path = join(dir, entry.file);
    if (!existsSync(path)) continue; // already reported by checkFiles
    let summary: OnnxSummary;
    try {
      summary = inspectOnnx(readFileSync(path), entry.file);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    const inputs = summary.inputs.map((v) => v.name);
    const outputs = summary.outputs.map((v) => v.name);
    if (!sameNames(inputs, entry.inputs))
      errors.push(
        `${entry.file}: inputs [${inputs.join(', ')}] differ from the manifest's onnx.${name}.inputs [${entry.inputs.join(', ')}]`,
      );
    if (!sameNames(outputs, entry.outputs))
      errors.push(
        `${entry.file}: outputs [${outputs.join(', ')}] differ from the manifest's onnx.${name}.outputs [${entry.outputs.join(', ')}]`,
      );
    for (const v of [...summary.inputs, ...summary.outputs]) {
      const want = lastDims[v.name];
      const last = v.shape?.[v.shape.length - 1];
      if (want !== undefined && typeof last === 'number' && last !== want) {
        errors.push(
          `${entry.file}: '${v.name}' has last dimension ${last}, the manifest promises ${want} (wrong shapes)`,
        );
      }
    }
  }
}

async function checkOnnxRuntime(dir: string, m: ModelManifest, errors: string[]): Promise<void> {
  const ort = await import('onnxruntime-node');
  for (const [name, entry] of Object.entries(m.onnx)) {
    const path = join(dir, entry.file);
    if (!existsSync(path)) continue;
    try {
      const session = await ort.InferenceSession.create(path, { logSeverityLevel: 3 });
      try {
        if (!sameNames(session.inputNames, entry.inputs))
          errors.push(
            `${entry.file}: onnxruntime sees inputs [${session.inputNames.join(', ')}], the manifest promises [${entry.inputs.join(', ')}]`,
          );
        if (!sameNames(session.outputNames, entry.outputs))
          errors.push(
            `${entry.file}: onnxruntime sees outputs [${session.outputNames.join(', ')}], the manifest promises [${entry.outputs.join(', ')}]`,
          );
      } finally {
        await session.release();
      }
    } catch (err) {
      errors.push(`${entry.file} (onnx.${name}): onnxruntime cannot load it: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

/** Reads and schema-checks `<dir>/manifest.json`, throwing a RegistryError that says what is wrong. */
export function readManifest(dir: string): ModelManifest {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new RegistryError(`${dir}: no ${MANIFEST_FILE} (not a model version folder)`);
  let raw: unknown;
  try {
    raw = readJson(file);
  } catch (err) {
    throw new RegistryError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RegistryError(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Everything that must hold before a version may go live: the manifest parses, names its own folder, agrees
 * with itself and with the configured text encoder, every listed file exists with its sha256, no stray file,
 * every ONNX file parses and promises the manifest's IO names and shapes (and, with `loadOnnx`, loads).
 */
export async function verifyVersion(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const errors: string[] = [];
  const absDir = resolve(dir);
  if (!existsSync(absDir) || !statSync(absDir).isDirectory())
    return { ok: false, dir: absDir, errors: [`${absDir}: no such model version folder`] };
  let manifest: ModelManifest;
  try {
    manifest = readManifest(absDir);
  } catch (err) {
    return { ok: false, dir: absDir, errors: [(err as Error).message] };
  }
  if (!VERSION_NAME.test(manifest.version))
    errors.push(`manifest version '${manifest.version}' is not a valid version name`);
  checkManifestConsistency(manifest, opts.textEncoder ?? DEFAULT_TEXT_ENCODER, errors);
  checkFiles(absDir, manifest, errors);
  checkOnnxGraphs(absDir, manifest, errors);
  if (opts.loadOnnx && errors.length === 0) await checkOnnxRuntime(absDir, manifest, errors);
  return { ok: errors.length === 0, dir: absDir, version: manifest.version, manifest, errors };
}

export function failure(what: string, result: VerifyResult): RegistryError {
  return new RegistryError(`${what}: ${result.errors.join('; ')}`);
}

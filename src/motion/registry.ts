/**
 * The model registry: `models/<version>/` folders (manifest.json + ONNX files) and ONE pointer file,
 * `models/LIVE`, naming the version bots load. Every switch of the pointer is a temp file + rename, so a
 * reader sees the old name or the new one, never half of either; a version folder appears by renaming a
 * fully copied and verified staging folder, so a reader never sees a half-written version.
 *
 * Layout:
 *   models/LIVE             the live version's name (one line)
 *   models/HISTORY.json     { stack: [versions made live, oldest first], events: [...] } — rollback pops the stack
 *   models/<version>/       manifest.json + every file it lists
 *   models/.staging/        copies in progress (ignored by readers: no manifest.json directly under it)
 *   models/.lock            held while the pointer or the history changes
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync,
  statSync, watch, writeFileSync, writeSync,
} from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ModelManifestSchema } from './contracts.js';
import { sha256Hex } from './hash.js';
import type { ModelManifest } from './contracts.js';
import { USE_DIM, USE_ENCODER_ID } from './text/use.js';

export const LIVE_FILE = 'LIVE';
export const HISTORY_FILE = 'HISTORY.json';
export const STAGING_DIR = '.staging';
const LOCK_FILE = '.lock';
const MANIFEST_FILE = 'manifest.json';
/** Version names become folder names and pointer contents: keep them to one safe path segment. */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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

// ---------------------------------------------------------------- small file helpers

function writeFileAtomically(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function sha256File(file: string): string {
  return sha256Hex(readFileSync(file));
}

export function assertVersionName(version: string): string {
  if (!VERSION_NAME.test(version)) {
    throw new RegistryError(`'${version}' is not a valid model version name (letters, digits, '.', '_' and '-', starting with a letter or digit)`);
  }
  return version;
}

// ---------------------------------------------------------------- ONNX header check

export interface OnnxValueInfo {
  name: string;
  /** Each dimension: a number, a symbolic name, or null when the graph leaves it open. */
  shape: (number | string | null)[] | null;
}

export interface OnnxSummary {
  irVersion: number;
  opsets: number[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

interface ProtoField {
  field: number;
  wire: number;
  value: bigint;
  bytes?: Uint8Array;
}

/**
 * Walks the top level of a protobuf message, checking that every field's length fits inside the buffer.
 * A truncated file fails here: its last length-delimited field promises more bytes than remain.
 */
function protoFields(buf: Uint8Array, what: string): ProtoField[] {
  const out: ProtoField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new RegistryError(`${what}: a number runs past the end of the data (truncated?)`);
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new RegistryError(`${what}: malformed protobuf number`);
    }
  };
  while (i < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new RegistryError(`${what}: field number 0 at byte ${i} (not a protobuf message)`);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (i + size > buf.length) throw new RegistryError(`${what}: a fixed-size field runs past the end of the data (truncated?)`);
      i += size;
      out.push({ field, wire, value: 0n });
    } else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) {
        throw new RegistryError(`${what}: field ${field} claims ${len} bytes but only ${buf.length - i} remain (truncated file)`);
      }
      out.push({ field, wire, value: BigInt(len), bytes: buf.subarray(i, i + len) });
      i += len;
    } else {
      throw new RegistryError(`${what}: unsupported protobuf wire type ${wire} at byte ${i} (not an ONNX model)`);
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function valueInfo(bytes: Uint8Array, what: string): OnnxValueInfo {
  // ValueInfoProto: 1 name, 2 type → TypeProto: 1 tensor_type → 2 shape → TensorShapeProto: 1 dim → 1 dim_value, 2 dim_param
  const fields = protoFields(bytes, what);
  const name = utf8.decode(fields.find((f) => f.field === 1)?.bytes ?? new Uint8Array());
  const type = fields.find((f) => f.field === 2)?.bytes;
  const tensor = type ? protoFields(type, what).find((f) => f.field === 1)?.bytes : undefined;
  const shapeBytes = tensor ? protoFields(tensor, what).find((f) => f.field === 2)?.bytes : undefined;
  if (!shapeBytes) return { name, shape: null };
  const shape = protoFields(shapeBytes, what)
    .filter((f) => f.field === 1 && f.bytes)
    .map((d) => {
      const dim = protoFields(d.bytes!, what);
      const value = dim.find((f) => f.field === 1 && f.wire === 0);
      if (value) return Number(value.value);
      const param = dim.find((f) => f.field === 2)?.bytes;
      return param ? utf8.decode(param) : null;
    });
  return { name, shape };
}

/**
 * A cheap structural check of an ONNX file (no onnxruntime): the ModelProto parses to the last byte, has an
 * IR version, an opset and a graph, and the graph's input and output names and shapes are read back.
 */
export function inspectOnnx(bytes: Uint8Array, what = 'onnx'): OnnxSummary {
  if (bytes.length === 0) throw new RegistryError(`${what}: empty file`);
  // ModelProto: 1 ir_version, 7 graph, 8 opset_import (OperatorSetIdProto: 2 version)
  const top = protoFields(bytes, what);
  const ir = top.find((f) => f.field === 1 && f.wire === 0);
  const graph = top.find((f) => f.field === 7 && f.wire === 2)?.bytes;
  const opsets = top.filter((f) => f.field === 8 && f.bytes).map((f) => Number(protoFields(f.bytes!, what).find((g) => g.field === 2)?.value ?? 0n));
  if (!ir) throw new RegistryError(`${what}: no ir_version (not an ONNX model)`);
  if (!graph) throw new RegistryError(`${what}: no graph (not an ONNX model)`);
  if (opsets.length === 0) throw new RegistryError(`${what}: no opset_import (not an ONNX model)`);
  // GraphProto: 11 input, 12 output; initializers (5) may also be listed as inputs by old exporters
  const g = protoFields(graph, `${what} graph`);
  const initializerNames = new Set(
    g.filter((f) => f.field === 5 && f.bytes).map((f) => utf8.decode(protoFields(f.bytes!, what).find((t) => t.field === 8)?.bytes ?? new Uint8Array())),
  );
  const inputs = g.filter((f) => f.field === 11 && f.bytes).map((f) => valueInfo(f.bytes!, what)).filter((v) => !initializerNames.has(v.name));
  const outputs = g.filter((f) => f.field === 12 && f.bytes).map((f) => valueInfo(f.bytes!, what));
  return { irVersion: Number(ir.value), opsets, inputs, outputs };
}

// ---------------------------------------------------------------- verification

function sameNames(actual: readonly string[], promised: readonly string[]): boolean {
  return actual.length === promised.length && [...actual].sort().every((n, i) => n === [...promised].sort()[i]);
}

/** Dimensions whose size the manifest fixes: the feature width and the text embedding width. */
function expectedLastDims(manifest: ModelManifest): Record<string, number> {
  return { features: manifest.features.dim, text_emb: manifest.textEncoder.dim };
}

function checkManifestConsistency(m: ModelManifest, encoder: TextEncoderSpec, errors: string[]): void {
  if (m.textEncoder.id !== encoder.id) {
    errors.push(`text encoder '${m.textEncoder.id}' does not match the configured '${encoder.id}' (the model was trained on another embedding space)`);
  }
  if (m.textEncoder.dim !== encoder.dim) errors.push(`text encoder dimension ${m.textEncoder.dim} does not match the configured ${encoder.dim}`);
  if (m.features.mean.length !== m.features.dim) errors.push(`features.mean has ${m.features.mean.length} values, features.dim is ${m.features.dim}`);
  if (m.features.std.length !== m.features.dim) errors.push(`features.std has ${m.features.std.length} values, features.dim is ${m.features.dim}`);
  const gptTextDim = m.gpt.textDim;
  if (typeof gptTextDim === 'number' && gptTextDim !== m.textEncoder.dim) errors.push(`gpt.textDim ${gptTextDim} does not match textEncoder.dim ${m.textEncoder.dim}`);
  const gptVocab = m.gpt.vocab;
  if (typeof gptVocab === 'number' && gptVocab !== m.vq.codebookSize) errors.push(`gpt.vocab ${gptVocab} does not match vq.codebookSize ${m.vq.codebookSize}`);
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
    if (actual !== sha) errors.push(`${file}: sha256 ${actual.slice(0, 12)}… does not match the manifest's ${sha.slice(0, 12)}… (corrupt or altered)`);
  }
  for (const entry of readdirSync(dir)) {
    if (entry !== MANIFEST_FILE && !listed.has(entry)) errors.push(`${entry}: present in the folder but not listed in the manifest's files`);
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
    if (!sameNames(inputs, entry.inputs)) errors.push(`${entry.file}: inputs [${inputs.join(', ')}] differ from the manifest's onnx.${name}.inputs [${entry.inputs.join(', ')}]`);
    if (!sameNames(outputs, entry.outputs)) errors.push(`${entry.file}: outputs [${outputs.join(', ')}] differ from the manifest's onnx.${name}.outputs [${entry.outputs.join(', ')}]`);
    for (const v of [...summary.inputs, ...summary.outputs]) {
      const want = lastDims[v.name];
      const last = v.shape?.[v.shape.length - 1];
      if (want !== undefined && typeof last === 'number' && last !== want) {
        errors.push(`${entry.file}: '${v.name}' has last dimension ${last}, the manifest promises ${want} (wrong shapes)`);
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
        if (!sameNames(session.inputNames, entry.inputs)) errors.push(`${entry.file}: onnxruntime sees inputs [${session.inputNames.join(', ')}], the manifest promises [${entry.inputs.join(', ')}]`);
        if (!sameNames(session.outputNames, entry.outputs)) errors.push(`${entry.file}: onnxruntime sees outputs [${session.outputNames.join(', ')}], the manifest promises [${entry.outputs.join(', ')}]`);
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
    throw new RegistryError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`);
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
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) return { ok: false, dir: absDir, errors: [`${absDir}: no such model version folder`] };
  let manifest: ModelManifest;
  try {
    manifest = readManifest(absDir);
  } catch (err) {
    return { ok: false, dir: absDir, errors: [(err as Error).message] };
  }
  if (!VERSION_NAME.test(manifest.version)) errors.push(`manifest version '${manifest.version}' is not a valid version name`);
  checkManifestConsistency(manifest, opts.textEncoder ?? DEFAULT_TEXT_ENCODER, errors);
  checkFiles(absDir, manifest, errors);
  checkOnnxGraphs(absDir, manifest, errors);
  if (opts.loadOnnx && errors.length === 0) await checkOnnxRuntime(absDir, manifest, errors);
  return { ok: errors.length === 0, dir: absDir, version: manifest.version, manifest, errors };
}

function failure(what: string, result: VerifyResult): RegistryError {
  return new RegistryError(`${what}: ${result.errors.join('; ')}`);
}

// ---------------------------------------------------------------- the pointer, the history and the lock

export interface HistoryEvent {
  at: string;
  action: 'publish' | 'use' | 'rollback';
  version: string;
  from: string | null;
}

interface History {
  stack: string[];
  events: HistoryEvent[];
}

function historyPath(registry: string): string {
  return join(registry, HISTORY_FILE);
}

export function readHistory(registry: string): History {
  const file = historyPath(registry);
  if (!existsSync(file)) return { stack: [], events: [] };
  try {
    const raw = readJson(file) as Partial<History>;
    return { stack: Array.isArray(raw.stack) ? raw.stack.map(String) : [], events: Array.isArray(raw.events) ? raw.events : [] };
  } catch (err) {
    throw new RegistryError(`${file}: unreadable history (${(err as Error).message}); fix or delete it`);
  }
}

/** The live version's name, or null when nothing was ever made live. */
export function liveVersion(registry: string): string | null {
  const file = join(registry, LIVE_FILE);
  if (!existsSync(file)) return null;
  const name = readFileSync(file, 'utf8').trim();
  return name === '' ? null : name;
}

/** The live version's folder, or null. */
export function liveVersionDir(registry: string): string | null {
  const v = liveVersion(registry);
  return v === null ? null : join(resolve(registry), v);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Serialises pointer and history changes between processes; a lock left by a dead process is taken over. */
async function withRegistryLock<T>(registry: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const file = join(registry, LOCK_FILE);
  const me = `${hostname()} ${process.pid}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [host, pid] = (existsSync(file) ? readFileSync(file, 'utf8') : '').split(' ');
      if (host === hostname() && Number(pid) > 0 && !pidAlive(Number(pid))) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new RegistryError(`the model registry ${registry} is locked by ${host ?? '?'} pid ${pid ?? '?'} (remove ${file} if that process is gone)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function switchPointer(registry: string, version: string, action: HistoryEvent['action'], stack: string[]): void {
  const history = readHistory(registry);
  const event: HistoryEvent = { at: new Date().toISOString(), action, version, from: liveVersion(registry) };
  // The pointer first: it is what readers act on; the history only explains it and drives rollback.
  writeFileAtomically(join(registry, LIVE_FILE), `${version}\n`);
  writeFileAtomically(historyPath(registry), JSON.stringify({ stack, events: [...history.events, event] }, null, 1));
}

// ---------------------------------------------------------------- listing

export interface VersionInfo {
  version: string;
  dir: string;
  live: boolean;
  created?: string;
  metrics?: Record<string, unknown>;
  textEncoder?: TextEncoderSpec;
  /** Why the manifest could not be read, when it could not. */
  problem?: string;
}

/** Every version folder (those with a manifest.json), oldest first by the manifest's creation time. */
export function listVersions(registry: string): VersionInfo[] {
  if (!existsSync(registry)) return [];
  const live = liveVersion(registry);
  const out: VersionInfo[] = [];
  for (const entry of readdirSync(registry, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(resolve(registry), entry.name);
    if (!existsSync(join(dir, MANIFEST_FILE))) continue;
    try {
      const m = readManifest(dir);
      out.push({ version: entry.name, dir, live: entry.name === live, created: m.created, metrics: m.metrics, textEncoder: m.textEncoder });
    } catch (err) {
      out.push({ version: entry.name, dir, live: entry.name === live, problem: (err as Error).message });
    }
  }
  return out.sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.version.localeCompare(b.version));
}

// ---------------------------------------------------------------- publish, use, rollback

export interface PublishOptions extends VerifyOptions {
  registry: string;
  /** Switch the pointer to the new version (default true); false only stores it. */
  makeLive?: boolean;
}

export interface PublishResult {
  version: string;
  dir: string;
  previous: string | null;
  live: boolean;
}

function copyFolder(src: string, dest: string, files: string[]): void {
  mkdirSync(dest, { recursive: true });
  for (const f of files) copyFileSync(join(src, f), join(dest, f));
}

/**
 * Copies a trained model folder into `models/<version>/` and makes it live. The source is verified first
 * (a bad model never touches the registry), the copy is verified again in a staging folder (a bad copy never
 * becomes visible), then the folder is renamed into place and the pointer switched. Any failure leaves the
 * previous version live.
 */
export async function publishVersion(srcDir: string, opts: PublishOptions): Promise<PublishResult> {
  const registry = resolve(opts.registry);
  const source = await verifyVersion(srcDir, opts);
  if (!source.ok) throw failure(`rejected ${srcDir}`, source);
  const version = assertVersionName(source.manifest!.version);
  mkdirSync(join(registry, STAGING_DIR), { recursive: true });
  const target = join(registry, version);
  if (existsSync(target)) throw new RegistryError(`version ${version} already exists in ${registry}; train with another version name`);
  const staging = join(registry, STAGING_DIR, `${version}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    copyFolder(source.dir, staging, [MANIFEST_FILE, ...Object.keys(source.manifest!.files)]);
    const copy = await verifyVersion(staging, { ...opts, loadOnnx: false });
    if (!copy.ok) throw failure(`the copy of ${version} is damaged`, copy);
    return await withRegistryLock(registry, () => {
      if (existsSync(target)) throw new RegistryError(`version ${version} already exists in ${registry}; train with another version name`);
      renameSync(staging, target);
      const previous = liveVersion(registry);
      if (opts.makeLive === false) return { version, dir: target, previous, live: false };
      switchPointer(registry, version, 'publish', [...readHistory(registry).stack, version]);
      return { version, dir: target, previous, live: true };
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Makes an installed version live after verifying it again (files may have been touched since publish). */
export async function useVersion(registry: string, version: string, opts: VerifyOptions = {}): Promise<PublishResult> {
  assertVersionName(version);
  const dir = join(resolve(registry), version);
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    const known = listVersions(registry).map((v) => v.version);
    throw new RegistryError(`no version '${version}' in ${registry}${known.length ? ` (installed: ${known.join(', ')})` : ' (none installed)'}`);
  }
  const check = await verifyVersion(dir, opts);
  if (!check.ok) throw failure(`refusing to make ${version} live`, check);
  return withRegistryLock(resolve(registry), () => {
    const previous = liveVersion(registry);
    switchPointer(registry, version, 'use', [...readHistory(registry).stack, version]);
    return { version, dir, previous, live: true };
  });
}

/**
 * Goes back to the version that was live before the current one. Versions that no longer verify are skipped
 * (and dropped from the stack), so a rollback never makes a broken model live.
 */
export async function rollback(registry: string, opts: VerifyOptions = {}): Promise<PublishResult & { skipped: string[] }> {
  const abs = resolve(registry);
  return withRegistryLock(abs, async () => {
    const current = liveVersion(abs);
    const stack = [...readHistory(abs).stack];
    while (stack.length > 0 && stack[stack.length - 1] === current) stack.pop();
    const skipped: string[] = [];
    while (stack.length > 0) {
      const candidate = stack[stack.length - 1];
      const check = await verifyVersion(join(abs, candidate), opts);
      if (check.ok) {
        switchPointer(abs, candidate, 'rollback', stack);
        return { version: candidate, dir: join(abs, candidate), previous: current, live: true, skipped };
      }
      skipped.push(`${candidate} (${check.errors[0]})`);
      stack.pop();
    }
    throw new RegistryError(`nothing to roll back to: no earlier live version${skipped.length ? ` that still verifies (skipped ${skipped.join(', ')})` : ''} in ${abs}`);
  });
}

// ---------------------------------------------------------------- hot-swap signals

export interface LiveWatch {
  close(): void;
}

export interface WatchOptions {
  /** Polling period, used beside the file watch (which some filesystems never fire) and instead of it when it fails. */
  pollMs?: number;
}

/**
 * Calls `onChange(version)` whenever the pointer names another version (once per change, not per file event).
 * The folder is watched rather than the file: the pointer is replaced by rename, so a watch on the old file
 * would go quiet after the first switch.
 */
export function watchLive(registry: string, onChange: (version: string | null) => void, opts: WatchOptions = {}): LiveWatch {
  const abs = resolve(registry);
  let last = liveVersion(abs);
  let closed = false;
  const check = () => {
    if (closed) return;
    let now: string | null;
    try {
      now = liveVersion(abs);
    } catch {
      return; // a transient read error (folder being recreated); the next event or poll tries again
    }
    if (now !== last) {
      last = now;
      onChange(now);
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(abs, { persistent: false }, (_event, file) => {
      if (file === null || file === LIVE_FILE) check();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(check, opts.pollMs ?? (watcher ? 2000 : 250));
  timer.unref();
  return {
    close() {
      closed = true;
      watcher?.close();
      clearInterval(timer);
    },
  };
}

export const SWAP_CHANNEL = 'charades:model-live';

export interface SwapMessage {
  version: string;
  registry: string;
  at: string;
}

interface RedisPublisher {
  publish(channel: string, message: string): Promise<number>;
}

/** Announces a new live version to every subscribed bot and worker (BullMQ mode). Returns the listener count. */
export async function publishSwap(redis: RedisPublisher, version: string, opts: { registry?: string; channel?: string } = {}): Promise<number> {
  const message: SwapMessage = { version, registry: opts.registry ?? '', at: new Date().toISOString() };
  return redis.publish(opts.channel ?? SWAP_CHANNEL, JSON.stringify(message));
}

/**
 * Subscribes to swap announcements on a connection of its own (a subscribed Redis connection can do nothing
 * else). Malformed messages are ignored: a stray publisher must not crash a bot.
 */
export async function subscribeSwap(redisUrl: string, onSwap: (message: SwapMessage) => void, opts: { channel?: string } = {}): Promise<LiveWatch> {
  const { Redis } = await import('ioredis');
  const channel = opts.channel ?? SWAP_CHANNEL;
  const sub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  sub.on('error', () => undefined); // reconnects on its own; errors surface through subscribe below
  await sub.connect();
  await sub.subscribe(channel);
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    try {
      const msg = JSON.parse(text) as Partial<SwapMessage>;
      if (typeof msg.version === 'string' && VERSION_NAME.test(msg.version)) {
        onSwap({ version: msg.version, registry: String(msg.registry ?? ''), at: String(msg.at ?? '') });
      }
    } catch {
      // not JSON: ignored, see above
    }
  });
  return { close: () => sub.disconnect() };
}

// ---------------------------------------------------------------- hot swap for model users

export interface HotSwapOptions<T> {
  registry: string;
  /** Loads a verified version (e.g. onnxruntime sessions); a throw keeps the current version. */
  load: (dir: string, manifest: ModelManifest) => Promise<T>;
  /** Frees a retired version once the last request using it has finished. */
  dispose?: (model: T, version: string) => Promise<void> | void;
  /** Checks run before loading (default: the full check without onnxruntime, which `load` exercises anyway). */
  verify?: VerifyOptions;
  /** Also follow swap announcements on Redis (BullMQ mode); the pointer file is always watched. */
  redisUrl?: string;
  channel?: string;
  pollMs?: number;
  onSwap?: (version: string, previous: string | null) => void;
  /** A version that failed to verify or load; the previous one stays in use. */
  onError?: (error: Error, version: string) => void;
}

export interface HotSwap<T> {
  /** The version new requests get. */
  readonly version: string;
  /**
   * Runs `fn` with the version live when it starts. A swap during `fn` does not affect it: the old version is
   * disposed only after its last request finished, so a request in flight always completes on the old model.
   */
  use<R>(fn: (model: T, version: string) => Promise<R> | R): Promise<R>;
  /** Switches to `version` (default: what the pointer names now); resolves once it is in use or rejected. */
  refresh(version?: string): Promise<void>;
  close(): Promise<void>;
}

interface Slot<T> {
  version: string;
  model: T;
  leases: number;
  retired: boolean;
}

/**
 * Keeps the live model loaded and swaps it between requests when the pointer changes (file watch, and Redis
 * when configured). Each candidate is verified and loaded before it replaces the current one, so a corrupt,
 * truncated or incompatible version is rejected at load and the previous one keeps serving.
 */
export async function createHotSwap<T>(opts: HotSwapOptions<T>): Promise<HotSwap<T>> {
  const registry = resolve(opts.registry);
  const prepare = async (version: string): Promise<Slot<T>> => {
    const check = await verifyVersion(join(registry, assertVersionName(version)), opts.verify ?? {});
    if (!check.ok) throw failure(`cannot load ${version}`, check);
    return { version, model: await opts.load(check.dir, check.manifest!), leases: 0, retired: false };
  };
  const first = liveVersion(registry);
  if (!first) throw new RegistryError(`no live model in ${registry}; publish one (charades train) or pick one (charades models use VERSION)`);
  let slot = await prepare(first);
  const release = async (s: Slot<T>) => {
    if (s.retired && s.leases === 0) await opts.dispose?.(s.model, s.version);
  };
  let chain: Promise<void> = Promise.resolve();
  const switchTo = async (version: string) => {
    if (version === slot.version) return;
    let next: Slot<T>;
    try {
      next = await prepare(version);
    } catch (err) {
      opts.onError?.(err as Error, version);
      return;
    }
    const old = slot;
    slot = next;
    old.retired = true;
    opts.onSwap?.(version, old.version);
    await release(old);
  };
  const refresh = (version?: string): Promise<void> => {
    chain = chain.then(() => {
      const target = version ?? liveVersion(registry);
      return target ? switchTo(target) : undefined;
    });
    return chain;
  };
  const fileWatch = watchLive(registry, () => void refresh(), { pollMs: opts.pollMs });
  const redisWatch = opts.redisUrl ? await subscribeSwap(opts.redisUrl, (m) => void refresh(m.version), { channel: opts.channel }) : undefined;
  return {
    get version() {
      return slot.version;
    },
    async use(fn) {
      const s = slot;
      s.leases++;
      try {
        return await fn(s.model, s.version);
      } finally {
        s.leases--;
        await release(s);
      }
    },
    refresh,
    async close() {
      fileWatch.close();
      redisWatch?.close();
      await chain;
      slot.retired = true;
      await release(slot);
    },
  };
}

/** Publishing a version, making one live and rolling back. */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertVersionName, MANIFEST_FILE, RegistryError, STAGING_DIR } from './common.js';
import type { VerifyOptions } from './common.js';
import { listVersions } from './list.js';
import { liveVersion, readHistory, switchPointer, withRegistryLock } from './live.js';
import { failure, verifyVersion } from './verify.js';

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
  if (existsSync(target))
    throw new RegistryError(`version ${version} already exists in ${registry}; train with another version name`);
  const staging = join(registry, STAGING_DIR, `${version}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    copyFolder(source.dir, staging, [MANIFEST_FILE, ...Object.keys(source.manifest!.files)]);
    const copy = await verifyVersion(staging, { ...opts, loadOnnx: false });
    if (!copy.ok) throw failure(`the copy of ${version} is damaged`, copy);
    return await withRegistryLock(registry, () => {
      if (existsSync(target))
        throw new RegistryError(`version ${version} already exists in ${registry}; train with another version name`);
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
    throw new RegistryError(
      `no version '${version}' in ${registry}${known.length ? ` (installed: ${known.join(', ')})` : ' (none installed)'}`,
    );
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
export async function rollback(
  registry: string,
  opts: VerifyOptions = {},
): Promise<PublishResult & { skipped: string[] }> {
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
    throw new RegistryError(
      `nothing to roll back to: no earlier live version${skipped.length ? ` that still verifies (skipped ${skipped.join(', ')})` : ''} in ${abs}`,
    );
  });
}

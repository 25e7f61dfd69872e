/** Listing the installed versions. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MANIFEST_FILE } from './common.js';
import type { TextEncoderSpec } from './common.js';
import { liveVersion } from './live.js';
import { readManifest } from './verify.js';

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
      out.push({
        version: entry.name,
        dir,
        live: entry.name === live,
        created: m.created,
        metrics: m.metrics,
        textEncoder: m.textEncoder,
      });
    } catch (err) {
      out.push({ version: entry.name, dir, live: entry.name === live, problem: (err as Error).message });
    }
  }
  return out.sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.version.localeCompare(b.version));
}

/**
 * Motion files in the data directory (`motions/<id>.json`, the motion module's Charades JSON format):
 * every generated motion is kept so follow-ups (continue, frame references) and downloads (BVH) still
 * work after a restart, or on another worker that shares the data directory.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { loadMotionFile, saveMotionFile } from '../motion/index.js';
import type { Motion } from '../motion/index.js';

export class MotionFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'motions');
    mkdirSync(this.dir, { recursive: true });
  }

  pathOf(id: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(id))
      throw new Error(`invalid motion id "${id}": letters, digits, '.', '_' and '-' only`);
    return join(this.dir, `${id}.json`);
  }

  has(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  /** Writes atomically (temp file + rename) so a worker killed mid-write never leaves a half file. */
  save(id: string, motion: Motion): string {
    const path = this.pathOf(id);
    const tmp = `${path}.${process.pid}.tmp.json`;
    saveMotionFile(motion, tmp, 'json');
    renameSync(tmp, path);
    return path;
  }

  load(id: string): Motion {
    const path = this.pathOf(id);
    if (!existsSync(path))
      throw new Error(`motion ${id} is not in ${this.dir} (was the data directory moved or cleaned?)`);
    return loadMotionFile(path);
  }
}

// Shared helpers for the bot tests: a throwaway data directory, a config for it, and ffprobe.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';

export function tempDir(prefix = 'charades-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    overrides: {
      dataDir,
      logLevel: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent',
      render: { size: 256, fps: 20 },
      ...overrides,
    },
  });
}

export interface Probe {
  codec: string;
  width: number;
  height: number;
  duration: number;
}

/** Asks the real ffprobe about a video; throws (with ffprobe's words) when it is not a playable file. */
export function ffprobe(pathOrBytes: string | Buffer): Probe {
  let path = pathOrBytes as string;
  if (Buffer.isBuffer(pathOrBytes)) {
    path = join(mkdtempSync(join(tmpdir(), 'charades-probe-')), 'clip.mp4');
    writeFileSync(path, pathOrBytes);
  }
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,height:format=duration',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out) as {
    streams: { codec_name: string; width: number; height: number }[];
    format: { duration: string };
  };
  return {
    codec: j.streams[0].codec_name,
    width: j.streams[0].width,
    height: j.streams[0].height,
    duration: Number(j.format.duration),
  };
}

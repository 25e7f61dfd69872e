/**
 * Finds the external programs the renderer drives: Chromium, ffmpeg and ffprobe. The configured paths
 * (CHROMIUM_PATH, FFMPEG_PATH, FFPROBE_PATH, read by src/config) win, then the system's copies (Debian's builds are complete), then the npm packages that
 * ship a binary, when someone installed them: they are not dependencies (142 MB for what apt provides).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, delimiter, join } from 'node:path';
import { activeConfig } from '../config/active.js';

const require = createRequire(import.meta.url);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A program on PATH (the system's search path, not a Charades setting), as an absolute path, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * Chromium builds in order of preference. The headless shell (Debian's `chromium-headless-shell`) comes first: it
 * has no WebUI renderer and fewer helper processes, so a warm browser costs ~300 MB Pss instead of ~475 MB, and it
 * draws the same pixels through the same SwiftShader and H.264 encoder. Its real binary is named rather than
 * /usr/bin/chromium-headless-shell, a shell wrapper that does not `exec`: killing the wrapper's pid (how the pool
 * ends a hung browser) would leave the browser itself running.
 */
export const CHROMIUM_CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  'chromium-headless-shell',
  '/usr/bin/chromium',
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
];

/** Binaries named by the configuration, by their variable; the default is the configuration the CLI installed (src/config). */
export interface ToolPaths {
  CHROMIUM_PATH?: string;
  FFMPEG_PATH?: string;
  FFPROBE_PATH?: string;
}

function configuredTools(): ToolPaths {
  const config = activeConfig();
  return { CHROMIUM_PATH: config?.chromiumPath, FFMPEG_PATH: config?.ffmpegPath, FFPROBE_PATH: config?.ffprobePath };
}

/** CHROMIUM_PATH, then the first candidate that exists (headless shell before full Chromium); a clear error when none does. */
export function findChromium(
  tools: ToolPaths = configuredTools(),
  candidates: readonly string[] = CHROMIUM_CANDIDATES,
): string {
  const override = tools.CHROMIUM_PATH;
  if (override) {
    if (!isExecutable(override)) throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
    return override;
  }
  for (const c of candidates) {
    const p = c.startsWith('/') ? (isExecutable(c) ? c : null) : onPath(c);
    if (p) return p;
  }
  throw new Error(
    `no Chromium found: set CHROMIUM_PATH or install one (apt-get install chromium-headless-shell, or chromium); tried ${candidates.join(', ')}`,
  );
}

/** Whether a Chromium binary is a headless shell (Debian's chromium-headless-shell, Chrome for Testing's chrome-headless-shell). */
export function isHeadlessShell(chromiumPath: string): boolean {
  return /^(chromium|chrome)-headless-shell$|^headless_shell$/.test(basename(chromiumPath));
}

/**
 * Launch flags that depend on the Chromium build, for the pool to add to its own. The headless shell runs in one
 * process (`--single-process --no-zygote`): measured alone on this machine, ~257 MB Pss instead of ~289 MB for its
 * default six (browser, two zygotes, GPU, network service, renderer), the same frames up to the anti-aliasing of
 * caption glyphs, and a hung render still ends by killing one process, which the pool relaunches. Full Chromium keeps
 * its default process model: its new headless mode was not measured with these flags.
 */
export function chromiumFlagsFor(chromiumPath: string): string[] {
  return isHeadlessShell(chromiumPath) ? ['--single-process', '--no-zygote'] : [];
}

function fromInstaller(pkg: string): string | null {
  try {
    const mod = require(pkg) as { path?: string };
    return mod.path && isExecutable(mod.path) ? mod.path : null;
  } catch {
    return null;
  }
}

function findTool(envName: keyof ToolPaths, name: string, installer: string, tools: ToolPaths): string {
  const override = tools[envName];
  if (override) {
    if (!isExecutable(override)) throw new Error(`${envName}=${override} is not an executable file`);
    return override;
  }
  const found = onPath(name) ?? fromInstaller(installer);
  if (!found)
    throw new Error(
      `no ${name} found: set ${envName}, install ${name} (apt-get install ffmpeg) or the npm package ${installer} (npm install ${installer})`,
    );
  return found;
}

/** FFMPEG_PATH, then ffmpeg on PATH, then @ffmpeg-installer/ffmpeg if installed. */
export function findFfmpeg(tools: ToolPaths = configuredTools()): string {
  return findTool('FFMPEG_PATH', 'ffmpeg', '@ffmpeg-installer/ffmpeg', tools);
}

/** FFPROBE_PATH, then ffprobe on PATH, then @ffprobe-installer/ffprobe if installed. */
export function findFfprobe(tools: ToolPaths = configuredTools()): string {
  return findTool('FFPROBE_PATH', 'ffprobe', '@ffprobe-installer/ffprobe', tools);
}

/** Whether this ffmpeg can write the animated WebP preview (static npm builds may lack libwebp). */
export function ffmpegHasEncoder(ffmpeg: string, encoder: string): boolean {
  try {
    const out = execFileSync(ffmpeg, ['-hide_banner', '-encoders'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return new RegExp(`\\s${encoder}\\s`).test(out);
  } catch {
    return false;
  }
}

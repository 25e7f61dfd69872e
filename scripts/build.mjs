#!/usr/bin/env node
/**
 * `npm run build`: compiles src/ to dist/ with esbuild, so `bin/charades.js` starts plain JavaScript instead of
 * compiling TypeScript through tsx at every start. Type checking stays with `npm run typecheck` (tsc); this only
 * strips types.
 *
 * - Node code is transpiled file by file, not bundled: dist/ mirrors src/ (dist/motion/paths.js sits as deep as
 *   src/motion/paths.ts), so every path a module derives from its own location (the repository root, the models
 *   folder, ../shared) resolves the same from either tree, and lazy `import()`s stay lazy.
 * - The render page is bundled for the browser (three.js excepted: the page server serves it from node_modules),
 *   which is how it imports the skeleton from src/motion instead of keeping a copy.
 * - Sources that code reads as data at run time are copied beside their compiled module (see RUNTIME_SOURCES).
 *
 * dist/build.json records when the build ran; bin/charades.js uses dist/ only while no source is newer.
 */
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const PAGE_DIR = join(SRC, 'render', 'page');
/** The page's entry; everything it imports is bundled into dist/render/page/scene.js. */
const PAGE_ENTRY = join(PAGE_DIR, 'scene.ts');
/** Read as text at run time: featureCache.ts tags every features cache with the sha256 of features.ts's source. */
const RUNTIME_SOURCES = ['motion/features.ts'];

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === PAGE_DIR ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

async function compileNode(files) {
  await build({
    entryPoints: files,
    outdir: DIST,
    outbase: SRC,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

async function bundlePage() {
  await build({
    entryPoints: [PAGE_ENTRY],
    outfile: join(DIST, 'render', 'page', 'scene.js'),
    bundle: true,
    external: ['three'],
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'warning',
  });
}

function copyRuntimeSources() {
  for (const file of RUNTIME_SOURCES) {
    mkdirSync(dirname(join(DIST, file)), { recursive: true });
    cpSync(join(SRC, file), join(DIST, file));
  }
}

async function main() {
  const t0 = performance.now();
  const builtAtMs = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  const files = sourceFiles(SRC);
  await Promise.all([compileNode(files), bundlePage()]);
  copyRuntimeSources();
  writeFileSync(join(DIST, 'build.json'), `${JSON.stringify({ builtAtMs, files: files.length + 1 }, null, 2)}\n`);
  const ms = Math.round(performance.now() - t0);
  console.log(
    `built ${files.length} modules and the render page into ${relative(process.cwd(), DIST) || 'dist'}/ in ${ms} ms`,
  );
}

main().catch((err) => {
  console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

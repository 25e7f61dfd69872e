/**
 * A tiny HTTP server on 127.0.0.1 that serves the render page, its scene module and three.js from
 * node_modules. Loopback http counts as a secure context, which WebCodecs needs; nothing leaves the
 * machine (no CDN).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));

interface Esbuild {
  buildSync(options: {
    entryPoints: string[];
    bundle: true;
    external: string[];
    format: 'esm';
    platform: 'browser';
    target: string;
    write: false;
  }): { outputFiles: { text: string }[] };
}

/**
 * The page's scene module as browser JavaScript. A build (`npm run build`) leaves it bundled beside this module
 * (dist/render/page/scene.js); running from the sources, esbuild bundles it once per process the same way, so the
 * page imports src/motion/skeleton.ts like any other module and three.js stays external (served from node_modules).
 */
function loadSceneModule(): string {
  const built = join(HERE, 'page', 'scene.js');
  if (existsSync(built)) return readFileSync(built, 'utf8');
  const esbuild = require('esbuild') as Esbuild;
  const out = esbuild.buildSync({
    entryPoints: [join(HERE, 'page', 'scene.ts')],
    bundle: true,
    external: ['three'],
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
  });
  return out.outputFiles[0].text;
}

let sceneCache: string | null = null;

/** The page's scene module as browser JavaScript (read or bundled once per process). */
export function sceneModuleSource(): string {
  sceneCache ??= loadSceneModule();
  return sceneCache;
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>charades-loading</title>
<style>html,body{margin:0;background:#000;overflow:hidden}canvas{display:block}</style>
<script type="importmap">{"imports":{"three":"/vendor/three.module.js"}}</script>
</head><body><script type="module" src="/scene.js"></script></body></html>`;

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startPageServer(): Promise<PageServer> {
  const threeBuild = dirname(require.resolve('three'));
  const scene = sceneModuleSource();
  const vendor = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'max-age=3600' });
      res.end(body);
    };
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', PAGE_HTML);
    if (path === '/scene.js') return send(200, 'text/javascript; charset=utf-8', scene);
    if (path.startsWith('/vendor/')) {
      const file = normalize(join(threeBuild, path.slice('/vendor/'.length)));
      if (!file.startsWith(threeBuild) || !file.endsWith('.js')) return send(404, 'text/plain', 'not found');
      try {
        let body = vendor.get(file);
        if (!body) {
          body = readFileSync(file);
          vendor.set(file, body);
        }
        return send(200, 'text/javascript; charset=utf-8', body);
      } catch {
        return send(404, 'text/plain', 'not found');
      }
    }
    return send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

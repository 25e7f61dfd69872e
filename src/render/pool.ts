/**
 * A small pool of headless Chromium instances, each with one render page already loaded, reused across
 * jobs. A browser that crashes, disconnects or overruns a job's time is killed and relaunched on its
 * next use, so one bad render never poisons the next.
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { startPageServer } from './server.js';
import type { PageServer } from './server.js';
import { chromiumFlagsFor, findChromium } from './tools.js';

/** Flags that work headless on this kind of machine (no GPU, no sandbox privileges, no network). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--mute-audio',
  // The page is loaded once and reused, so the spare renderer Chromium keeps for the next navigation is ~10 MB wasted.
  '--disable-features=SpareRendererForSitePerProcess',
];

/** Prefix of the profile folders the pool gives each Chromium in the temp directory. */
export const PROFILE_PREFIX = 'charades-chromium-';
/** The file in a profile folder naming the process that owns it, so a later start can tell a stale folder. */
const OWNER_FILE = '.charades-owner';
/** A profile folder with no owner file and no Chromium lock older than this is left over from an old version. */
const UNOWNED_STALE_MS = 60 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process a profile folder belongs to: our owner file, else Chromium's SingletonLock ("host-pid"). */
function profileOwner(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim()) || undefined;
  } catch {
    try {
      return Number(/-(\d+)$/.exec(readlinkSync(join(dir, 'SingletonLock')))?.[1]) || undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Kills the Chromium processes still running on a profile folder whose owner is dead: a bot killed with
 * SIGKILL cannot kill its browser, whose processes live on. Linux only (/proc); elsewhere nothing to do.
 */
function killOrphansUsing(profile: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return;
  }
  const flag = `--user-data-dir=${profile}`;
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(flag)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}

/**
 * Removes the profile folders that processes killed outright (SIGKILL, power loss) left in `dir`, and kills
 * the orphaned Chromium still using them, leaving those of live processes — another bot, a worker, a test —
 * alone. Returns the folders removed.
 */
export function sweepStaleProfiles(dir = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(PROFILE_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const owner = profileOwner(path);
      const stale = owner !== undefined ? !processAlive(owner) : Date.now() - statSync(path).mtimeMs > UNOWNED_STALE_MS;
      if (!stale) continue;
      killOrphansUsing(path);
      rmSync(path, { recursive: true, force: true, maxRetries: 3 });
      removed.push(path);
    } catch {
      // a folder that vanished or cannot be read is not ours to worry about
    }
  }
  return removed;
}

/**
 * Every Chromium this process runs and its profile folder, for the exit hook: whatever ends the process
 * (a signal handler's exit, a crash, an uncaught error), no browser and no temp folder outlives it.
 */
const liveBrowsers = new Map<string, { pid: number | undefined }>();
let exitHookInstalled = false;

function killBrowserTree(pid: number | undefined): void {
  if (!pid) return;
  try {
    // puppeteer starts Chromium as a process-group leader: the group holds its zygotes, GPU and renderers.
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function cleanUpAtExit(): void {
  for (const { pid } of liveBrowsers.values()) killBrowserTree(pid);
  for (const dir of liveBrowsers.keys()) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      // nothing more can be done while exiting; the next start sweeps it
    }
  }
  liveBrowsers.clear();
}

function trackBrowsersUntilExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanUpAtExit);
  sweepStaleProfiles();
}

export interface PoolOptions {
  /** Browsers kept warm (each renders one job at a time). Default 1: one job already uses both cores. */
  size?: number;
  chromiumPath?: string;
  /** How long a launch plus page load may take. */
  launchTimeoutMs?: number;
}

export interface Lease {
  page: Page;
  /** Process id of the browser serving this lease (tests kill it to simulate a crash). */
  pid: number | undefined;
  slot: number;
}

interface Slot {
  browser: Browser | null;
  page: Page | null;
  userDataDir: string | null;
  busy: boolean;
  launching: Promise<void> | null;
  /** Browsers this slot has started; above 0 a launch is a restart. */
  generation: number;
}

export class BrowserPool {
  readonly size: number;
  readonly chromiumPath: string;
  private readonly launchTimeoutMs: number;
  private readonly slots: Slot[];
  private readonly waiters: (() => void)[] = [];
  private server: PageServer | null = null;
  private serverStarting: Promise<PageServer> | null = null;
  private closed = false;
  /** Profile folders being removed after their browser was killed. */
  private readonly removals = new Set<Promise<void>>();
  /** Browsers launched after the first one in a slot (crash or hang recovery). */
  restarts = 0;
  launches = 0;
  lastLaunchMs = 0;

  constructor(options: PoolOptions = {}) {
    this.size = options.size ?? 1;
    if (!Number.isInteger(this.size) || this.size < 1 || this.size > 8)
      throw new Error(`pool size must be 1–8, got ${options.size}`);
    this.chromiumPath = options.chromiumPath ?? findChromium();
    this.launchTimeoutMs = options.launchTimeoutMs ?? 30_000;
    this.slots = Array.from({ length: this.size }, () => ({
      browser: null,
      page: null,
      userDataDir: null,
      busy: false,
      launching: null,
      generation: 0,
    }));
    trackBrowsersUntilExit();
  }

  /** Launches every browser now, so the first job does not pay for it. */
  async warm(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.ensureLaunched(s)));
  }

  /** Process ids of the running browsers. */
  pids(): number[] {
    return this.slots.map((s) => s.browser?.process()?.pid).filter((p): p is number => typeof p === 'number');
  }

  async acquire(): Promise<Lease> {
    if (this.closed) throw new Error('the renderer is closed');
    for (;;) {
      const index = this.slots.findIndex((s) => !s.busy);
      if (index >= 0) {
        const slot = this.slots[index];
        slot.busy = true;
        try {
          await this.ensureLaunched(slot);
        } catch (err) {
          slot.busy = false;
          this.wakeOne();
          throw err;
        }
        return { page: slot.page as Page, pid: slot.browser?.process()?.pid, slot: index };
      }
      await new Promise<void>((r) => this.waiters.push(r));
      if (this.closed) throw new Error('the renderer is closed');
    }
  }

  /** Returns a page to the pool; a broken one (crash, hang, protocol error) gets its browser killed. */
  release(lease: Lease, broken: boolean): void {
    const slot = this.slots[lease.slot];
    if (broken) this.kill(slot);
    slot.busy = false;
    this.wakeOne();
  }

  /** Kills the browser behind a lease at once (used when a job overruns its time). */
  killLease(lease: Lease): void {
    this.kill(this.slots[lease.slot]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) this.kill(s);
    for (const w of this.waiters.splice(0)) w();
    // A process that exits right after close() must not leave the profile folders behind.
    await Promise.allSettled([...this.removals]);
    const server = this.server ?? (this.serverStarting ? await this.serverStarting.catch(() => null) : null);
    this.server = null;
    if (server) await server.close();
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }

  private async pageServer(): Promise<PageServer> {
    if (this.server) return this.server;
    this.serverStarting ??= startPageServer();
    this.server = await this.serverStarting;
    return this.server;
  }

  private ensureLaunched(slot: Slot): Promise<void> {
    if (slot.browser?.connected && slot.page && !slot.page.isClosed()) return Promise.resolve();
    slot.launching ??= this.launch(slot).finally(() => {
      slot.launching = null;
    });
    return slot.launching;
  }

  private async launch(slot: Slot): Promise<void> {
    this.kill(slot);
    if (slot.generation > 0) this.restarts++;
    slot.generation++;
    const t0 = performance.now();
    const server = await this.pageServer();
    const userDataDir = mkdtempSync(join(tmpdir(), PROFILE_PREFIX));
    writeFileSync(join(userDataDir, OWNER_FILE), String(process.pid));
    slot.userDataDir = userDataDir;
    liveBrowsers.set(userDataDir, { pid: undefined });
    try {
      const browser: Browser = await puppeteer.launch({
        executablePath: this.chromiumPath,
        headless: true,
        args: [...CHROMIUM_FLAGS, ...chromiumFlagsFor(this.chromiumPath), `--user-data-dir=${userDataDir}`],
        timeout: this.launchTimeoutMs,
        protocolTimeout: 10 * 60_000,
        defaultViewport: null,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      slot.browser = browser;
      liveBrowsers.set(userDataDir, { pid: browser.process()?.pid });
      const pages = await browser.pages();
      const page = pages[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
      await page.goto(server.url, { waitUntil: 'load', timeout: this.launchTimeoutMs });
      await page
        .waitForFunction(() => document.title === 'charades-ready', { timeout: this.launchTimeoutMs })
        .catch(() => {
          throw new Error(`the render page did not start${errors.length ? `: ${errors.join('; ')}` : ''}`);
        });
      slot.page = page;
      this.launches++;
      this.lastLaunchMs = performance.now() - t0;
    } catch (err) {
      this.kill(slot);
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`could not start Chromium (${this.chromiumPath}): ${msg}`, { cause: err });
    }
  }

  private kill(slot: Slot): void {
    const browser = slot.browser;
    slot.browser = null;
    slot.page = null;
    const proc = browser?.process();
    if (browser) {
      browser.disconnect().catch(() => undefined);
      if (proc && proc.exitCode === null && proc.signalCode === null) killBrowserTree(proc.pid);
    }
    if (slot.userDataDir) {
      const dir = slot.userDataDir;
      slot.userDataDir = null;
      const removal = this.removeProfile(
        dir,
        proc && proc.exitCode === null && proc.signalCode === null ? proc : undefined,
      );
      this.removals.add(removal);
      void removal.finally(() => this.removals.delete(removal));
    }
  }

  /** Removes a profile folder once its browser has exited (Chromium writes to it until then). */
  private async removeProfile(
    dir: string,
    running: { once(event: 'exit', listener: () => void): unknown } | undefined,
  ): Promise<void> {
    if (running)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined);
    liveBrowsers.delete(dir);
  }
}

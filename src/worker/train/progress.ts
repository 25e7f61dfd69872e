/**
 * The trainer's JSON-lines progress protocol ({"stage","step","loss","eta_s",…} per line on stdout) and its
 * two consumers: a terminal progress bar and whatever callback the caller passes (Discord message edits).
 */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from './store.js';

/** One stdout line as a progress record, or null for anything else (plain prints stay in the log only). */
export function parseProgressLine(
  line: string,
  stageStartedAt: Map<string, number>,
  now = Date.now(),
): TrainingProgress | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof raw.stage !== 'string') return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const step = num(raw.step);
  const total = num(raw.total);
  const loss = num(raw.loss);
  const etaS = num(raw.eta_s);
  if (!stageStartedAt.has(raw.stage)) stageStartedAt.set(raw.stage, now);
  const elapsedS = (now - stageStartedAt.get(raw.stage)!) / 1000;
  let fraction: number | undefined;
  if (step !== undefined && total !== undefined && total > 0) fraction = Math.min(1, step / total);
  else if (etaS !== undefined) fraction = etaS <= 0 ? 1 : elapsedS / (elapsedS + etaS);
  return { stage: raw.stage, step, total, loss, etaS, fraction, at: new Date(now).toISOString() };
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/** One line for a chat message or a log: `gpt step 1200 · loss 2.314 · ETA 4m10s (62%)`. */
export function describeProgress(p: TrainingProgress): string {
  const parts = [p.stage];
  if (p.step !== undefined) parts.push(`step ${p.step}${p.total ? `/${p.total}` : ''}`);
  const tail = [
    p.loss !== undefined ? `loss ${p.loss.toFixed(4)}` : '',
    p.etaS !== undefined ? `ETA ${formatEta(p.etaS)}` : '',
  ].filter(Boolean);
  const pct = p.fraction !== undefined ? ` (${Math.round(p.fraction * 100)}%)` : '';
  return `${parts.join(' ')}${tail.length ? ` · ${tail.join(' · ')}` : ''}${pct}`;
}

export interface TerminalProgress {
  update(p: TrainingProgress): void;
  stop(): void;
}

/**
 * A cli-progress bar on a TTY (one bar, relabelled per stage); elsewhere (logs, CI) one plain line per stage
 * change or every `lineEveryMs`, so a redirected run does not fill its log with redraws.
 */
export function createTerminalProgress(
  stream: NodeJS.WriteStream = process.stderr,
  lineEveryMs = 5000,
): TerminalProgress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{stage} |{bar}| {percentage}% | step {step} | loss {loss} | ETA {eta}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = {
          stage: p.stage.padEnd(8),
          step: p.step ?? '-',
          loss: p.loss?.toFixed(4) ?? '-',
          eta: formatEta(p.etaS),
        };
        const value = Math.round((p.fraction ?? 0) * 100);
        if (!started) {
          bar.start(100, value, payload);
          started = true;
        } else bar.update(value, payload);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastStage = '';
  let lastAt = 0;
  return {
    update(p) {
      const now = Date.now();
      if (p.stage === lastStage && now - lastAt < lineEveryMs) return;
      lastStage = p.stage;
      lastAt = now;
      stream.write(`train: ${describeProgress(p)}\n`);
    },
    stop: () => undefined,
  };
}

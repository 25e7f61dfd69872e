/**
 * The community report: per phrase and overall — 👍/👎 ratings, the blinded A/B win rate of Action-GPT
 * expansion (k = 4) over the raw phrase (k = 0) with a 95 % Wilson interval, other duels (guidance), the
 * charades recognition rate (a human zero-shot score), and the automatic metrics of the clips the community
 * saw (evaluator text–motion cosine, foot-skate ratio). Written as JSON, PNG charts and one HTML page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart } from '../motion/engine/png.js';
import { expandedSide } from './duel.js';
import { meanOf, wilson } from './stats.js';
import type { Proportion } from './stats.js';
import type { CommunityStore, Duel, DuelChoice, Game, GeneratedMetrics, Phrase, RatedResult } from './store.js';

export const REPORT_SCHEMA = 'charades-community-report/1';

export interface RatingSummary {
  up: number;
  down: number;
  /** Share of 👍 among votes. */
  approval: Proportion;
}

export interface ExpansionSummary {
  duels: number;
  /** Votes for the k = 4 side, the k = 0 side, and neither. */
  votes: { k4: number; k0: number; neither: number };
  /** k = 4 wins over k = 0 among votes that picked a side ("neither" is not a trial). */
  k4WinRate: Proportion;
}

export interface GuidanceSummary {
  duels: number;
  /** Votes by guidance scale, and neither. */
  votes: Record<string, number>;
}

export interface GameSummary {
  rounds: number;
  solved: number;
  recognition: Proportion;
  meanWrongGuesses: number | null;
}

export interface MetricSummary {
  clips: number;
  similarity: { k0: number | null; k4: number | null; all: number | null };
  footSkate: { k0: number | null; k4: number | null; all: number | null };
}

export interface PhraseReport {
  id: number;
  text: string;
  removed: boolean;
  ratings: RatingSummary;
  expansion: ExpansionSummary;
  guidance: GuidanceSummary;
  game: GameSummary;
  metrics: MetricSummary;
}

export interface CommunityReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  pool: { active: number; removed: number };
  overall: Omit<PhraseReport, 'id' | 'text' | 'removed'> & { ratingsByK: { k0: RatingSummary; k4: RatingSummary } };
  phrases: PhraseReport[];
  notes: string[];
}

type ClosedDuel = Duel & { tally: Record<DuelChoice, number> };

function ratingSummary(rs: readonly RatedResult[]): RatingSummary {
  const up = rs.filter((r) => r.value === 1).length;
  return { up, down: rs.length - up, approval: wilson(up, rs.length) };
}

function expansionSummary(duels: readonly ClosedDuel[]): ExpansionSummary {
  const votes = { k4: 0, k0: 0, neither: 0 };
  let count = 0;
  for (const d of duels) {
    const side = expandedSide(d.a, d.b);
    if (d.variable !== 'expansion' || !side) continue;
    count++;
    const other = side === 'A' ? 'B' : 'A';
    votes.k4 += d.tally[side];
    votes.k0 += d.tally[other];
    votes.neither += d.tally.N;
  }
  return { duels: count, votes, k4WinRate: wilson(votes.k4, votes.k4 + votes.k0) };
}

function guidanceSummary(duels: readonly ClosedDuel[]): GuidanceSummary {
  const votes: Record<string, number> = {};
  let count = 0;
  for (const d of duels) {
    if (d.variable !== 'guidance') continue;
    count++;
    for (const [side, variant] of [
      ['A', d.a],
      ['B', d.b],
    ] as const) {
      const key = `guidance ${variant.guidance ?? '?'}`;
      votes[key] = (votes[key] ?? 0) + d.tally[side];
    }
    votes.neither = (votes.neither ?? 0) + d.tally.N;
  }
  return { duels: count, votes };
}

function gameSummary(games: readonly Game[], wrong: ReadonlyMap<string, number>): GameSummary {
  const solved = games.filter((g) => g.status === 'solved').length;
  return {
    rounds: games.length,
    solved,
    recognition: wilson(solved, games.length),
    meanWrongGuesses: meanOf(games.map((g) => wrong.get(g.id) ?? 0)),
  };
}

function metricSummary(ms: readonly GeneratedMetrics[]): MetricSummary {
  const sim = (xs: readonly GeneratedMetrics[]) => meanOf(xs.map((m) => m.similarity ?? Number.NaN));
  const skate = (xs: readonly GeneratedMetrics[]) => meanOf(xs.map((m) => m.footSkate ?? Number.NaN));
  const k0 = ms.filter((m) => m.k === 0);
  const k4 = ms.filter((m) => m.k > 0);
  return {
    clips: ms.length,
    similarity: { k0: sim(k0), k4: sim(k4), all: sim(ms) },
    footSkate: { k0: skate(k0), k4: skate(k4), all: skate(ms) },
  };
}

interface ReportInputs {
  ratings: readonly RatedResult[];
  duels: readonly ClosedDuel[];
  games: readonly Game[];
  wrong: ReadonlyMap<string, number>;
  generated: readonly GeneratedMetrics[];
}

function phraseReport(p: Phrase, { ratings, duels, games, wrong, generated }: ReportInputs): PhraseReport {
  const mine = duels.filter((d) => d.phraseId === p.id);
  return {
    id: p.id,
    text: p.text,
    removed: p.removedAt !== null,
    ratings: ratingSummary(ratings.filter((r) => r.norm === p.norm)),
    expansion: expansionSummary(mine),
    guidance: guidanceSummary(mine),
    game: gameSummary(
      games.filter((g) => g.phraseId === p.id),
      wrong,
    ),
    metrics: metricSummary(generated.filter((m) => m.phraseId === p.id)),
  };
}

export function buildReport(store: CommunityStore): CommunityReport {
  const phrases = store.allPhrases();
  const ratings = store.ratedResults();
  const duels = store.closedDuels();
  const generated = store.generated();
  const games = store.finishedGames();
  const wrong = store.wrongGuessCounts();
  const notes: string[] = [];
  if (!phrases.length) notes.push('The community pool is empty: add phrases with /zeroshot submit.');
  if (!ratings.length) notes.push('No ratings yet: press 👍 or 👎 on a result.');
  if (!duels.length)
    notes.push('No closed duels yet: start one with /zeroshot duel; results count once voting closes.');
  if (!games.length) notes.push('No finished charades rounds yet: start one with /charades start.');
  const removed = phrases.filter((p) => p.removedAt !== null).length;
  return {
    schema: REPORT_SCHEMA,
    generatedAt: new Date().toISOString(),
    pool: { active: phrases.length - removed, removed },
    overall: {
      ratings: ratingSummary(ratings),
      ratingsByK: {
        k0: ratingSummary(ratings.filter((r) => r.k === 0)),
        k4: ratingSummary(ratings.filter((r) => r.k > 0)),
      },
      expansion: expansionSummary(duels),
      guidance: guidanceSummary(duels),
      game: gameSummary(games, wrong),
      metrics: metricSummary(generated),
    },
    phrases: phrases.map((p) => phraseReport(p, { ratings, duels, games, wrong, generated })),
    notes,
  };
}

const pct = (p: Proportion): string =>
  p.rate === null
    ? 'n/a'
    : `${(100 * p.rate).toFixed(1)} % [${(100 * p.ci95![0]).toFixed(1)}, ${(100 * p.ci95![1]).toFixed(1)}]`;
const num = (x: number | null, digits = 3): string => (x === null ? 'n/a' : x.toFixed(digits));

/** The overall numbers in a few lines (Discord message, CLI table). */
export function summaryLines(r: CommunityReport): string[] {
  const o = r.overall;
  return [
    `Pool: ${r.pool.active} phrase${r.pool.active === 1 ? '' : 's'}${r.pool.removed ? ` (${r.pool.removed} removed)` : ''}`,
    `Ratings: 👍 ${o.ratings.up} · 👎 ${o.ratings.down} · approval ${pct(o.ratings.approval)}`,
    `A/B k=4 over k=0: ${o.expansion.votes.k4} vs ${o.expansion.votes.k0} (neither ${o.expansion.votes.neither}) in ${o.expansion.duels} duel${o.expansion.duels === 1 ? '' : 's'} · win rate ${pct(o.expansion.k4WinRate)} (95 % Wilson)`,
    ...(o.guidance.duels
      ? [
          `Guidance duels: ${o.guidance.duels} · votes ${Object.entries(o.guidance.votes)
            .map(([k, v]) => `${k} ${v}`)
            .join(' · ')}`,
        ]
      : []),
    `Charades: ${o.game.solved} of ${o.game.rounds} rounds recognised · ${pct(o.game.recognition)}`,
    `Automatic metrics (${o.metrics.clips} clips): evaluator similarity k=0 ${num(o.metrics.similarity.k0)} · k=4 ${num(o.metrics.similarity.k4)} · foot-skate ${num(o.metrics.footSkate.all, 4)}`,
  ];
}

/** One line per active phrase with anything measured, most-played first (the Discord report lists a few). */
export function phraseLines(r: CommunityReport, limit = 8): string[] {
  const played = (p: PhraseReport) =>
    p.ratings.up + p.ratings.down + p.expansion.duels + p.guidance.duels + p.game.rounds;
  return r.phrases
    .filter((p) => !p.removed && played(p) > 0)
    .sort((a, b) => played(b) - played(a) || a.id - b.id)
    .slice(0, limit)
    .map((p) => {
      const e = p.expansion.votes;
      return `#${p.id} ${p.text} — 👍 ${p.ratings.up} 👎 ${p.ratings.down} · k=4:k=0 ${e.k4}:${e.k0} · recognised ${p.game.solved}/${p.game.rounds} · similarity ${num(p.metrics.similarity.k0, 2)}/${num(p.metrics.similarity.k4, 2)}`;
    });
}

// ---------------------------------------------------------------- files

const chartLabel = (p: PhraseReport) => `#${p.id}`;

export function reportCharts(r: CommunityReport): Record<string, Buffer> {
  const shown = r.phrases.filter((p) => !p.removed);
  const groups = (f: (p: PhraseReport) => number[]) => [
    { label: 'all', values: f({ ...r.overall, id: 0, text: 'all', removed: false }) },
    ...shown.map((p) => ({ label: chartLabel(p), values: f(p) })),
  ];
  const rate = (p: Proportion) => [p.rate ?? 0, p.ci95?.[0] ?? 0, p.ci95?.[1] ?? 0];
  return {
    'ab-win-rate.png': barChart(
      'k=4 over k=0: win rate and 95% CI',
      ['win rate', 'CI low', 'CI high'],
      groups((p) => rate(p.expansion.k4WinRate)),
      { max: 1 },
    ),
    'recognition.png': barChart(
      'charades recognition rate and 95% CI',
      ['recognised', 'CI low', 'CI high'],
      groups((p) => rate(p.game.recognition)),
      { max: 1 },
    ),
    'ratings.png': barChart(
      'ratings',
      ['up', 'down'],
      groups((p) => [p.ratings.up, p.ratings.down]),
    ),
    'similarity.png': barChart(
      'evaluator text-motion similarity',
      ['k=0', 'k=4'],
      groups((p) => [p.metrics.similarity.k0 ?? 0, p.metrics.similarity.k4 ?? 0]),
      { max: 1 },
    ),
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function reportHtml(r: CommunityReport, charts: readonly string[]): string {
  const rows = r.phrases
    .map(
      (p) =>
        `<tr${p.removed ? ' class="removed"' : ''}><td>#${p.id}</td><td>${escapeHtml(p.text)}</td><td>${p.ratings.up}/${p.ratings.down}</td><td>${p.expansion.votes.k4}:${p.expansion.votes.k0}:${p.expansion.votes.neither}</td><td>${pct(p.expansion.k4WinRate)}</td><td>${p.game.solved}/${p.game.rounds}</td><td>${num(p.metrics.similarity.k0)} / ${num(p.metrics.similarity.k4)}</td><td>${num(p.metrics.footSkate.all, 4)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Charades community report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.removed{color:#999}img{max-width:100%;margin:1em 0}</style></head>
<body><h1>Charades community report</h1><p>Generated ${escapeHtml(r.generatedAt)}</p>
<ul>${summaryLines(r)
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join('')}</ul>
${r.notes.length ? `<p>${r.notes.map(escapeHtml).join('<br>')}</p>` : ''}
<table><tr><th>id</th><th>phrase</th><th>👍/👎</th><th>A/B votes k4:k0:neither</th><th>k=4 win rate [95% CI]</th><th>recognised</th><th>similarity k0 / k4</th><th>foot-skate</th></tr>
${rows}
</table>
${charts.map((c) => `<img src="${escapeHtml(c)}" alt="${escapeHtml(c)}">`).join('\n')}
</body></html>
`;
}

/** Writes report.json, the PNG charts and index.html into `dir`; returns the paths written. */
export function writeReport(r: CommunityReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const charts = reportCharts(r);
  const written: string[] = [];
  const put = (name: string, data: string | Buffer) => {
    writeFileSync(join(dir, name), data);
    written.push(join(dir, name));
  };
  put('report.json', `${JSON.stringify(r, null, 2)}\n`);
  for (const [name, png] of Object.entries(charts)) put(name, png);
  put('index.html', reportHtml(r, Object.keys(charts)));
  return written;
}

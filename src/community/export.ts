/**
 * `charades export-feedback`: the community's judgements as JSON lines, for the training worker to use as a
 * human evaluation set. Schema `charades-feedback/1`, one object per line, told apart by `kind`:
 *
 *   {"schema":"charades-feedback/1","kind":"phrase",
 *    "phrase_id":12, "text":"juggle three balls", "norm":"juggle three balls", "removed":false,
 *    "ratings":{"up":3,"down":1},                                  // 👍/👎 on chat results of this phrase
 *    "ab":{"duels":2,"k4":5,"k0":2,"neither":1,"k4_win_rate":0.714,"ci95":[0.359,0.918]},  // null rate/ci without votes
 *    "recognition":{"rounds":4,"solved":3,"rate":0.75,"ci95":[0.301,0.954]},              // charades rounds
 *    "metrics":{"clips":6,"similarity_k0":0.41,"similarity_k4":0.47,"foot_skate":0.0012},   // null when unmeasured
 *    "descriptions":["…", "…"]}                                   // the k=4 Action-GPT descriptions duelled, if any
 *
 *   {"schema":"charades-feedback/1","kind":"rating",
 *    "request_id":"…", "text":"act like a dog", "value":1, "seed":7, "k":0,
 *    "model_version":"charades-full-20261206", "planner":"agent:offline", "generator":"engine", "rated_at":"…"}
 *
 * User ids are left out: the evaluation set is about phrases and clips, not about who voted.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildReport } from './report.js';
import type { CommunityStore } from './store.js';

export const FEEDBACK_SCHEMA = 'charades-feedback/1';

const round = (x: number | null, digits = 4) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** The JSONL text (one record per line, phrases first). */
export function feedbackLines(store: CommunityStore): string[] {
  const report = buildReport(store);
  const descriptionsOf = new Map<number, string[]>();
  for (const d of store.closedDuels()) {
    const expanded = [d.a, d.b].find((v) => v.k > 0 && v.descriptions?.length);
    if (expanded?.descriptions) descriptionsOf.set(d.phraseId, expanded.descriptions);
  }
  const phrases = report.phrases.map((p) => ({
    schema: FEEDBACK_SCHEMA,
    kind: 'phrase',
    phrase_id: p.id,
    text: p.text,
    norm: store.phrase(p.id)?.norm ?? p.text,
    removed: p.removed,
    ratings: { up: p.ratings.up, down: p.ratings.down },
    ab: {
      duels: p.expansion.duels,
      k4: p.expansion.votes.k4,
      k0: p.expansion.votes.k0,
      neither: p.expansion.votes.neither,
      k4_win_rate: round(p.expansion.k4WinRate.rate),
      ci95: p.expansion.k4WinRate.ci95?.map((x) => round(x)) ?? null,
    },
    recognition: {
      rounds: p.game.rounds,
      solved: p.game.solved,
      rate: round(p.game.recognition.rate),
      ci95: p.game.recognition.ci95?.map((x) => round(x)) ?? null,
    },
    metrics: {
      clips: p.metrics.clips,
      similarity_k0: round(p.metrics.similarity.k0),
      similarity_k4: round(p.metrics.similarity.k4),
      foot_skate: round(p.metrics.footSkate.all, 6),
    },
    descriptions: descriptionsOf.get(p.id) ?? [],
  }));
  const ratings = store.ratedResults().map((r) => ({
    schema: FEEDBACK_SCHEMA,
    kind: 'rating',
    request_id: r.requestId,
    text: r.text,
    value: r.value,
    seed: r.seed,
    k: r.k,
    model_version: r.modelVersion,
    planner: r.planner,
    generator: r.generator,
    rated_at: r.ratedAt,
  }));
  return [...phrases, ...ratings].map((x) => JSON.stringify(x));
}

/** Writes the JSONL atomically (a reader never sees half a file); returns the number of records. */
export function writeFeedback(store: CommunityStore, path: string): number {
  const lines = feedbackLines(store);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '');
  renameSync(tmp, path);
  return lines.length;
}

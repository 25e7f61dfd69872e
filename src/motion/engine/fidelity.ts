/**
 * What users see, measured on the generated joints rather than by one aggregate: R-precision macro-averaged over
 * action labels (and for the rarest third of them, and per pack), R-precision on held-out paraphrases, side accuracy
 * on left/right requests, floor-level acts against the clips they come from, and the external HDM05 set per class.
 * `charades eval` runs these beside the aggregate metrics (evaluate.ts); the training gate reads the macro and
 * paraphrase figures.
 */
import type { Motion } from '../contracts.js';
import type { ClipRecord } from '../dataset.js';
import { heightRange, maxReach, type LimbSide } from '../limbs.js';
import { JOINT, NUM_JOINTS } from '../skeleton.js';
import type { Engine } from './engine.js';

const POS = NUM_JOINTS * 3;

/** One row of an R-precision batch: which clip, and whether its text found it (GT) / its generation (top 3). */
export interface RowHit {
  action: string;
  pack: string;
  gt: boolean;
  generated: boolean;
}

export interface GroupScore {
  name: string;
  clips: number;
  gt: number;
  generated: number;
}

export interface MacroScore {
  /** Mean over groups of each group's top-3 hit rate. */
  gt: number;
  generated: number;
  /** generated / gt: the issue's "× ground truth". */
  ratio: number;
  groups: number;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

export function groupScores(rows: readonly RowHit[], key: (r: RowHit) => string): GroupScore[] {
  const groups = new Map<string, RowHit[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.entries()]
    .map(([name, rs]) => ({
      name,
      clips: rs.length,
      gt: mean(rs.map((r) => (r.gt ? 1 : 0))),
      generated: mean(rs.map((r) => (r.generated ? 1 : 0))),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function macro(groups: readonly GroupScore[]): MacroScore {
  const gt = mean(groups.map((g) => g.gt));
  const generated = mean(groups.map((g) => g.generated));
  return { gt, generated, ratio: gt > 0 ? generated / gt : 0, groups: groups.length };
}

/** The third of the evaluated labels with the fewest training clips (at least one label). */
export function rarestThird(
  groups: readonly GroupScore[],
  trainCounts: ReadonlyMap<string, number>,
): { labels: string[]; score: MacroScore } {
  const ordered = [...groups].sort(
    (a, b) => (trainCounts.get(a.name) ?? 0) - (trainCounts.get(b.name) ?? 0) || a.name.localeCompare(b.name),
  );
  const picked = ordered.slice(0, Math.max(1, Math.ceil(ordered.length / 3)));
  return { labels: picked.map((g) => g.name), score: macro(picked) };
}

export function trainingCounts(records: readonly ClipRecord[], key: (r: ClipRecord) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) if (r.split === 'train') out.set(key(r), (out.get(key(r)) ?? 0) + 1);
  return out;
}

// ---------------------------------------------------------------- physical measures

/** Lowest pelvis height over a motion, metres (the floor is y = 0). */
export function pelvisMin(joints: ArrayLike<number>, frames: number): number {
  let lo = Infinity;
  for (let t = 0; t < frames; t++) lo = Math.min(lo, joints[t * POS + 1]);
  return lo;
}

function maxHeight(joints: ArrayLike<number>, frames: number, joint: number): number {
  let hi = -Infinity;
  for (let t = 0; t < frames; t++) hi = Math.max(hi, joints[t * POS + joint * 3 + 1]);
  return hi;
}

/** How a side request is judged: which limb, and what "doing it with that limb" means physically. */
export type SideMeasure = 'hand-height' | 'hand-reach' | 'foot-lift';

export interface SideRequest {
  text: string;
  side: LimbSide;
  measure: SideMeasure;
}

/** Hand and leg requests, each side in two phrasings (wave, raise, punch, kick). */
export const SIDE_REQUESTS: readonly SideRequest[] = [
  { text: 'wave your left hand', side: 'left', measure: 'hand-height' },
  { text: 'wave with your right hand', side: 'right', measure: 'hand-height' },
  { text: 'raise your left arm', side: 'left', measure: 'hand-height' },
  { text: 'put your right hand up', side: 'right', measure: 'hand-height' },
  { text: 'punch with your left hand', side: 'left', measure: 'hand-reach' },
  { text: 'throw a punch with your right fist', side: 'right', measure: 'hand-reach' },
  { text: 'kick with your left leg', side: 'left', measure: 'foot-lift' },
  { text: 'kick with the right foot', side: 'right', measure: 'foot-lift' },
];

/** The side whose limb does more of what the request asks for (the higher wrist, the further reach, the higher kick). */
export function sideShown(m: Pick<Motion, 'joints' | 'numFrames'>, measure: SideMeasure): LimbSide {
  const [l, r] =
    measure === 'hand-height'
      ? [maxHeight(m.joints, m.numFrames, JOINT.left_wrist), maxHeight(m.joints, m.numFrames, JOINT.right_wrist)]
      : measure === 'hand-reach'
        ? [maxReach(m.joints, m.numFrames, JOINT.left_wrist), maxReach(m.joints, m.numFrames, JOINT.right_wrist)]
        : [heightRange(m.joints, m.numFrames, JOINT.left_ankle), heightRange(m.joints, m.numFrames, JOINT.right_ankle)];
  return l > r ? 'left' : 'right';
}

export interface SideReport {
  seeds: number;
  requests: { text: string; asked: LimbSide; measure: SideMeasure; correct: number }[];
  /** Share of (request, seed) whose motion used the asked side. */
  accuracy: number;
}

export async function measureSides(
  engine: Engine,
  seeds: number,
  requests: readonly SideRequest[] = SIDE_REQUESTS,
): Promise<SideReport> {
  const out: SideReport['requests'] = [];
  for (const req of requests) {
    let correct = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const m = (await engine.generate({ segments: [{ text: req.text, seconds: 3 }], seed })).motions[0];
      if (sideShown(m, req.measure) === req.side) correct++;
    }
    out.push({ text: req.text, asked: req.side, measure: req.measure, correct });
  }
  const total = out.reduce((s, r) => s + r.correct, 0);
  return { seeds, requests: out, accuracy: total / Math.max(1, seeds * requests.length) };
}

// ---------------------------------------------------------------- floor-level acts

/** A pelvis this low is at floor level (crouching, kneeling, crawling, lying); standing is about 0.9 m. */
export const FLOOR_LEVEL_M = 0.6;
/** A generated floor act matches its clip when its lowest pelvis height is this close to the clip's. */
export const FLOOR_TOLERANCE_M = 0.15;

/** Everyday phrasings of floor-level acts that no clip uses word for word. */
export const FLOOR_PARAPHRASES = [
  'lie down on the floor',
  'crawl on all fours',
  'get down low',
  'crouch down low',
  'crawl on your hands and knees',
  'lie flat on your back',
] as const;

export interface FloorClip {
  record: ClipRecord;
  text: string;
  descriptions: string[];
  gtPelvisMin: number;
  seconds: number;
  /**
   * The text names a floor-level act (lie, crawl, crouch, squat, kneel: intent.ts). A clip can also go low where its
   * words do not say so ("a person dances briefly", a climb on a playground frame); no text-to-motion model can be
   * asked to reproduce that depth, so those clips are reported beside the rate, not in it.
   */
  saysFloor: boolean;
}

export interface FloorReport {
  seeds: number;
  clips: {
    id: string;
    text: string;
    saysFloor: boolean;
    gtPelvisMin: number;
    generatedPelvisMin: number[];
    within: number;
  }[];
  /** Share of (clip, seed) within FLOOR_TOLERANCE_M of the clip's lowest pelvis height, over clips whose text says so. */
  withinRate: number;
  /** The same over the low clips whose text names no floor-level act (null when there are none). */
  otherWithinRate: number | null;
  paraphrases: { text: string; generatedPelvisMin: number[]; reached: number }[];
  /** Share of (paraphrase, seed) whose pelvis reached FLOOR_LEVEL_M. */
  paraphraseReachRate: number;
}

export async function measureFloorActs(
  engine: Engine,
  clips: readonly FloorClip[],
  seeds: number,
): Promise<FloorReport> {
  const generateMin = async (
    text: string,
    seconds: number,
    seed: number,
    descriptions: string[] = [],
  ): Promise<number> => {
    const seg = { text, seconds, ...(descriptions.length ? { descriptions } : {}) };
    const m = (await engine.generate({ segments: [seg], seed })).motions[0];
    return pelvisMin(m.joints, m.numFrames);
  };
  const clipRows: FloorReport['clips'] = [];
  for (const c of clips) {
    const mins: number[] = [];
    for (let seed = 0; seed < seeds; seed++) mins.push(await generateMin(c.text, c.seconds, seed, c.descriptions));
    clipRows.push({
      id: c.record.id,
      text: c.text,
      saysFloor: c.saysFloor,
      gtPelvisMin: c.gtPelvisMin,
      generatedPelvisMin: mins,
      within: mins.filter((m) => Math.abs(m - c.gtPelvisMin) <= FLOOR_TOLERANCE_M).length,
    });
  }
  const paraRows: FloorReport['paraphrases'] = [];
  for (const text of FLOOR_PARAPHRASES) {
    const mins: number[] = [];
    for (let seed = 0; seed < seeds; seed++) mins.push(await generateMin(text, 4, seed));
    paraRows.push({ text, generatedPelvisMin: mins, reached: mins.filter((m) => m <= FLOOR_LEVEL_M).length });
  }
  const rate = (rows: typeof clipRows) => rows.reduce((s, r) => s + r.within, 0) / Math.max(1, seeds * rows.length);
  const other = clipRows.filter((r) => !r.saysFloor);
  return {
    seeds,
    clips: clipRows,
    withinRate: rate(clipRows.filter((r) => r.saysFloor)),
    otherWithinRate: other.length ? rate(other) : null,
    paraphrases: paraRows,
    paraphraseReachRate: paraRows.reduce((s, r) => s + r.reached, 0) / Math.max(1, seeds * paraRows.length),
  };
}

// ---------------------------------------------------------------- the report

export interface FidelityReport {
  /** Test split, R-precision top-3 per action label, averaged with equal weight per label. */
  macro: MacroScore;
  rarestThird: { labels: string[]; score: MacroScore };
  perPack: GroupScore[];
  perAction: GroupScore[];
  /** Test clips called by a held-out paraphrase (raw text, k = 0): top-3 against the same phrasing's GT score. */
  paraphrases: { clips: number; gt: number | null; generated: number | null; ratio: number | null };
  sides: SideReport;
  floor: FloorReport;
  /** The external test pack (HDM05: actors and recordings the model never saw), per class. */
  external: {
    pack: string;
    clips: number;
    rPrecisionTop3: { gt: number | null; generated: number | null };
    perClass: (GroupScore & { pelvisMinGt: number; pelvisMinGenerated: number })[];
  } | null;
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)} %`;
const num = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d);

/** The fidelity part of `charades eval --report`'s report.md. */
export function fidelityMarkdown(f: FidelityReport): string {
  return [
    '### Acting fidelity (what users see)',
    '| measure | ground truth | generated | generated / GT |',
    '| --- | --- | --- | --- |',
    `| R-precision top-3, macro over ${f.macro.groups} action labels | ${num(f.macro.gt)} | ${num(f.macro.generated)} | ${num(f.macro.ratio, 2)}× |`,
    `| … rarest third (${f.rarestThird.labels.join(', ')}) | ${num(f.rarestThird.score.gt)} | ${num(f.rarestThird.score.generated)} | ${num(f.rarestThird.score.ratio, 2)}× |`,
    `| held-out paraphrases (${f.paraphrases.clips} clips, k = 0) | ${num(f.paraphrases.gt)} | ${num(f.paraphrases.generated)} | ${num(f.paraphrases.ratio, 2)}× |`,
    ...f.perPack.map(
      (p) =>
        `| pack ${p.name} (${p.clips} clips in full batches) | ${num(p.gt)} | ${num(p.generated)} | ${num(p.gt > 0 ? p.generated / p.gt : null, 2)}× |`,
    ),
    '',
    `Side accuracy over ${f.sides.seeds} seeds per request: **${pct(f.sides.accuracy)}** (${f.sides.requests.map((r) => `"${r.text}" ${r.correct}/${f.sides.seeds}`).join('; ')}).`,
    '',
    `Floor-level acts, the data's own texts that name one (${f.floor.seeds} seeds each): generated lowest pelvis within ${FLOOR_TOLERANCE_M} m of the clip's in **${pct(f.floor.withinRate)}**; ` +
      `paraphrases reaching ${FLOOR_LEVEL_M} m: **${pct(f.floor.paraphraseReachRate)}**` +
      (f.floor.otherWithinRate === null
        ? '.'
        : `; low clips whose words name no floor act (not in the rate): ${pct(f.floor.otherWithinRate)}.`),
    '',
    '| clip | text | words say floor | GT pelvis min (m) | generated pelvis min per seed (m) | within |',
    '| --- | --- | --- | --- | --- | --- |',
    ...f.floor.clips.map(
      (c) =>
        `| ${c.id} | ${c.text} | ${c.saysFloor ? 'yes' : 'no'} | ${num(c.gtPelvisMin, 2)} | ${c.generatedPelvisMin.map((x) => num(x, 2)).join(', ')} | ${c.within}/${f.floor.seeds} |`,
    ),
    ...f.floor.paraphrases.map(
      (p) =>
        `| (paraphrase) | ${p.text} | yes | – | ${p.generatedPelvisMin.map((x) => num(x, 2)).join(', ')} | ${p.reached}/${f.floor.seeds} reached |`,
    ),
    '',
    ...(f.external
      ? [
          `External test set **${f.external.pack}** (${f.external.clips} clips, never trained on): R-precision top-3 GT ${num(f.external.rPrecisionTop3.gt)}, generated ${num(f.external.rPrecisionTop3.generated)}.`,
          '',
          '| class | clips | top-3 GT | top-3 generated | pelvis min GT / generated (m) |',
          '| --- | --- | --- | --- | --- |',
          ...f.external.perClass.map(
            (c) =>
              `| ${c.name} | ${c.clips} | ${num(c.gt, 2)} | ${num(c.generated, 2)} | ${num(c.pelvisMinGt, 2)} / ${num(c.pelvisMinGenerated, 2)} |`,
          ),
          '',
        ]
      : []),
  ].join('\n');
}

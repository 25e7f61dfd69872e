/**
 * Action-GPT (Kalakonda et al. 2023): an action phrase x is wrapped by the prompt function
 * f_prompt(x) = "Describe a person's body movements who is performing the action x in detail"; an LLM
 * returns k = 4 descriptions (temperature 0.5, top-p 1, ≤ 128 tokens), requested in parallel. Descriptions
 * are cached persistently by (phrase, model) in a JSON-lines file; the data's own phrases come from the
 * shipped cache (`annotations/action-gpt-k4.jsonl`), which is what the motion model was trained with.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DescriptionSource } from './agent.js';

export const ACTION_GPT = { k: 4, temperature: 0.5, topP: 1, maxTokens: 128 } as const;

export function actionGptPrompt(phrase: string): string {
  return `Describe a person's body movements who is performing the action ${phrase} in detail`;
}

/** One completion of a prompt with Action-GPT's sampling settings (temperature 0.5, top-p 1, ≤ 128 tokens). */
export interface DescriptionModel {
  /** Provider and model, part of the cache key. */
  readonly id: string;
  complete(prompt: string, signal?: AbortSignal): Promise<string>;
}

export interface ExpanderOptions {
  /** Folder for the persistent cache (`action-gpt/descriptions.jsonl` inside it). */
  cacheDir: string;
  /** The LLM; without one only cached descriptions are returned (k = 0 otherwise). */
  model?: DescriptionModel;
  /** Shipped annotations file; false to ignore it. */
  shippedPath?: string | false;
  k?: number;
}

interface CacheLine {
  phrase: string;
  model: string;
  descriptions: string[];
}

export interface DescribeResult {
  descriptions: string[];
  source: 'shipped' | 'cache' | 'llm' | 'none';
}

/** Case, spacing, a leading "a person"/"someone" and trailing punctuation do not make a different phrase. */
export function phraseKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(a person|someone|the person|a man|a woman) /, '')
    .replace(/[.!?]+$/, '')
    .trim();
}

export class ActionGptExpander implements DescriptionSource {
  readonly cacheFile: string;
  /** Lines of the cache or shipped file that could not be read (reported, skipped). */
  readonly skipped: string[] = [];
  private shipped?: Map<string, string[]>;
  private cache?: Map<string, string[]>;
  private readonly inFlight = new Map<string, Promise<string[]>>();
  private readonly k: number;

  constructor(private readonly options: ExpanderOptions) {
    this.cacheFile = join(options.cacheDir, 'action-gpt', 'descriptions.jsonl');
    this.k = options.k ?? ACTION_GPT.k;
    if (!Number.isInteger(this.k) || this.k < 1 || this.k > 8)
      throw new Error(`Action-GPT k must be an integer from 1 to 8, got ${options.k}`);
  }

  get modelId(): string | undefined {
    return this.options.model?.id;
  }

  async describe(phrase: string, signal?: AbortSignal): Promise<string[]> {
    return (await this.lookup(phrase, signal)).descriptions;
  }

  /** Shipped annotations first (the model was trained on them), then this model's cache, then the LLM. */
  async lookup(phrase: string, signal?: AbortSignal): Promise<DescribeResult> {
    const key = phraseKey(phrase);
    if (!key) return { descriptions: [], source: 'none' };
    const shipped = this.shippedTable().get(key);
    if (shipped) return { descriptions: shipped, source: 'shipped' };
    const model = this.options.model;
    const cached = this.cacheTable().get(cacheKey(key, model?.id ?? ''));
    if (cached) return { descriptions: cached, source: 'cache' };
    if (!model) return { descriptions: [], source: 'none' };
    const ck = cacheKey(key, model.id);
    let pending = this.inFlight.get(ck);
    if (!pending) {
      pending = this.generate(phrase.trim(), key, model, signal).finally(() => this.inFlight.delete(ck));
      this.inFlight.set(ck, pending);
    }
    return { descriptions: await pending, source: 'llm' };
  }

  private async generate(
    phrase: string,
    key: string,
    model: DescriptionModel,
    signal?: AbortSignal,
  ): Promise<string[]> {
    const prompt = actionGptPrompt(phrase);
    const answers = await Promise.all(Array.from({ length: this.k }, () => model.complete(prompt, signal)));
    const descriptions = answers.map((a) => a.replace(/\s+/g, ' ').trim()).filter(Boolean);
    if (!descriptions.length) throw new Error(`the model returned ${this.k} empty descriptions for "${phrase}"`);
    this.cacheTable().set(cacheKey(key, model.id), descriptions);
    mkdirSync(dirname(this.cacheFile), { recursive: true });
    const line: CacheLine = { phrase: key, model: model.id, descriptions };
    appendFileSync(this.cacheFile, `${JSON.stringify(line)}\n`);
    return descriptions;
  }

  private shippedTable(): Map<string, string[]> {
    if (this.shipped) return this.shipped;
    this.shipped = new Map();
    const path = this.options.shippedPath;
    if (!path) return this.shipped;
    if (!existsSync(path))
      throw new Error(
        `shipped Action-GPT annotations not found at ${path} (set CHARADES_DATA or pass shippedPath: false)`,
      );
    for (const [n, line] of readLines(path)) {
      const rec = parseLine(line);
      if (!rec || typeof rec.phrase !== 'string' || !isStringArray(rec.descriptions)) {
        this.skipped.push(`${path}:${n}: expected {"phrase", "descriptions": [...]}`);
        continue;
      }
      const texts = isStringArray(rec.texts) ? rec.texts : [];
      for (const t of [rec.phrase, ...texts])
        if (!this.shipped.has(phraseKey(t))) this.shipped.set(phraseKey(t), rec.descriptions);
    }
    return this.shipped;
  }

  private cacheTable(): Map<string, string[]> {
    if (this.cache) return this.cache;
    this.cache = new Map();
    if (!existsSync(this.cacheFile)) return this.cache;
    for (const [n, line] of readLines(this.cacheFile)) {
      const rec = parseLine(line);
      if (!rec || typeof rec.phrase !== 'string' || typeof rec.model !== 'string' || !isStringArray(rec.descriptions)) {
        this.skipped.push(`${this.cacheFile}:${n}: expected {"phrase", "model", "descriptions": [...]}`);
        continue;
      }
      this.cache.set(cacheKey(phraseKey(rec.phrase), rec.model), rec.descriptions);
    }
    return this.cache;
  }
}

const cacheKey = (phrase: string, model: string) => `${model}\u0000${phrase}`;

function readLines(path: string): Array<[number, string]> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l, i) => [i + 1, l.trim()] as [number, string])
    .filter(([, l]) => l);
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0);

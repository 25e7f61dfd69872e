/**
 * BERT WordPiece tokenizer (what MiniLM / BGE sentence encoders use), read from a Hugging Face
 * `tokenizer.json` or a plain `vocab.txt`. Implemented here because transformers.js is not installed and the
 * algorithm is small: basic split (whitespace, punctuation, CJK), optional lower-casing and accent stripping,
 * then greedy longest-match-first sub-words with the `##` continuation prefix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WordPieceConfig {
  vocab: Map<string, number>;
  lowercase: boolean;
  stripAccents: boolean;
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  continuingPrefix: string;
  /** Longest sequence the model accepts, specials included. */
  maxLength: number;
  /** Words longer than this become one unknown token, as in BERT. */
  maxCharsPerWord: number;
}

export interface Encoded {
  ids: number[];
}

const DEFAULTS = {
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  continuingPrefix: '##',
  maxLength: 128,
  maxCharsPerWord: 100,
};

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  // BERT counts all ASCII non-alphanumerics as punctuation, plus Unicode P* categories.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return /\p{P}/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT's BasicTokenizer: clean, split CJK and punctuation into their own tokens, optional lower-case/strip accents. */
export function basicTokenize(text: string, lowercase: boolean, stripAccents: boolean): string[] {
  let s = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || (/\p{Cc}/u.test(ch) && !/\s/u.test(ch))) continue;
    s += isCjk(cp) ? ` ${ch} ` : /\s/u.test(ch) ? ' ' : ch;
  }
  if (lowercase) s = s.toLowerCase();
  if (stripAccents) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
  const out: string[] = [];
  for (const word of s.split(' ')) {
    let cur = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (cur) out.push(cur);
        out.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) out.push(cur);
  }
  return out;
}

export class WordPieceTokenizer {
  constructor(readonly config: WordPieceConfig) {
    for (const t of [config.unkToken, config.clsToken, config.sepToken, config.padToken]) {
      if (!config.vocab.has(t)) throw new Error(`WordPiece vocabulary has no special token "${t}"`);
    }
  }

  idOf(token: string): number {
    return this.config.vocab.get(token) ?? (this.config.vocab.get(this.config.unkToken) as number);
  }

  get padId(): number {
    return this.idOf(this.config.padToken);
  }

  wordPieces(word: string): string[] {
    const { vocab, continuingPrefix, unkToken, maxCharsPerWord } = this.config;
    const chars = [...word];
    if (chars.length > maxCharsPerWord) return [unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? continuingPrefix : '') + chars.slice(start, end).join('');
        if (vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** `[CLS] pieces… [SEP]`, truncated to the model's maximum length. */
  encode(text: string): Encoded {
    const { lowercase, stripAccents, maxLength, clsToken, sepToken } = this.config;
    const pieces = basicTokenize(text, lowercase, stripAccents).flatMap((w) => this.wordPieces(w));
    const body = pieces.slice(0, Math.max(0, maxLength - 2));
    return { ids: [clsToken, ...body, sepToken].map((t) => this.idOf(t)) };
  }
}

function readVocabTxt(path: string): Map<string, number> {
  const vocab = new Map<string, number>();
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const tok = line.replace(/\r$/, '');
      if (tok.length > 0 && !vocab.has(tok)) vocab.set(tok, i);
    });
  if (vocab.size === 0) throw new Error(`${path}: the vocabulary is empty`);
  return vocab;
}

interface HfTokenizerJson {
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null } | null;
  truncation?: { max_length?: number } | null;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
  };
}

function fromTokenizerJson(path: string, maxLength: number): WordPieceConfig {
  let json: HfTokenizerJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as HfTokenizerJson;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const model = json.model;
  if (model?.type !== 'WordPiece' || !model.vocab) {
    throw new Error(
      `${path}: model.type is "${model?.type ?? 'missing'}"; only WordPiece tokenizers (BERT, MiniLM, BGE) are supported`,
    );
  }
  const lowercase = json.normalizer?.lowercase ?? true;
  return {
    ...DEFAULTS,
    vocab: new Map(Object.entries(model.vocab)),
    lowercase,
    // BertNormalizer's strip_accents=null means "follow lowercase".
    stripAccents: json.normalizer?.strip_accents ?? lowercase,
    unkToken: model.unk_token ?? DEFAULTS.unkToken,
    continuingPrefix: model.continuing_subword_prefix ?? DEFAULTS.continuingPrefix,
    maxCharsPerWord: model.max_input_chars_per_word ?? DEFAULTS.maxCharsPerWord,
    maxLength: Math.min(maxLength, json.truncation?.max_length ?? maxLength),
  };
}

/** `tokenizer_config.json`'s do_lower_case decides casing for a bare vocab.txt (default: uncased, like MiniLM). */
function lowercaseFromConfig(dir: string): boolean {
  const p = join(dir, 'tokenizer_config.json');
  if (!existsSync(p)) return true;
  const cfg = JSON.parse(readFileSync(p, 'utf8')) as { do_lower_case?: boolean };
  return cfg.do_lower_case ?? true;
}

/** Loads the tokenizer of a sentence-encoder folder: `tokenizer.json` if present, else `vocab.txt`. */
export function loadWordPieceTokenizer(dir: string, maxLength = DEFAULTS.maxLength): WordPieceTokenizer {
  const tj = join(dir, 'tokenizer.json');
  if (existsSync(tj)) return new WordPieceTokenizer(fromTokenizerJson(tj, maxLength));
  const vt = join(dir, 'vocab.txt');
  if (existsSync(vt)) {
    const lowercase = lowercaseFromConfig(dir);
    return new WordPieceTokenizer({
      ...DEFAULTS,
      vocab: readVocabTxt(vt),
      lowercase,
      stripAccents: lowercase,
      maxLength,
    });
  }
  throw new Error(`sentence encoder folder ${dir} has neither tokenizer.json nor vocab.txt`);
}

/**
 * Community commands: `charades report --json [--html DIR]`, `charades export-feedback [-o FILE]` and
 * `charades community calibrate` (the charades guess threshold). They read the bot's store directly and
 * need no Discord connection.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/index.js';
import { calibrateGuessThreshold, readAnnotations } from './calibrate.js';
import { writeFeedback } from './export.js';
import { buildReport, summaryLines, writeReport } from './report.js';
import { CommunityStore } from './store.js';

function openStore(opts: { config?: string }): { store: CommunityStore; close: () => void } {
  const config = loadConfig({ file: opts.config });
  const path = join(config.dataDir, 'charades.sqlite');
  if (!existsSync(path))
    throw new Error(`no Charades store at ${path} yet (set CHARADES_DATA_DIR, or run the bot first)`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  return { store: new CommunityStore(db), close: () => db.close() };
}

export function registerCommunityCommands(program: Command): void {
  program
    .command('report')
    .description(
      'community zero-shot report: ratings, A/B win rate of k=4 over k=0 (95% Wilson CI), charades recognition, automatic metrics',
    )
    .option('--json', 'print the report as JSON')
    .option('--html <dir>', 'also write report.json, PNG charts and index.html into DIR')
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .action((opts: { json?: boolean; html?: string; config?: string }) => {
      const { store, close } = openStore(opts);
      try {
        const report = buildReport(store);
        if (opts.html) process.stderr.write(`wrote ${writeReport(report, opts.html).join(', ')}\n`);
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else process.stdout.write(`${[...summaryLines(report), ...report.notes.map((n) => `  · ${n}`)].join('\n')}\n`);
      } finally {
        close();
      }
    });

  program
    .command('export-feedback')
    .description('write the community feedback as JSONL (schema charades-feedback/1) for the training worker')
    .option('-o, --out <file>', 'the JSONL file', 'charades-feedback.jsonl')
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .action((opts: { out: string; config?: string }) => {
      const { store, close } = openStore(opts);
      try {
        const n = writeFeedback(store, opts.out);
        process.stderr.write(`${n} record${n === 1 ? '' : 's'} → ${opts.out}\n`);
        process.stdout.write(`${opts.out}\n`);
      } finally {
        close();
      }
    });

  program
    .command('community')
    .description('community tools')
    .command('calibrate')
    .description("calibrate the charades guess threshold on the motion data's annotation texts (USE cosine)")
    .option('--max-false-accept <rate>', 'the highest share of other-action sentences that may pass', '0.01')
    .option('--limit <n>', 'use only the first N annotation records')
    .option('--config <file>', 'JSON config file (env CHARADES_CONFIG)')
    .action(async (opts: { maxFalseAccept: string; limit?: string; config?: string }) => {
      const rate = Number(opts.maxFalseAccept);
      if (!(rate >= 0 && rate < 1))
        throw new Error(`--max-false-accept must be a rate from 0 to 1, got "${opts.maxFalseAccept}"`);
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 2))
        throw new Error(`--limit must be a whole number ≥ 2, got "${opts.limit}"`);
      const config = loadConfig({ file: opts.config });
      const records = readAnnotations(config.motionDataDir).slice(0, limit);
      const { sharedSentenceEncoder } = await import('../motion/text/index.js');
      const result = await calibrateGuessThreshold(records, await sharedSentenceEncoder(), rate);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.stderr.write(
        `threshold ${result.threshold}: paraphrases accepted ${(100 * result.truePositiveRate).toFixed(1)} %, other actions ${(100 * result.falseAcceptRate).toFixed(1)} %, same action other style ${(100 * result.nearMissAcceptRate).toFixed(1)} % (${result.records} records)\n`,
      );
    });
}

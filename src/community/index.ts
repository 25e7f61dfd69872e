// Community zero-shot testing: the phrase pool, blinded A/B duels, the charades game, ratings, reports and the feedback export.
export * from './text.js';
export * from './stats.js';
export * from './store.js';
export * from './duel.js';
export * from './game.js';
export * from './calibrate.js';
export * from './report.js';
export * from './export.js';
export { Actor, clipRequest, uncaptioned } from './actor.js';
export type { ActorOptions, ClipMetrics, ClipSpec } from './actor.js';
export { registerCommunityCommands } from './cli.js';

// The training worker: job store, data import, runner (trainer child process → verify → evaluate → gate → publish), worker loop, CLI.
export * from './store.js';
export * from './gate.js';
export * from './progress.js';
export * from './data.js';
export * from './evaluate.js';
export * from './runner.js';
export * from './worker.js';
export { evaluationFromEnv, registerTrainCommands, startTrainingWorker } from './cli.js';

// The job system: pipeline (plan → generate → render), queues (in-process, BullMQ), stages and metrics.
export * from './types.js';
export * from './actions.js';
export * from './motion-files.js';
export * from './pipeline.js';
export * from './queue.js';
export * from './metrics.js';
export { createRetrievalGenerator, ClipIndex, fitClip } from './stages/retrieval.js';
export { createStages } from './stages/load.js';
export { createEngineGenerator, hasLiveModel } from './stages/engine.js';
export type { CreateEngine, EngineGeneratorOptions } from './stages/engine.js';
export type { StageChoice } from './stages/load.js';
export { BullJobQueue, startBullWorker } from './bull.js';
export type { BullQueueOptions, BullWorkerOptions, BullWorkerHandle } from './bull.js';
export { loadJobResult, saveJobResult } from './results.js';

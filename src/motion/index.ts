// The motion module: skeleton, contracts, I/O, features, metrics, text encoding and the generation engine.
export * from './skeleton.js';
export * from './contracts.js';
export * from './paths.js';
export * from './kinematics.js';
export * from './bvh.js';
export * from './retarget.js';
export * from './npy.js';
export * from './formats.js';
export * from './dataset.js';
export * from './features.js';
export * from './transforms.js';
export * from './featureCache.js';
export * from './registry.js';
export * from './metrics/index.js';
export * from './text/index.js';
export * from './engine/index.js';
export {
  createMotionTextScorer,
  evaluateProductionPath,
  type EvalOptions,
  type EvalReport,
  type MotionTextScorer,
} from './engine/evaluate.js';
export { loadProbeFile, runProbes, type ProbeFile, type ProbePlanner, type ProbeReport } from './probes/run.js';
export { probePlanner } from './probes/planner.js';
export { registerMotionCommands } from './cli/index.js';

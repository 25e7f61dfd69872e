// The inference engine: model loading, sampling, poses, post-processing, exports and generation.
export {
  createEngine,
  DEFAULT_LOOKS,
  parseLooks,
  TOKENS_PER_SECOND,
  type Engine,
  type EngineOptions,
  type GenerateOptions,
  type GenerateProgress,
  type GenerateResult,
} from './engine.js';
export {
  loadModel,
  checkManifest,
  parseGptSpec,
  REQUIRED_IO,
  TASK_NAMES,
  type GptSpec,
  type LoadedModel,
  type LoadModelOptions,
  type TaskName,
} from './model.js';
export {
  createSession,
  parseExecutionProviders,
  EXECUTION_PROVIDERS,
  EXECUTION_PROVIDERS_ENV,
  type ExecutionProvider,
  type ProviderLog,
} from './providers.js';
export {
  argmax,
  deriveSeed,
  filteredDistribution,
  guidanceMix,
  sampleRng,
  sampleToken,
  validateSamplingOptions,
  type Rng,
  type SamplingOptions,
} from './sampling.js';
export {
  decodeCodes,
  decodeTokens,
  encodeFeatures,
  staticPoseFeatures,
  type Control,
  type DecodeJob,
  type TokenCodes,
} from './decode.js';
export {
  MODEL_REST_OFFSETS,
  conformPoseToModelBody,
  fileMotionResolver,
  namedPose,
  namedPoseFromAngles,
  poseFromFile,
  poseFromMotionFrame,
  resolvePoseRef,
  validatePose,
  type MotionResolver,
  type NamedPoseOptions,
  type Pose,
  type PoseCheck,
} from './poses.js';
export {
  alignJointsToFloor,
  attachRotations,
  cleanFootContacts,
  contactsFromFeatures,
  finishMotion,
  twoBoneIk,
  type FinishOptions,
  type FootCleanupOptions,
} from './postprocess.js';
export { DEFAULT_PIN_FALLOFF_FRAMES, pinPoses, raisedCosine, type Pin, type PinOptions } from './pin.js';
export {
  EXPORT_FORMATS,
  EXPORT_MIME,
  exportFormatFromPath,
  exportMotion,
  parseExportFormat,
  writeMotionExport,
  type ExportFormat,
} from './exports.js';
export { motionRig, motionToGlb } from './glb.js';

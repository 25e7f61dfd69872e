// Motion metrics: physical plausibility, reference-based errors (APE/AVE, pose controls, ADE/FDE) and
// distribution metrics on evaluator embeddings (FID, R-precision, MM-Dist, Diversity, MultiModality).
export * from './physical.js';
export * from './reference.js';
export * from './distribution.js';
export { symmetricEigen, sqrtSymmetricPsd, applyToEigenvalues, type SymmetricEigen } from './linalg.js';
export { mulberry32, permutation, sampleWithoutReplacement } from './random.js';

// Frozen sentence encoders (USE by default, ONNX MiniLM/BGE by config), the Action-GPT aggregator and the embedding table.
export { type SentenceEncoder, type CacheStats, CachedSentenceEncoder, LruCache, l2Normalise } from './encoder.js';
export { USE_ENCODER_ID, USE_DIM, loadUseEncoder, packagedUseModelDir } from './use.js';
export { loadOnnxSentenceEncoder } from './onnx-encoder.js';
export { WordPieceTokenizer, loadWordPieceTokenizer, basicTokenize } from './wordpiece.js';
export { aggregateEmbedding, cosine, meanVector } from './aggregate.js';
export {
  TEXT_ENCODER_ENV,
  type EncoderSpec,
  parseEncoderSpec,
  loadSentenceEncoder,
  sharedSentenceEncoder,
} from './config.js';
export {
  type EmbeddingTable,
  type EmbeddingTableMeta,
  type PhraseRecord,
  type TableKind,
  TABLE_KINDS,
  buildEmbeddingTable,
  collectTableTexts,
  labelText,
  mirrorSides,
  readEmbeddingTable,
  setsForClip,
  readExtraTexts,
  tableVector,
  writeEmbeddingTable,
} from './table.js';
export { SIDES, type SideId, type SideName, sideName, textSide } from './side.js';
export {
  DEFAULT_PARAPHRASES_FILE,
  type ParaphraseFile,
  type ParaphraseSet,
  actionSetKey,
  clipSetKeys,
  paraphraseSets,
  paraphrasesSha256,
  readParaphrases,
} from './paraphrases.js';

// The render module: Motion → three.js in headless Chromium → MP4 (+ preview, thumbnail), on a warm browser pool.
export { createRenderer, RenderOptionsSchema, RenderTimeoutError, bitrateFor, buildSceneJob } from './renderer.js';
export type { Renderer, RendererOptions, RenderOptions, RenderResult, RenderStats, RenderTimings } from './renderer.js';
export { RenderInputError, RENDER_LIMITS, validateMotion } from './validate.js';
export { BrowserPool, CHROMIUM_FLAGS } from './pool.js';
export type { PoolOptions } from './pool.js';
export { findChromium, findFfmpeg, findFfprobe } from './tools.js';
export { probeVideo } from './ffmpeg.js';
export type { ProbeResult } from './ffmpeg.js';
export { planCameras, outputFrameCount, resampleJoints } from './framing.js';
export type { CameraRig } from './framing.js';
export { TRANSPORTS } from './protocol.js';
export type { Transport, Quality } from './protocol.js';
export { registerRenderCommands } from './cli.js';

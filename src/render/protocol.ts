/**
 * What Node sends to the page and what the page sends back. Types only, shared by both sides (the
 * page imports them as types, so nothing here reaches the browser bundle).
 */

/** How frames leave the page: H.264 from WebCodecs, or images/pixels that ffmpeg encodes. */
export type Transport = 'webcodecs' | 'jpeg' | 'png' | 'raw';
export const TRANSPORTS: readonly Transport[] = ['webcodecs', 'jpeg', 'png', 'raw'];

export interface CellJob {
  /** Joints at the output frame rate, float32 T×22×3 as base64. */
  joints: string;
  /** Camera look-at point per output frame, float32 T×3 as base64. */
  track: string;
  azimuthRad: number;
  /** Caption index per output frame into `captions` (-1: none). */
  captionAt: number[];
  /** Cell label drawn in the corner (grid "1"–"4" or a given name); empty for a single clip. */
  label: string;
}

/** fast: no MSAA, contact shadow in the floor shader, coarser meshes; high: 4× MSAA, 1024² shadow map. */
export type Quality = 'fast' | 'high';

export interface SceneJob {
  size: number;
  quality: Quality;
  fps: number;
  frames: number;
  distance: number;
  fovDeg: number;
  elevationDeg: number;
  captions: string[];
  /** A line above everything (grid title); empty for none. */
  title: string;
  /** 1 cell fills the picture, 2 sit side by side (each half the width), 4 form a 2×2 grid. */
  cells: CellJob[];
  transport: Transport;
  /** Target H.264 bitrate (webcodecs) in bits per second. */
  bitrate: number;
  /** Output frame whose PNG comes back as the thumbnail; -1 for none. */
  thumbnailFrame: number;
  /** Frames to send back as PNG for inspection (debugging and tests); usually empty. */
  pngFrames: number[];
  /** Frames per message when images/pixels travel to Node (bounds page memory). */
  batchFrames: number;
}

export interface PageTimings {
  /** Scene updates and WebGL draws (SwiftShader rasterisation), ms. */
  rasterMs: number;
  /** Encoding in the page (VideoEncoder, toDataURL/readPixels), ms. */
  captureMs: number;
  /** Whole call inside the page, ms. */
  totalMs: number;
}

export interface SceneResult {
  /** Annex-B H.264 stream (webcodecs) as base64; empty for other transports. */
  h264: string;
  /** Codec string actually configured (webcodecs). */
  codec: string;
  thumbnailPng: string;
  pngFrames: Record<number, string>;
  timings: PageTimings;
}

export interface BatchResult {
  /** Per frame: base64 JPEG/PNG, or base64 raw RGBA (bottom-up rows from readPixels). */
  frames: string[];
  done: boolean;
}

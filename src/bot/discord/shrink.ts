/**
 * A smaller re-encode of a result video, for when Discord will not take the original: a lower bitrate
 * sized to the byte budget and, when that bitrate would smear a full-size frame, a smaller frame too.
 */
import { statSync } from 'node:fs';
import { probeVideo, runTool } from '../../render/ffmpeg.js';
import { findFfmpeg, findFfprobe } from '../../render/tools.js';

/** Below this budget a clip is not worth re-encoding: it would be a few blurry frames. */
export const MIN_SHRINK_BYTES = 16 * 1024;

/** Container overhead and rate-control overshoot: aim this far under the budget. */
const HEADROOM = 0.8;

/** Under this video bitrate the frame is halved, which looks better than a starved full-size frame. */
const HALVE_BELOW_BPS = 250_000;

export interface Shrunk {
  path: string;
  bytes: number;
}

/**
 * Writes `<video>.small.mp4` at most `budgetBytes` long, or returns undefined when the budget is too
 * small or the re-encode still does not fit (the caller then explains instead of attaching).
 */
export async function shrinkVideo(videoPath: string, budgetBytes: number): Promise<Shrunk | undefined> {
  if (budgetBytes < MIN_SHRINK_BYTES) return undefined;
  const probe = await probeVideo(findFfprobe(), videoPath);
  if (!(probe.durationS > 0)) return undefined;
  const bitrate = Math.floor((budgetBytes * 8 * HEADROOM) / probe.durationS);
  const halve = bitrate < HALVE_BELOW_BPS && probe.width >= 256;
  const out = videoPath.replace(/\.mp4$/i, '') + '.small.mp4';
  await runTool(findFfmpeg(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    videoPath,
    ...(halve ? ['-vf', 'scale=trunc(iw/4)*2:trunc(ih/4)*2'] : []),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    String(bitrate),
    '-maxrate',
    String(bitrate),
    '-bufsize',
    String(bitrate),
    '-pix_fmt',
    'yuv420p',
    '-an',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    out,
  ]);
  const bytes = statSync(out).size;
  return bytes <= budgetBytes ? { path: out, bytes } : undefined;
}

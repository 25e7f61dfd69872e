/**
 * ffmpeg and ffprobe as the renderer uses them: mux the page's H.264 into MP4 without re-encoding,
 * encode image frames when the page cannot encode, make previews, and verify outputs.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a program, feeding stdin, and rejects with the last lines of stderr when it fails. */
export function runTool(cmd: string, args: string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('error', (e) => reject(new Error(`could not start ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else
        reject(
          new Error(
            `${cmd} ${args.slice(0, 6).join(' ')} … exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

const MP4_FLAGS = ['-movflags', '+faststart', '-f', 'mp4'];

/** Wraps an Annex-B H.264 stream into MP4 at `fps` (stream copy: no quality loss, milliseconds). */
export async function muxH264(ffmpeg: string, h264: Buffer, fps: number, outPath: string): Promise<void> {
  await runTool(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'h264',
      '-framerate',
      String(fps),
      '-i',
      'pipe:0',
      '-c:v',
      'copy',
      // without an output rate the mp4 gets a 1/1200000 time base and 30 fps reads back as 30.0003
      '-r',
      String(fps),
      ...MP4_FLAGS,
      outPath,
    ],
    h264,
  );
}

export type ImageKind = 'jpeg' | 'png' | 'raw';

/** An ffmpeg process that takes frames one by one on stdin and writes an H.264 MP4. */
export class FrameEncoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly done: Promise<void>;
  private stderr = '';

  constructor(ffmpeg: string, kind: ImageKind, size: number, fps: number, outPath: string, crf = 23) {
    const input =
      kind === 'raw'
        ? [
            '-f',
            'rawvideo',
            '-pix_fmt',
            'rgba',
            '-s',
            `${size}x${size}`,
            '-framerate',
            String(fps),
            '-i',
            'pipe:0',
            '-vf',
            'vflip',
          ]
        : ['-f', 'image2pipe', '-c:v', kind === 'jpeg' ? 'mjpeg' : 'png', '-framerate', String(fps), '-i', 'pipe:0'];
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...input,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      String(crf),
      '-pix_fmt',
      'yuv420p',
      ...MP4_FLAGS,
      outPath,
    ];
    this.child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.stdin.on('error', () => undefined);
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', (e) => reject(new Error(`could not start ${ffmpeg}: ${e.message}`)));
      this.child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`ffmpeg frame encoder exited with ${code}: ${this.stderr.trim()}`)),
      );
    });
    this.done.catch(() => undefined);
  }

  /** Writes one frame, waiting when ffmpeg's pipe is full. */
  async write(frame: Buffer): Promise<void> {
    if (!this.child.stdin.write(frame)) await new Promise((r) => this.child.stdin.once('drain', r));
  }

  async end(): Promise<void> {
    this.child.stdin.end();
    await this.done;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** An animated preview from the MP4: small and short enough to post where video does not autoplay. */
export async function makePreview(
  ffmpeg: string,
  mp4Path: string,
  kind: 'webp' | 'gif',
  outPath: string,
  width = 256,
  fps = 10,
): Promise<void> {
  const scale = `fps=${fps},scale=${width}:-2:flags=lanczos`;
  const args =
    kind === 'webp'
      ? [
          '-i',
          mp4Path,
          '-vf',
          scale,
          '-c:v',
          'libwebp_anim',
          '-loop',
          '0',
          '-quality',
          '70',
          '-compression_level',
          '3',
          '-an',
          '-f',
          'webp',
          outPath,
        ]
      : [
          '-i',
          mp4Path,
          '-vf',
          `${scale},split[a][b];[a]palettegen=max_colors=96[p];[b][p]paletteuse=dither=bayer`,
          '-loop',
          '0',
          '-f',
          'gif',
          outPath,
        ];
  await runTool(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

export interface ProbeResult {
  codec: string;
  profile: string;
  pixFmt: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  durationS: number;
  sizeBytes: number;
  /** Whether the moov atom precedes mdat (+faststart: playback starts before the download ends). */
  faststart: boolean;
}

function ratio(s: string): number {
  const [a, b] = s.split('/').map(Number);
  return b ? a / b : a;
}

/** Facts about a video file, from ffprobe (frames are counted, not estimated). */
export async function probeVideo(ffprobe: string, path: string): Promise<ProbeResult> {
  const { stdout } = await runTool(ffprobe, [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,profile,pix_fmt,width,height,avg_frame_rate,r_frame_rate,nb_read_frames:format=duration,size',
    '-of',
    'json',
    path,
  ]);
  const j = JSON.parse(stdout.toString()) as {
    streams?: {
      codec_name: string;
      profile?: string;
      pix_fmt: string;
      width: number;
      height: number;
      avg_frame_rate: string;
      r_frame_rate: string;
      nb_read_frames: string;
    }[];
    format?: { duration: string; size: string };
  };
  const s = j.streams?.[0];
  if (!s || !j.format) throw new Error(`${path}: ffprobe found no video stream`);
  const head = (await readFile(path)).subarray(0, 64 * 1024);
  const moov = head.indexOf('moov');
  const mdat = head.indexOf('mdat');
  return {
    codec: s.codec_name,
    profile: s.profile ?? '',
    pixFmt: s.pix_fmt,
    width: s.width,
    height: s.height,
    fps: ratio(s.avg_frame_rate) || ratio(s.r_frame_rate),
    frames: Number(s.nb_read_frames),
    durationS: Number(j.format.duration),
    sizeBytes: Number(j.format.size),
    faststart: moov >= 0 && (mdat < 0 || moov < mdat),
  };
}

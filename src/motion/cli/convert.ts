/**
 * `charades convert IN OUT`: converts motions between BVH, HumanML3D-style NPY and Charades JSON.
 * A BVH input on another skeleton is retargeted onto our 22 joints through its detected joint map.
 */
import type { Command } from 'commander';
import { loadMotionFile, saveMotionFile, MOTION_FORMATS } from '../formats.js';
import type { MotionFormat } from '../formats.js';
import { EULER_ORDERS } from '../kinematics.js';
import type { EulerOrder } from '../kinematics.js';
import { jointMapByName } from '../retarget.js';
import { FPS } from '../skeleton.js';

interface ConvertOptions {
  fps?: string;
  scale?: string;
  order?: string;
  map?: string;
  format?: string;
}

/** Options are checked here (not by commander) so that a bad value is one line of error, not the help text. */
function parseConvertOptions(opts: ConvertOptions): {
  fps?: number;
  scale: 'cm' | 'm';
  order: EulerOrder;
  format?: MotionFormat;
} {
  let fps: number | undefined;
  if (opts.fps !== undefined) {
    fps = Number(opts.fps);
    if (!/^\d+(\.\d+)?$/.test(opts.fps) || !(fps > 0) || fps > 1000)
      throw new Error(`--fps must be a positive number of frames per second (at most 1000), got "${opts.fps}"`);
  }
  const scale = opts.scale ?? 'cm';
  if (scale !== 'cm' && scale !== 'm') throw new Error(`--scale must be "cm" or "m", got "${scale}"`);
  const order = (opts.order ?? 'ZXY').toUpperCase();
  if (!(EULER_ORDERS as readonly string[]).includes(order))
    throw new Error(`--order must be one of ${EULER_ORDERS.join(', ')}, got "${opts.order}"`);
  const format = opts.format;
  if (format !== undefined && !(MOTION_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`--format must be one of ${MOTION_FORMATS.join(', ')}, got "${format}"`);
  }
  return { fps, scale, order: order as EulerOrder, format: format as MotionFormat | undefined };
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description(
      'convert a motion between BVH, NPY (HumanML3D new_joints, T×22×3) and Charades JSON; BVH on other skeletons is retargeted',
    )
    .argument('<in>', 'input motion file (.bvh, .npy or .json; the content decides when the extension is wrong)')
    .argument('<out>', 'output motion file (.bvh, .npy or .json)')
    .option('--fps <n>', "frame rate of the output (default: 20 for BVH input, else the input's)")
    .option('--scale <unit>', 'units of a BVH output: cm (Blender and most DCC tools) or m', 'cm')
    .option('--order <xyz>', 'rotation channel order of a BVH output (XYZ, XZY, YXZ, YZX, ZXY, ZYX)', 'ZXY')
    .option('--map <name>', 'joint map of a BVH input (charades, bandai-namco, accad; default: detected)')
    .option('--format <fmt>', 'output format when OUT has another extension (bvh, npy, json)')
    .action((input: string, output: string, raw: ConvertOptions) => {
      const opts = parseConvertOptions(raw);
      const map = raw.map === undefined ? undefined : jointMapByName(raw.map);
      const motion = loadMotionFile(input, { fps: opts.fps, map });
      const format = saveMotionFile(motion, output, opts.format, { scale: opts.scale, rotationOrder: opts.order });
      const seconds = motion.numFrames / motion.fps;
      if (format === 'npy' && motion.fps !== FPS) {
        process.stderr.write(
          `note: .npy stores no frame rate and readers assume ${FPS} fps (HumanML3D); this file is ${motion.fps} fps\n`,
        );
      }
      process.stdout.write(
        `wrote ${output} (${format}, ${motion.numFrames} frames at ${motion.fps} fps, ${seconds.toFixed(2)} s)\n`,
      );
    });
}

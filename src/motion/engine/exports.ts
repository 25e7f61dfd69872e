/** Every download format of a motion in one place: BVH, GLB, NPY (T, 22, 3) and Charades JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { writeBvh } from '../bvh.js';
import type { Motion } from '../contracts.js';
import { motionToJson } from '../formats.js';
import { findNonFinite, motionToNpy } from '../npy.js';
import { motionToGlb } from './glb.js';

export const EXPORT_FORMATS = ['bvh', 'glb', 'npy', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function parseExportFormat(value: string, what = 'format'): ExportFormat {
  const v = value.toLowerCase().replace(/^\./, '');
  if (!(EXPORT_FORMATS as readonly string[]).includes(v))
    throw new Error(`${what}: unknown export format "${value}"; use one of ${EXPORT_FORMATS.join(', ')}`);
  return v as ExportFormat;
}

export function exportFormatFromPath(path: string): ExportFormat | null {
  const ext = extname(path).slice(1).toLowerCase();
  return (EXPORT_FORMATS as readonly string[]).includes(ext) ? (ext as ExportFormat) : null;
}

export const EXPORT_MIME: Record<ExportFormat, string> = {
  bvh: 'text/plain',
  glb: 'model/gltf-binary',
  npy: 'application/octet-stream',
  json: 'application/json',
};

/**
 * The file bytes of a motion. BVH is in centimetres with ZXY rotation channels (what Blender's importer
 * expects: scale 0.01 brings it back to metres; its Y-up axis choice matches ours).
 */
export async function exportMotion(motion: Motion, format: ExportFormat): Promise<Buffer> {
  const bad = findNonFinite(motion.joints);
  if (bad) throw new Error(`cannot export a motion whose joint positions contain ${bad}`);
  switch (format) {
    case 'bvh':
      return Buffer.from(writeBvh(motion), 'utf8');
    case 'glb':
      return motionToGlb(motion);
    case 'npy':
      return motionToNpy(motion);
    case 'json':
      return Buffer.from(motionToJson(motion), 'utf8');
    default:
      throw new Error(`unknown export format "${String(format)}"; use one of ${EXPORT_FORMATS.join(', ')}`);
  }
}

/** Writes a motion to `path` (format from the argument, else the extension). Returns the format used. */
export async function writeMotionExport(motion: Motion, path: string, format?: ExportFormat): Promise<ExportFormat> {
  const fmt = format ?? exportFormatFromPath(path);
  if (!fmt)
    throw new Error(
      `${path}: cannot tell the export format from the extension; use .bvh, .glb, .npy or .json (or --format)`,
    );
  const bytes = await exportMotion(motion, fmt);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return fmt;
}

/**
 * Minimal PNG plots for `charades eval` reports, with no native canvas: an RGB raster, filled rectangles, a
 * 3×5 pixel font (scaled), and a PNG encoder (zlib from node, CRC32 here). Enough for labelled bar charts.
 */
import { deflateSync } from 'node:zlib';

type Rgb = [number, number, number];

const GLYPHS: Record<string, string> = {
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  F: '111100110100100',
  G: '011100101101011',
  H: '101101111101101',
  I: '111010010010111',
  J: '001001001101010',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111111101101',
  N: '110101101101101',
  O: '010101101101010',
  P: '110101110100100',
  Q: '010101101110011',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '101101111111101',
  X: '101101010101101',
  Y: '101101010010010',
  Z: '111001010100111',
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '110001010100111',
  '3': '110001010001110',
  '4': '101101111001001',
  '5': '111100110001110',
  '6': '011100111101111',
  '7': '111001010010010',
  '8': '111101111101111',
  '9': '111101111001110',
  '.': '000000000000010',
  ',': '000000000010100',
  '-': '000000111000000',
  ':': '000010000010000',
  '%': '101001010100101',
  '/': '001001010100100',
  '(': '010100100100010',
  ')': '010001001001010',
  '=': '000111000111000',
  '+': '000010111010000',
  _: '000000000000111',
  ' ': '000000000000000',
  '>': '100010001010100',
  '<': '001010100010001',
};

export class Raster {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++)
      for (let xx = x0; xx < x1; xx++) this.pixels.set(color, (yy * this.width + xx) * 3);
  }

  /** Text in the 3×5 font at `scale` pixels per font pixel; unknown characters print as '?'-less blanks. */
  text(x: number, y: number, s: string, color: Rgb = [30, 30, 30], scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      for (let r = 0; r < 5; r++)
        for (let c = 0; c < 3; c++)
          if (g[r * 3 + c] === '1') this.rect(cx + c * scale, y + r * scale, scale, scale, color);
      cx += 4 * scale;
    }
    return cx - x;
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0;
      raw.set(this.pixels.subarray(y * this.width * 3, (y + 1) * this.width * 3), y * (this.width * 3 + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export interface BarGroup {
  label: string;
  values: number[];
}

const PALETTE: Rgb[] = [
  [90, 90, 90],
  [46, 117, 182],
  [230, 126, 34],
  [39, 174, 96],
];

/** A grouped bar chart: one group per label, one bar per series, a legend and the value range on the axis. */
export function barChart(
  title: string,
  series: string[],
  groups: BarGroup[],
  opts: { max?: number; width?: number; height?: number } = {},
): Buffer {
  const width = opts.width ?? Math.max(640, 90 + groups.length * (series.length * 14 + 16));
  const height = opts.height ?? 420;
  const img = new Raster(width, height);
  const max = opts.max ?? Math.max(1e-9, ...groups.flatMap((g) => g.values.filter(Number.isFinite)));
  const left = 60;
  const top = 40;
  const bottom = height - 110;
  img.text(10, 10, title, [0, 0, 0], 2);
  series.forEach((s, i) => {
    img.rect(width - 220, 10 + i * 14, 10, 10, PALETTE[i % PALETTE.length]);
    img.text(width - 205, 11 + i * 14, s, [0, 0, 0], 2);
  });
  img.rect(left, top, 1, bottom - top, [0, 0, 0]);
  img.rect(left, bottom, width - left - 10, 1, [0, 0, 0]);
  img.text(4, top, max.toPrecision(3), [0, 0, 0], 2);
  img.text(4, bottom - 10, '0', [0, 0, 0], 2);
  const groupW = (width - left - 20) / Math.max(groups.length, 1);
  groups.forEach((g, gi) => {
    const barW = Math.max(3, (groupW - 8) / series.length);
    g.values.forEach((v, si) => {
      const h = Number.isFinite(v) ? (Math.min(v, max) / max) * (bottom - top) : 0;
      img.rect(left + 6 + gi * groupW + si * barW, bottom - h, barW - 1, h, PALETTE[si % PALETTE.length]);
    });
    // Labels run downward, one character per line, so long action names fit under narrow groups.
    const label = g.label.slice(0, 9);
    [...label].forEach((ch, k) => img.text(left + 6 + gi * groupW, bottom + 6 + k * 11, ch, [0, 0, 0], 2));
  });
  return img.png();
}

/** A histogram of several series over shared bins. */
export function histogram(title: string, series: { name: string; values: number[] }[], bins = 10): Buffer {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const hi = Math.max(1e-9, ...all);
  const counts = series.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s.values) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor((v / hi) * bins))]++;
    return c;
  });
  const groups = Array.from({ length: bins }, (_, b) => ({
    label: ((b * hi) / bins).toFixed(2),
    values: counts.map((c) => c[b]),
  }));
  return barChart(
    `${title} (bins to ${hi.toPrecision(2)})`,
    series.map((s) => s.name),
    groups,
  );
}

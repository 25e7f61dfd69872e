import { createHash } from 'node:crypto';

/** sha256 (hex) of bytes or a string: caches, manifests and the registry all identify files this way. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

import type { Transform } from 'node:stream';
import { PgBackupError } from '../errors';
import { ageLayer } from './age';
import { lz4Layer } from './lz4';
import { gzipLayer, type KeyMaterial, type Layer, type StageAlgorithm, type StageRecord } from './stage';
import { zstdLayer } from './zstd';

/** Every layer this version reads: compression (gzip, zstd, lz4) and encryption (age). */
export const LAYERS: readonly Layer[] = [gzipLayer, zstdLayer, lz4Layer, ageLayer];

export function layerFor(algorithm: StageAlgorithm): Layer {
  const l = LAYERS.find((x) => x.algorithm === algorithm);
  if (!l) throw new PgBackupError('failed', `This version of pg-docker-backup cannot read ${algorithm} data.`);
  return l;
}

/** The layer these first bytes start, if any known one. */
export function sniffLayer(head: Buffer): Layer | undefined {
  return LAYERS.find((l) => l.sniff(head));
}

/**
 * Peels the layers a file's first bytes show, outermost first, until the content is no known layer (the
 * dump's own header) or a layer cannot be looked into without a key (age): returns the layers found and
 * the first bytes under them.
 */
export function sniffLayers(head: Buffer, maxDepth = 4): { layers: Layer[]; content: Buffer; opaque: boolean } {
  const found: Layer[] = [];
  let content = head;
  for (let i = 0; i < maxDepth; i++) {
    const l = sniffLayer(content);
    if (!l) break;
    found.push(l);
    if (!l.peek) return { layers: found, content: Buffer.alloc(0), opaque: true };
    content = l.peek(content);
  }
  return { layers: found, content, opaque: false };
}

/** The host-side decoders that undo `stages` (recorded in the order applied), outermost first. */
export function decoders(stages: readonly StageRecord[], keys: KeyMaterial = {}): Transform[] {
  return [...stages].reverse().map((s) => layerFor(s.algorithm).decoder(keys, s));
}

/** The file name suffix the stages add, in order (`.gz`, `.gz.age`). */
export function stagesExtension(stages: readonly StageRecord[]): string {
  return stages.map((s) => layerFor(s.algorithm).extension).join('');
}

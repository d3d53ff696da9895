import type * as Age from 'age-encryption' with { 'resolution-mode': 'import' };

/**
 * age-encryption is an ES module; this CommonJS code loads it on use (Node caches it; esbuild bundles
 * it into the extension and the CLI).
 */
export type AgeModule = typeof Age;

export function loadAge(): Promise<AgeModule> {
  return import('age-encryption');
}

import { layerFor } from '../pipeline/layers';
import type { KeyMaterial } from '../pipeline/stage';
import { underOpaque } from '../restore/source';
import type { BaseBackupEntry } from './baseStore';

/**
 * For an encrypted base backup: decrypts its first bytes with `keys`, so a missing or wrong key is one
 * clear error before any container or volume is made. Nothing for an unencrypted one.
 */
export async function checkBaseKeys(base: BaseBackupEntry, keys: KeyMaterial | undefined): Promise<void> {
  const stages = base.manifest.stages;
  const outer = stages[stages.length - 1];
  if (outer?.kind !== 'encrypt') return;
  await underOpaque(base.path, layerFor(outer.algorithm), keys ?? {}, outer);
}

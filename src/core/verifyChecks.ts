import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage, isPgBackupError } from './errors';
import { decoders } from './pipeline/layers';
import type { KeyMaterial, StageRecord } from './pipeline/stage';
import { execClient, firstErrorLines, type PgTarget } from './postgres/client';
import { HashingCounter } from './progress';
import { openInput, type InputSource } from './restore/input';

/** One thing a verification looked at: passed, failed, or not checked (null) with why. */
export interface VerifyCheck {
  name: 'size' | 'checksum' | 'decode' | 'structure' | 'rows' | 'restore';
  ok: boolean | null;
  detail: string;
}

const discard = () => new Writable({ highWaterMark: 1024 * 1024, write: (_c, _e, cb) => cb() });

/** sha256 and size of a whole file (only read again when the one-pass read stopped early). */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const h = new HashingCounter();
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024, signal }), h, discard());
  return { sha256: h.hash.digest('hex'), bytes: h.bytes };
}

/** Whether the undecoded stages alone can be read (a decoder throws before any byte flows, e.g. no age key). */
export function checkDecodable(stages: readonly StageRecord[], keys?: KeyMaterial): string | undefined {
  try {
    for (const d of decoders(stages, keys)) d.destroy();
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}

/** What went wrong reading a file, as the check it belongs to. */
function readFailure(e: unknown, format: InputSource['format']): VerifyCheck {
  const message = errorMessage(e);
  if (/does not match its manifest: its sha256/.test(message)) return { name: 'checksum', ok: false, detail: message };
  // A missing or wrong key says nothing about the file: not checked (ok null), never recorded as a failure.
  if (isPgBackupError(e, 'refused') && / is encrypted /.test(message)) return { name: 'decode', ok: null, detail: message };
  if (format === 'sql' && (isPgBackupError(e, 'refused') || /is incomplete:/.test(message))) return { name: 'structure', ok: false, detail: message };
  return { name: 'decode', ok: false, detail: message };
}

/**
 * Reads the file ONCE: the bytes go through the hash (against the manifest's sha256), every stage's
 * decoder to its end (gzip CRC and length, and whatever layers the registry knows), and then the dump's
 * structure: a plain script through the meta-command check and pg_dump's last line; a custom archive into
 * `pg_restore -f /dev/null` in `restoreIn` (it reads every data block; `--list` would read only the table of
 * contents). Returns the checks that failed (none: all good) and what was checked.
 */
export async function readAndCheck(
  docker: DockerClient,
  src: InputSource & { sizeBytes: number },
  restoreIn: PgTarget | undefined,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<VerifyCheck[]> {
  const input = openInput(src, onBytes, signal);
  if (src.format === 'sql' || !restoreIn) {
    await pipeline(input.stream, discard()).catch(() => undefined);
    const e = await input.done.then(() => undefined, (x: unknown) => x);
    if (signal?.aborted) throw new PgBackupError('cancelled', `Verifying ${src.fileName} was cancelled.`);
    return e ? [readFailure(e, src.format)] : [];
  }
  const argv = ['pg_restore', '-f', '/dev/null'];
  let r;
  try {
    r = await execClient(docker, restoreIn, argv, { stdin: input.stream, stdout: discard(), signal, what: 'Checking the archive' });
  } catch (e) {
    input.stop();
    const readError = await input.done.then(() => undefined, (x: unknown) => x);
    if (readError) return [readFailure(readError, 'custom')];
    throw e;
  }
  if (r.exitCode !== 0) input.stop();
  const readError = await input.done.then(() => undefined, (x: unknown) => x);
  if (readError) return [readFailure(readError, 'custom')];
  if (r.exitCode !== 0 || /\berror:/i.test(r.stderr)) {
    return [{ name: 'structure', ok: false, detail: `pg_restore in ${restoreIn.containerName} cannot read ${src.fileName}: ${firstErrorLines(r.stderr, 2) || `exit code ${r.exitCode}`}` }];
  }
  return [];
}

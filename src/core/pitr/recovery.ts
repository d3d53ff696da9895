import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerMount, DockerClient } from '../docker/client';
import { PgBackupError, errorMessage, throwIfAborted } from '../errors';
import type { Operation } from '../operation';
import { decoders } from '../pipeline/layers';
import type { KeyMaterial } from '../pipeline/stage';
import { queryJson, type PgTarget } from '../postgres/client';
import { ChecksumCheck } from '../restore/input';
import type { ArchiveLocation } from './archive';
import type { BaseBackupEntry } from './baseStore';
import { readRecoveryLog, recoveryFailure } from './recoveryLog';

export const LABEL_RECOVERY = 'pg-docker-backup.pitr-recovery';
export const LABEL_RECOVERY_DATABASE = 'pg-docker-backup.pitr-database';
/** Where the live archive is mounted (read-only) in the recovery container. */
export const ARCHIVE_MOUNT = '/var/lib/pg-docker-backup-archive';

export type RecoveryTargetSetting = { kind: 'time'; value: string } | { kind: 'lsn'; value: string } | { kind: 'name'; value: string };

export interface RecoverySpec {
  name: string;
  image: string;
  /** The live container's data directory (its PGDATA). */
  pgdata: string;
  archive: ArchiveLocation;
  /** The live server's own `-c` flags (max_connections…), kept: hot standby refuses lower ones. */
  liveServerArgs: string[];
  target: RecoveryTargetSetting;
  labels: Record<string, string>;
}

/** The server flags of the recovery container (pure: unit-tested). */
export function recoveryServerArgs(spec: Pick<RecoverySpec, 'archive' | 'liveServerArgs' | 'target'>): string[] {
  const dir = [ARCHIVE_MOUNT, spec.archive.relative].filter(Boolean).join('/');
  const setting = { time: 'recovery_target_time', lsn: 'recovery_target_lsn', name: 'recovery_target_name' }[spec.target.kind];
  return [
    ...spec.liveServerArgs,
    '-c', `restore_command=cp '${dir}/%f' '%p'`,
    '-c', `${setting}=${spec.target.value}`,
    '-c', 'recovery_target_action=promote',
    '-c', 'recovery_target_inclusive=true',
    '-c', 'archive_mode=off',
    '-c', "archive_command=",
    '-c', "listen_addresses=",
  ];
}

/** A temporary recovery container and its data volume; `remove()` takes both away (never throws). */
export interface RecoveryContainer {
  name: string;
  volume: string;
  target: PgTarget;
  remove(): Promise<string[]>;
}

const HELPER_SCRIPT = 'trap "exit 0" TERM INT; while :; do sleep 1; done';
/** `sh -c` run in the helper after the tar: $1 PGDATA. */
const PREPARE_SCRIPT = 'set -e; rm -f "$1/standby.signal" "$1/postmaster.pid"; touch "$1/recovery.signal"; chown -R postgres:postgres "$1" 2>/dev/null || true; chmod 700 "$1"';

async function removeAll(docker: DockerClient, names: string[], volume: string): Promise<string[]> {
  const left: string[] = [];
  for (const n of names) {
    await docker.removeContainer(n, { force: true, removeVolumes: true }).catch((e: unknown) => {
      if (!/no such container|not found/i.test(errorMessage(e))) left.push(`container ${n} (${errorMessage(e)})`);
    });
  }
  await docker.removeVolume(volume, { force: true }).catch((e: unknown) => left.push(`volume ${volume} (${errorMessage(e)})`));
  return left;
}

/** The stored bytes of the base backup, checked against its manifest and decoded down to what tar reads. */
function baseInput(base: BaseBackupEntry, keys: KeyMaterial | undefined, inContainerGzip: boolean, signal?: AbortSignal): { stream: Readable; done: Promise<void> } {
  const stages = inContainerGzip ? base.manifest.stages.slice(0, -1) : base.manifest.stages;
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const done = pipeline([createReadStream(base.path, { highWaterMark: 1024 * 1024, signal }), new ChecksumCheck(base.fileName, base.manifest.sha256), ...decoders(stages, keys), out]);
  done.catch(() => undefined);
  return { stream: out, done };
}

/** Creates the volume and unpacks the base backup into it through a short-lived helper container. */
async function unpackBase(docker: DockerClient, spec: RecoverySpec, base: BaseBackupEntry, helper: string, op: Operation, keys?: KeyMaterial): Promise<void> {
  await docker.createVolume(spec.name, { labels: spec.labels });
  await docker.createContainer({ name: helper, image: spec.image, entrypoint: ['sh', '-c', HELPER_SCRIPT], labels: spec.labels, mounts: [{ type: 'volume', source: spec.name, target: spec.pgdata }] });
  await docker.startContainer(helper);
  const stages = base.manifest.stages;
  const gz = stages.length > 0 && stages[stages.length - 1].algorithm === 'gzip' && stages[stages.length - 1].where === 'container';
  op.progress.step('unpack', `Unpacking ${base.fileName} into a fresh volume`);
  const input = baseInput(base, keys, gz, op.signal);
  const r = await docker.exec(helper, ['tar', gz ? '-xzf' : '-xf', '-', '-C', spec.pgdata], { stdin: input.stream, user: 'root', signal: op.signal, what: 'Unpacking the base backup' });
  await input.done;
  if (r.exitCode !== 0) throw new PgBackupError('failed', `Unpacking ${base.fileName} failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`, { detail: r.stderr });
  const p = await docker.exec(helper, ['sh', '-c', PREPARE_SCRIPT, 'sh', spec.pgdata], { user: 'root', what: 'Preparing the recovery' });
  if (p.exitCode !== 0) throw new PgBackupError('failed', `Preparing the recovery failed: ${p.stderr.trim()}`);
  await docker.removeContainer(helper, { force: true });
}

async function logText(docker: DockerClient, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await docker.logs(name, { tail: 2000 })) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the recovery server and waits until it reached the target and promoted (or stopped: its log
 * says why). Progress shows the WAL segment being replayed.
 */
async function awaitRecovery(docker: DockerClient, spec: RecoverySpec, target: PgTarget, targetText: string, op: Operation, timeoutMs: number): Promise<{ stoppedAt?: string; replayedUpTo?: string; segments: number }> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    throwIfAborted(op.signal, 'The recovery');
    const [state, log] = await Promise.all([docker.inspectContainer(spec.name).then((c) => c.state, () => 'gone'), logText(docker, spec.name).catch(() => '')]);
    const s = readRecoveryLog(log);
    const msg = s.lastRestored ? `Replaying WAL: segment ${s.lastRestored} (${s.restoredCount} restored from the archive)` : 'Starting the recovery server';
    if (msg !== shown) op.progress.step('replay', (shown = msg));
    if (state !== 'running' || s.fatal) {
      throw new PgBackupError('failed', `${recoveryFailure(s, targetText, spec.archive.description)} The live database was not touched.`, { detail: log.split('\n').slice(-40).join('\n') });
    }
    if (s.ready) {
      const ok = await queryJson<boolean>(docker, target, 'postgres', 'SELECT to_json(NOT pg_is_in_recovery())', 'checking the recovery', op.signal).catch(() => false);
      if (ok) return { stoppedAt: s.stoppedAt, replayedUpTo: s.lastRestored, segments: s.restoredCount };
    }
    if (Date.now() > deadline) throw new PgBackupError('failed', `The recovery did not reach ${targetText} within ${Math.round(timeoutMs / 60000)} min (last segment ${s.lastRestored ?? 'none'}); the live database was not touched.`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * A temporary container of the live one's image, started from a base backup with the live archive mounted
 * read-only, replaying to the target. On any failure (cancel included) it is removed before this rejects.
 */
export async function startRecoveryContainer(
  docker: DockerClient,
  spec: RecoverySpec,
  base: BaseBackupEntry,
  access: Pick<PgTarget, 'user' | 'password'>,
  targetText: string,
  op: Operation,
  options: { keys?: KeyMaterial; timeoutMs?: number } = {},
): Promise<RecoveryContainer & { stoppedAt?: string; replayedUpTo?: string; segments: number }> {
  const helper = `${spec.name}-unpack`;
  const target: PgTarget = { container: spec.name, containerName: spec.name, user: access.user, password: access.password, osUser: 'postgres' };
  const remove = () => removeAll(docker, [spec.name, helper], spec.name);
  try {
    await unpackBase(docker, spec, base, helper, op, options.keys);
    const m = spec.archive.mount!;
    const mounts: ContainerMount[] = [
      { type: 'volume', source: spec.name, target: spec.pgdata },
      { type: m.type as 'volume' | 'bind', source: m.type === 'volume' ? m.name ?? m.source : m.source, target: ARCHIVE_MOUNT, readOnly: true },
    ];
    await docker.createContainer({ name: spec.name, image: spec.image, labels: spec.labels, cmd: ['postgres', ...recoveryServerArgs(spec)], mounts });
    op.progress.step('replay', `Starting the recovery container ${spec.name}`);
    await docker.startContainer(spec.name);
    const reached = await awaitRecovery(docker, spec, target, targetText, op, options.timeoutMs ?? 60 * 60_000);
    return { name: spec.name, volume: spec.name, target, remove, ...reached };
  } catch (e) {
    const left = await remove();
    if (left.length) op.log.error(`could not remove ${left.join(', ')}`);
    throw e;
  }
}

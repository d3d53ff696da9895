import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HostStage } from '../backup/backupDatabase';
import { manifestOrigin, type BaseBackupManifest } from '../backup/manifest';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import { stagesExtension } from '../pipeline/layers';
import { diskError, openLocalFileSink, type BackupSink } from '../pipeline/sink';
import type { StageRecord } from '../pipeline/stage';
import { clientError, execClient, queryJson } from '../postgres/client';
import { openServer } from '../postgres/server';
import { HashingCounter, formatBytes } from '../progress';
import { archiveDirFromCommand } from './archive';
import { archivingProblems, readArchivingSettings } from './facts';
import { BASE_FOLDER } from './baseStore';
import { parseBaseBackupLog, parseLsn, walFilesBetween } from './wal';

export interface BaseBackupOptions extends OperationContext {
  container: string;
  dir: string;
  /** gzip level for pg_basebackup's own compression in the container (0: none). Default 1. */
  compressionLevel?: number;
  /** Stages on this machine after the container's (e.g. encryption). */
  hostStages?: HostStage[];
  sink?: (o: { container: string; database: string; extension: `.${string}`; created: Date }) => Promise<BackupSink>;
}

export interface BaseBackupResult {
  path: string;
  bytes: number;
  manifest: BaseBackupManifest;
}

/**
 * pg_basebackup in tar format to stdout: `-X fetch` puts the WAL the backup needs into the tar (WAL
 * streaming cannot go to stdout), `-c fast` starts at once, `-v` prints the WAL start and end read back here.
 */
export function baseBackupArgv(user: string, level: number): string[] {
  return ['pg_basebackup', '-w', '-U', user, '-D', '-', '-Ft', '-X', 'fetch', '-c', 'fast', '-v', `-Z${level}`, '--label', 'pg-docker-backup'];
}

/**
 * Takes a base backup of a container's whole cluster for point-in-time recovery: pg_basebackup (gzip in
 * the container) → host stages → the same sink as any backup (`DIR/<container>/_base/`, `.partial`,
 * fsynced, renamed), with a manifest of kind `base`. Refused when WAL archiving is off: a base backup alone
 * cannot reach any point in time but its own end.
 */
export async function takeBaseBackup(docker: DockerClient, options: BaseBackupOptions): Promise<BaseBackupResult> {
  const op = beginOperation(options);
  const level = options.compressionLevel ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new PgBackupError('usage', `The compression level must be a whole number from 0 to 9 (got ${level}).`);
  op.progress.step('prepare', `Inspecting ${options.container}`);
  const { server } = await openServer(docker, options.container, op);
  const { target, container } = server;
  const settings = await readArchivingSettings(docker, target, server.maintenanceDb, op.signal);
  const problems = archivingProblems(settings);
  if (problems.length) {
    throw new PgBackupError('refused', `WAL archiving is not set up in ${container.name} (${problems.join('; ')}): a base backup alone cannot recover to a point in time. See \`pg-docker-backup pitr enable ${container.name}\`. Nothing was written.`);
  }
  if (settings.inRecovery) throw new PgBackupError('refused', `${container.name} is a standby (in recovery): take the base backup on its primary. Nothing was written.`);
  const hostStages = options.hostStages ?? [];
  const stages: StageRecord[] = [...(level > 0 ? [{ kind: 'compress', algorithm: 'gzip', level, where: 'container' } as StageRecord] : []), ...hostStages.map((s) => s.record)];
  const created = op.now();
  const extension = `.tar${stagesExtension(stages)}` as `.${string}`;
  const sink = await (options.sink ?? ((o) => openLocalFileSink({ dir: options.dir, ...o })))({ container: container.name, database: BASE_FOLDER, extension, created });
  op.log.info(`base backup ${container.name} → ${sink.location}`);
  op.progress.step('dump', `Taking a base backup of ${container.name} (pg_basebackup)`);
  const started = Date.now();
  try {
    const counter = new HashingCounter((b) => op.progress.bytes(b, undefined, started));
    const entry = new PassThrough({ highWaterMark: 1024 * 1024 });
    const toSink = pipeline([entry, ...hostStages.map((s) => s.transform()), counter, sink.stream]);
    toSink.catch(() => undefined);
    const argv = baseBackupArgv(target.user, level);
    const result = await execClient(docker, target, argv, { stdout: entry, signal: op.signal, what: 'The base backup' });
    await toSink;
    if (result.exitCode !== 0) throw clientError(target, 'pg_basebackup', result, 'Taking a base backup');
    const wal = parseBaseBackupLog(result.stderr);
    if (!wal) throw new PgBackupError('failed', `pg_basebackup in ${container.name} did not report its WAL start and end.`, { detail: result.stderr });
    const consistentAt = await queryJson<string>(docker, target, server.maintenanceDb, 'SELECT to_json(statement_timestamp())', 'reading the server time', op.signal);
    const manifest: BaseBackupManifest = {
      ...manifestOrigin(container),
      kind: 'base',
      file: sink.fileName,
      serverVersion: server.info.version,
      systemIdentifier: settings.systemIdentifier,
      timeline: wal.timeline,
      startLsn: wal.startLsn,
      endLsn: wal.endLsn,
      walSegmentBytes: settings.walSegmentBytes,
      walFiles: walFilesBetween(wal.timeline, parseLsn(wal.startLsn), parseLsn(wal.endLsn), settings.walSegmentBytes),
      archiveDir: archiveDirFromCommand(settings.archiveCommand),
      format: 'tar',
      stages,
      bytes: counter.bytes,
      sha256: counter.hash.digest('hex'),
      created: created.toISOString(),
      consistentAt: new Date(consistentAt).toISOString(),
      durationMs: Date.now() - started,
    };
    await sink.commit(manifest);
    op.progress.step('done', `Base backup of ${container.name} written to ${path.basename(sink.location)} (${formatBytes(counter.bytes)}; WAL ${wal.startLsn} to ${wal.endLsn})`);
    return { path: sink.location, bytes: counter.bytes, manifest };
  } catch (e) {
    await sink.abort();
    op.log.info(`base backup of ${container.name} failed; removed its partial file: ${errorMessage(e)}`);
    throw diskError(e, path.dirname(sink.location)) ?? e;
  }
}

import { lockDatabase } from '../databases/lock';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { tableRowCounts, type TableCount } from '../backup/pgDump';
import type { KeyMaterial } from '../pipeline/stage';
import { queryJson, type PgTarget } from '../postgres/client';
import { attachServer, attachedServer, openServer, type PgServer } from '../postgres/server';
import { executeFromContainer, planFromContainer, type FromContainerPlan, type FromContainerResult } from '../restore/fromContainer';
import { timestamp } from '../store/naming';
import { archiveReadable, type ArchiveLocation } from './archive';
import { checkBaseKeys } from './baseKeys';
import { listBaseBackups, type BaseBackupEntry } from './baseStore';
import { archiveLocation, archivedRestorePoints, archivingProblems, lastArchivedCommit, listArchive, readArchivingSettings } from './facts';
import { LABEL_RECOVERY_OWNER, ownerLabel } from './orphans';
import { LABEL_RECOVERY, LABEL_RECOVERY_DATABASE, startRecoveryContainer, type RecoverySpec } from './recovery';
import { usableBaseBackups } from './status';
import { chooseBaseBackup, parseTargetRequest, type PitrTarget } from './target';
import { formatBoth } from './time';
import { forceArchivedSwitch } from './switch';

export interface PitrRestoreOptions extends OperationContext {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  dir: string;
  time?: string | Date;
  lsn?: string;
  restorePoint?: string;
  stop?: string[];
  dropPrevious?: boolean;
  /** How long the WAL switch may take to be archived (60 s). */
  archiveTimeoutMs?: number;
  /** How long replay may take (1 h). */
  recoveryTimeoutMs?: number;
  keys?: KeyMaterial;
}

export interface PitrRestorePlan {
  container: { id: string; name: string; protected: boolean };
  database: string;
  target: PitrTarget;
  window: { from: string; to: string };
  base: BaseBackupEntry;
  archive: ArchiveLocation;
  recovery: RecoverySpec;
  move: FromContainerPlan;
  steps: string[];
}

export interface PitrRestoreResult {
  plan: PitrRestorePlan;
  /** What the recovery server logged where it stopped (`recovery stopping before commit …`). */
  stoppedAt?: string;
  /** The last transaction replayed (pg_last_xact_replay_timestamp), ISO. */
  lastReplayed?: string;
  segmentsReplayed: number;
  tables: TableCount[];
  move: FromContainerResult;
  durationMs: number;
  /** Anything the clean-up could not remove. */
  warnings: string[];
}

/** The live server's own flags (after `postgres`), to start the recovery server like it. */
function serverFlags(cmd: readonly string[]): string[] {
  if (cmd[0] === 'postgres') return cmd.slice(1);
  return cmd[0]?.startsWith('-') ? [...cmd] : [];
}

/** What the plan's facts are before the WAL switch; refuses what is outside the window already. */
async function gather(docker: DockerClient, options: PitrRestoreOptions, op: Operation) {
  const target = parseTargetRequest(options);
  const { server } = await openServer(docker, options.container, op, { withApps: true, nothingChanged: true });
  const name = server.container.name;
  const settings = await readArchivingSettings(docker, server.target, server.maintenanceDb, op.signal);
  const problems = archivingProblems(settings);
  if (problems.length) throw new PgBackupError('refused', `WAL archiving is not set up in ${name} (${problems.join('; ')}): there is nothing to recover from. See \`pg-docker-backup pitr enable ${name}\`. Nothing was changed.`);
  const archive = await archiveLocation(docker, server.container.id, settings);
  if (!archive || !archiveReadable(archive)) throw new PgBackupError('refused', `The WAL archive of ${name} is ${archive?.description ?? 'unknown'}: a recovery container can only read an archive on a volume or host folder. Nothing was changed.`);
  const bases = usableBaseBackups(await listBaseBackups(options.dir, name), settings);
  const now = op.now();
  // Before anything happens: a target that no archive can bring into the window.
  if (target.kind !== 'name') chooseBaseBackup(target, { bases, now, lastCommit: { time: now, lsn: 'FFFFFFFF/FFFFFFFF' } });
  else chooseBaseBackup({ ...target, kind: 'lsn', lsn: 'FFFFFFFF/FFFFFFFF' }, { bases, now });
  return { target, server, settings, archive, bases, now };
}

/**
 * Plans a point-in-time recovery of one database: refuses a target outside the recoverable window, forces
 * a WAL switch and waits until it is archived (so the target is covered), picks the base backup, and plans
 * the recovery container and the move into the live container. Changes no data.
 */
export async function planPitrRestore(docker: DockerClient, options: PitrRestoreOptions): Promise<PitrRestorePlan> {
  const op = beginOperation(options);
  const { target, server, settings, archive, bases, now } = await gather(docker, options, op);
  const c = server.container;
  op.progress.step('prepare', `Switching to a new WAL segment in ${c.name} and waiting until it is archived`);
  await forceArchivedSwitch(docker, server, op, options.archiveTimeoutMs ?? 60_000);
  const names = await listArchive(docker, server.target, archive.dir, op.signal);
  const lastCommit = await lastArchivedCommit(docker, server.target, archive.dir, names, op.signal);
  let restorePointLsn: string | undefined;
  if (target.kind === 'name') {
    const first = bases[0].manifest.walFiles[0];
    const points = await archivedRestorePoints(docker, server.target, archive.dir, names.filter((n) => n >= first), op.signal);
    restorePointLsn = points.filter((p) => p.name === target.name).pop()?.lsn;
  }
  const base = chooseBaseBackup(target, { bases, now, lastCommit, restorePointLsn });
  await checkBaseKeys(base, options.keys);
  const database = options.database ?? c.defaultDatabase;
  const details = await docker.inspectContainer(c.id);
  const recoveryName = `${c.name}-pitr-${timestamp(now).replace('_', '-')}`;
  const move = await planFromContainer(docker, { container: recoveryName, database, description: `the recovery container ${recoveryName} (${target.text})` }, { ...options, to: c.id, database });
  const recovery: RecoverySpec = {
    name: recoveryName,
    image: c.image,
    pgdata: details.env.PGDATA || '/var/lib/postgresql/data',
    archive,
    liveServerArgs: serverFlags(details.cmd),
    target: target.setting,
    labels: { 'pg-docker-backup.enable': 'false', [LABEL_RECOVERY]: c.name, [LABEL_RECOVERY_DATABASE]: database, [LABEL_RECOVERY_OWNER]: ownerLabel() },
  };
  const steps = [
    `Recover to ${target.text}${target.kind === 'name' ? ` (at ${restorePointLsn})` : ''}; the recoverable window is ${formatBoth(new Date(bases[0].manifest.consistentAt))} to ${lastCommit ? formatBoth(lastCommit.time) : '?'}.`,
    `Start a temporary recovery container ${recoveryName} (${c.image}) from the base backup ${base.fileName} (consistent at ${formatBoth(new Date(base.manifest.consistentAt))}), reading the archive (${archive.description}) read-only, with archiving off.`,
    'Replay the WAL to the target and check that recovery stopped there; show row counts.',
    ...move.steps,
    `Remove ${recoveryName} and its volume (whatever happens).`,
  ];
  const plan: PitrRestorePlan = {
    container: { id: c.id, name: c.name, protected: c.protected },
    database,
    target,
    window: { from: bases[0].manifest.consistentAt, to: lastCommit?.time.toISOString() ?? '' },
    base,
    archive,
    recovery,
    move,
    steps,
  };
  return attachServer(plan, server);
}

/** Recovery containers of this container and database left by a run that was killed (we hold the lock). */
async function removeStaleRecoveries(docker: DockerClient, live: string, database: string, op: Operation): Promise<void> {
  const all = await docker.listContainers();
  const stale = all.filter((c) => c.labels[LABEL_RECOVERY] === live && c.labels[LABEL_RECOVERY_DATABASE] === database);
  for (const c of stale) await docker.removeContainer(c.id, { force: true, removeVolumes: true }).catch((e: unknown) => op.log.warn(`could not remove ${c.name}: ${errorMessage(e)}`));
  // By database label and by name (the live container's): another database's recovery may be under way.
  for (const v of await docker.listVolumes(`${LABEL_RECOVERY_DATABASE}=${database}`).catch(() => [] as string[])) {
    if (v.startsWith(`${live}-pitr-`)) await docker.removeVolume(v, { force: true }).catch((e: unknown) => op.log.warn(`could not remove volume ${v}: ${errorMessage(e)}`));
  }
}

async function recoveredFacts(docker: DockerClient, target: PgTarget, database: string, op: Operation): Promise<{ tables: TableCount[]; lastReplayed?: string }> {
  const names = await queryJson<string[]>(docker, target, 'postgres', "SELECT json_agg(datname) FROM pg_database WHERE NOT datistemplate", 'listing the recovered databases', op.signal);
  if (!names.includes(database)) throw new PgBackupError('failed', `There was no database "${database}" at the recovery target (it had: ${names.join(', ')}); the live database was not touched.`);
  const lastReplayed = await queryJson<string | null>(docker, target, 'postgres', 'SELECT to_json(pg_last_xact_replay_timestamp())', 'reading the last replayed transaction', op.signal);
  const tables = await tableRowCounts(docker, target, database, true, op.signal);
  return { tables, lastReplayed: lastReplayed ? new Date(lastReplayed).toISOString() : undefined };
}

/**
 * Runs the plan: lock the database, start the recovery container (unpack, replay, check), copy the
 * database into the live container through the safe path, and remove the recovery container and its
 * volume whatever happens (cancel included).
 */
export async function executePitrRestore(docker: DockerClient, plan: PitrRestorePlan, options: OperationContext & Pick<PitrRestoreOptions, 'recoveryTimeoutMs' | 'keys'> = {}): Promise<PitrRestoreResult> {
  const op = beginOperation(options);
  const started = Date.now();
  const server: PgServer = attachedServer(plan) ?? (await openServer(docker, plan.container.id, op)).server;
  op.log.info(`point-in-time recovery plan:\n  ${plan.steps.join('\n  ')}`);
  const lock = await lockDatabase(server, plan.database, 'point-in-time recovery', op.log, op.now());
  const warnings: string[] = [];
  let rec: Awaited<ReturnType<typeof startRecoveryContainer>> | undefined;
  try {
    await removeStaleRecoveries(docker, plan.container.name, plan.database, op);
    rec = await startRecoveryContainer(docker, plan.recovery, plan.base, server.target, plan.target.text, op, { keys: options.keys, timeoutMs: options.recoveryTimeoutMs });
    const facts = await recoveredFacts(docker, rec.target, plan.database, op);
    op.progress.step('check', `Recovered "${plan.database}" as of ${facts.lastReplayed ? formatBoth(new Date(facts.lastReplayed)) : plan.target.text}: ${facts.tables.map((t) => `${t.name} ${t.rows}`).join(', ') || 'no tables'}`);
    const move = await executeFromContainer(docker, plan.move, { target: rec.target, database: plan.database, description: plan.move.source.description }, { ...options, lockHeld: true });
    warnings.push(...move.warnings);
    op.progress.step('done', `Recovered "${plan.database}" in ${plan.container.name} to ${plan.target.text}${move.keptPrevious ? `; the previous database is kept as "${move.keptPrevious}"` : ''}`);
    return { plan, stoppedAt: rec.stoppedAt, lastReplayed: facts.lastReplayed, segmentsReplayed: rec.segments, tables: facts.tables, move, durationMs: Date.now() - started, warnings };
  } finally {
    if (rec) {
      const left = await rec.remove();
      if (left.length) warnings.push(`Could not remove ${left.join(', ')}: remove it with docker rm -f / docker volume rm.`);
    }
    await lock.release();
  }
}

/** Plans and runs; `confirm` sees the plan first and may decline (nothing changes then). */
export async function pitrRestore(docker: DockerClient, options: PitrRestoreOptions & { confirm?: (plan: PitrRestorePlan) => Promise<boolean> }): Promise<PitrRestoreResult | undefined> {
  const plan = await planPitrRestore(docker, options);
  if (options.confirm && !(await options.confirm(plan))) return undefined;
  return executePitrRestore(docker, plan, options);
}

import { rowCountSql } from './backup/snapshot';
import type { BackupManifest } from './backup/manifest';
import { lockDatabase } from './databases/lock';
import { sideDatabaseName } from './databases/sideDatabases';
import { PgBackupError, errorMessage, isPgBackupError, throwIfAborted } from './errors';
import type { Operation } from './operation';
import { createDatabaseLikeSql, dropDatabaseSql } from './postgres/admin';
import { queryJson } from './postgres/client';
import type { PgServer } from './postgres/server';
import { checkLoaderRun, runStreamingLoader } from './restore/loaders';
import type { InputSource } from './restore/input';
import { chooseLoader } from './restore/plan';
import type { VerifyCheck } from './verifyChecks';
import { compareRowCounts, describeComparison } from './verifyPlan';

export interface DeepVerifyOutcome {
  scratchDatabase: string;
  checks: VerifyCheck[];
  /** False when the scratch database could not be dropped (named in a warning). */
  dropped: boolean;
}

/**
 * Restores the backup into a throwaway database `<db>__verify_<ts>` (holding the lock of that name, so
 * that `cleanup` leaves it alone while it runs), counts every table's rows there and compares them with
 * the manifest, then drops it again whatever happened (a failure, a cancellation). No other database is
 * touched.
 */
export async function deepVerify(server: PgServer, src: InputSource & { sizeBytes: number }, manifest: BackupManifest | undefined, database: string, op: Operation): Promise<DeepVerifyOutcome> {
  const scratch = sideDatabaseName(database, 'verify', op.now());
  const lock = await lockDatabase(server, scratch, 'verify', op.log, op.now());
  const checks: VerifyCheck[] = [];
  let dropping: Promise<boolean> | undefined;
  // Without the operation's signal: a cancelled verify still drops what it made (FORCE ends a loader still in it).
  const drop = () =>
    (dropping ??= server.admin([dropDatabaseSql(scratch, server.info.major)], `dropping ${scratch}`).then(
      () => true,
      (e: unknown) => {
        op.log.error(`could not drop the scratch database ${scratch} in ${server.container.name}: ${errorMessage(e)}; \`pg-docker-backup cleanup ${server.container.name}\` removes it`);
        return false;
      },
    ));
  try {
    op.progress.step('prepare', `Creating "${scratch}" in ${server.container.name}`);
    // Not cancelled half-way: an abandoned CREATE could commit after the DROP below.
    await server.admin(createDatabaseLikeSql(undefined, scratch), `creating ${scratch}`);
    op.progress.step('restore', `Restoring ${src.fileName} into "${scratch}"`);
    const loader = chooseLoader(src, 1);
    const run = await runStreamingLoader(server.docker, server.target, src, scratch, op, loader, server.container.name);
    throwIfAborted(op.signal, 'The verify');
    try {
      checkLoaderRun(run, loader, server.container.name);
      checks.push({ name: 'restore', ok: true, detail: `restored into "${scratch}" in ${server.container.name}` });
    } catch (e) {
      checks.push({ name: 'restore', ok: false, detail: `the restore into a scratch database in ${server.container.name} failed: ${errorMessage(e)}` });
      return { scratchDatabase: scratch, checks, dropped: await drop() };
    }
    op.progress.step('count', `Counting rows in "${scratch}"`);
    const restored = await queryJson<{ schema: string; name: string; rows: number }[]>(server.docker, server.target, scratch, rowCountSql(undefined), 'counting the restored rows', op.signal);
    const cmp = compareRowCounts(manifest?.tables, restored);
    checks.push({ name: 'rows', ok: !manifest ? null : cmp.mismatched.length === 0, detail: describeComparison(cmp, !!manifest) });
    return { scratchDatabase: scratch, checks, dropped: await drop() };
  } catch (e) {
    if (isPgBackupError(e, 'cancelled') || op.signal?.aborted) {
      const dropped = await drop();
      throw new PgBackupError('cancelled', `Verifying ${src.fileName} was cancelled; ${dropped ? `its scratch database "${scratch}" was dropped` : `its scratch database "${scratch}" is left (Docker did not answer): \`pg-docker-backup cleanup ${server.container.name}\` removes it`}.`);
    }
    // The file's own error (damaged, cut off) is a verdict on the backup, not a failure of the check.
    if (/does not match its manifest|is damaged|is incomplete|line \d+:/.test(errorMessage(e))) {
      checks.push({ name: 'restore', ok: false, detail: errorMessage(e) });
      return { scratchDatabase: scratch, checks, dropped: await drop() };
    }
    throw e;
  } finally {
    await drop();
    await lock.release();
  }
}

import { PassThrough, Readable, Writable } from 'node:stream';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import type { Operation } from '../operation';
import type { ExecResult } from '../docker/client';
import { dbConninfo, execClient } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import type { KeyMaterial } from '../pipeline/stage';
import { openInput } from './input';
import { extractIntoContainer, failingStatement, withList } from './loaders';
import { ARCHIVE_DIR, archivePrefix } from '../databases/leftovers';
import { removeTempFolder } from '../postgres/containerTemp';
import type { RestorePlan } from './plan';
import { PlainSqlCheck } from './plainSqlCheck';
import { replacePostamble, replacePreamble, restoreList } from './selective';
import type { SelectionPlan } from './selectivePlan';

/** pg_restore writing the archive's selected data entries as SQL into `script`, and how to finish with its input. */
export interface Producer {
  producing: Promise<ExecResult>;
  /** Stops the input (custom) or removes the unpacked dump (directory); resolves to an error reading the backup file, if any. */
  finish: () => Promise<unknown>;
}

/**
 * Custom archive: streamed in on stdin. Directory dump: its tar unpacked into a temporary folder in the container
 * first (nothing has changed yet when that fails), pg_restore reading the folder, the folder removed by `finish`.
 */
async function startProducer(server: PgServer, plan: RestorePlan, op: Operation, o: { keys?: KeyMaterial; tempDir?: string; script: Writable; signal: AbortSignal }): Promise<Producer> {
  const { docker, target } = server;
  const started = Date.now();
  const src = { path: plan.backup.path, fileName: plan.backup.fileName, format: plan.backup.format, stages: plan.backup.stages, sha256: plan.backup.sha256, keys: o.keys };
  const onBytes = (n: number) => op.progress.bytes(n, plan.backup.sizeBytes, started);
  const pgRestore = ['pg_restore', '-f', '-', '--data-only'];
  const list = { list: restoreList(plan.selection!.listIds) };
  if (plan.backup.format !== 'directory') {
    const input = openInput(src, onBytes, op.signal);
    const producing = execClient(docker, target, withList(pgRestore, list), { stdin: input.stream, stdout: o.script, signal: o.signal, what: 'Reading the tables from the archive' });
    return { producing, finish: async () => (input.stop(), input.done.then(() => undefined, (e: unknown) => e)) };
  }
  const copy = await extractIntoContainer(docker, target, { ...src, sizeBytes: plan.backup.sizeBytes }, o.tempDir ?? ARCHIVE_DIR, archivePrefix(plan.database), onBytes, op.signal);
  const remove = async () => {
    const why = await removeTempFolder(docker, target, copy.file);
    if (why !== undefined) op.log.warn(`could not remove the temporary folder ${copy.file} in ${plan.container.name} (${why}): \`pg-docker-backup cleanup ${plan.container.name}\` removes it`);
  };
  if (copy.fatal || copy.failure) {
    await remove();
    o.script.end();
    if (copy.fatal) throw copy.fatal;
    throw new PgBackupError('failed', `Could not unpack ${plan.backup.fileName} into a temporary folder in ${plan.container.name} (${copy.failure}): free space there or choose another folder in the container (--temp-dir DIR). Nothing was changed in "${plan.database}".`);
  }
  const producing = execClient(docker, target, withList([...pgRestore, '--', copy.file], list), { stdout: o.script, signal: o.signal, what: 'Reading the tables from the dump' });
  return { producing, finish: async () => (await producing.catch(() => undefined), await remove(), undefined) };
}

/** Starts the producer of the rows' SQL (pg_restore -f - --data-only in the target container) into `script`. */
export type StartProducer = (script: Writable, signal: AbortSignal) => Promise<Producer>;

/** --replace-tables from a backup file (custom archive or directory dump). */
export async function replaceTables(server: PgServer, plan: RestorePlan, op: Operation, keys: KeyMaterial | undefined, tempDir?: string): Promise<void> {
  await replaceRows(server, plan.database, plan.selection!, plan.backup.fileName, (script, signal) => startProducer(server, plan, op, { keys, tempDir, script, signal }), op);
}

/**
 * Replaces the rows of the selected tables in the live database in ONE transaction: pg_restore in the container
 * turns the archive's data entries (and sequence positions) into SQL (a custom archive streams in on stdin, the
 * `-L` list goes beside it; a directory dump is unpacked in the container first; a copy's pg_dump streams in from
 * the source container), that SQL passes the meta-command check here, and psql runs it between the delete and
 * the foreign-key check (replacePreamble / replacePostamble): any error rolls everything back.
 */
export async function replaceRows(server: PgServer, database: string, sel: Pick<SelectionPlan, 'tables' | 'refs'>, sourceName: string, start: StartProducer, op: Operation): Promise<void> {
  const { docker, target } = server;
  const script = new PassThrough({ highWaterMark: 1024 * 1024 });
  const check = new PlainSqlCheck({ fileName: `the SQL pg_restore made of ${sourceName}` });
  const body = script.pipe(check);
  const tables = sel.refs;
  let producing: Promise<ExecResult> | undefined;
  // The COMMIT goes only after pg_restore finished well: an input that ends early never commits.
  async function* feed() {
    yield Buffer.from(replacePreamble(tables));
    for await (const chunk of body) yield chunk as Buffer;
    const made = await producing!;
    if (made.exitCode !== 0) throw new Error(`pg_restore stopped: ${failingStatement(made.stderr)}`);
    yield Buffer.from(replacePostamble(tables));
  }
  const psqlArgv = ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(database)];
  op.progress.step('restore', `Replacing the rows of ${sel.tables.join(', ')} in "${database}" (one transaction)`);
  const abort = new AbortController();
  const signal = op.signal ? AbortSignal.any([op.signal, abort.signal]) : abort.signal;
  let checkError: unknown;
  body.on('error', (e) => (checkError ??= e));
  const producer = await start(script, signal);
  producing = producer.producing;
  const loading = execClient(docker, target, psqlArgv, { stdin: Readable.from(feed()), stdout: new Writable({ write: (_c, _e, cb) => cb() }), signal, what: 'Replacing the tables' });
  // psql stopped at an error: pg_restore, whose output nobody reads any more, is stopped too.
  const loaded = await loading.then(
    (r) => ({ ok: r.exitCode === 0, r }),
    (e: unknown) => ({ ok: false, e }),
  );
  if (!loaded.ok) abort.abort();
  const made = await producing.then((r) => ({ r }), (e: unknown) => ({ e }));
  const readError = await producer.finish();
  const nothing = `nothing was changed in "${database}" (the transaction was rolled back)`;
  if (op.signal?.aborted) throw new PgBackupError('cancelled', `Replacing the tables was cancelled: ${nothing}.`);
  const fail = (why: string, cause?: unknown, detail?: string) => new PgBackupError('failed', `Replacing ${sel.tables.join(', ')} in "${database}" failed, ${nothing}: ${why.replace(/\.$/, '')}.`, { cause, detail });
  if (readError) throw fail(errorMessage(readError), readError);
  if (checkError) throw isPgBackupError(checkError) ? checkError : fail(errorMessage(checkError), checkError);
  if ('e' in made && loaded.ok) throw fail(errorMessage(made.e), made.e);
  if ('r' in made && made.r.exitCode !== 0) throw fail(`pg_restore: ${failingStatement(made.r.stderr)}`, undefined, made.r.stderr);
  if ('e' in loaded) throw fail(errorMessage(loaded.e), loaded.e);
  if (!loaded.ok) throw fail(failingStatement(loaded.r.stderr), undefined, loaded.r.stderr);
}

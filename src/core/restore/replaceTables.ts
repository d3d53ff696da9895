import { PassThrough, Readable, Writable } from 'node:stream';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import type { Operation } from '../operation';
import type { ExecResult } from '../docker/client';
import { dbConninfo, execClient } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import type { KeyMaterial } from '../pipeline/stage';
import { openInput } from './input';
import { failingStatement, withList } from './loaders';
import type { RestorePlan } from './plan';
import { PlainSqlCheck } from './plainSqlCheck';
import { replacePostamble, replacePreamble, restoreList } from './selective';

/**
 * Replaces the rows of the plan's tables in the live database in ONE transaction: pg_restore in the container
 * turns the archive's data entries (and sequence positions) into SQL (the archive streams in on stdin, the
 * `-L` list goes beside it), that SQL passes the meta-command check here, and psql runs it between the
 * delete and the foreign-key check (replacePreamble / replacePostamble) with --single-transaction: any error
 * rolls everything back.
 */
export async function replaceTables(server: PgServer, plan: RestorePlan, op: Operation, keys: KeyMaterial | undefined): Promise<void> {
  const sel = plan.selection!;
  const { docker, target } = server;
  const started = Date.now();
  const src = { path: plan.backup.path, fileName: plan.backup.fileName, format: 'custom' as const, stages: plan.backup.stages, sha256: plan.backup.sha256, keys };
  const input = openInput(src, (n) => op.progress.bytes(n, plan.backup.sizeBytes, started), op.signal);
  const script = new PassThrough({ highWaterMark: 1024 * 1024 });
  const check = new PlainSqlCheck({ fileName: `the SQL pg_restore made of ${plan.backup.fileName}` });
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
  const psqlArgv = ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(plan.database)];
  const pgRestore = ['pg_restore', '-f', '-', '--data-only'];
  op.progress.step('restore', `Replacing the rows of ${sel.tables.join(', ')} in "${plan.database}" (one transaction)`);
  const abort = new AbortController();
  const signal = op.signal ? AbortSignal.any([op.signal, abort.signal]) : abort.signal;
  let checkError: unknown;
  body.on('error', (e) => (checkError ??= e));
  producing = execClient(docker, target, withList(pgRestore, { list: restoreList(sel.listIds) }), { stdin: input.stream, stdout: script, signal, what: 'Reading the tables from the archive' });
  const loading = execClient(docker, target, psqlArgv, { stdin: Readable.from(feed()), stdout: new Writable({ write: (_c, _e, cb) => cb() }), signal, what: 'Replacing the tables' });
  // psql stopped at an error: pg_restore, whose output nobody reads any more, is stopped too.
  const loaded = await loading.then(
    (r) => ({ ok: r.exitCode === 0, r }),
    (e: unknown) => ({ ok: false, e }),
  );
  if (!loaded.ok) abort.abort();
  const made = await producing!.then((r) => ({ r }), (e: unknown) => ({ e }));
  input.stop();
  const readError = await input.done.then(() => undefined, (e: unknown) => e);
  const nothing = `nothing was changed in "${plan.database}" (the transaction was rolled back)`;
  if (op.signal?.aborted) throw new PgBackupError('cancelled', `Replacing the tables was cancelled: ${nothing}.`);
  const fail = (why: string, cause?: unknown, detail?: string) => new PgBackupError('failed', `Replacing ${sel.tables.join(', ')} in "${plan.database}" failed, ${nothing}: ${why.replace(/\.$/, '')}.`, { cause, detail });
  if (readError) throw fail(errorMessage(readError), readError);
  if (checkError) throw isPgBackupError(checkError) ? checkError : fail(errorMessage(checkError), checkError);
  if ('e' in made && loaded.ok) throw fail(errorMessage(made.e), made.e);
  if ('r' in made && made.r.exitCode !== 0) throw fail(`pg_restore: ${failingStatement(made.r.stderr)}`, undefined, made.r.stderr);
  if ('e' in loaded) throw fail(errorMessage(loaded.e), loaded.e);
  if (!loaded.ok) throw fail(failingStatement(loaded.r.stderr), undefined, loaded.r.stderr);
}

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { detectBackupContent, majorOfVersion, readHead, type BackupContent } from './backup/format';
import type { BackupManifest, Verification } from './backup/manifest';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage, isPgBackupError } from './errors';
import { beginOperation, type Operation, type OperationContext } from './operation';
import { writeFileAtomic } from './pipeline/sink';
import { LAYERS, sniffLayers } from './pipeline/layers';
import type { KeyMaterial, StageRecord } from './pipeline/stage';
import { discoverContainers, findContainer, type PgContainer } from './postgres/discovery';
import { serverFor } from './postgres/server';
import { describeBackup, type BackupEntry } from './store/backupStore';
import { MANIFEST_SUFFIX } from './store/naming';
import { checkDecodable, hashFile, readAndCheck, type VerifyCheck } from './verifyChecks';
import { deepVerify } from './verifyDeep';
import { chooseVerifyContainer, withVerification, type VerifyCandidate } from './verifyPlan';

export type { VerifyCheck } from './verifyChecks';

export interface VerifyOptions extends OperationContext {
  /** Also restore into a throwaway database and compare every table's rows with the manifest. */
  deep?: boolean;
  /** The container to check in (pg_restore of a custom archive, the deep restore). */
  to?: string;
  /** Keys for encrypted layers. */
  keys?: KeyMaterial;
  /** Append the outcome to the manifest's `verifications` (default true). */
  record?: boolean;
}

export interface VerifyResult {
  path: string;
  fileName: string;
  kind: 'quick' | 'deep';
  /** `ok` every check passed; `bad` the file is damaged or differs from its manifest; `error` it could not be checked (nothing recorded). */
  status: 'ok' | 'bad' | 'error';
  checks: VerifyCheck[];
  /** One line: what failed, or what passed. */
  detail: string;
  /** Where pg_restore or the deep restore ran. */
  container?: string;
  scratchDatabase?: string;
  durationMs: number;
  /** Whether the outcome went into the manifest (a file without a manifest gets none). */
  recorded: boolean;
}

/** What the file is: manifest, layers, format and the dump's header. */
interface VerifySource {
  entry: BackupEntry;
  manifest?: BackupManifest;
  stages: StageRecord[];
  format: 'sql' | 'custom';
  content: BackupContent;
}

const NAME_FORMAT = /\.(sql|dump)(\.[a-z0-9]+)*$/i;

/** The file's facts; a file that is no backup of one database is `bad` (returned as the failed check). */
async function inspect(file: string): Promise<VerifySource | VerifyCheck> {
  const entry = await describeBackup(file);
  const peeled = sniffLayers(await readHead(file));
  const content = detectBackupContent(peeled.content);
  const m = entry.manifest;
  const byName = NAME_FORMAT.exec(entry.fileName)?.[1]?.toLowerCase();
  const format = m?.format ?? (content.format !== 'unknown' ? content.format : peeled.opaque && byName ? (byName === 'sql' ? 'sql' : 'custom') : undefined);
  if (!format) return { name: 'structure', ok: false, detail: `${entry.fileName} is not a PostgreSQL backup: neither a plain SQL dump nor a pg_dump custom archive (under any layer this version knows).` };
  if (content.cluster) return { name: 'structure', ok: false, detail: `${entry.fileName} is a pg_dumpall cluster dump, not a backup of one database.` };
  if (format === 'directory') return { name: 'structure', ok: null, detail: `${entry.fileName} is a directory-format backup, which this version cannot verify yet` };
  const sniffed: StageRecord[] = [...peeled.layers].reverse().map((l) => ({ kind: l.kind, algorithm: l.algorithm, where: 'host' }));
  const say = (list: readonly StageRecord[]) => list.map((s) => s.algorithm).join(', then ') || 'none';
  // Under a layer that needs a key (age) the bytes show nothing more: the outer layers must match the last ones recorded.
  const recorded = m && peeled.opaque ? m.stages.slice(-sniffed.length) : m?.stages;
  if (m && say(recorded!) !== say(sniffed)) return { name: 'decode', ok: false, detail: `${entry.fileName} does not match its manifest: the manifest says its layers are ${say(m.stages)}, the file shows ${say(sniffed)}.` };
  if (m && !peeled.opaque && content.format !== 'unknown' && content.format !== m.format) return { name: 'structure', ok: false, detail: `${entry.fileName} does not match its manifest: the manifest says ${m.format}, the file is ${content.format}.` };
  // No manifest and an opaque layer: the layers under it are the ones its name lists (`.sql.gz.age`).
  const stages = m?.stages ?? (peeled.opaque ? layersFromName(entry.fileName) ?? sniffed : sniffed);
  return { entry, manifest: m, stages, format, content };
}

/** The layers a file name lists after `.sql`/`.dump`, in the order applied; undefined for an unknown suffix. */
function layersFromName(fileName: string): StageRecord[] | undefined {
  const suffixes = /\.(?:sql|dump)((?:\.[a-z0-9]+)+)$/i.exec(fileName)?.[1].split('.').filter(Boolean) ?? [];
  const out: StageRecord[] = [];
  for (const x of suffixes) {
    const l = LAYERS.find((y) => y.extension === `.${x.toLowerCase()}`);
    if (!l) return undefined;
    out.push({ kind: l.kind, algorithm: l.algorithm, where: 'host' });
  }
  return out.length ? out : undefined;
}

/** The running Postgres containers and their majors, looked up once per verification run. */
export class VerifyCandidates {
  private all?: Promise<PgContainer[]>;
  constructor(private readonly docker: DockerClient, private readonly op: Operation) {}
  list(): Promise<PgContainer[]> {
    return (this.all ??= discoverContainers(this.docker, { ...this.op.discovery, withApps: false }));
  }
  async pick(want: Parameters<typeof chooseVerifyContainer>[1]): Promise<PgContainer | string> {
    const named = want.wanted ?? want.own;
    if (named) {
      // the named (or the backup's own) container first: one lookup instead of asking every server
      const c = await findContainer(this.docker, named, { ...this.op.discovery, withApps: false }).catch(() => undefined);
      if (!c && want.wanted) return `there is no Postgres container named ${want.wanted}`;
      const choice = c && chooseVerifyContainer([candidate(c)], { ...want, wanted: named });
      if (c && choice && 'name' in choice) return c;
      if (want.wanted && choice && 'problem' in choice) return choice.problem;
    }
    const list = await this.list();
    const choice = chooseVerifyContainer(list.map(candidate), want);
    return 'name' in choice ? list.find((c) => c.name === choice.name)! : choice.problem;
  }
}

function candidate(c: PgContainer): VerifyCandidate {
  return { name: c.name, running: c.running, major: c.server?.major };
}

/** The outcome's line: the failures, else what passed. */
function summarize(checks: VerifyCheck[]): string {
  const failed = checks.filter((c) => c.ok === false);
  if (failed.length) return failed.map((c) => c.detail).join(' ');
  return checks.map((c) => (c.ok === null ? c.detail : `${c.name}: ${c.detail}`)).join('; ');
}

/** Appends the outcome to the manifest, written atomically (re-read first: unknown fields are kept). */
export async function recordVerification(backupPath: string, v: Verification): Promise<boolean> {
  const file = backupPath + MANIFEST_SUFFIX;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return false;
  }
  await writeFileAtomic(file, JSON.stringify(withVerification(raw, v), null, 2) + '\n');
  return true;
}

/** The quick checks: size, then one read for the checksum, every layer and the dump's structure. */
async function quickChecks(docker: DockerClient, src: VerifySource, options: VerifyOptions, op: Operation, candidates: VerifyCandidates): Promise<{ checks: VerifyCheck[]; container?: PgContainer; inconclusive?: string }> {
  const { entry, manifest: m } = src;
  const checks: VerifyCheck[] = [];
  if (m && m.bytes !== entry.sizeBytes) checks.push({ name: 'size', ok: false, detail: `${entry.fileName} has ${entry.sizeBytes} bytes, its manifest says ${m.bytes}: it was cut off or changed after the backup.` });
  const noKey = checkDecodable(src.stages, options.keys);
  if (noKey) return { checks, inconclusive: noKey };
  let container: PgContainer | undefined;
  let inconclusive: string | undefined;
  if (src.format === 'custom') {
    const dumpMajor = src.content.pgDumpMajor ?? majorOfVersion(m?.pgDumpVersion);
    const picked = await candidates.pick({ wanted: options.to, own: m?.container ?? entry.container, dumpMajor });
    if (typeof picked === 'string') inconclusive = `the archive's structure was not checked: ${picked}`;
    else container = picked;
  }
  op.progress.step('read', `Reading ${entry.fileName}${container ? ` into pg_restore in ${container.name}` : ''}`);
  const started = Date.now();
  const input = { path: entry.path, fileName: entry.fileName, format: src.format, stages: src.stages, keys: options.keys, sha256: m?.sha256, sizeBytes: entry.sizeBytes };
  const read = await readAndCheck(docker, input, container?.target, (n) => op.progress.bytes(n, entry.sizeBytes, started), op.signal);
  const keyProblem = read.find((c) => c.ok === null);
  if (keyProblem) return { checks, inconclusive: keyProblem.detail.replace(/\.$/, '') };
  const failed = read;
  checks.push(...failed);
  if (m && !checks.some((c) => c.name === 'checksum')) {
    // the one read stopped before its end: hash the whole file to say whether it still is what was written
    const sum = failed.length ? (await hashFile(entry.path, op.signal)).sha256 : m.sha256;
    checks.push(sum === m.sha256 ? { name: 'checksum', ok: true, detail: 'sha256 as in the manifest' } : { name: 'checksum', ok: false, detail: `${entry.fileName} does not match its manifest: its sha256 is ${sum}, the manifest says ${m.sha256}.` });
  } else if (!m) checks.push({ name: 'checksum', ok: null, detail: 'no manifest: checksum not compared' });
  if (!failed.some((c) => c.name === 'decode')) checks.push({ name: 'decode', ok: true, detail: src.stages.length ? `${src.stages.map((s) => s.algorithm).join(', ')} decoded to the end` : 'no layers' });
  if (!failed.length && !inconclusive) checks.push({ name: 'structure', ok: true, detail: src.format === 'sql' ? "no psql meta-commands, ends with pg_dump's last line" : `pg_restore ${container!.server?.major ?? ''} read every block`.replace('  ', ' ') });
  return { checks, container, inconclusive };
}

/** Verifies one backup file: quick always, then (with `deep`, when quick passed) the restore into a scratch database. */
export async function verifyBackup(docker: DockerClient, file: string, options: VerifyOptions = {}, candidates?: VerifyCandidates): Promise<VerifyResult> {
  const op = beginOperation(options);
  const started = Date.now();
  const kind = options.deep ? 'deep' : 'quick';
  const base = { path: path.resolve(file), fileName: path.basename(file), kind } as const;
  const done = (status: VerifyResult['status'], checks: VerifyCheck[], extra: Partial<VerifyResult> = {}): VerifyResult => ({ ...base, status, checks, detail: extra.detail ?? summarize(checks), durationMs: Date.now() - started, recorded: false, ...extra });
  let src: VerifySource | VerifyCheck;
  try {
    src = await inspect(base.path);
  } catch (e) {
    return done('error', [], { detail: `Cannot read ${base.fileName}: ${errorMessage(e)}` });
  }
  if (!('entry' in src)) return src.ok === null ? done('error', [], { detail: `${src.detail}.` }) : finish(done('bad', [src]), undefined, op, options);
  candidates ??= new VerifyCandidates(docker, op);
  const quick = await quickChecks(docker, src, options, op, candidates);
  if (quick.checks.some((c) => c.ok === false)) return finish(done('bad', quick.checks, { container: quick.container?.name }), src.manifest, op, options);
  if (quick.inconclusive) return done('error', quick.checks, { detail: `${base.fileName} could not be verified completely: ${quick.inconclusive}.`, container: quick.container?.name });
  if (!options.deep) return finish(done('ok', quick.checks, { container: quick.container?.name }), src.manifest, op, options);
  const m = src.manifest;
  const picked = await candidates.pick({ wanted: options.to, own: m?.container ?? src.entry.container, dumpMajor: src.content.pgDumpMajor ?? majorOfVersion(m?.pgDumpVersion), preferMajor: majorOfVersion(m?.serverVersion) });
  if (typeof picked === 'string') return done('error', quick.checks, { detail: `${base.fileName} passed the quick checks, but the deep check could not run: ${picked}.` });
  const { server } = await serverFor(docker, picked, op);
  const database = m?.database ?? src.entry.database ?? src.content.database ?? 'backup';
  const input = { path: src.entry.path, fileName: src.entry.fileName, format: src.format, stages: src.stages, keys: options.keys, sha256: m?.sha256, sizeBytes: src.entry.sizeBytes };
  const deep = await deepVerify(server, input, m, database, op);
  const checks = [...quick.checks, ...deep.checks];
  return finish(done(checks.some((c) => c.ok === false) ? 'bad' : 'ok', checks, { container: picked.name, scratchDatabase: deep.scratchDatabase }), m, op, options);
}

/** Records a verdict (ok or bad) in the manifest, when there is one and recording is on. */
async function finish(r: VerifyResult, manifest: BackupManifest | undefined, op: Operation, options: VerifyOptions): Promise<VerifyResult> {
  if (!manifest || options.record === false || r.status === 'error') return r;
  try {
    r.recorded = await recordVerification(r.path, { at: op.now().toISOString(), kind: r.kind, ok: r.status === 'ok', detail: r.detail });
  } catch (e) {
    op.log.warn(`could not record the verification in the manifest of ${r.fileName}: ${errorMessage(e)}`);
  }
  return r;
}

/** Verifies each file in turn (one lookup of containers for all); a cancellation stops the rest. */
export async function verifyBackups(docker: DockerClient, files: readonly string[], options: VerifyOptions = {}): Promise<VerifyResult[]> {
  const op = beginOperation(options);
  const candidates = new VerifyCandidates(docker, op);
  const out: VerifyResult[] = [];
  for (const f of files) {
    if (op.signal?.aborted) throw new PgBackupError('cancelled', `Verifying was cancelled after ${out.length} of ${files.length} file${files.length === 1 ? '' : 's'}.`);
    try {
      out.push(await verifyBackup(docker, f, options, candidates));
    } catch (e) {
      if (isPgBackupError(e, 'cancelled') || op.signal?.aborted) throw e;
      out.push({ path: path.resolve(f), fileName: path.basename(f), kind: options.deep ? 'deep' : 'quick', status: 'error', checks: [], detail: errorMessage(e), durationMs: 0, recorded: false });
    }
  }
  return out;
}

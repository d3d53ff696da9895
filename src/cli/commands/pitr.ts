import { integer, parse } from '../args';
import { takeBaseBackup } from '../../core/pitr/baseBackup';
import { BASE_FOLDER } from '../../core/pitr/baseStore';
import { encryptionOptions, encryptionStages, keyOptions, readKeys } from '../encryption';
import { uploadBackup } from '../remoteBackup';
import { remoteOptions } from '../remotes';
import { pitrPruneCommand, pitrPruneUsage } from './pitrPrune';
import { pitrEnableAdvice } from '../../core/pitr/enable';
import { createRestorePoint } from '../../core/pitr/mark';
import { executePitrRestore, planPitrRestore } from '../../core/pitr/restore';
import { pitrStatus, type PitrStatus } from '../../core/pitr/status';
import { formatBoth } from '../../core/pitr/time';
import { formatBytes, formatDuration } from '../../core/progress';
import { EXIT_OK, EXIT_USAGE, confirm, progressPrinter, say, writeJson, type CliContext } from '../io';
import { backupDirFor, discoveryFor, dockerFor } from '../services';

export const usage = [
  'pg-docker-backup pitr status <container> [--dir DIR] [--json]',
  '       pg-docker-backup pitr enable <container> [--archive-dir PATH]',
  '       pg-docker-backup pitr base-backup <container> [--dir DIR] [--compression N] [--recipient age1…]... [--recipients-file F] [--passphrase] [--upload REMOTE] [--json]',
  '       pg-docker-backup pitr restore <container> --time "YYYY-MM-DD HH:MM[:SS][+00]" | --lsn LSN | --restore-point NAME',
  '                        [--database DB] [--dir DIR] [--identity FILE] [--passphrase] [--stop CONTAINER]... [--drop-previous] [--dry-run] [--yes] [--json]',
  '       pg-docker-backup pitr mark <container> <name> [--json]',
  `       ${pitrPruneUsage}`,
].join('\n');

function common(ctx: CliContext) {
  return { signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx), onProgress: progressPrinter(ctx) };
}

function clearLine(ctx: CliContext): void {
  if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
}

/** The status in lines for a terminal. */
export function statusLines(s: PitrStatus): string[] {
  const a = s.archiver;
  const lines = [
    `${s.container}: WAL archiving ${s.enabled ? 'on' : 'NOT set up'}`,
    `  wal_level ${s.settings.walLevel}, archive_mode ${s.settings.archiveMode}, archive_command ${s.settings.archiveCommand || '(empty)'}`,
    ...s.problems.map((p) => `  problem: ${p}`),
  ];
  if (s.archive) {
    lines.push(`  archive: ${s.archive.dir} on ${s.archive.description}`);
    lines.push(`  archived segments: ${s.archive.segments}${s.archive.oldest ? ` (${s.archive.oldest} to ${s.archive.newest})` : ''}${s.archive.missing.length ? `, MISSING ${s.archive.missing.length} (first ${s.archive.missing[0]})` : ''}${s.archive.error ? `; ${s.archive.error}` : ''}`);
  }
  lines.push(`  archiver: ${a.archivedCount} archived${a.lastArchivedWal ? `, last ${a.lastArchivedWal} at ${a.lastArchivedTime}` : ''}; ${a.failedCount} failed${a.lastFailedWal ? `, last ${a.lastFailedWal} at ${a.lastFailedTime}` : ''}${a.failingNow ? ' — FAILING NOW' : ''}`);
  lines.push(`  base backups: ${s.baseBackups.length}${s.baseBackups.map((b) => `\n    ${b.fileName} (${formatBytes(b.sizeBytes)}, consistent at ${b.manifest.consistentAt}, WAL ${b.manifest.startLsn}–${b.manifest.endLsn})`).join('')}`);
  if (s.window) lines.push(`  recoverable window: ${formatBoth(new Date(s.window.from))}\n                   to ${formatBoth(new Date(s.window.to))}`);
  if (s.windowProblem) lines.push(`  no recoverable window${s.window ? ' beyond' : ''}: ${s.windowProblem}`);
  return lines;
}

async function status(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { dir: { type: 'string' } }, { min: 1, max: 1, usage });
  const s = await pitrStatus(dockerFor(ctx), { container: positionals[0], dir: backupDirFor(ctx, values.dir), ...common(ctx) });
  if (values.json) writeJson(ctx, s);
  else ctx.stdout.write(statusLines(s).join('\n') + '\n');
  return EXIT_OK;
}

async function enable(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'archive-dir': { type: 'string' } }, { min: 1, max: 1, usage });
  const advice = await pitrEnableAdvice(dockerFor(ctx), { container: positionals[0], archiveDir: values['archive-dir'], ...common(ctx) });
  if (values.json) writeJson(ctx, advice);
  else ctx.stdout.write(advice.text);
  return EXIT_OK;
}

async function baseBackup(ctx: CliContext, args: string[]): Promise<number> {
  const options = { dir: { type: 'string' }, compression: { type: 'string', short: 'Z' }, ...encryptionOptions, upload: { type: 'string' }, ...remoteOptions } as const;
  const { values, positionals } = parse(args, options, { min: 1, max: 1, usage });
  const hostStages = await encryptionStages(ctx, values);
  const r = await takeBaseBackup(dockerFor(ctx), { container: positionals[0], dir: backupDirFor(ctx, values.dir), compressionLevel: integer(values.compression, '--compression'), hostStages, ...common(ctx) });
  const m = r.manifest;
  const uploaded = await uploadBackup(ctx, values, { path: r.path, container: m.container, database: BASE_FOLDER, sha256: m.sha256, manifest: m });
  if (values.json) writeJson(ctx, { path: r.path, ...m, ...(uploaded ? { uploaded: { url: uploaded.url, skipped: uploaded.skipped } } : {}) });
  else {
    clearLine(ctx);
    say(ctx, `Base backup of ${m.container}: ${formatBytes(r.bytes)} in ${formatDuration(m.durationMs)}, WAL ${m.startLsn} to ${m.endLsn} (timeline ${m.timeline}), consistent at ${m.consistentAt}${uploaded ? `; uploaded to ${uploaded.url}` : ''}`);
    ctx.stdout.write(r.path + '\n');
  }
  return EXIT_OK;
}

async function restore(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      time: { type: 'string' },
      lsn: { type: 'string' },
      'restore-point': { type: 'string' },
      database: { type: 'string', short: 'd' },
      dir: { type: 'string' },
      stop: { type: 'string', multiple: true },
      'drop-previous': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      ...keyOptions,
    },
    { min: 1, max: 1, usage },
  );
  const docker = dockerFor(ctx);
  const options = {
    container: positionals[0],
    database: values.database,
    dir: backupDirFor(ctx, values.dir),
    time: values.time,
    lsn: values.lsn,
    restorePoint: values['restore-point'],
    stop: values.stop,
    dropPrevious: values['drop-previous'],
    keys: await readKeys(ctx, values),
    ...common(ctx),
  };
  const plan = await planPitrRestore(docker, options);
  if (values['dry-run']) {
    if (values.json) writeJson(ctx, { dryRun: true, plan });
    else ctx.stdout.write(`Plan (nothing done, --dry-run):\n  ${plan.steps.join('\n  ')}\n`);
    return EXIT_OK;
  }
  if (!values.json) say(ctx, `Plan:\n  ${plan.steps.join('\n  ')}`);
  await confirm(ctx, `Replace "${plan.database}" in ${plan.container.name} with its state at ${plan.target.text}?`, { yes: !!values.yes, typeToConfirm: plan.container.protected ? plan.database : undefined });
  const r = await executePitrRestore(docker, plan, options);
  if (values.json) {
    writeJson(ctx, {
      recovered: true,
      container: plan.container.name,
      database: plan.database,
      target: plan.target,
      baseBackup: plan.base.path,
      stoppedAt: r.stoppedAt ?? null,
      lastReplayed: r.lastReplayed ?? null,
      segmentsReplayed: r.segmentsReplayed,
      tables: r.tables,
      keptPrevious: r.move.keptPrevious ?? null,
      durationMs: r.durationMs,
      downtimeMs: r.move.downtimeMs,
      warnings: r.warnings,
    });
  } else {
    clearLine(ctx);
    say(ctx, `Recovered "${plan.database}" in ${plan.container.name} to ${plan.target.text} in ${formatDuration(r.durationMs)} (apps down ${formatDuration(r.move.downtimeMs)}).`);
    if (r.stoppedAt) say(ctx, `Recovery: ${r.stoppedAt}`);
    say(ctx, `Rows: ${r.tables.map((t) => `${t.schema}.${t.name} ${t.rows}`).join(', ') || 'no tables'}`);
    if (r.move.keptPrevious) say(ctx, `The previous database is kept as "${r.move.keptPrevious}": undo with \`pg-docker-backup restore --undo ${plan.container.name} --database ${JSON.stringify(plan.database)}\`.`);
    for (const w of r.warnings) say(ctx, `warning: ${w}`);
  }
  return EXIT_OK;
}

async function mark(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, { min: 2, max: 2, usage });
  const r = await createRestorePoint(dockerFor(ctx), { container: positionals[0], name: positionals[1], ...common(ctx) });
  if (values.json) writeJson(ctx, r);
  else say(ctx, `Restore point "${r.name}" at ${r.lsn} (${r.time}) in ${r.container}; its segment ${r.segment} was switched out for archiving. Recover to it with \`pg-docker-backup pitr restore ${r.container} --restore-point ${JSON.stringify(r.name)}\`.`);
  return EXIT_OK;
}

const SUBCOMMANDS: Record<string, (ctx: CliContext, args: string[]) => Promise<number>> = { status, enable, 'base-backup': baseBackup, restore, mark, prune: pitrPruneCommand };

export async function pitrCommand(ctx: CliContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const run = sub ? SUBCOMMANDS[sub] : undefined;
  if (!run) {
    ctx.stderr.write(`${sub ? `unknown pitr command "${sub}"\n` : ''}usage: ${usage}\n`);
    return EXIT_USAGE;
  }
  return run(ctx, rest);
}


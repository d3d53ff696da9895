import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backupAll, type BackupAllResult } from '../core/backup/backupAll';
import { describeBackup } from '../core/store/backupStore';
import { uploadBackups } from './commands/uploadToRemote';
import { matchesContainerPattern, recipientStages } from './encryptionKeys';
import { errorMessage } from '../core/errors';
import { notify } from '../core/notify';
import { schedulesFromEntries } from '../core/schedule/scheduleEntries';
import { ScheduleRunner, type RunContext } from '../core/schedule/scheduleRunner';
import type { Schedule, ScheduleView } from '../core/schedule/scheduler';
import { executePrune, planPrune } from '../core/store/prune';
import { describePolicy } from '../core/store/retention';
import type { BackupModel } from './model';
import type { Services } from './services';
import { retentionPolicy } from './settings';

/** SecretStorage key of the notify URL (it carries a token, so it is never a setting). */
export const NOTIFY_URL_KEY = 'pgDockerBackup.notifyUrl';

/**
 * The extension's side of schedules: `pgDockerBackup.schedules` → core ScheduleRunner (one runner across
 * windows: its lock and state live in the extension's global storage). Starting it reads files only; Docker
 * is first called when a run is due. A run is `backupAll` over the schedule's containers and databases, then
 * a POST to the notify URL (from SecretStorage) when one is set.
 */
export class ScheduleService implements vscode.Disposable {
  readonly runner: ScheduleRunner;
  private current: Schedule[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly services: Services,
    private readonly model: BackupModel,
  ) {
    const dir = path.join(context.globalStorageUri.fsPath, 'schedules');
    this.runner = new ScheduleRunner({
      lockDir: dir,
      stateFile: path.join(dir, 'state.json'),
      run: (s, ctx) => this.run(s, ctx),
      logger: services.logger,
      onChange: () => this.changed.fire(),
    });
    this.apply();
    this.subs.push(this.changed, services.onDidChangeSettings(() => this.apply()));
  }

  get schedules(): readonly Schedule[] {
    return this.current;
  }

  views(): Promise<ScheduleView[]> {
    return this.runner.views();
  }

  start(): void {
    this.runner.start();
  }

  private apply(): void {
    const { schedules, problems } = schedulesFromEntries(this.services.settings.schedules, ((f) => (f === 'directory' ? 'custom' : f))(this.services.settings.defaultFormat)); // schedules take sql or custom: a directory default schedules custom archives
    for (const p of problems) this.services.logger.warn(`pgDockerBackup.schedules: ${p}; it is left out.`);
    this.current = schedules;
    this.runner.setSchedules(schedules);
    this.changed.fire();
  }

  private async run(schedule: Schedule, ctx: RunContext): Promise<void> {
    const s = this.services.settings;
    const log = this.services.logger;
    log.info(`schedule "${schedule.cron}" (${schedule.container}/${schedule.database}): ${ctx.missed ? 'the run missed at' : 'run of'} ${ctx.slot.toISOString()}`);
    let result: BackupAllResult | undefined;
    let error: string | undefined;
    try {
      await this.services.loadPasswords((await this.services.docker.listContainers()).map((c) => c.name));
      result = await backupAll(this.services.docker, {
        dir: s.backupDirectory,
        containers: schedule.container === '*' ? undefined : [schedule.container],
        databases: schedule.database === '*' ? undefined : [schedule.database],
        format: schedule.format,
        // the same compression and encryption as Back Up: a scheduled backup is no less sensitive
        compression: s.compression ?? { codec: 'gzip', level: s.compressionLevel },
        encoding: s.backupEncoding,
        hostStages: await recipientStages(s.encryptionRecipients),
        requireEncryption: (name) => matchesContainerPattern(name, s.encryptionRequiredFor),
        signal: ctx.signal,
        logger: log,
        discovery: this.services.discovery(ctx.signal),
      });
      if (!result.ok) error = result.items.filter((i) => i.error).map((i) => `${i.container}${i.database ? `/${i.database}` : i.kind === 'roles' ? ' roles' : ''}: ${i.error}`).join('; ');
    } catch (e) {
      error = errorMessage(e);
    }
    if (schedule.uploadAfter && result) {
      const failed = await uploadAfterRun(this.services, result, ctx.signal);
      if (failed) error = [error, failed].filter(Boolean).join('; ');
    }
    if (schedule.pruneAfter && result) {
      try {
        await this.prune(schedule, ctx.signal);
      } catch (e) {
        error = [error, `prune after the backup: ${errorMessage(e)}`].filter(Boolean).join('; ');
      }
    }
    await this.notify(schedule, result, error, ctx.signal);
    if (this.model.state !== 'idle') void this.model.refresh();
    if (error) throw new Error(error);
  }

  /** Prunes the schedule's containers/databases with `pgDockerBackup.retention` (the setting is the consent). */
  private async prune(schedule: Schedule, signal: AbortSignal): Promise<void> {
    const s = this.services.settings;
    const policy = retentionPolicy(s.retention);
    const plan = await planPrune({
      dir: s.backupDirectory,
      container: schedule.container === '*' ? undefined : schedule.container,
      database: schedule.database === '*' ? undefined : schedule.database,
      policy,
    });
    const r = await executePrune(plan, { signal, logger: this.services.logger });
    this.services.logger.info(`schedule "${schedule.cron}": pruned ${r.deleted.length} old backup(s), keeping ${describePolicy(policy)}`);
  }

  private async notify(schedule: Schedule, result: BackupAllResult | undefined, error: string | undefined, signal: AbortSignal): Promise<void> {
    const url = await this.context.secrets.get(NOTIFY_URL_KEY);
    if (!url) return;
    const body = {
      ok: !error,
      command: 'schedule',
      host: os.hostname(),
      at: new Date().toISOString(),
      schedule: { cron: schedule.cron, container: schedule.container, database: schedule.database, format: schedule.format },
      ...(error ? { error } : {}),
      results: result?.items ?? [],
    };
    const outcome = await notify(url, body, { signal });
    if (outcome.ok) this.services.logger.info(`schedule: notified ${outcome.target} (HTTP ${outcome.status})`);
    else this.services.logger.warn(`schedule: the notification was not delivered: ${outcome.error}`);
  }

  dispose(): void {
    void this.runner.stop();
    for (const s of this.subs) s.dispose();
  }
}

/**
 * `uploadAfter`: each database backup the run wrote goes to every remote in `pgDockerBackup.remotes` (a no-op
 * where the remote already has the same bytes). Returns what failed, as one sentence per remote.
 */
async function uploadAfterRun(services: Services, result: BackupAllResult, signal: AbortSignal): Promise<string | undefined> {
  const s = services.settings;
  if (s.remotes.length === 0) return `upload after the backup: no remote is configured in pgDockerBackup.remotes${s.remotesProblem ? ` (${s.remotesProblem})` : ''}`;
  const paths = result.items.filter((i) => i.kind === 'database' && i.path && !i.error).map((i) => i.path!);
  const backups = await Promise.all(paths.map((p) => describeBackup(p, s.backupDirectory)));
  const errors: string[] = [];
  for (const remote of s.remotes) {
    try {
      const store = await services.remoteCredentials.open(remote.name, s.remotes);
      try {
        const r = await uploadBackups(store, backups, signal);
        services.logger.info(`schedule: uploaded ${r.filter((x) => !x.skipped).length} backup(s) to ${remote.name}`);
      } finally {
        store.close();
      }
    } catch (e) {
      errors.push(`upload to ${remote.name}: ${errorMessage(e)}`);
    }
  }
  return errors.length ? errors.join('; ') : undefined;
}

/** Creates the schedule service and starts its runner (no Docker call until a run is due). */
export function registerSchedules(context: vscode.ExtensionContext, services: Services, model: BackupModel): ScheduleService {
  const service = new ScheduleService(context, services, model);
  context.subscriptions.push(service);
  service.start();
  return service;
}

import { errorMessage, isPgBackupError } from '../core/errors';
import type { Logger } from '../core/logger';
import * as backup from './commands/backup';
import * as backups from './commands/backups';
import * as check from './commands/check';
import * as cleanup from './commands/cleanup';
import * as containers from './commands/containers';
import * as copy from './commands/copy';
import * as demo from './commands/demo';
import * as keygen from './commands/keygen';
import * as pitr from './commands/pitr';
import * as prune from './commands/prune';
import * as download from './commands/download';
import * as remoteDelete from './commands/remoteDelete';
import * as remoteList from './commands/remoteList';
import * as reset from './commands/reset';
import * as restore from './commands/restore';
import * as roles from './commands/roles';
import * as schedule from './commands/schedule';
import * as status from './commands/status';
import * as terminate from './commands/terminate';
import * as upload from './commands/upload';
import * as verify from './commands/verify';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, exitCodeFor, writeJson, type CliContext } from './io';

type Command = (ctx: CliContext, args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  containers: { run: containers.containersCommand, usage: containers.usage },
  backup: { run: backup.backupCommand, usage: backup.usage },
  backups: { run: backups.backupsCommand, usage: backups.usage },
  prune: { run: prune.pruneCommand, usage: prune.usage },
  restore: { run: restore.restoreCommand, usage: restore.usage },
  verify: { run: verify.verifyCommand, usage: verify.usage },
  copy: { run: copy.copyCommand, usage: copy.usage },
  reset: { run: reset.resetCommand, usage: reset.usage },
  check: { run: check.checkCommand, usage: check.usage },
  terminate: { run: terminate.terminateCommand, usage: terminate.usage },
  cleanup: { run: cleanup.cleanupCommand, usage: cleanup.usage },
  demo: { run: demo.demoCommand, usage: demo.usage },
  status: { run: status.statusCommand, usage: status.usage },
  schedule: { run: schedule.scheduleCommand, usage: schedule.usage },
  upload: { run: upload.uploadCommand, usage: upload.usage },
  download: { run: download.downloadCommand, usage: download.usage },
  'remote-list': { run: remoteList.remoteListCommand, usage: remoteList.usage },
  'remote-delete': { run: remoteDelete.remoteDeleteCommand, usage: remoteDelete.usage },
  keygen: { run: keygen.keygenCommand, usage: keygen.usage },
  roles: { run: roles.rolesCommand, usage: roles.usage },
  pitr: { run: pitr.pitrCommand, usage: pitr.usage },
};

export const HELP = `pg-docker-backup: back up and restore PostgreSQL databases in local Docker containers

${Object.values(COMMANDS).map((c) => c.usage).join('\n')}

Exit codes: 0 ok, 1 the operation failed, 2 usage error or refused, 3 done but a check failed (restore, undo,
reset and copy run the after-restore checks unless --no-checks; \`check\` runs them on demand).
Environment: PG_DOCKER_BACKUP_DIR (backup folder), PG_DOCKER_BACKUP_PASSWORD (database password when the
container's POSTGRES_PASSWORD is wrong or missing), DOCKER_HOST / DOCKER_CONTEXT, PG_DOCKER_BACKUP_LOG=debug,
PG_DOCKER_BACKUP_AGE_IDENTITY (age identity file for encrypted backups), PG_DOCKER_BACKUP_PASSPHRASE.
Remotes: s3://bucket/prefix, gs://bucket/prefix, or a name from PG_DOCKER_BACKUP_REMOTES (a JSON file), else
~/.config/pg-docker-backup/remotes.json ($XDG_CONFIG_HOME). Credentials: the AWS SDK's default chain (AWS_PROFILE,
AWS_ACCESS_KEY_ID…, SSO, instance roles) and Google's Application Default Credentials; never in argv.
`;

function stderrLogger(stderr: NodeJS.WritableStream, level: string | undefined): Logger {
  const order = ['trace', 'debug', 'info', 'warn', 'error'];
  const min = order.indexOf(level ?? 'warn');
  const started = Date.now();
  const at = (l: string) => (m: string) => {
    if (order.indexOf(l) >= (min < 0 ? 3 : min)) stderr.write(`[${l} +${Date.now() - started}ms] ${m}\n`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export async function runCli(argv: string[], io: Omit<CliContext, 'logger'> & { logger?: Logger }): Promise<number> {
  const ctx: CliContext = { ...io, logger: io.logger ?? stderrLogger(io.stderr, io.env.PG_DOCKER_BACKUP_LOG) };
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? ctx.stdout : ctx.stderr).write(HELP);
    return name ? EXIT_OK : EXIT_USAGE;
  }
  if (name === '--version') {
    ctx.stdout.write('pg-docker-backup 0.1.0\n');
    return EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.stderr.write(`unknown command "${name}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.stdout.write(`usage: ${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(ctx, rest);
  } catch (e) {
    const code = exitCodeFor(e);
    if (rest.includes('--json')) writeJson(ctx, { error: errorMessage(e), kind: isPgBackupError(e) ? e.kind : 'failed' });
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    ctx.stderr.write(`error: ${errorMessage(e)}\n`);
    if (isPgBackupError(e) && e.detail && ctx.env.PG_DOCKER_BACKUP_LOG) ctx.stderr.write(`${e.detail}\n`);
    if (!isPgBackupError(e)) ctx.logger.debug(e instanceof Error && e.stack ? e.stack : String(e));
    return code === EXIT_OK ? EXIT_FAILED : code;
  }
}

/** The process entry point: wires signals (first Ctrl-C cancels cleanly, the second exits). */
export function main(): void {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nCancelling (press Ctrl-C again to quit at once)…\n');
    controller.abort();
  };
  // `pg-docker-backup backups | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_OK);
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Node exits with code 0 when nothing is left to wait on, even with the command still unfinished (a
  // stream that stalled for good): that must never pass for success.
  let finished = false;
  process.on('beforeExit', () => {
    if (finished) return;
    process.stderr.write(
      'error: internal error: the command stopped before it finished. Nothing after the last message was done; a restore may have left a database named *__restoring_* (drop it). Run it again with PG_DOCKER_BACKUP_LOG=debug and report the output.\n',
    );
    process.exit(EXIT_FAILED);
  });
  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  }).then(
    (code) => {
      finished = true;
      process.exitCode = code;
      // Docker's keep-alive sockets must not hold the process open; what is still queued for a pipe
      // (`backups --json` of thousands of backups into a slow reader) is written out first.
      process.stdout.write('', () => process.stderr.write('', () => setImmediate(() => process.exit(code))));
    },
    (e) => {
      finished = true;
      process.stderr.write(`error: ${errorMessage(e)}\n`);
      process.exit(EXIT_FAILED);
    },
  );
}

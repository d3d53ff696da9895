import type { DockerClient } from '../docker/client';
import { beginOperation, type OperationContext } from '../operation';
import { findContainer } from '../postgres/discovery';
import { DEFAULT_ARCHIVE_DIR, safeArchiveCommand } from './archive';

export interface EnableAdvice {
  container: string;
  composeService?: string;
  composeProject?: string;
  /** The compose override file's text (docker-compose.override.yml). */
  override: string;
  /** What to do, in order. */
  steps: string[];
  /** The whole text: override and steps, for a terminal or an editor. */
  text: string;
}

/** A YAML double-quoted scalar. */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * The compose override and the steps that turn on WAL archiving for a container (pure: unit-tested).
 * Nothing is edited or restarted: the user applies it.
 */
export function enableAdvice(c: { name: string; composeService?: string; composeProject?: string; cmd: readonly string[] }, archiveDir = DEFAULT_ARCHIVE_DIR): EnableAdvice {
  const service = c.composeService ?? 'db';
  const volume = `${service}-wal-archive`;
  const existing = c.cmd[0] === 'postgres' ? c.cmd.slice(1) : [];
  const kept = [] as string[];
  for (let i = 0; i < existing.length; i++) {
    const a = existing[i];
    const setting = a === '-c' ? existing[i + 1] ?? '' : a.startsWith('-c') ? a.slice(2) : '';
    if (/^(wal_level|archive_mode|archive_command|archive_timeout)=/.test(setting)) {
      if (a === '-c') i++;
      continue;
    }
    kept.push(a);
  }
  const command = ['postgres', ...kept, '-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=${safeArchiveCommand(archiveDir)}`, '-c', 'archive_timeout=300'];
  const override = [
    `# docker-compose.override.yml: WAL archiving for ${service} (point-in-time recovery with pg-docker-backup)`,
    'services:',
    `  ${service}:`,
    '    command:',
    ...command.map((a) => `      - ${yamlString(a)}`),
    '    volumes:',
    `      - ${volume}:${archiveDir}`,
    'volumes:',
    `  ${volume}: {}`,
    '',
  ].join('\n');
  const up = c.composeService ? `docker compose up -d ${service}` : `recreate ${c.name} with the same command flags and a volume mounted at ${archiveDir}`;
  const steps = [
    c.composeService
      ? `Save the override above as docker-compose.override.yml beside your compose file (or merge it into an existing override; compose merges it with the main file).`
      : `${c.name} is not a compose service: start it with the same flags, e.g. docker run … -v ${volume}:${archiveDir} IMAGE ${command.slice(1).map((a) => (/[\s%&!]/.test(a) ? `'${a}'` : a)).join(' ')}`,
    `${up}   (this restarts the database: a few seconds of downtime; the data volume is kept).`,
    `docker exec -u root ${c.name} chown postgres:postgres ${archiveDir}   (a new volume belongs to root; until this runs, archiving fails and WAL piles up in pg_wal).`,
    `pg-docker-backup pitr status ${c.name}   (archive_mode on, the archiver archiving, nothing failing).`,
    `pg-docker-backup pitr base-backup ${c.name}   (the recoverable window starts at the end of the first base backup; schedule one daily or weekly).`,
  ];
  const text = `${override}\n# Steps (nothing was changed by pg-docker-backup):\n${steps.map((s, i) => `# ${i + 1}. ${s}`).join('\n')}\n`;
  return { container: c.name, composeService: c.composeService, composeProject: c.composeProject, override, steps, text };
}

/** The advice for a container, from its compose labels and its current command. */
export async function pitrEnableAdvice(docker: DockerClient, options: OperationContext & { container: string; archiveDir?: string }): Promise<EnableAdvice> {
  const op = beginOperation(options);
  const c = await findContainer(docker, options.container, { ...op.discovery, withDatabases: false, withApps: false });
  const details = await docker.inspectContainer(c.id);
  return enableAdvice({ name: c.name, composeService: c.composeService, composeProject: c.composeProject, cmd: details.cmd }, options.archiveDir);
}

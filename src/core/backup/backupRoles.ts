import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import type { Operation } from '../operation';
import { diskError, writeFileAtomic } from '../pipeline/sink';
import { clientError, execClient } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import { HashingCounter } from '../progress';
import { rolesDir, rolesFileName, type RolesManifest } from '../roles/rolesStore';
import { MANIFEST_SUFFIX } from '../store/naming';
import { partialPath, sweepPartials } from '../store/partials';
import { TOOL_NAME } from './manifest';

/** A roles file is a few KB; anything near this is not pg_dumpall's roles output. */
const MAX_ROLES_FILE_BYTES = 64 * 1024 * 1024;

export interface RolesBackupResult {
  path: string;
  bytes: number;
  roles?: string[];
  manifest: RolesManifest;
}

export function pgDumpallRolesArgv(user: string, maintenanceDb: string, withPasswords: boolean): string[] {
  return ['pg_dumpall', '-w', '-U', user, '-l', maintenanceDb, '--roles-only', ...(withPasswords ? [] : ['--no-role-passwords'])];
}

/** The names of pg_dumpall's `CREATE ROLE name;` lines (quoted or plain). */
export function createdRoles(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^CREATE ROLE (?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*));$/gm)) out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
  return out;
}

async function freshRolesPath(folder: string, at: Date): Promise<string> {
  const names = new Set(await fs.readdir(folder));
  for (let attempt = 1; attempt < 1000; attempt++) {
    const name = rolesFileName(at, attempt);
    if (!names.has(name)) return path.join(folder, name);
  }
  throw new PgBackupError('failed', `cannot find a free file name in ${folder}`);
}

/**
 * The cluster's roles (`pg_dumpall --roles-only` in the container, passwords left out unless asked for)
 * to `DIR/<container>/.roles/roles_<ts>.sql`, written as a partial file (mode 0600) and renamed, with a
 * manifest of kind `roles` naming its roles.
 */
export async function backupRoles(server: PgServer, o: { dir: string; withPasswords: boolean; op: Operation }): Promise<RolesBackupResult> {
  const { container, target } = server;
  const folder = rolesDir(o.dir, container.name);
  try {
    await fs.mkdir(folder, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw diskError(e, folder) ?? e;
  }
  await sweepPartials(folder);
  const created = o.op.now();
  const finalPath = await freshRolesPath(folder, created);
  const partial = partialPath(finalPath);
  const started = Date.now();
  const counter = new HashingCounter();
  const entry = new PassThrough();
  const file = createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true });
  try {
    const toFile = pipeline(entry, counter, file);
    toFile.catch(() => undefined);
    const argv = pgDumpallRolesArgv(target.user, server.maintenanceDb, o.withPasswords);
    o.op.progress.step('roles', `Saving the roles of ${container.name}`);
    const r = await execClient(server.docker, target, argv, { stdout: entry, signal: o.op.signal, what: 'The roles backup' });
    await toFile;
    if (r.exitCode !== 0) throw clientError(target, 'pg_dumpall', r, `Saving the roles of ${container.name}`);
    if (counter.bytes === 0 || counter.bytes > MAX_ROLES_FILE_BYTES) throw new PgBackupError('failed', `pg_dumpall --roles-only wrote ${counter.bytes} bytes in ${container.name}, which is not a roles file.`);
    // the names for the manifest; `roles create-missing` parses the whole file strictly when it is used
    const roles = createdRoles(await fs.readFile(partial, 'utf8'));
    const manifest: RolesManifest = {
      kind: 'roles',
      tool: TOOL_NAME,
      file: path.basename(finalPath),
      container: container.name,
      containerId: container.id,
      image: container.image,
      serverVersion: server.info.version,
      withPasswords: o.withPasswords,
      roles,
      bytes: counter.bytes,
      sha256: counter.hash.digest('hex'),
      created: created.toISOString(),
      durationMs: Date.now() - started,
    };
    await fs.rename(partial, finalPath);
    await writeFileAtomic(finalPath + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n');
    o.op.log.info(`roles of ${container.name} written: ${finalPath} (${roles?.length ?? '?'} roles, passwords ${o.withPasswords ? 'included' : 'left out'})`);
    return { path: finalPath, bytes: counter.bytes, roles, manifest };
  } catch (e) {
    file.destroy();
    await fs.rm(partial, { force: true }).catch(() => undefined);
    throw diskError(e, folder) ?? e;
  }
}

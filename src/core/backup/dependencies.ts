import type { DockerClient } from '../docker/client';
import { queryJson, type PgTarget } from '../postgres/client';

/** What a dump refers to beyond its own objects: extensions it creates and roles that own or are granted its objects. */
export interface DumpDependencies {
  extensions: string[];
  roles: string[];
}

/**
 * One cheap catalog query in the dumped database: its extensions (plpgsql left out: every server has it),
 * the owners of its schemas, relations, functions and types outside the system schemas, and the grantees of
 * their privileges (PUBLIC and the built-in pg_* roles left out). With --no-owner only grantees count.
 */
export function dependenciesSql(noOwner: boolean): string {
  const user = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
  const owners = noOwner
    ? ''
    : `SELECT n.nspowner FROM pg_namespace n WHERE ${user}
       UNION SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${user}
       UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${user}
       UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${user}
       UNION `;
  return `SELECT json_build_object(
    'extensions', (SELECT coalesce(json_agg(extname ORDER BY extname), '[]') FROM pg_extension WHERE extname <> 'plpgsql'),
    'roles', (SELECT coalesce(json_agg(DISTINCT pg_get_userbyid(r.oid)), '[]') FROM (
       ${owners}SELECT (aclexplode(n.nspacl)).grantee FROM pg_namespace n WHERE ${user} AND n.nspacl IS NOT NULL
       UNION SELECT (aclexplode(c.relacl)).grantee FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${user} AND c.relacl IS NOT NULL
       UNION SELECT (aclexplode(p.proacl)).grantee FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${user} AND p.proacl IS NOT NULL
     ) r(oid) WHERE r.oid <> 0 AND pg_get_userbyid(r.oid) NOT LIKE 'pg\\_%'))`;
}

export async function dumpDependencies(docker: DockerClient, target: PgTarget, database: string, noOwner: boolean, signal?: AbortSignal): Promise<DumpDependencies> {
  const r = await queryJson<{ extensions: string[]; roles: string[] }>(docker, target, database, dependenciesSql(noOwner), 'reading the extensions and roles the dump refers to', signal);
  return { extensions: r.extensions, roles: [...r.roles].sort() };
}

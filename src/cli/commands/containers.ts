import { parse } from '../args';
import { discoverContainers } from '../../core/postgres/discovery';
import { formatBytes } from '../../core/progress';
import { EXIT_OK, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup containers [--json]';

export async function containersCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(args, {}, { min: 0, max: 0, usage });
  const containers = await discoverContainers(dockerFor(ctx), discoveryFor(ctx));
  if (values.json) {
    writeJson(ctx, {
      containers: containers.map(({ target: _secret, labels: _labels, ...c }) => c),
    });
    return EXIT_OK;
  }
  if (containers.length === 0) {
    ctx.stdout.write('No Postgres containers found.\n');
    return EXIT_OK;
  }
  for (const c of containers) {
    const where = c.composeProject ? ` [${c.composeProject}/${c.composeService ?? '?'}]` : '';
    const version = c.server ? ` PostgreSQL ${c.server.version.split(' ')[0]}` : '';
    ctx.stdout.write(`${c.name}${where} ${c.state}${version} (${c.image})\n`);
    if (c.problem) ctx.stdout.write(`  ! ${c.problem}\n`);
    for (const d of c.databases ?? []) ctx.stdout.write(`  ${d.name}  ${d.sizeBytes >= 0 ? formatBytes(d.sizeBytes) : '?'}  owner ${d.owner}\n`);
    if (c.appContainers.length) ctx.stdout.write(`  apps: ${c.appContainers.map((a) => `${a.name} (${a.state})`).join(', ')}\n`);
  }
  return EXIT_OK;
}

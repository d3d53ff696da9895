import { parse } from '../args';
import { terminateConnections } from '../../core/terminate';
import { EXIT_OK, say, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup terminate <container> [--database DB] [--json]';

export async function terminateCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { database: { type: 'string', short: 'd' } }, { min: 1, max: 1, usage });
  const r = await terminateConnections(dockerFor(ctx), {
    container: positionals[0],
    database: values.database,
    signal: ctx.signal,
    logger: ctx.logger,
    discovery: discoveryFor(ctx),
  });
  if (values.json) writeJson(ctx, r);
  else say(ctx, `Terminated ${r.terminated} session${r.terminated === 1 ? '' : 's'} of "${r.database}" in ${r.container}.`);
  return EXIT_OK;
}

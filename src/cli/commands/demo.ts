import * as path from 'node:path';
import { parse } from '../args';
import { startDemoStack } from '../../core/demo';
import { EXIT_OK, say, writeJson, type CliContext } from '../io';
import { dockerFor } from '../services';

export const usage = 'pg-docker-backup demo [--image IMAGE] [--json]   (a demo stack: Postgres with the Chinook sample and an app container)';

export async function demoCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(args, { image: { type: 'string' } }, { min: 0, max: 0, usage });
  const image = values.image ?? ctx.env.PGDB_DEMO_IMAGE ?? 'postgres:16';
  // dist/cli.js → resources/ beside dist/
  const chinookGz = path.join(__dirname, '..', 'resources', 'chinook_postgresql.sql.gz');
  const r = await startDemoStack(dockerFor(ctx), { image, chinookGz, logger: ctx.logger, onStep: (m) => say(ctx, m) });
  if (values.json) writeJson(ctx, r);
  else say(ctx, `Demo stack up: ${r.database} (database "chinook", user demo) and ${r.app}.`);
  return EXIT_OK;
}

import * as assert from 'node:assert/strict';
import { DEMO_APP, DEMO_DB } from '../../src/core/demo';
import { findContainer } from '../../src/core/postgres/discovery';
import { IMAGE_NEW, cli, containerState, docker, requireDocker, waitFor } from './harness';

/** The demo stack has fixed names; it is sample data by definition, so the test starts from none. */
async function removeDemoStack(): Promise<void> {
  for (const name of [DEMO_APP, DEMO_DB]) await docker().removeContainer(name, { force: true, removeVolumes: true }).catch(() => undefined);
  for (const n of await docker().listNetworks('pgdb-demo')) await docker().removeNetwork(n.id).catch(() => undefined);
}

async function demoSql(query: string): Promise<string> {
  const r = await docker().exec(DEMO_DB, ['psql', '-X', '-A', '-t', '-U', 'demo', '-d', 'chinook', '-c', query], { env: { PGPASSWORD: 'demo' } });
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.trim();
}

describe('the demo stack (`pg-docker-backup demo`, "Start Demo Database")', function () {
  before(async function () {
    await requireDocker();
    await removeDemoStack();
  });
  after(removeDemoStack);

  it('starts Postgres with the Chinook sample and an app holding a connection, in one compose project; a second run reuses it', async function () {
    const first = await cli(['demo', '--image', IMAGE_NEW, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json, { database: DEMO_DB, app: DEMO_APP, created: true });
    assert.equal(await demoSql('SELECT count(*) FROM artist'), '275');
    assert.equal(await demoSql('SELECT count(*) FROM track'), '3503');
    assert.equal(await containerState(DEMO_APP), 'running');
    await waitFor('the demo app to connect', async () => (await demoSql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'demo-app'`)) === '1');
    const found = await findContainer(docker(), DEMO_DB, { withDatabases: true });
    assert.equal(found.composeProject, 'pgdb-demo');
    assert.deepEqual(found.appContainers.map((a) => a.name), [DEMO_APP], 'the app is found as the database’s app container');
    assert.ok(found.databases?.some((d) => d.name === 'chinook'));

    const again = await cli(['demo', '--image', IMAGE_NEW, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json?.created, false);
    assert.equal(await demoSql('SELECT count(*) FROM artist'), '275', 'the sample is loaded once');
    const networks = await docker().listNetworks('pgdb-demo');
    assert.equal(networks.length, 1, 'one demo network, not one per run');
  });

  it('an image that is not here and cannot be pulled: the error says so and names the Postgres images that are here', async function () {
    const r = await cli(['demo', '--image', 'pgdb-test-missing/postgres:0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /needs the image pgdb-test-missing\/postgres:0, which is not here and cannot be pulled/);
    assert.match(r.stderr, /pgDockerBackup\.demoImage \(CLI: --image\)/);
    assert.ok(r.stderr.includes(IMAGE_NEW), `names ${IMAGE_NEW}: ${r.stderr}`);
  });
});

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nextRuns } from '../../src/core/schedule/cronExpression';
import { cronToOnCalendar } from '../../src/core/schedule/onCalendar';
import { CLI, tempDir } from './harness';

const SECRET = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const NOTIFY = `https://hc-ping.com/${SECRET}`;

function requireTool(tool: string): void {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`${tool} is missing: run \`bash scripts/test-env.sh\` (it installs Debian's systemd package), or install systemd yourself.`);
}

function run(args: string[], env: NodeJS.ProcessEnv, script = CLI): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A home, a config dir with a space, and test doubles of crontab(1) and systemctl(1) first on PATH (this test only). */
async function sandbox() {
  const root = await tempDir('sched');
  const home = path.join(root, 'home');
  const config = path.join(root, 'config dir');
  const bin = path.join(root, 'bin');
  const calls = path.join(root, 'calls');
  for (const d of [home, config, bin, calls]) fs.mkdirSync(d, { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    path.join(bin, 'crontab'),
    `#!/bin/sh\n# test double for crontab(1): the table lives in a file, every call and stdin are recorded\nd=${q(calls)}\necho "$*" >> "$d/crontab.calls"\n` +
      `case "$1" in\n  -l) [ -f "$d/table" ] || { echo "no crontab for tester" >&2; exit 1; }; cat "$d/table" ;;\n  -) cat > "$d/table.new" && mv "$d/table.new" "$d/table" ;;\n  *) echo "unexpected: $*" >&2; exit 2 ;;\nesac\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh\n# test double for systemctl(1): records its arguments; fails like a machine without user systemd when told to\nd=${q(calls)}\necho "$*" >> "$d/systemctl.calls"\n` +
      `if [ -f "$d/no-user-systemd" ]; then echo "Failed to connect to bus: No medium found" >&2; exit 1; fi\nexit 0\n`,
    { mode: 0o755 },
  );
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: config, PATH: `${bin}:${process.env.PATH}` };
  delete env.PG_DOCKER_BACKUP_NOTIFY_URL;
  delete env.PG_DOCKER_BACKUP_PASSWORD;
  const read = (f: string) => (fs.existsSync(path.join(calls, f)) ? fs.readFileSync(path.join(calls, f), 'utf8') : '');
  return { root, home, config, bin, calls, env, read, units: path.join(config, 'systemd', 'user') };
}

/** The CLI copied to a folder whose name needs quoting everywhere: space, quote, %, $ and a backslash. */
function oddCli(root: string): string {
  const dir = path.join(root, `odd dir/it's 100% $HOME\\x`);
  fs.mkdirSync(dir, { recursive: true });
  const copy = path.join(dir, 'cli.js');
  fs.copyFileSync(CLI, copy);
  return copy;
}

describe('schedule print / install / uninstall (real systemd-analyze, test doubles for crontab and systemctl)', function () {
  before(() => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node esbuild.js\` first`);
  });

  it('prints a crontab block and systemd units with the runbook defaults, mentions enable-linger, never the notify token', async () => {
    const s = await sandbox();
    const r = run(['schedule', 'print', '--dir', path.join(s.root, 'backups'), '--notify', NOTIFY], s.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0 2 \* \* \* set -a; \. .*schedule-cron\.env'; set \+a; .* backup --all --dir .*; .* prune --yes --dir .* --keep-daily 30 --keep-monthly 12$/m);
    assert.match(r.stdout, /^OnCalendar=\*-\*-\* 02:00:00$/m);
    assert.match(r.stdout, /loginctl enable-linger \$USER/);
    assert.match(r.stdout, /PG_DOCKER_BACKUP_NOTIFY_URL from .*schedule-systemd\.env \(mode 0600/);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), 'the token is not printed');
    const bad = run(['schedule', 'print', '--cron', '0 0 31 2 *'], s.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /none of its months has that day/);
  });

  it('installs systemd user units that pass `systemd-analyze verify`, with odd paths and the token only in a 0600 file; uninstall removes exactly those', async () => {
    requireTool('systemd-analyze');
    const s = await sandbox();
    const cli = oddCli(s.root);
    const dir = path.join(s.root, 'back ups 100%');
    fs.mkdirSync(s.units, { recursive: true });
    fs.writeFileSync(path.join(s.units, 'mine.service'), '[Service]\nExecStart=/bin/true\n');
    const args = ['schedule', 'install', '--systemd', '--yes', '--dir', dir, '--container', "odd c'ontainer", '--cron', '*/30 1-5 1 * 1-5', '--keep-weekly', '8', '--notify', NOTIFY];
    const r = run(args, s.env, cli);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.read('systemctl.calls'), '--user daemon-reload\n--user enable --now pg-docker-backup.timer\n');
    const service = fs.readFileSync(path.join(s.units, 'pg-docker-backup.service'), 'utf8');
    const timer = fs.readFileSync(path.join(s.units, 'pg-docker-backup.timer'), 'utf8');
    assert.deepEqual(timer.match(/^OnCalendar=.*$/gm), ['OnCalendar=*-*-01 01..05:00,30:00', 'OnCalendar=Mon..Fri *-*-* 01..05:00,30:00']);
    assert.match(service, /--keep-weekly 8$/m);
    const envFile = path.join(s.config, 'pg-docker-backup', 'schedule-systemd.env');
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(envFile, 'utf8'), new RegExp(`^PG_DOCKER_BACKUP_NOTIFY_URL="${NOTIFY}"$`, 'm'));
    for (const text of [service, timer, r.stdout, r.stderr]) assert.ok(!text.includes(SECRET), 'no token outside the env file');

    const runtime = fs.mkdtempSync(path.join(s.root, 'rt-'));
    const verify = spawnSync('systemd-analyze', ['--user', 'verify', path.join(s.units, 'pg-docker-backup.timer'), path.join(s.units, 'pg-docker-backup.service')], {
      encoding: 'utf8',
      env: { ...s.env, XDG_RUNTIME_DIR: runtime },
    });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warnings either');

    const u = run(['schedule', 'uninstall', '--systemd', '--yes'], s.env, cli);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(fs.readdirSync(s.units), ['mine.service']);
    assert.equal(fs.existsSync(envFile), false);
    assert.match(s.read('systemctl.calls'), /--user disable --now pg-docker-backup\.timer\n--user daemon-reload\n$/);
  });

  it('where there is no user systemd, install says so and leaves nothing behind; a foreign unit of the same name is never replaced', async () => {
    const s = await sandbox();
    fs.writeFileSync(path.join(s.calls, 'no-user-systemd'), '');
    const r = run(['schedule', 'install', '--systemd', '--yes', '--notify', NOTIFY], s.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /There is no user systemd to talk to here \(systemctl --user daemon-reload: Failed to connect to bus: No medium found\); the unit files were removed again, nothing is installed\. Use `schedule install --cron`/);
    assert.deepEqual(fs.readdirSync(s.units), []);
    assert.equal(fs.existsSync(path.join(s.config, 'pg-docker-backup', 'schedule-systemd.env')), false);

    fs.writeFileSync(path.join(s.units, 'pg-docker-backup.timer'), '[Timer]\nOnCalendar=daily\n');
    fs.rmSync(path.join(s.calls, 'no-user-systemd'));
    const refused = run(['schedule', 'install', '--systemd', '--yes'], s.env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pg-docker-backup\.timer exists and was not installed by pg-docker-backup/);
    assert.equal(fs.readFileSync(path.join(s.units, 'pg-docker-backup.timer'), 'utf8'), '[Timer]\nOnCalendar=daily\n');
    const u = run(['schedule', 'uninstall', '--yes'], s.env);
    assert.equal(u.code, 0, u.stderr);
    assert.ok(fs.existsSync(path.join(s.units, 'pg-docker-backup.timer')), 'uninstall leaves a unit it did not install');
  });

  it('adds a marked crontab block that runs as written through /bin/sh, replaces it on reinstall, removes exactly it; asks first', async () => {
    const s = await sandbox();
    const cli = oddCli(s.root);
    const others = 'MAILTO=me@example.org\n# my own job\n*/5 * * * * /usr/local/bin/other --flag\n';
    fs.writeFileSync(path.join(s.calls, 'table'), others);
    const dir = path.join(s.root, 'back ups 100%');

    const asked = run(['schedule', 'install', '--cron', '--dir', dir], s.env, cli);
    assert.equal(asked.code, 2, 'no terminal and no --yes: refused');
    assert.match(asked.stderr, /Refusing to change anything without confirmation/);
    assert.equal(s.read('table'), others);

    const r = run(['schedule', 'install', '--cron', '--yes', '--dir', dir, '--container', "odd c'ontainer", '--cron', '15 3 * * *', '--notify', NOTIFY], s.env, cli);
    assert.equal(r.code, 0, r.stderr);
    const table = s.read('table');
    assert.ok(table.startsWith(others));
    assert.ok(!table.includes(SECRET));
    const job = table.split('\n').find((l) => l.startsWith('15 3 * * * '))!;
    assert.ok(job, table);

    // run the line as cron does: `\%` becomes `%`, then /bin/sh -c; the CLI is replaced by a recorder of argv and env
    const record = path.join(s.root, 'record.jsonl');
    fs.writeFileSync(cli, `require('fs').appendFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), notify: process.env.PG_DOCKER_BACKUP_NOTIFY_URL }) + '\\n');\n`);
    const command = job.split(' ').slice(5).join(' ').replace(/\\%/g, '%');
    const sh = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { HOME: s.home, PATH: '/usr/bin:/bin' } });
    assert.equal(sh.status, 0, sh.stderr);
    const runs = fs.readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; notify: string });
    assert.deepEqual(runs.map((x) => x.argv), [
      ['backup', '--all', '--dir', dir, '--container', "odd c'ontainer"],
      ['prune', '--yes', '--dir', dir, '--container', "odd c'ontainer", '--keep-daily', '30', '--keep-monthly', '12'],
    ]);
    assert.deepEqual(runs.map((x) => x.notify), [NOTIFY, NOTIFY], 'the URL reaches the job from the 0600 env file');

    fs.copyFileSync(CLI, cli);
    const again = run(['schedule', 'install', '--cron', '--yes', '--dir', dir], s.env, cli);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(s.read('table').match(/BEGIN pg-docker-backup schedule/g)?.length, 1, 'replaced, not added twice');
    assert.equal(fs.existsSync(path.join(s.config, 'pg-docker-backup', 'schedule-cron.env')), false, 'no secrets this time: no env file');

    const u = run(['schedule', 'uninstall', '--cron', '--yes'], s.env, cli);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(s.read('table'), others);
    assert.match(s.read('crontab.calls'), /^-l\n-\n-l\n-\n-l\n-\n$/);
  });

  it('OnCalendar fires exactly when cron does: systemd-analyze calendar against croner for many expressions', function () {
    requireTool('systemd-analyze');
    const expressions = [
      '0 2 * * *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '*/15 * * * *', '*/7 * * * *', '5,35 */2 * * *',
      '0 9-17 * * 1-5', '*/20 9-10 * * mon-fri', '30 4 1,15 * *', '0 0 1 * 1', '0 12 13 * 5', '0 0 * * 0', '0 0 * * 7',
      '0 0 * * 5-7', '0 6 * jun-aug sat,sun', '59 23 31 * *', '0 0 29 2 *', '0 0 1-7 * *', '10-50/20 3 * * *', '0 0 */3 * *',
      '0 22 * * 1,3,5', '45 1 28-31 * *', '0 0 1 1,4,7,10 *', '0 5 * 2 1-5',
    ];
    // From just before a year's last midnight: day, month and year roll over within the runs compared.
    const base = Date.parse('2027-12-31T23:30:00Z');
    for (const expr of expressions) {
      const lines = cronToOnCalendar(expr);
      const before = base;
      const r = spawnSync('systemd-analyze', ['calendar', '--iterations=14', '--base-time=2027-12-31 23:30:00 UTC', ...lines], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      const after = base;
      assert.equal(r.status, 0, `${expr} → ${lines.join(' | ')}: ${r.stderr}`);
      const fromSystemd = [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) => Date.parse(`${m[1].replace(' ', 'T')}Z`));
      const merged = [...new Set(fromSystemd)].sort((a, b) => a - b).filter((t) => t > after + 1000).slice(0, 10);
      const fromCron = nextRuns(expr, new Date(before), 16, 'UTC').map((d) => d.getTime()).filter((t) => t > after + 1000).slice(0, 10);
      assert.equal(merged.length, 10, `${expr}: systemd gave ${merged.length} times`);
      assert.deepEqual(merged.map((t) => new Date(t).toISOString()), fromCron.map((t) => new Date(t).toISOString()), `${expr} → ${lines.join(' | ')}`);
    }
  });
});

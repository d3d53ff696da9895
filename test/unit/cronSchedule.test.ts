import * as assert from 'node:assert/strict';
import { cronProblem, describeCron, nextRuns, parseCron, previousRun } from '../../src/core/schedule/cronExpression';
import { cronToOnCalendar } from '../../src/core/schedule/onCalendar';
import { crontabBlock, crontabWord, envFileText, readMarker, CRON_BEGIN, systemdUnits, systemdWord, type ScheduledJob } from '../../src/core/schedule/units';
import { removeCronBlock } from '../../src/core/schedule/install';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString().slice(0, 16));

describe('cron expressions (crontab(5) grammar, croner for the times)', () => {
  it('computes next and previous runs, in the given time zone', () => {
    const from = new Date('2026-03-01T00:00:00Z');
    assert.deepEqual(iso(nextRuns('0 2 * * *', from, 3, 'UTC')), ['2026-03-01T02:00', '2026-03-02T02:00', '2026-03-03T02:00']);
    assert.deepEqual(iso(nextRuns('*/20 9-10 * * mon-fri', from, 4, 'UTC')), ['2026-03-02T09:00', '2026-03-02T09:20', '2026-03-02T09:40', '2026-03-02T10:00']);
    assert.deepEqual(iso(nextRuns('@monthly', from, 2, 'UTC')), ['2026-04-01T00:00', '2026-05-01T00:00']);
    assert.equal(previousRun('0 2 * * *', new Date('2026-03-05T02:00:00Z'), 'UTC')?.toISOString(), '2026-03-05T02:00:00.000Z', 'a slot exactly now counts');
    assert.equal(previousRun('0 2 * * *', new Date('2026-03-05T01:59:59Z'), 'UTC')?.toISOString(), '2026-03-04T02:00:00.000Z');
  });

  it('ORs a restricted day of month with a restricted day of week, like cron', () => {
    // 1 March 2026 is a Sunday; Mondays are 2, 9, 16…
    assert.deepEqual(iso(nextRuns('0 0 1 * 1', new Date('2026-03-01T12:00:00Z'), 3, 'UTC')), ['2026-03-02T00:00', '2026-03-09T00:00', '2026-03-16T00:00']);
    assert.deepEqual(iso(nextRuns('0 0 1 * 1', new Date('2026-03-28T12:00:00Z'), 2, 'UTC')), ['2026-03-30T00:00', '2026-04-01T00:00']);
    // Sunday as 0 and as 7
    assert.deepEqual(nextRuns('0 0 * * 7', new Date('2026-03-02T00:00:00Z'), 2, 'UTC'), nextRuns('0 0 * * 0', new Date('2026-03-02T00:00:00Z'), 2, 'UTC'));
  });

  it('refuses what crontab would not read, saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      ['* * * *', /it has 4 fields, not 5/],
      ['0 0 * * * *', /it has 6 fields, not 5/],
      ['61 * * * *', /minute 61 is outside 0-59/],
      ['0 24 * * *', /hour 24 is outside 0-23/],
      ['0 0 0 * *', /day of month 0 is outside 1-31/],
      ['0 0 L * *', /"L" is not a valid day of month/],
      ['0 0 * * 1#2', /"1#2" is not a valid day of week/],
      ['0 0 ? * *', /"\?" is not a valid day of month/],
      ['0 5-2 * * *', /the range "5-2" runs backwards/],
      ['5/10 * * * *', /a step needs a range or \*/],
      ['*/0 * * * *', /step .* at least 1/],
      ['@reboot', /@reboot is not a schedule/],
      ['0 0 30 2 *', /none of its months has that day/],
      ['0 0 */2 * 1', /read differently by different cron programs; write it as 1-31\/2/],
    ];
    for (const [expr, why] of cases) {
      assert.throws(() => parseCron(expr), (e: Error) => why.test(e.message) && /Write five fields/.test(e.message), expr);
      assert.match(cronProblem(expr) ?? '', why);
    }
    assert.equal(cronProblem('0 2 * * *'), undefined);
    assert.equal(cronProblem('0 0 29 2 *'), undefined, 'runs in leap years');
  });

  it('describes expressions in words', () => {
    assert.equal(describeCron('0 2 * * *'), 'At 02:00');
    assert.equal(describeCron('*/15 9-17 * * 1-5'), 'Every 15 minutes, between 09:00 and 17:59, Monday through Friday');
    assert.equal(describeCron('@weekly'), 'At 00:00, only on Sunday');
  });
});

describe('cron → systemd OnCalendar', () => {
  const cases: [string, string[]][] = [
    ['0 2 * * *', ['*-*-* 02:00:00']],
    ['@hourly', ['*-*-* *:00:00']],
    ['*/15 * * * *', ['*-*-* *:00/15:00']],
    ['*/15 9-17 * * 1-5', ['Mon..Fri *-*-* 09..17:00/15:00']],
    ['30 4 1,15 * *', ['*-*-01,15 04:30:00']],
    ['0 0 1 * 1', ['*-*-01 00:00:00', 'Mon *-*-* 00:00:00']],
    ['0 0 * * 0,6', ['Sat,Sun *-*-* 00:00:00']],
    ['0 0 * * SAT,sun', ['Sat,Sun *-*-* 00:00:00']],
    ['0 12 * jun 5-7', ['Fri..Sun *-06-* 12:00:00']],
    ['5,10 */6 1-10/3 jan-mar * ', ['*-01..03-01,04,07,10 00/6:05,10:00']],
    ['0 0 29 2 *', ['*-02-29 00:00:00']],
    ['0 0 1 1 *', ['*-01-01 00:00:00']],
    ['59 23 31 12 *', ['*-12-31 23:59:00']],
  ];
  for (const [cron, expected] of cases) {
    it(`${cron} → ${expected.join(' | ')}`, () => assert.deepEqual(cronToOnCalendar(cron), expected));
  }
});

describe('generated crontab block and systemd units', () => {
  const job: ScheduledJob = {
    cron: '0 2 * * *',
    node: '/usr/bin/node',
    cli: "/opt/odd dir/it's 100% $HOME\\x/dist/cli.js",
    dir: '/var/backups/pg',
    containers: ['db one', 'b'],
    keep: ['--keep-daily', '30', '--keep-monthly', '12'],
    envFile: '/home/u/.config/pg-docker-backup/schedule-cron.env',
  };

  it('quotes words for /bin/sh in a crontab line and escapes cron\'s %', () => {
    assert.equal(crontabWord('plain/path-1.js'), 'plain/path-1.js');
    assert.equal(crontabWord("it's"), `'it'\\''s'`);
    assert.equal(crontabWord('100%'), `'100\\%'`);
    assert.equal(crontabWord('$HOME'), `'$HOME'`);
  });

  it('writes a marked block: backup --all, then one prune per container with the rules, env file sourced', () => {
    const block = crontabBlock(job);
    const lines = block.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines[0].startsWith(CRON_BEGIN));
    assert.deepEqual(readMarker(block, CRON_BEGIN), { cron: '0 2 * * *', containers: ['db one', 'b'] });
    const cli = `'/opt/odd dir/it'\\''s 100\\% $HOME\\x/dist/cli.js'`;
    assert.equal(
      lines[1],
      `0 2 * * * set -a; . /home/u/.config/pg-docker-backup/schedule-cron.env; set +a; /usr/bin/node ${cli} backup --all --dir /var/backups/pg --container 'db one' --container b; ` +
        `/usr/bin/node ${cli} prune --yes --dir /var/backups/pg --container 'db one' --keep-daily 30 --keep-monthly 12; /usr/bin/node ${cli} prune --yes --dir /var/backups/pg --container b --keep-daily 30 --keep-monthly 12`,
    );
    assert.equal(lines[2], '# END pg-docker-backup schedule');
  });

  it('passes the backup options (codec, recipients, upload) to backup --all only, each value one quoted word', () => {
    const withFlags: ScheduledJob = { ...job, containers: [], envFile: undefined, backupFlags: ['--compression', 'zstd:3', '--recipient', 'age1abc', '--recipients-file', '/keys/team keys.txt', '--upload', 'team'] };
    const line = crontabBlock(withFlags).split('\n')[1];
    const [backup, prune] = line.split('; ');
    assert.ok(backup.endsWith("backup --all --dir /var/backups/pg --compression zstd:3 --recipient age1abc --recipients-file '/keys/team keys.txt' --upload team"), backup);
    assert.ok(!prune.includes('--recipient') && !prune.includes('--upload'), 'prune gets only the rules');
    assert.match(systemdUnits(withFlags).service.text, /ExecStart=.* backup --all --dir \/var\/backups\/pg --compression zstd:3 --recipient age1abc --recipients-file "\/keys\/team keys.txt" --upload team\n/);
  });

  it('removes exactly its own block from a crontab', () => {
    const others = '# mine\nMAILTO=me\n*/5 * * * * /usr/local/bin/other --flag\n';
    const withOurs = others + crontabBlock(job) + '0 3 * * * /bin/true\n';
    const { text, found } = removeCronBlock(withOurs);
    assert.equal(found, true);
    assert.equal(text, others + '0 3 * * * /bin/true\n');
    assert.deepEqual(removeCronBlock(others), { text: others, found: false });
  });

  it('writes systemd units with quoted, %- and $-escaped words, the timer from the cron expression, secrets only by file', () => {
    const units = systemdUnits({ ...job, cron: '0 0 1 * 1', envFile: '/home/u/.config/pg-docker-backup/schedule-systemd.env' });
    assert.equal(systemdWord("it's 100% $HOME"), `"it's 100%% $$HOME"`);
    assert.equal(systemdWord('a"b\\c'), `"a\\"b\\\\c"`);
    assert.match(units.service.text, /^ExecStart=\/usr\/bin\/node "\/opt\/odd dir\/it's 100%% \$\$HOME\\\\x\/dist\/cli\.js" backup --all --dir \/var\/backups\/pg --container "db one" --container b$/m);
    assert.equal(units.service.text.match(/^ExecStopPost=.* prune --yes --dir \/var\/backups\/pg --container .* --keep-daily 30 --keep-monthly 12$/gm)?.length, 2);
    assert.match(units.service.text, /^EnvironmentFile=\/home\/u\/\.config\/pg-docker-backup\/schedule-systemd\.env$/m);
    assert.match(units.service.text, /^Type=oneshot$/m);
    assert.deepEqual(units.timer.text.match(/^OnCalendar=.*$/gm), ['OnCalendar=*-*-01 00:00:00', 'OnCalendar=Mon *-*-* 00:00:00']);
    assert.match(units.timer.text, /^Persistent=true$/m);
    assert.match(units.timer.text, /^WantedBy=timers\.target$/m);
    assert.ok(!/hc-ping|token|password/i.test(units.service.text + units.timer.text));
  });

  it('writes env files that sh and systemd read the same way', () => {
    assert.equal(envFileText({ A: 'x"y$z`w\\q\'r' }).split('\n')[1], 'A="x\\"y\\$z\\`w\\\\q\'r"');
    assert.throws(() => envFileText({ A: 'two\nlines' }), /line break/);
  });
});

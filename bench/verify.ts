// Verify and exact-row-count benchmark. Run: node --import=tsx bench/verify.ts [--rounds N] [--before-ref REF] [--no-backup]
//
// 1. Backup speed with exact row counts in pg_dump's snapshot: the default backup (dist/cli.js) of the reference
//    database (bench/referenceDb.ts: pgbench -s 30 + random_text, PG17) against the in-container
//    `pg_dump -Z1 > /dev/null`, and against the CLI built from --before-ref (default: `git merge-base HEAD main`,
//    the code before exact counts),
//    alternating the three commands each round. Target: default backup within 1.15x of the in-container pg_dump.
// 2. Quick verify of the reference backup (.sql.gz made by the default backup): `node dist/cli.js verify f`
//    against `sha256sum f && gzip -t f` on the same file, alternating. Target: within 1.3x.
// Results: a table on stdout and bench/results/verify.json.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { bash, docker, esbuildCommon, fmtS, fmtX, median, q, run, table } from './lib';
import { BENCH_DB, BENCH_USER, benchEnv, ensureReferenceDb } from './referenceDb';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results', 'verify.json');
const TARGETS = { backupOverInContainerZ1: 1.15, quickVerifyOverShaGzip: 1.3 };
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'before-ref': { type: 'string' },
    'no-backup': { type: 'boolean', default: false },
    cli: { type: 'string', default: path.join(ROOT, 'dist', 'cli.js') },
  },
  strict: true,
});
const rounds = Math.max(1, Number(opt.rounds));
const beforeRef = opt['before-ref'] ?? execFileSync('git', ['-C', ROOT, 'merge-base', 'HEAD', 'main'], { encoding: 'utf8' }).trim().slice(0, 12);

/** Bundles the CLI of another commit (git archive of src/ into bench/.build/<ref>/, node_modules of this tree). */
async function buildCliAt(ref: string): Promise<string> {
  const dir = path.join(__dirname, '.build', `ref-${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  execFileSync('bash', ['-c', `git -C ${q(ROOT)} archive ${q(ref)} src package.json | tar -x -C ${q(dir)}`]);
  const esbuild = await import('esbuild');
  const outfile = path.join(dir, 'cli.js');
  // the project's own bundle options (esbuild.js), so the measured CLI is built like dist/cli.js
  await esbuild.build({ ...esbuildCommon(), entryPoints: [path.join(dir, 'src/cli/index.ts')], outfile, nodePaths: [path.join(ROOT, 'node_modules')] });
  return outfile;
}

async function cliBackup(cli: string, container: string, dir: string): Promise<{ ms: number; path: string; rowCounts: string }> {
  const r = await run('node', [cli, 'backup', container, '--database', BENCH_DB, '--dir', dir, '--json']);
  const out = JSON.parse(r.stdout) as { path: string };
  const m = JSON.parse(await fs.readFile(out.path + '.json', 'utf8')) as { rowCounts: string };
  return { ms: r.ms, path: out.path, rowCounts: m.rowCounts };
}

async function main(): Promise<void> {
  if (!existsSync(opt.cli)) throw new Error(`${opt.cli} does not exist: run \`node esbuild.js\``);
  const env = benchEnv(1);
  const { sizeBytes } = await ensureReferenceDb(env);
  log(`reference database ${env.db}/${BENCH_DB}: ${(sizeBytes / 1024 / 1024).toFixed(0)} MB`);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-verify-'));
  const results: Record<string, unknown> = { at: new Date().toISOString(), cpus: os.cpus().length, loadavg: os.loadavg(), databaseBytes: sizeBytes, rounds, targets: TARGETS };
  const rows: string[][] = [];
  try {
    const inContainer: number[] = [];
    const ours: number[] = [];
    const before: number[] = [];
    let reference = '';
    let rowCounts = '';
    const beforeCli = opt['no-backup'] ? undefined : await buildCliAt(beforeRef);
    for (let i = 0; i < (opt['no-backup'] ? 1 : rounds); i++) {
      const steps: (() => Promise<void>)[] = [
        async () => {
          const b = await cliBackup(opt.cli, env.db, path.join(tmp, `after-${i}`));
          ours.push(b.ms);
          reference = b.path;
          rowCounts = b.rowCounts;
        },
      ];
      if (beforeCli) {
        steps.push(async () => void before.push((await cliBackup(beforeCli, env.db, path.join(tmp, `before-${i}`))).ms));
        steps.push(async () => void inContainer.push((await docker(['exec', env.db, 'sh', '-c', 'pg_dump -U "$1" -d "$2" -Z1 > /dev/null', 'sh', BENCH_USER, BENCH_DB])).ms));
      }
      for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]();
      log(`round ${i + 1}: ours ${fmtS(ours[i])}${beforeCli ? `, before ${fmtS(before[i])}, in-container -Z1 ${fmtS(inContainer[i])}` : ''}`);
    }
    if (beforeCli) {
      const ratio = median(ours) / median(inContainer);
      // the machine's speed drifts over minutes: the ratio within each round too
      const paired = median(ours.map((o, i) => o / inContainer[i]));
      const pairedBefore = median(before.map((o, i) => o / inContainer[i]));
      results.backup = { inContainerZ1Ms: inContainer, oursMs: ours, beforeMs: before, beforeRef, rowCounts, medianRatio: ratio, pairedRatio: paired, pairedRatioBefore: pairedBefore, pass: ratio <= TARGETS.backupOverInContainerZ1 };
      rows.push(['in-container pg_dump -Z1 > /dev/null', fmtS(median(inContainer)), '', '']);
      rows.push([`backup before (${beforeRef}: estimated counts above 256 MB)`, fmtS(median(before)), `${fmtX(median(before) / median(inContainer))} (per round ${fmtX(pairedBefore)})`, '']);
      rows.push([`backup now (rowCounts: ${rowCounts})`, fmtS(median(ours)), `${fmtX(ratio)} (per round ${fmtX(paired)})`, `≤ ${TARGETS.backupOverInContainerZ1}x ${ratio <= TARGETS.backupOverInContainerZ1 ? 'PASS' : 'FAIL'}`]);
    }

    // quick verify of the reference .sql.gz against sha256sum && gzip -t
    const bytes = (await fs.stat(reference)).size;
    const baseline: number[] = [];
    const verify: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const steps = [
        async () => void baseline.push((await bash(`sha256sum ${q(reference)} >/dev/null && gzip -t ${q(reference)}`)).ms),
        async () => {
          const r = await run('node', [opt.cli, 'verify', reference, '--json']);
          if (!(JSON.parse(r.stdout) as { ok: boolean }).ok) throw new Error(`verify failed: ${r.stdout}`);
          verify.push(r.ms);
        },
      ];
      for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]();
    }
    const vRatio = median(verify) / median(baseline);
    const vPaired = median(verify.map((v, i) => v / baseline[i]));
    results.verify = { file: path.basename(reference), bytes, baselineMs: baseline, verifyMs: verify, medianRatio: vRatio, pairedRatio: vPaired, pass: vRatio <= TARGETS.quickVerifyOverShaGzip };
    rows.push([`sha256sum f && gzip -t f (${(bytes / 1024 / 1024).toFixed(1)} MB .sql.gz)`, fmtS(median(baseline)), '', '']);
    rows.push(['pg-docker-backup verify f (quick, whole CLI run)', fmtS(median(verify)), `${fmtX(vRatio)} (per round ${fmtX(vPaired)})`, `≤ ${TARGETS.quickVerifyOverShaGzip}x ${vRatio <= TARGETS.quickVerifyOverShaGzip ? 'PASS' : 'FAIL'}`]);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  process.stdout.write(table(['', 'median', 'ratio', 'target'], rows) + '\n');
  await fs.mkdir(path.dirname(RESULTS), { recursive: true });
  await fs.writeFile(RESULTS, JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${path.relative(ROOT, RESULTS)}`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

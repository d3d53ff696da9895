/**
 * Interop with the reference tools: Debian's `age`/`age-keygen` (1.1), the `zstd` and `lz4` CLIs, and
 * pg_dump -Z zstd / -Z lz4 inside the PostgreSQL 17 test image. All installed by scripts/test-env.sh.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { ageDecoder, ageEncoder } from '../../src/core/pipeline/age';
import { readIdentityFile } from '../../src/core/pipeline/keys';
import { lz4Decoder } from '../../src/core/pipeline/lz4';
import { zstdDecoder } from '../../src/core/pipeline/zstd';
import { CHINOOK, CLI, cleanup, cli, docker, loadChinook, requireDocker, startPostgres, tempDir } from './harness';

function requireTool(tool: string, pkg: string): void {
  if (spawnSync(tool, ['--version']).error) {
    throw new Error(`This test needs the \`${tool}\` command (Debian package ${pkg}): run \`bash scripts/test-env.sh\`, or install it (apt-get install ${pkg}; macOS: brew install ${pkg}).`);
  }
}

async function transformFile(t: Transform, from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from, { highWaterMark: 64 * 1024 }), t, createWriteStream(to));
}

type Pty = typeof import('node-pty');
function loadPty(): Pty {
  try {
    return require('node-pty') as Pty;
  } catch (e) {
    throw new Error(`This test drives the age CLI through a pseudo-terminal with node-pty (a devDependency; it builds with node-gyp: apt-get install build-essential python3, then npm ci): ${(e as Error).message}`);
  }
}

/** Runs `age` in a pseudo-terminal, answering each passphrase prompt with `passphrase`. */
function ageWithPassphrase(args: string[], passphrase: string): Promise<{ code: number; output: string }> {
  const pty = loadPty();
  return new Promise((resolve, reject) => {
    const p = pty.spawn('age', args, { cols: 200, rows: 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb' } });
    let output = '';
    let answered = 0;
    const timer = setTimeout(() => {
      p.kill();
      reject(new Error(`age ${args.join(' ')} did not finish; it said: ${output}`));
    }, 60000);
    p.onData((d) => {
      output += d;
      const prompts = (output.match(/passphrase/gi) ?? []).length;
      // "Enter passphrase (leave empty…):", then "Confirm passphrase:" when encrypting
      while (answered < prompts && /:\s*$/.test(output)) {
        answered++;
        p.write(`${passphrase}\r`);
      }
    });
    p.onExit(({ exitCode }) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output });
    });
  });
}

describe('interop with the age CLI (Debian age 1.1)', function () {
  this.timeout(120000);
  let dir: string;
  let input: string;
  before(async () => {
    requireTool('age', 'age');
    requireTool('age-keygen', 'age');
    dir = await tempDir('pgdb-age-');
    input = path.join(dir, 'dump.sql');
    // a plain dump-like file of ~2 MB: several 64 KiB chunks and a partial last one
    await fs.writeFile(input, Buffer.concat([readFileSync(CHINOOK), readFileSync(CHINOOK), randomBytes(70001), readFileSync(CHINOOK)]));
    await fs.access(CLI).catch(() => {
      throw new Error(`${CLI} is missing: run \`node esbuild.js\` first.`);
    });
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keygen writes a 0600 identity file that age-keygen -y reads to the same public key, and never overwrites', async () => {
    const key = path.join(dir, 'keygen.txt');
    const r = await cli(['keygen', '-o', key]);
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.trim();
    assert.match(printed, /^age1[0-9a-z]{58}$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(execFileSync('age-keygen', ['-y', key]).toString().trim(), printed);
    assert.match(readFileSync(key, 'utf8'), new RegExp(`^# created: \\S+\\n# public key: ${printed}\\nAGE-SECRET-KEY-1[0-9A-Z]{58}\\n$`));
    const before = readFileSync(key, 'utf8');
    const again = await cli(['keygen', '-o', key]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; keygen never overwrites a key/);
    assert.equal(readFileSync(key, 'utf8'), before);
    // and a file encrypted here to that key opens with `age -d -i`
    const enc = path.join(dir, 'to-keygen.sql.age');
    await transformFile(ageEncoder({ recipients: [printed] }), input, enc);
    const out = path.join(dir, 'by-age.sql');
    execFileSync('age', ['-d', '-i', key, '-o', out, enc]);
    assert.ok(readFileSync(out).equals(readFileSync(input)));
  });

  it('files encrypted by `age -r A -r B` decrypt here with either identity', async () => {
    const keys = [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')];
    for (const k of keys) execFileSync('age-keygen', ['-o', k], { stdio: 'ignore' });
    const pubs = keys.map((k) => execFileSync('age-keygen', ['-y', k]).toString().trim());
    const enc = path.join(dir, 'by-cli.sql.age');
    execFileSync('age', ['-r', pubs[0], '-r', pubs[1], '-o', enc, input]);
    for (const k of keys) {
      const out = path.join(dir, `here-${path.basename(k)}.sql`);
      await transformFile(ageDecoder({ identities: await readIdentityFile(k) }), enc, out);
      assert.ok(readFileSync(out).equals(readFileSync(input)), k);
    }
    // and `age -d` refuses a file cut short that this decoder also refuses
    const cut = path.join(dir, 'cut.sql.age');
    await fs.writeFile(cut, readFileSync(enc).subarray(0, statSync(enc).size - 100));
    await assert.rejects(transformFile(ageDecoder({ identities: await readIdentityFile(keys[0]) }), cut, path.join(dir, 'cut.sql')), /is damaged: its age data fails authentication/);
    assert.notEqual(spawnSync('age', ['-d', '-i', keys[0], '-o', path.join(dir, 'cut-cli.sql'), cut]).status, 0);
  });

  it('passphrase: encrypted here, `age -d` opens it with the passphrase typed on its terminal', async () => {
    const enc = path.join(dir, 'pw-here.sql.age');
    await transformFile(ageEncoder({ passphrase: 'tr0ub4dor & 3 horses' }), input, enc); // age's default work factor 18
    const out = path.join(dir, 'pw-by-age.sql');
    const r = await ageWithPassphrase(['-d', '-o', out, enc], 'tr0ub4dor & 3 horses');
    assert.equal(r.code, 0, r.output);
    assert.ok(readFileSync(out).equals(readFileSync(input)));
  });

  it('passphrase: encrypted by `age -p`, decrypted here; a wrong passphrase is refused', async () => {
    const enc = path.join(dir, 'pw-cli.sql.age');
    const r = await ageWithPassphrase(['-p', '-o', enc, input], 'correct horse battery staple');
    assert.equal(r.code, 0, r.output);
    const out = path.join(dir, 'pw-here.sql');
    await transformFile(ageDecoder({ passphrase: 'correct horse battery staple' }), enc, out);
    assert.ok(readFileSync(out).equals(readFileSync(input)));
    await assert.rejects(
      transformFile(ageDecoder({ passphrase: 'wrong' }), enc, path.join(dir, 'wrong.sql')),
      /encrypted with age to a passphrase, and the passphrase given does not open it/,
    );
  });
});

describe('interop with the zstd and lz4 CLIs and pg_dump -Z zstd / lz4 (PostgreSQL 17)', function () {
  this.timeout(300000);
  let dir: string;
  let input: string;
  before(async () => {
    requireTool('zstd', 'zstd');
    requireTool('lz4', 'lz4');
    dir = await tempDir('pgdb-codecs-');
    input = path.join(dir, 'input.bin');
    const parts: Buffer[] = [];
    for (let i = 0; i < 12; i++) parts.push(readFileSync(CHINOOK), randomBytes(10000));
    await fs.writeFile(input, Buffer.concat(parts)); // ~7 MB
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await cleanup();
  });

  const cliCases: Array<[string, string[], () => Transform]> = [
    ['zstd -1', ['zstd', '-q', '-1'], zstdDecoder],
    ['zstd -19 --long', ['zstd', '-q', '-19', '--long=24'], zstdDecoder],
    ['zstd -T2 (multi-frame)', ['zstd', '-q', '-3', '-T2', '-B1048576'], zstdDecoder],
    ['lz4', ['lz4', '-q'], lz4Decoder],
    ['lz4 -BD -9', ['lz4', '-q', '-BD', '-9'], lz4Decoder],
  ];
  for (const [name, argv, decoder] of cliCases) {
    it(`${name}: decodes here byte for byte`, async () => {
      const enc = path.join(dir, `${name.replace(/\W+/g, '_')}.out`);
      execFileSync(argv[0], [...argv.slice(1), '-f', input, ...(argv[0] === 'lz4' ? [] : ['-o']), enc]);
      const out = `${enc}.decoded`;
      await transformFile(decoder(), enc, out);
      assert.ok(readFileSync(out).equals(readFileSync(input)));
    });
  }

  it('plain dumps by pg_dump -Z zstd:3 and -Z lz4 in the PG17 container decode here, as the CLIs decode them', async () => {
    await requireDocker();
    const pg = await startPostgres('codecs17');
    await loadChinook(pg);
    for (const [spec, decoder, tool] of [
      ['zstd:3', zstdDecoder, 'zstd'],
      ['lz4', lz4Decoder, 'lz4'],
      ['lz4:9', lz4Decoder, 'lz4'],
    ] as const) {
      const file = path.join(dir, `chinook.${spec.replace(':', '')}`);
      const r = await docker().exec(pg.name, ['pg_dump', '-U', pg.user, '-d', 'chinook', '-Z', spec], {
        env: { PGPASSWORD: pg.password },
        stdout: createWriteStream(file),
      });
      assert.equal(r.exitCode, 0, r.stderr);
      const out = `${file}.sql`;
      await transformFile(decoder(), file, out);
      const sql = readFileSync(out);
      assert.ok(sql.subarray(0, 40).toString().startsWith('--\n-- PostgreSQL database dump'), spec);
      assert.ok(sql.includes('CREATE TABLE public.album') || sql.includes('CREATE TABLE public."Album"'), spec);
      assert.ok(sql.equals(execFileSync(tool, ['-dc', file], { maxBuffer: 1 << 28 })), `${spec}: same bytes as ${tool} -d`);
    }
  });
});


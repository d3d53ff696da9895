// One bundle per entry point, CommonJS for Node; `--production` minifies, `--watch` rebuilds.
// Type-checking is separate: `npm run typecheck`.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  // vscode is provided by the host; ssh2's and cpu-features' native addons are optional (ssh2 falls back
  // to pure JS), so they are left out of the bundle instead of failing it.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
};

/**
 * The extension loads Docker's client (dockerode with ssh2, grpc, tar…, about 1 MB) from a bundle of
 * its own on first use, so activating the extension parses only its own code.
 */
const dockerodeApart = {
  name: 'dockerode-apart',
  setup(build) {
    build.onResolve({ filter: /^dockerode$/ }, () => ({ path: './dockerode.js', external: true }));
  },
};

const entries = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [dockerodeApart] },
  { ...common, entryPoints: ['dockerode'], outfile: 'dist/dockerode.js' },
  { ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js' },
];

async function main() {
  if (watch) {
    const contexts = await Promise.all(entries.map((e) => esbuild.context(e)));
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(entries.map((e) => esbuild.build(e)));
  require('fs').chmodSync('dist/cli.js', 0o755);
}

module.exports = { common };

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

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
  // `import('./dockerode.js')` left as a real dynamic import sends the 2 MB CommonJS bundle through Node's
  // ESM loader, which parses it once more for its exports (about 100 ms of every CLI start): a require instead.
  supported: { 'dynamic-import': false },
};

/**
 * Heavy libraries live in bundles of their own, loaded on first use, so starting the CLI or activating
 * the extension parses only our code: Docker's client (dockerode with ssh2, grpc, tar…, about 2 MB) and
 * the object-store SDKs (AWS S3, Google Cloud Storage: about 3 MB), which only upload/download/remote-*
 * need. Our modules import them only dynamically (`import('dockerode')`, `import('./s3Client.js')`), so
 * the `require('./s3.js')` they become runs on first use.
 */
const APART = {
  dockerode: './dockerode.js',
  '@aws-sdk/client-s3': './s3.js',
  '@aws-sdk/lib-storage': './s3.js',
  '@google-cloud/storage': './gcs.js',
};

const apart = {
  name: 'apart',
  setup(build) {
    const names = Object.keys(APART).map((n) => n.replace(/[/.]/g, (c) => `\\${c}`));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: APART[args.path], external: true }));
  },
};

/** A bundle of third-party code only, from a one-line entry. */
const vendor = (outfile, contents) => ({ ...common, stdin: { contents, resolveDir: __dirname, loader: 'js' }, outfile });

const entries = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [apart] },
  { ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', plugins: [apart] },
  { ...common, entryPoints: ['dockerode'], outfile: 'dist/dockerode.js' },
  vendor('dist/s3.js', "export * from '@aws-sdk/client-s3'; export { Upload } from '@aws-sdk/lib-storage';"),
  vendor('dist/gcs.js', "export * from '@google-cloud/storage';"),
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

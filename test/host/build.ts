import * as path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(__dirname, '..', '..');

/** Bundles the suite like the extension (same externals), leaving vscode and mocha to the host. */
export async function buildSuite(outdir: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { common } = require(path.join(root, 'esbuild.js')) as { common: esbuild.BuildOptions };
  await esbuild.build({
    ...common,
    minify: false,
    sourcemap: 'inline',
    entryPoints: [path.join(root, 'test/host/index.ts'), path.join(root, 'test/host/extension.test.ts'), path.join(root, 'test/host/remoteBackups.test.ts'), path.join(root, 'test/host/restoreScope.test.ts'), path.join(root, 'test/host/copyToContainer.test.ts'), path.join(root, 'test/host/pitrPrune.test.ts')],
    outdir,
    outbase: path.join(root, 'test/host'),
    external: [...(common.external ?? []), 'mocha'],
  });
}

/**
 * The import graph, checked in the test run (`npm run check:imports`): data flows one way, from a front end
 * (CLI, extension) to an operation (backup, restore, undo, reset…) to stages, loaders and the Postgres
 * helpers, down to the one Docker interface, with no loops.
 */
const core = '^src/core/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import loops make the code hard to follow and to test.', from: {}, to: { circular: true } },
    { name: 'core-is-plain-node', severity: 'error', comment: 'src/core never imports vscode or a front end.', from: { path: core }, to: { path: '^(vscode$|src/(cli|extension)/)' } },
    { name: 'front-ends-apart', severity: 'error', from: { path: '^src/cli/' }, to: { path: '^src/extension/' } },
    { name: 'front-ends-apart-2', severity: 'error', from: { path: '^src/extension/' }, to: { path: '^src/cli/' } },
    {
      name: 'docker-is-the-bottom',
      severity: 'error',
      comment: 'The Docker interface knows nothing of Postgres, backups or restores.',
      from: { path: `${core}docker/` },
      to: { path: core, pathNot: [`${core}docker/`, `${core}(errors|logger)\\.ts$`] },
    },
    {
      name: 'postgres-below-operations',
      severity: 'error',
      comment: 'The server handle, client argv and admin SQL are used by operations, never the other way round.',
      from: { path: `${core}postgres/` },
      to: { path: `${core}(backup|restore|store|pipeline|databases)/|${core}(undo|reset|terminate|demo)\\.ts$` },
    },
    {
      name: 'stages-are-plain-streams',
      severity: 'error',
      comment: 'Stages and sinks transform and store bytes; they know no Docker, server, backup or restore.',
      from: { path: `${core}pipeline/` },
      to: { path: `${core}(docker|postgres|backup|restore|databases)/` },
    },
    {
      name: 'operations-are-leaves',
      severity: 'error',
      comment: 'Only front ends, and operations composing a restore (point-in-time recovery, deep verify), start a restore, undo or terminate.',
      from: { path: core, pathNot: [`${core}(restore|pitr)/`, `${core}verify[A-Za-z]*\\.ts$`] },
      to: { path: `${core}restore/|${core}(undo|terminate)\\.ts$` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|out|\\.cache)/' },
  },
};

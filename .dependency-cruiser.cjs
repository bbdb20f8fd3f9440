// Import-cycle check (`npm run check:cycles`): dependency-cruiser over the package sources and
// bench/. Type-only imports count (tsPreCompilationDeps), so a cycle hidden behind
// `import type` fails too; package imports (@alphadrop/*) resolve through tsconfig's paths.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module must not reach itself through its imports, type-only imports included.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(packages/[^/]+/src|bench)/',
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};

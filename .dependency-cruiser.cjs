/**
 * Module boundaries (ARCHITECTURE.md §1), checked by `npm run depcheck` inside `npm test`.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'libs/domain imports nothing but its own files: no Nest, no TypeORM, no node:*, no npm packages.',
      severity: 'error',
      from: { path: '^libs/domain/', pathNot: ['\\.spec\\.ts$', '/testing/'] },
      to: { pathNot: '^libs/domain/' },
    },
    {
      name: 'libs-through-index-only',
      comment: 'Outside a lib, import it only through its index (the @ledger/<lib> alias); no deep imports.',
      severity: 'error',
      from: { path: '^(apps|libs|bench)/', pathNot: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/.+', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'lib-to-other-lib-through-index-only',
      comment: 'A lib reaches another lib only through its index.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/.+', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'apps-do-not-import-apps',
      comment: 'Apps import libs, never each other (the all-in-one composition root is the one exception below).',
      severity: 'error',
      from: { path: '^apps/([^/]+)/', pathNot: '^apps/all-in-one/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'all-in-one-composes-apps-through-their-index',
      comment: 'npm start composes the apps in one process, through each app\'s src/index.ts only (ADR 0006).',
      severity: 'error',
      from: { path: '^apps/all-in-one/' },
      to: { path: '^apps/(?!all-in-one/)[^/]+/', pathNot: '^apps/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'production-code-does-not-import-test-code',
      comment: 'Test helpers (test/, */testing/, *.spec.ts) stay out of what ships.',
      severity: 'error',
      from: { path: '^(apps|libs|bench)/', pathNot: ['\\.spec\\.ts$', '/testing/'] },
      to: { path: ['^test/', '/testing/', '\\.spec\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

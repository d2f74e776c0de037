// Dependency rules (npm run lint): no cycle between the top-level folders of src/
// (ingest → evaluate → state → route → notify, with domain/ beneath them all), and ioredis only
// in state/, redis/ and the composition root. A file-level cycle is madge's job; the folder rule
// catches two folders that lean on each other through different files.
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Two top-level folders of src/ import each other (directly or round a longer loop): move the shared piece down (usually to domain/).',
      scope: 'folder',
      from: { path: '^src/[^/]+' },
      to: { circular: true },
    },
    // Redis stays behind state/: every key layout and Lua script lives there.
    {
      name: 'ioredis-only-in-state',
      severity: 'error',
      comment:
        'ioredis is imported only by state/ (every Redis key and Lua script), redis/ (the connection) and the composition root (main.ts, roles/): elsewhere, ask a store in state/.',
      from: { path: '^src/', pathNot: ['^src/state/', '^src/redis/', '^src/roles/', '^src/main\\.ts$'] },
      to: { path: '(^|/)node_modules/ioredis/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

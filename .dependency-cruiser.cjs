// Folder-level dependency rule (npm run lint): no cycle between the top-level folders of src/
// (ingest → evaluate → state → route → notify, with domain/ beneath them all). A file-level
// cycle is madge's job; this catches two folders that lean on each other through different files.
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, 'dist', 'src', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(`lookout: ${cli} is missing; run "npm run build" (npm ci does it for you)\n`);
  process.exit(1);
}
await import(pathToFileURL(cli).href);

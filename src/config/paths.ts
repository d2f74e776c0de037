import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed lookout package (the folder with its package.json), from src/ or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"lookout"/.test(readFileSync(pkg, 'utf8'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** `rules/` in the working directory when there is one, else the rules shipped with Lookout. */
export function defaultRulesDir(): string {
  return existsSync('rules') ? 'rules' : join(packageRoot(), 'rules');
}

/** `templates/<locale>` in the working directory when there is one, else the shipped templates. */
export function defaultTemplatesDir(locale: string): string {
  const local = join('templates', locale);
  return existsSync(local) ? local : join(packageRoot(), 'templates', locale);
}

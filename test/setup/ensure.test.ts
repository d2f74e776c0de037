import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = resolve(import.meta.dirname, '../../scripts/ensure.sh');

/** A PATH holding only the named system binaries, so the tool under test is missing. */
function pathWith(...bins: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-ensure-'));
  for (const b of bins) {
    const found = spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(dir, b));
  }
  return dir;
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync('/bin/bash', [script, ...args], { encoding: 'utf8', env });
}

describe('scripts/ensure.sh', () => {
  it('a missing tool with LOOKOUT_NO_INSTALL=1: exit 2 and the exact install command', () => {
    const r = run(['redis-server'], { PATH: pathWith('id', 'apt-get'), LOOKOUT_NO_INSTALL: '1' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sudo apt-get install -y redis-server');
    expect(r.stdout).toBe('');
  });

  it('perf (bench/cpu.ts) comes from linux-perf', () => {
    const r = run(['perf'], { PATH: pathWith('id', 'apt-get'), LOOKOUT_NO_INSTALL: '1' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sudo apt-get install -y linux-perf');
  });

  it('a missing tool without apt-get: exit 2 and the command, even as root', () => {
    const r = run(['prometheus'], { PATH: pathWith('id') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sudo apt-get install -y prometheus');
  });

  it('tools present: exit 0, silent', () => {
    const r = run(['redis-server'], { PATH: process.env.PATH, LOOKOUT_NO_INSTALL: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  it('an unknown tool name: exit 2 with a message naming the known tools', () => {
    const r = run(['mysql'], { PATH: process.env.PATH });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown tool 'mysql'/);
    expect(r.stderr).toMatch(/redis-server prometheus faketime chromium/);
  });

  it('no tool named: usage, exit 2', () => {
    const r = run([], { PATH: process.env.PATH });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  });
});

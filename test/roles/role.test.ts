import { describe, expect, it } from 'vitest';
import { Closers, Role, type Close } from '../../src/roles/role.js';

class Recording extends Role {
  readonly name = 'recording';
  constructor(
    private readonly log: string[],
    private readonly parts: readonly string[],
  ) {
    super();
  }
  protected async open(opened: (close: Close) => void): Promise<void> {
    for (const p of this.parts) {
      this.log.push(`open ${p}`);
      opened(async () => {
        await new Promise((r) => setTimeout(r, 1));
        this.log.push(`close ${p}`);
      });
    }
  }
}

describe('Role', () => {
  it('closes what it opened in reverse order, each close awaited before the next', async () => {
    const log: string[] = [];
    const role = new Recording(log, ['connection', 'relay', 'worker']);
    await role.start();
    await role.stop();
    expect(log).toEqual(['open connection', 'open relay', 'open worker', 'close worker', 'close relay', 'close connection']);
  });

  it('closes each thing once, however often stop() is called', async () => {
    const log: string[] = [];
    const role = new Recording(log, ['a', 'b']);
    await role.start();
    await role.stop();
    await role.stop();
    expect(log.filter((l) => l.startsWith('close'))).toEqual(['close b', 'close a']);
  });
});

describe('Closers', () => {
  it('runs the last pushed first', async () => {
    const order: number[] = [];
    const closers = new Closers();
    for (const n of [1, 2, 3]) closers.push(() => order.push(n));
    await closers.close();
    expect(order).toEqual([3, 2, 1]);
  });
});

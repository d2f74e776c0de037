import { describe, expect, it } from 'vitest';
import { pickFields } from '../../src/domain/fields.js';

interface Deps {
  readonly name: string;
  readonly count: () => number;
  readonly secret?: string;
}

class Holder extends pickFields<Deps>()('name', 'count') {
  describe(): string {
    return `${this.name}: ${this.count()}`;
  }
}

describe('pickFields', () => {
  it('holds the named dependencies as fields, read at construction', () => {
    const deps = { name: 'a', count: () => 3, secret: 's' };
    const h = new Holder(deps);
    expect(h.describe()).toBe('a: 3');
    expect(h.name).toBe('a');
  });

  it('copies only the named dependencies, not the rest of the object', () => {
    const h = new Holder({ name: 'a', count: () => 0, secret: 's' });
    expect(Object.keys(h).sort()).toEqual(['count', 'name']);
    expect('secret' in h).toBe(false);
  });
});

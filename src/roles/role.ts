// What a process runs (`lookout start --role api,worker,scheduler`): one class per role on this
// base, as bullmq's Queue, Worker and QueueEvents each own and close their connections. A role
// opens what it uses on start() and closes it on stop(), the last opened first.

/** The roles `--role` (LOOKOUT_ROLE) names; `all` is every one. */
export const ROLES = ['api', 'worker', 'scheduler'] as const;
export type RoleName = (typeof ROLES)[number];

/** How to close one thing that was opened. */
export type Close = () => unknown;

/** A stack of closers: close() runs them last-pushed first, once. */
export class Closers {
  private readonly stack: Close[] = [];

  push(close: Close): void {
    this.stack.push(close);
  }

  async close(): Promise<void> {
    for (const close of this.stack.splice(0).reverse()) await close();
  }
}

export abstract class Role {
  abstract readonly name: string;
  private readonly closers = new Closers();

  /** Open this role's pieces, telling `opened` how to close each as it comes. */
  protected abstract open(opened: (close: Close) => void): Promise<void>;

  async start(): Promise<void> {
    await this.open((close) => this.closers.push(close));
  }

  /** Close what start() opened, in reverse order. */
  async stop(): Promise<void> {
    await this.closers.close();
  }
}

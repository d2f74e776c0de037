// A real 3-master Redis Cluster for the cluster tests (issue 11): three redis-server processes
// with --cluster-enabled yes on free loopback ports, each in its own directory, joined with
// `redis-cli --cluster create … --cluster-yes`, ready once every node says cluster_state:ok and
// knows the three masters. stop() ends the processes and removes the directories.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, redisServerEnv } from '../../src/redis/embedded.js';

const run = promisify(execFile);

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated (a REDIS_URL naming the whole cluster). */
  readonly urls: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly masters?: number;
  /** Replicas per master (default 0): `nodes` then holds masters × (1 + replicas) nodes. */
  readonly replicas?: number;
  /** cluster-node-timeout (ms): how soon a silent node is considered failing. */
  readonly nodeTimeoutMs?: number;
  readonly readyTimeoutMs?: number;
}

/** `count` distinct free loopback ports (a node's client port and its cluster-bus port each). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function logTail(node: ClusterNode): string {
  try {
    return readFileSync(join(node.dir, 'redis.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function ping(node: ClusterNode, deadline: number): Promise<void> {
  for (;;) {
    const r = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      await r.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cluster node ${node.url} did not start: ${(err as Error).message}\n${logTail(node)}`);
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      r.disconnect();
    }
  }
}

/** Every node reports cluster_state:ok, all slots assigned and all masters known. */
async function waitClusterOk(nodes: readonly ClusterNode[], deadline: number): Promise<void> {
  const conns = nodes.map((n) => new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 0 }));
  try {
    let last = '';
    for (;;) {
      const infos = await Promise.all(conns.map((c) => c.cluster('INFO') as Promise<string>));
      const ok = infos.every(
        (i) => /cluster_state:ok/.test(i) && /cluster_slots_ok:16384/.test(i) && new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(i),
      );
      if (ok) return;
      last = infos.join('\n---\n');
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ok in time:\n${last}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    for (const c of conns) c.disconnect();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startRedisCluster(opts: ClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const count = masters * (1 + replicas);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  const ports = await freePorts(count * 2);
  // redis-server hangs under libfaketime: the suite may run faked, its Redis keeps real time.
  const env = redisServerEnv();
  const children: ChildProcess[] = [];
  const nodes: ClusterNode[] = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
  // A test process that dies without stop() must not leave the nodes running.
  process.once('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    await Promise.all(children.map(stopProcess));
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = ports[2 * i]!;
      const dir = mkdtempSync(join(tmpdir(), `lookout-cluster-${i}-`));
      nodes.push({ host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`, dir });
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--cluster-port', String(ports[2 * i + 1]!),
          '--bind', '127.0.0.1',
          '--dir', dir,
          '--logfile', join(dir, 'redis.log'),
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
          '--save', '',
          '--appendonly', 'no',
          '--maxmemory-policy', 'noeviction',
        ],
        { env, stdio: 'ignore' },
      );
      child.on('error', () => undefined);
      children.push(child);
    }
    await Promise.all(nodes.map((n) => ping(n, deadline)));
    const created = await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      env,
      timeout: Math.max(1000, deadline - Date.now()),
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`redis-cli --cluster create failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
    if (!/\[OK\] All 16384 slots covered/.test(created.stdout)) throw new Error(`redis-cli --cluster create did not cover all slots:\n${created.stdout}`);
    await waitClusterOk(nodes, deadline);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, urls: nodes.map((n) => n.url).join(','), stop };
}

// The container files, checked without a Docker engine (there is none on these machines):
// compose.yaml parses, everything it mounts or builds from exists, Redis / Lookout / Prometheus
// are wired to each other, the Dockerfile has the shape docs/deploy.md promises, and the example
// config dir passes Lookout's own load-time checks. docs/deploy.md "Checked here without Docker".

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadOrg } from '../../src/config/org-check.js';
import { loadRegistryFiles } from '../../src/config/registry-loader.js';
import { Calendar } from '../../src/domain/clock.js';
import { AOF_REWRITE_MIN_SIZE, AOF_REWRITE_PERCENTAGE } from '../../src/redis/embedded.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (p: string) => join(ROOT, p);
const read = (p: string) => readFileSync(at(p), 'utf8');

// ---- compose.yaml -----------------------------------------------------------------------------

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Env | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number | { target?: number; published?: number | string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Compose interpolation with nothing set: `${X:-def}` / `${X-def}` → def, `${X}` → "". */
function interpolate(s: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, def?: string) => def ?? '');
}

const compose = parse(read('compose.yaml'), { merge: true }) as Compose;
const services = compose.services;
const svc = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`compose.yaml has no service ${name}`);
  return s;
};

function env(s: Service): Env {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0]!, interpolate(kv.split('=').slice(1).join('='))]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, interpolate(String(v))]));
}

function command(s: Service): string[] {
  const c = s.command ?? [];
  return (Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean)).map(interpolate);
}

interface Mount {
  readonly service: string;
  readonly source: string;
  readonly target: string;
  readonly bind: boolean;
}

/** Every volume entry; `bind` for host paths (./x, ../x, /x), else a named volume. */
function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const [service, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      if (typeof v === 'string') {
        const [source, target] = interpolate(v).split(':') as [string, string];
        out.push({ service, source, target, bind: /^(\.{1,2}\/|\/|~)/.test(source) });
      } else {
        out.push({ service, source: v.source ?? '', target: v.target ?? '', bind: v.type === 'bind' });
      }
    }
  }
  return out;
}

const repoPath = (source: string) => normalize(source).replace(/\/+$/, '');
const DASHBOARD_MOUNTS = [
  { source: 'dashboards/provisioning', target: '/etc/grafana/provisioning' },
  { source: 'dashboards', target: '/var/lib/grafana/dashboards' },
];
const isDashboards = (m: Mount) => repoPath(m.source) === 'dashboards' || repoPath(m.source).startsWith('dashboards/');

function publishes(s: Service, containerPort: number): boolean {
  return (s.ports ?? []).some((p) => {
    if (typeof p === 'object') return p.target === containerPort;
    return String(p).split(':').at(-1)!.split('/')[0] === String(containerPort);
  });
}

function urlOf(raw: string | undefined): URL {
  expect(raw, 'a URL').toBeTruthy();
  return new URL(raw!);
}

describe('compose.yaml', () => {
  it('has Redis, Lookout, Prometheus, Grafana and a mail catcher', () => {
    for (const name of ['redis', 'lookout', 'prometheus', 'grafana', 'mailpit']) expect(services, name).toHaveProperty(name);
    expect(svc('redis').image).toMatch(/^redis:7/);
    expect(svc('prometheus').image).toMatch(/^prom\/prometheus[:@]/);
    expect(svc('grafana').image).toMatch(/^grafana\/grafana(-oss)?[:@]/);
    expect(svc('mailpit').image).toMatch(/^axllent\/mailpit[:@]/);
  });

  it('builds Lookout from a Dockerfile in the repository', () => {
    const builds = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(builds.map(([n]) => n)).toContain('lookout');
    for (const [name, s] of builds) {
      const b = typeof s.build === 'string' ? { context: s.build } : s.build!;
      const context = at(b.context ?? '.');
      expect(existsSync(context), `${name}: build context ${b.context}`).toBe(true);
      expect(existsSync(join(context, b.dockerfile ?? 'Dockerfile')), `${name}: ${b.dockerfile ?? 'Dockerfile'}`).toBe(true);
    }
  });

  it('mounts only host paths that exist (dashboards/ aside) and declares every named volume', () => {
    const all = mounts();
    expect(all.length).toBeGreaterThan(0);
    for (const m of all.filter((x) => x.bind && !isDashboards(x))) {
      expect(m.source.startsWith('./'), `${m.service}: ${m.source} is relative to the repository`).toBe(true);
      expect(existsSync(at(m.source)), `${m.service}: ${m.source} → ${m.target}`).toBe(true);
    }
    for (const m of all.filter((x) => !x.bind)) expect(compose.volumes ?? {}, `${m.service}: volume ${m.source}`).toHaveProperty(m.source);
  });

  it('mounts exactly the documented dashboards/ folders into Grafana', () => {
    const dash = mounts().filter(isDashboards);
    expect(dash.map((m) => ({ source: repoPath(m.source), target: m.target }))).toEqual(expect.arrayContaining(DASHBOARD_MOUNTS));
    expect(dash).toHaveLength(DASHBOARD_MOUNTS.length);
    for (const m of dash) expect(m.service).toBe('grafana');
    const docs = read('docs/deploy.md');
    for (const d of DASHBOARD_MOUNTS) expect(docs).toContain(`${d.source}/`);
  });

  it.skipIf(!existsSync(at('dashboards/provisioning')))('has the dashboards/ folders Grafana mounts', () => {
    for (const d of DASHBOARD_MOUNTS) expect(existsSync(at(d.source)), d.source).toBe(true);
  });

  it('runs Redis with AOF, noeviction, a volume for /data and a ping health check', () => {
    const redis = svc('redis');
    const args = command(redis);
    expect(args[0]).toBe('redis-server');
    expect(args.join(' ')).toMatch(/--appendonly yes\b/);
    expect(args.join(' ')).toMatch(/--maxmemory-policy noeviction\b/);
    // The same AOF rewrite policy as the embedded Redis (src/redis/embedded.ts).
    expect(args.join(' ')).toContain(`--auto-aof-rewrite-percentage ${AOF_REWRITE_PERCENTAGE} --auto-aof-rewrite-min-size ${AOF_REWRITE_MIN_SIZE}`);
    expect(mounts().some((m) => m.service === 'redis' && !m.bind && m.target === '/data')).toBe(true);
    const test = redis.healthcheck?.test;
    expect(Array.isArray(test) ? test.join(' ') : test).toMatch(/redis-cli.*ping/);
  });

  it('points Lookout at the redis service and the mail catcher, with the example config mounted', () => {
    const lookout = svc('lookout');
    const e = env(lookout);
    const redisUrl = urlOf(e.REDIS_URL);
    expect(redisUrl.protocol).toBe('redis:');
    expect(services).toHaveProperty(redisUrl.hostname);
    expect(svc(redisUrl.hostname).image).toMatch(/^redis:/);
    expect(redisUrl.port || '6379').toBe('6379');

    const smtp = urlOf(e.LOOKOUT_SMTP_URL);
    expect(smtp.protocol).toBe('smtp:');
    expect(smtp.hostname).toBe('mailpit');
    expect(smtp.port).toBe('1025');
    expect(e.LOOKOUT_SMS_URL).toBe('outbox:');

    expect(e.LOOKOUT_CONFIG_DIR).toBe('/etc/lookout');
    const config = mounts().find((m) => m.service === 'lookout' && m.target === e.LOOKOUT_CONFIG_DIR);
    expect(config && repoPath(config.source)).toBe('deploy/config');
    const dataDir = e.LOOKOUT_DATA_DIR ?? '/var/lib/lookout';
    expect(mounts().some((m) => m.service === 'lookout' && !m.bind && m.target === dataDir)).toBe(true);

    expect(publishes(lookout, 8080)).toBe(true);
    const deps = lookout.depends_on;
    expect(Array.isArray(deps) ? undefined : deps?.[redisUrl.hostname]?.condition).toBe('service_healthy');
    expect(command(lookout).slice(0, 3)).toEqual(['start', '--role', 'all']);
  });

  it('offers split roles under a profile; worker and scheduler keep the health check and are scraped', () => {
    for (const [name, role] of [['lookout-worker', 'worker'], ['lookout-scheduler', 'scheduler']] as const) {
      const s = svc(name);
      expect(s.profiles).toContain('split');
      expect(command(s)).toEqual(['start', '--role', role]);
      expect(s.healthcheck?.disable).not.toBe(true); // worker-only processes still serve /healthz and /metrics
      expect(env(s).REDIS_URL).toBe(env(svc('lookout')).REDIS_URL);
    }
    const prom = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { dns_sd_configs?: { names: string[]; port: number }[] }[] };
    const split = prom.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []);
    expect(split.flatMap((c) => c.names).sort()).toEqual(['lookout-scheduler', 'lookout-worker']);
    expect(split.every((c) => c.port === 8080)).toBe(true);
  });

  it('depends only on services it defines', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(services, `${name} depends on ${d}`).toHaveProperty(d);
    }
  });

  it('publishes the documented ports: Lookout 8080, Prometheus 9090, Grafana 3000, Mailpit 8025', () => {
    expect(publishes(svc('lookout'), 8080)).toBe(true);
    expect(publishes(svc('prometheus'), 9090)).toBe(true);
    expect(publishes(svc('grafana'), 3000)).toBe(true);
    expect(publishes(svc('mailpit'), 8025)).toBe(true);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  interface ScrapeConfig {
    job_name: string;
    metrics_path?: string;
    scrape_interval?: string;
    static_configs?: { targets: string[] }[];
  }

  it('is the file Prometheus loads, and scrapes lookout:8080/metrics every 15s', () => {
    const prom = svc('prometheus');
    const mount = mounts().find((m) => m.service === 'prometheus' && m.bind && m.target.endsWith('prometheus.yml'));
    expect(mount && repoPath(mount.source)).toBe('deploy/prometheus/prometheus.yml');
    const configFlag = command(prom).find((a) => a.startsWith('--config.file='));
    expect(configFlag ?? '--config.file=/etc/prometheus/prometheus.yml').toBe(`--config.file=${mount!.target}`);

    const cfg = parse(read(mount!.source)) as { global?: { scrape_interval?: string }; scrape_configs: ScrapeConfig[] };
    const lookoutPort = env(svc('lookout')).LOOKOUT_HTTP_PORT || '8080';
    const job = cfg.scrape_configs.find((j) => (j.static_configs ?? []).some((s) => s.targets.includes(`lookout:${lookoutPort}`)));
    expect(job, 'a scrape job targeting the lookout service').toBeDefined();
    expect(job!.job_name).toBe('lookout');
    expect(job!.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job!.scrape_interval ?? cfg.global?.scrape_interval).toBe('15s');
    expect(publishes(svc('lookout'), Number(lookoutPort))).toBe(true);
  });
});

// ---- Dockerfile ----------------------------------------------------------------------------------

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function dockerStages(text: string): Instruction[][] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(t);
    if (!m) continue;
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ').trim() };
    if (ins.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(ins);
  }
  return stages;
}

const dockerfile = read('Dockerfile');
const stages = dockerStages(dockerfile);
const final = stages.at(-1) ?? [];
const ops = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op);

/** COPY args → { from?, sources, dest } (exec/JSON form not used here). */
function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(' ');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from !== undefined && { from }), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

describe('Dockerfile', () => {
  it('is a multi-stage build on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s[0]!.args).toMatch(/^node:20-bookworm-slim\b/);
    const built = ops(stages.flat(), 'RUN').map((r) => r.args);
    expect(built.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    // package.json's prepare script runs tsc; every npm ci skips it deliberately (see the Dockerfile).
    for (const r of built.filter((x) => /\bnpm ci\b/.test(x))) expect(r).toContain('--ignore-scripts');
    expect(built.some((r) => /\bnpm ci\b.*--omit=dev/.test(r) || /\bnpm prune\b.*--omit=dev/.test(r))).toBe(true);
  });

  it('runs as a non-root user in the final stage', () => {
    const users = ops(final, 'USER').map((u) => u.args.split(':')[0]!);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
  });

  it('has a HEALTHCHECK on /healthz and tini as PID 1', () => {
    const hc = ops(final, 'HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0]!.args).toMatch(/\/healthz/);
    expect(hc[0]!.args).toMatch(/\bCMD\b/);
    expect(ops(final, 'RUN').some((r) => /apt-get install .*\btini\b/.test(r.args))).toBe(true);
    const entry = ops(final, 'ENTRYPOINT').at(-1);
    const argv = JSON.parse(entry!.args) as string[];
    expect(argv[0]).toMatch(/(^|\/)tini$/);
    expect(argv.slice(1)).toEqual(['--', 'node', 'bin/lookout.js']);
    expect(JSON.parse(ops(final, 'CMD').at(-1)!.args)).toEqual(['start', '--role', 'all']);
  });

  it('sets the documented working dir, environment and port', () => {
    expect(ops(final, 'WORKDIR').at(-1)?.args).toBe('/app');
    const envText = ops(final, 'ENV').map((e) => e.args).join(' ');
    expect(envText).toMatch(/NODE_ENV=production\b/);
    expect(envText).toMatch(/LOOKOUT_DATA_DIR=\/var\/lib\/lookout\b/);
    expect(envText).toMatch(/LOOKOUT_CONFIG_DIR=\/etc\/lookout\b/);
    expect(ops(final, 'EXPOSE').map((e) => e.args)).toContain('8080');
  });

  it('copies everything bin/lookout.js needs into the runtime, and nothing from the context that is missing or ignored', () => {
    const launcher = read('bin/lookout.js');
    expect(launcher).toContain("join(root, 'dist', 'src', 'cli.js')");
    const copies = ops(final, 'COPY').map((c) => copyParts(c.args));
    const dests = copies.flatMap((c) => (c.sources.length > 1 || c.dest.endsWith('/') ? c.sources.map((s) => s.split('/').pop()!) : [c.dest.replace(/^\.\//, '')]));
    for (const need of ['dist/src', 'bin', 'rules', 'templates', 'node_modules', 'package.json']) {
      expect(
        dests.some((d) => d === need || need.startsWith(`${d}/`)),
        `runtime stage copies ${need}`,
      ).toBe(true);
    }
    expect(copies.find((c) => c.dest.replace(/^\.\//, '') === 'node_modules')?.from, 'production node_modules from a stage').toBeTruthy();

    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const c of ops(stages.flat(), 'COPY').map((x) => copyParts(x.args)).filter((x) => x.from === undefined)) {
      for (const src of c.sources) {
        expect(existsSync(at(src)), `COPY ${src}`).toBe(true);
        expect(ignored, `${src} is in the build context`).not.toContain(src);
      }
    }
    for (const needed of ['node_modules', 'dist', 'data', '.git']) expect(ignored).toContain(needed);
  });

  it('builds what it ships from what its build stage copies: the tsconfig it compiles includes nothing left out', () => {
    const build = stages.find((st) => ops(st, 'RUN').some((r) => /\bnpm run build\b/.test(r.args)))!;
    const run = ops(build, 'RUN').find((r) => /\bnpm run build\b/.test(r.args))!.args;
    const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts[run.match(/npm run ([\w:-]+)/)![1]!]!;
    const copied = ops(build, 'COPY').flatMap((c) => copyParts(c.args).sources);
    const isCopied = (path: string) => copied.some((c) => path === c || path.startsWith(`${c}/`));
    const projects = [...script.matchAll(/tsc -p (\S+)/g)].map((m) => m[1]!);
    expect(projects.length).toBeGreaterThan(0);
    for (const project of projects) {
      expect(isCopied(project), `${project} is copied into the build stage`).toBe(true);
      const config = JSON.parse(read(project)) as { extends?: string; include?: string[] };
      const dir = dirname(project) === '.' ? '' : `${dirname(project)}/`;
      if (config.extends) expect(isCopied(normalize(`${dir}${config.extends}`)), `${config.extends} is copied`).toBe(true);
      // Every path the project compiles is under something the stage copies (a bench importing
      // test/support once broke the image's build while every test passed).
      for (const inc of config.include ?? []) expect(isCopied(normalize(`${dir}${inc}`)), `${project} includes ${dir}${inc}, which the build stage does not copy`).toBe(true);
    }
  });

  it('is rehearsed step by step by deploy/dockerfile-dry-run.sh', () => {
    const script = read('deploy/dockerfile-dry-run.sh');
    for (const r of ops(stages.flat(), 'RUN').filter((x) => x.args.startsWith('npm '))) expect(script, r.args).toContain(r.args);
    const hc = ops(final, 'HEALTHCHECK')[0]!.args;
    const cmd = hc.slice(hc.indexOf('CMD ') + 4);
    // The dry run executes the HEALTHCHECK line as written in the Dockerfile (the `  CMD ` line).
    expect(dockerfile).toContain(`\n  CMD ${cmd}\n`);
  });
});

// ---- deploy/config -------------------------------------------------------------------------------

describe('deploy/config (the example LOOKOUT_CONFIG_DIR)', () => {
  const configDir = at('deploy/config');

  it('passes the load-time checks of entities, contacts, rotas and the shipped policies', async () => {
    for (const f of ['entities.csv', 'contacts.csv', 'rotas.yaml']) expect(existsSync(join(configDir, f)), f).toBe(true);
    const registry = await loadRegistryFiles(configDir);
    expect(registry.errors.map((e) => e.format())).toEqual([]);
    expect(registry.entities.length).toBeGreaterThan(0);

    const org = await loadOrg(configDir, at('rules'), new Calendar('Asia/Shanghai'), registry.entities);
    expect(org.ok ? [] : org.errors.map((e) => e.format())).toEqual([]);
    if (!org.ok) return;
    expect(org.directory.contacts.size).toBeGreaterThan(0);
    expect(org.directory.rotas.has('service_oncall')).toBe(true);
    for (const e of registry.entities) if (e.manager) expect(org.directory.contacts.has(e.manager), `${e.id} manager`).toBe(true);
  });

  it('has the entities deploy/feed-demo.mjs sends samples for', async () => {
    const { entities } = await loadRegistryFiles(configDir);
    const ids = new Set(entities.map((e) => e.id));
    const feed = read('deploy/feed-demo.mjs');
    const fed = new Set([...feed.matchAll(/\['([A-Z]\d{3,4})', '/g)].map((m) => m[1]!));
    expect(fed.size).toBeGreaterThan(0);
    for (const id of fed) expect(ids.has(id), id).toBe(true);
    for (const id of ['D0001', 'G0001', 'C001']) expect(ids.has(id), id).toBe(true);
  });
});

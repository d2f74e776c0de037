// GET /api/v1/openapi.json: a valid OpenAPI 3 document, generated from the route schemas, listing every route.
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, describe, expect, it } from 'vitest';
import { harness } from './harness.js';

const h = harness({ env: { LOOKOUT_API_TOKENS: 'op-token-123456789:operator' } });
afterAll(() => h.app.close());

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { tags?: string[]; summary?: string; security?: unknown[]; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
};

async function fetchDoc(): Promise<Doc> {
  const res = await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  expect(res.statusCode).toBe(200);
  return res.json() as Doc;
}

/** Every method+path the router holds, rebuilt from fastify's route tree (HEAD is implied by GET). */
function registeredRoutes(): string[] {
  const tree = h.app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack[depth] = m[2]!;
    // The tree prints the wildcard route /ack/* as a bare `*` (under the console's `/` once that exists).
    const path = ['*', '/*'].includes(stack.join('')) ? '/ack/*' : stack.join('');
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out;
}

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');

describe('GET /api/v1/openapi.json', () => {
  it('is public and validates as OpenAPI 3', async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toMatch(/^3\./);
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every registered route with a summary, a tag and the error response', async () => {
    const doc = await fetchDoc();
    const routes = registeredRoutes();
    expect(routes).toEqual(expect.arrayContaining(['GET /api/v1/alerts/:id', 'POST /api/v1/alerts/:id/ack', 'GET /ack/*', 'GET /api/v1/openapi.json']));
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) expect(h.app.hasRoute({ method: r.split(' ')[0] as 'GET', url: r.split(' ')[1]! }), r).toBe(true);
    const missing = routes.filter((r) => {
      const [method, path] = r.split(' ') as [string, string];
      const op = doc.paths[toOpenApiPath(path)]?.[method.toLowerCase()];
      return !op || !op.summary || !op.tags?.length || !op.responses['4XX'];
    });
    expect(missing).toEqual([]);
  });

  it('declares the bearer scheme on /api/v1 routes and none on the open ones', async () => {
    const doc = await fetchDoc();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v1/alerts']!.get!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz']!.get!.security ?? []).toEqual([]);
  });

  it('documents limit and cursor on list endpoints and next in their answer', async () => {
    const doc = await fetchDoc();
    const op = doc.paths['/api/v1/entities']!.get! as unknown as { parameters: { name: string; in: string }[]; responses: Record<string, { content: Record<string, { schema: { properties: Record<string, unknown> } }> }> };
    expect(op.parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(expect.arrayContaining(['kind', 'limit', 'cursor']));
    expect(Object.keys(op.responses['200']!.content['application/json']!.schema.properties)).toEqual(['entities', 'next']);
  });

  it('documents the names alerts carry and the list filters', async () => {
    const doc = await fetchDoc();
    type Op = { parameters: { name: string; in: string }[]; responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { items?: { properties: Record<string, unknown> }; properties?: Record<string, unknown> }> } }> }> };
    const list = doc.paths['/api/v1/alerts']!.get! as unknown as Op;
    expect(list.parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(expect.arrayContaining(['state', 'severity', 'kind', 'region', 'district', 'q', 'limit', 'cursor']));
    const item = list.responses['200']!.content['application/json']!.schema.properties.alerts!.items!.properties;
    expect(Object.keys(item)).toEqual(expect.arrayContaining(['name', 'ruleTitle', 'kind', 'region', 'district']));
    const one = doc.paths['/api/v1/alerts/{id}']!.get! as unknown as Op;
    expect(Object.keys(one.responses['200']!.content['application/json']!.schema.properties.alert!.properties!)).toEqual(expect.arrayContaining(['name', 'ruleTitle']));
  });
});

import { expect } from 'chai';
import type { Express } from 'express';
import { startTestService, type TestService } from '../../support/service.js';

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every "METHOD /path" the Express router stack serves, read from the stack itself. */
function expressRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route && typeof layer.route.path === 'string') {
        const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) if (on) found.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  // Express 5 keeps the application's router at app.router; its layers are not part of the typed API.
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found.sort();
}

describe('GET /openapi.json', () => {
  let service: TestService;
  let doc: { openapi: string; info: { version: string }; paths: Record<string, Record<string, Record<string, unknown>>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    service = await startTestService();
    const res = await service.request('GET', '/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    doc = res.body;
  });
  after(async () => service.stop());

  const documented = (): string[] =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)).sort();

  it('is an OpenAPI 3.1 document carrying the service version', () => {
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.info.version).to.equal('0.1.0');
  });

  it('describes exactly the routes the Express router serves: none missing, none extra', () => {
    const served = expressRoutes(service.app);
    expect(served.length).to.be.above(20);
    expect(served.filter((r) => !documented().includes(r)), 'served but not described').to.deep.equal([]);
    expect(documented().filter((r) => !served.includes(r)), 'described but not served').to.deep.equal([]);
  });

  it('gives every operation responses, every JSON body a strict schema, every bearer operation its 401', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        const responses = op['responses'] as Record<string, unknown>;
        expect(Object.keys(responses).some((s) => s.startsWith('2')), where).to.equal(true);
        const body = op['requestBody'] as { content: Record<string, { schema: { additionalProperties: unknown; required: unknown } }> } | undefined;
        if (body) {
          expect(body.content['application/json']!.schema.additionalProperties, where).to.equal(false);
          expect(responses, where).to.include.keys('400', '413', '415');
        }
        if (op['security']) expect(responses, where).to.include.keys('401');
        // Every 401 the service sends carries its challenge; clients generated from the document see it.
        const unauthorized = responses['401'] as { headers?: Record<string, unknown> } | undefined;
        if (unauthorized) expect(unauthorized.headers, `${where} 401`).to.include.keys('WWW-Authenticate');
      }
    }
  });

  it('resolves every $ref to a component schema', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs).to.not.be.empty;
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/(\w+)/.exec(ref)?.[1];
      expect(name, ref).to.be.a('string');
      expect(doc.components.schemas, ref).to.have.property(name!);
    }
  });

  it('documents the error codes a live request answers with', async () => {
    const res = await service.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'not the password' } });
    const schema = (doc.paths['/api/auth/login']!['post']!['responses'] as Record<string, { content: Record<string, { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }> }>)['401']!;
    expect(schema.content['application/json']!.schema.properties.error.properties.code.enum).to.include(res.body.error.code);
  });

  it('declares the Cache-Control that every GET without a token or parameter is answered with', async () => {
    const open = Object.entries(doc.paths).filter(([path, item]) => item['get'] && !item['get']['security'] && !path.includes('{'));
    expect(open.map(([path]) => path)).to.include.members(['/.well-known/jwks.json', '/openapi.json', '/health']);
    for (const [path, item] of open) {
      const responses = item['get']!['responses'] as Record<string, { headers?: Record<string, { description: string }> }>;
      const res = await service.request('GET', path);
      const declared = responses[String(res.status)]?.headers?.['Cache-Control']?.description;
      expect(res.headers.get('cache-control'), path).to.equal(declared);
    }
  });
});

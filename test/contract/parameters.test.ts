// Parameter styles and path shapes, on compiled documents written inline (the sidecar suite covers the
// petstore end to end; these cover the styles it does not use).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createUnknownInventory, pathShape } from '../../src/contract/inventory.js';
import { loadContract } from '../../src/contract/index.js';
import { validateRequest, type Evaluation } from '../../src/contract/validateRequest.js';

const parameters = [
  {
    name: 'ids',
    in: 'query',
    style: 'pipeDelimited',
    explode: false,
    schema: { type: 'array', items: { type: 'integer' } },
  },
  {
    name: 'words',
    in: 'query',
    style: 'spaceDelimited',
    explode: false,
    schema: { type: 'array', items: { type: 'string' } },
  },
  { name: 'tag', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
  {
    name: 'point',
    in: 'query',
    schema: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } } },
  },
  {
    name: 'x-dims',
    in: 'header',
    explode: true,
    schema: { type: 'object', properties: { w: { type: 'integer' }, h: { type: 'integer' } } },
  },
  { name: 'x-list', in: 'header', schema: { type: 'array', items: { type: 'integer' } } },
  { name: 'prefs', in: 'cookie', explode: false, schema: { type: 'array', items: { type: 'string' } } },
  { name: 'meta', in: 'query', content: { 'application/json': { schema: { type: 'object', required: ['v'] } } } },
];

const document = {
  openapi: '3.1.0',
  info: { title: 'styles', version: '1' },
  paths: {
    '/items': { get: { operationId: 'items', parameters, responses: { 200: { description: 'ok' } } } },
    '/label/{color}': {
      get: {
        operationId: 'label',
        parameters: [
          {
            name: 'color',
            in: 'path',
            required: true,
            style: 'label',
            explode: true,
            schema: { type: 'array', items: { type: 'string' } },
          },
        ],
        responses: { 200: { description: 'ok' } },
      },
    },
    '/matrix/{id}': {
      get: {
        operationId: 'matrix',
        parameters: [{ name: 'id', in: 'path', required: true, style: 'matrix', schema: { type: 'integer' } }],
        responses: { 200: { description: 'ok' } },
      },
    },
    '/files/{name}.{ext}': {
      get: {
        operationId: 'file',
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'ext', in: 'path', required: true, schema: { enum: ['json', 'csv'] } },
        ],
        responses: { 200: { description: 'ok' } },
      },
    },
  },
};

let table: Awaited<ReturnType<typeof loadContract>>['table'];
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
  writeFileSync(join(dir, 'styles.json'), JSON.stringify(document));
  table = (await loadContract([join(dir, 'styles.json')])).table;
});

function check(path: string, headers: Record<string, string> = {}): Extract<Evaluation, { kind: 'matched' }> {
  const evaluation = validateRequest(table, { method: 'GET', path, headers, sourceAddress: '' }, null);
  if (evaluation.kind !== 'matched') throw new Error(`${path} matched no operation`);
  return evaluation;
}

describe('parameter styles', () => {
  it('reads pipeDelimited and spaceDelimited arrays, exploded form arrays and exploded form objects', () => {
    expect(check('/items?ids=1|2|3&words=a%20b&tag=x&tag=y&x=1.5&y=2').errors).toEqual([]);
    expect(check('/items?ids=1|two').errors).toEqual([
      { in: 'query', name: 'ids', message: 'must be integer (type) at /1' },
    ]);
    expect(check('/items?x=east').errors).toEqual([
      { in: 'query', name: 'point', message: 'must be number (type) at /x' },
    ]);
  });

  it('reads header objects (k=v,k=v when exploded) and header lists', () => {
    expect(check('/items', { 'x-dims': 'w=3,h=4', 'x-list': '1, 2' }).errors).toEqual([]);
    expect(check('/items', { 'x-dims': 'w=3,h=tall' }).errors).toEqual([
      { in: 'header', name: 'x-dims', message: 'must be integer (type) at /h' },
    ]);
  });

  it('reads non-exploded cookie lists', () => {
    expect(check('/items', { cookie: 'prefs=a,b' }).errors).toEqual([]);
  });

  it('parses parameters with content: application/json, and names one that does not parse', () => {
    expect(check(`/items?meta=${encodeURIComponent('{"v":1}')}`).errors).toEqual([]);
    expect(check(`/items?meta=${encodeURIComponent('{"w":1}')}`).errors).toEqual([
      { in: 'query', name: 'meta', message: "must have required property 'v' (required)" },
    ]);
    expect(check('/items?meta=%7Bnot').errors).toEqual([{ in: 'query', name: 'meta', message: 'is not valid JSON' }]);
  });

  it('reads label and matrix path parameters, and templates inside a segment', () => {
    expect(check('/label/.blue.black').openapi.pathParams).toEqual({ color: ['blue', 'black'] });
    expect(check('/matrix/;id=5').openapi.pathParams).toEqual({ id: 5 });
    expect(check('/files/report.csv').openapi.pathParams).toEqual({ name: 'report', ext: 'csv' });
    expect(check('/files/report.exe').errors).toEqual([
      { in: 'path', name: 'ext', message: 'must be equal to one of the allowed values (enum)' },
    ]);
  });

  it('refuses a path value that is not valid percent-encoding instead of throwing', () => {
    expect(check('/files/%E0%A4%A.csv').errors).toEqual([
      { in: 'path', name: 'name', message: 'is not valid percent-encoding' },
    ]);
  });
});

describe('path shapes of unknown operations', () => {
  it.each([
    ['/users/42/orders', '/users/{id}/orders'],
    ['/orders/3f1c0a52-5b1e-4a36-9a8e-8e8a3c1f6f10?x=1', '/orders/{id}'],
    ['/blobs/deadbeefcafe', '/blobs/{id}'],
    ['/t/eyJhbGciOiJIUzI1NiJ9abc123', '/t/{id}'],
    ['/a/b/c/d/e/f/g/h/i/j', '/a/b/c/d/e/f/g/h/…'],
    ['/static/app.css', '/static/app.css'],
  ])('%s -> %s', (path, shape) => {
    expect(pathShape(path)).toBe(shape);
  });

  it('keeps at most maxEntries shapes, dropping the least recently seen, and lists the most frequent first', () => {
    const inventory = createUnknownInventory(2);
    const now = new Date(0);
    inventory.record('GET', '/a', now);
    inventory.record('GET', '/b', now);
    inventory.record('GET', '/b', now);
    inventory.record('brew', '/c', now);
    expect(inventory.list().map(({ method, shape, count }) => `${method} ${shape} ${count}`)).toEqual([
      'GET /b 2',
      'OTHER /c 1',
    ]);
  });
});

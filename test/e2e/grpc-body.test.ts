// gRPC request bodies decoded with `input.protoDescriptor`, through the real sidecar and a real gRPC client.
// The descriptor sets are built in the test by buf (a protobuf compiler that writes the same
// FileDescriptorSet as `protoc --descriptor_set_out --include_imports`); the request messages are encoded by
// protobufjs, a different implementation from the decoder's. Expected values are written out by hand from
// protobuf's JSON mapping, and the OPA-Envoy vectors (raw bodies and results) come from its request tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { runCli } from '../helpers/process.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { loadProtoDescriptor } from '../../src/input/protoDescriptor.js';

const BUF = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url));

const SHOP_PROTO = `syntax = "proto3";
package shop.v1;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Kind {
  KIND_UNSPECIFIED = 0;
  KIND_BOOK = 1;
}

message Item {
  string sku = 1;
  float ratio = 2;
}

message Node {
  Node child = 1;
  string name = 2;
}

message Order {
  string customer_id = 1;
  int64 total_cents = 2;
  uint64 big = 3;
  Kind kind = 4;
  bytes signature = 5;
  google.protobuf.Timestamp placed_at = 6;
  google.protobuf.Duration ttl = 7;
  google.protobuf.Any extra = 8;
  google.protobuf.Struct meta = 9;
  google.protobuf.Int64Value limit = 10;
  google.protobuf.StringValue note = 11;
  google.protobuf.BoolValue gift = 12;
  float ratio = 13;
  double weight = 14;
  map<string, int32> counts = 15;
  optional int32 priority = 16;
  oneof payment {
    string card = 17;
    int32 voucher = 18;
  }
  string Data = 19;
  string x = 20 [json_name = "renamed"];
  repeated Item items = 21;
  int32 quantity = 22;
  bool express = 23;
  Node tree = 24;
  repeated float scores = 25;
  google.protobuf.FloatValue discount = 26;
}

message Receipt {
  string id = 1;
}

service Orders {
  rpc Create(Order) returns (Receipt);
  rpc Upload(stream Order) returns (Receipt);
  rpc Chat(stream Order) returns (stream Receipt);
  rpc Follow(Order) returns (stream Receipt);
}
`;

// The service of OPA-Envoy's request tests (its vectors below were made with it).
const BOOK_PROTO = `syntax = "proto3";
package com.book;

message Author {
  string author = 1;
}

message Books {
  repeated string titles = 1;
}

service BookService {
  rpc GetBooksViaAuthor(Author) returns (Books);
}
`;

const ECHO = `package echo

import rego.v1

decision := {"allowed": false, "http_status": 422, "body": json.marshal({
	"parsed_body": input.parsed_body,
	"truncated_body": input.truncated_body,
	"body_error": input.body_error,
})}
`;

// OPA-Envoy's gRPC example shape: the method from parsed_path, a decoded field from parsed_body.
const OPA_ENVOY_GRPC_POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if {
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["shop.v1.Orders", "Create"]
	input.parsed_body.customerId == "alice"
	to_number(input.parsed_body.totalCents) < 100000
}
`;

/** Compiles the .proto files of `files` (name -> text) into a FileDescriptorSet with every import. */
function buildDescriptorSet(files: Record<string, string>, out: string, options: string[] = []): void {
  const workspace = makeTempDir('portcullis-protos-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(workspace, name), text);
  execFileSync(BUF, ['build', workspace, '--as-file-descriptor-set', ...options, '-o', out], { stdio: 'pipe' });
}

/** The gRPC length-prefixed frame of one message. */
function frame(message: Uint8Array, compressed = false): Buffer {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function grpcCheck(path: string, rawBody: Buffer | undefined, headers: Record<string, string> = {}): unknown {
  return checkRequest({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers },
    ...(rawBody === undefined ? {} : { rawBody }),
  });
}

interface Seen {
  parsed_body: unknown;
  truncated_body: boolean;
  body_error: string | null;
}

function seen(response: CheckResponse): Seen {
  expect(response.deniedResponse?.status?.code).toBe(422);
  return JSON.parse(response.deniedResponse?.body ?? 'null') as Seen;
}

const shopRoot = (dir: string): protobuf.Root => {
  writeFileSync(join(dir, 'shop.proto'), SHOP_PROTO);
  return new protobuf.Root().loadSync(join(dir, 'shop.proto'), { keepCase: true });
};

describe('gRPC request bodies (input.protoDescriptor)', () => {
  let t: TestSidecar;
  let Order: protobuf.Type;
  let Item: protobuf.Type;
  let Node: protobuf.Type;
  const encodeOrder = (value: Record<string, unknown>): Uint8Array => Order.encode(Order.fromObject(value)).finish();

  beforeAll(async () => {
    const dir = makeTempDir('portcullis-grpc-');
    const descriptor = join(dir, 'services.binpb');
    buildDescriptorSet({ 'shop.proto': SHOP_PROTO, 'book.proto': BOOK_PROTO }, descriptor);
    const root = shopRoot(dir);
    Order = root.lookupType('shop.v1.Order');
    Item = root.lookupType('shop.v1.Item');
    Node = root.lookupType('shop.v1.Node');
    t = await startTestSidecar({
      files: { 'policies/echo.rego': ECHO },
      config: { policy: { entrypoint: 'echo/decision' }, input: { protoDescriptor: descriptor } },
    });
  });
  afterAll(async () => t?.close());

  const decode = async (path: string, rawBody: Buffer | undefined, headers?: Record<string, string>) =>
    seen(await t.client.check(grpcCheck(path, rawBody, headers)));

  it('writes the message as protojson does: json names, 64-bit integers as strings, enums by name, base64 bytes, well-known types, defaults left out', async () => {
    const body = frame(
      encodeOrder({
        customer_id: 'alice',
        total_cents: '1234',
        big: '18446744073709551615',
        kind: 1,
        signature: Buffer.from([0xfb, 0xff, 0x01]),
        placed_at: { seconds: 1704164645, nanos: 500_000_000 },
        ttl: { seconds: 1, nanos: 500_000_000 },
        extra: {
          type_url: 'type.googleapis.com/shop.v1.Item',
          value: Item.encode(Item.fromObject({ sku: 'X', ratio: 0.1 })).finish(),
        },
        meta: {
          fields: {
            a: { numberValue: 1 },
            b: { listValue: { values: [{ boolValue: true }, { nullValue: 0 }, { stringValue: 's' }] } },
            c: { structValue: { fields: { d: { stringValue: 'e' } } } },
          },
        },
        limit: { value: '9007199254740993' },
        note: { value: '' },
        gift: { value: false },
        ratio: 0.1,
        weight: 2.5,
        counts: { a: 1, b: 2 },
        priority: 0,
        card: 'visa',
        Data: 'd',
        x: 'r',
        items: [{ sku: 'A', ratio: 0.3 }],
        quantity: 0,
        express: false,
        scores: [0.7, 1.25],
        discount: { value: 0.15 },
      }),
    );
    const result = await decode('/shop.v1.Orders/Create', body);
    expect(result.body_error).toBeNull();
    expect(result.truncated_body).toBe(false);
    expect(result.parsed_body).toStrictEqual({
      customerId: 'alice',
      totalCents: '1234',
      big: '18446744073709551615',
      kind: 'KIND_BOOK',
      signature: '+/8B',
      placedAt: '2024-01-02T03:04:05.500Z',
      ttl: '1.500s',
      extra: { '@type': 'type.googleapis.com/shop.v1.Item', sku: 'X', ratio: 0.1 },
      meta: { a: 1, b: [true, null, 's'], c: { d: 'e' } },
      limit: '9007199254740993',
      note: '',
      gift: false,
      ratio: 0.1,
      weight: 2.5,
      counts: { a: 1, b: 2 },
      priority: 0,
      card: 'visa',
      Data: 'd',
      renamed: 'r',
      items: [{ sku: 'A', ratio: 0.3 }],
      scores: [0.7, 1.25],
      discount: 0.15,
    });
  });

  it('an enum number the descriptor does not name stays a number; an empty message is {}', async () => {
    const unknownEnum = frame(Buffer.from([0x20, 0x07])); // field 4 (kind), varint 7
    expect((await decode('/shop.v1.Orders/Create', unknownEnum)).parsed_body).toStrictEqual({ kind: 7 });
    expect(await decode('/com.book.BookService/GetBooksViaAuthor', Buffer.from('AAAAAAA=', 'base64'))).toStrictEqual({
      parsed_body: {},
      truncated_body: false,
      body_error: null,
    });
  });

  it("OPA-Envoy's vectors: a valid body, a compressed one, a truncated one, an unknown service and method", async () => {
    const john = Buffer.from('AAAAAAYKBEpvaG4=', 'base64');
    expect(await decode('/com.book.BookService/GetBooksViaAuthor', john)).toStrictEqual({
      parsed_body: { author: 'John' },
      truncated_body: false,
      body_error: null,
    });
    const compressed = Buffer.from(
      'AQAAADwfiwgAAAAAAAD/4hLkaOi4t49RoOHi+ll//////59RSJCj4dGiE4wCDau/LIYIAQIAAP//aJ9RpSYAAAA=',
      'base64',
    );
    expect(await decode('/com.book.BookService/GetBooksViaAuthor', compressed)).toStrictEqual({
      parsed_body: null,
      truncated_body: false,
      body_error: 'grpc_compressed',
    });
    const truncated = Buffer.from('AAAAABEImqaMww==', 'base64');
    expect(await decode('/com.book.BookService/GetBooksViaAuthor', truncated)).toStrictEqual({
      parsed_body: null,
      truncated_body: true,
      body_error: 'truncated',
    });
    for (const path of [
      '/com.book.SecondBookService/GetBooksViaAuthor',
      '/com.book.BookService/GetBooksViaSecondAuthor',
      '/com.book.Author/GetBooksViaAuthor',
      '/com.book.BookService/GetBooksViaAuthor/extra',
    ]) {
      expect(await decode(path, john), path).toStrictEqual({
        parsed_body: null,
        truncated_body: false,
        body_error: 'grpc_unknown_method',
      });
    }
  });

  it('reads only the first of several frames, and decodes a whole first frame of a partial body', async () => {
    const first = frame(encodeOrder({ customer_id: 'alice' }));
    const second = frame(encodeOrder({ customer_id: 'mallory' }));
    expect((await decode('/shop.v1.Orders/Create', Buffer.concat([first, second]))).parsed_body).toStrictEqual({
      customerId: 'alice',
    });
    const cutSecond = Buffer.concat([first, second.subarray(0, 7)]);
    const partial = await decode('/shop.v1.Orders/Create', cutSecond, { 'x-envoy-auth-partial-body': 'true' });
    expect(partial).toStrictEqual({ parsed_body: { customerId: 'alice' }, truncated_body: false, body_error: null });
  });

  it('streaming: a server-streaming request is decoded, a client- or bidirectional-streaming one is not', async () => {
    const body = frame(encodeOrder({ customer_id: 'alice' }));
    expect((await decode('/shop.v1.Orders/Follow', body)).parsed_body).toStrictEqual({ customerId: 'alice' });
    for (const method of ['Upload', 'Chat']) {
      expect(await decode(`/shop.v1.Orders/${method}`, body)).toStrictEqual({
        parsed_body: null,
        truncated_body: false,
        body_error: 'grpc_client_streaming',
      });
    }
  });

  it('a body that is not a message of the input type, or shorter than a frame header, is invalid_grpc', async () => {
    const invalid = { parsed_body: null, truncated_body: false, body_error: 'invalid_grpc' };
    // field 1 (customer_id) as a length-delimited string of 10 bytes, of which 2 are there
    expect(await decode('/shop.v1.Orders/Create', frame(Buffer.from([0x0a, 0x0a, 0x41, 0x42])))).toStrictEqual(invalid);
    // a proto3 string that is not UTF-8 (protojson refuses it as well)
    expect(await decode('/shop.v1.Orders/Create', frame(Buffer.from([0x0a, 0x02, 0xc3, 0x28])))).toStrictEqual(invalid);
    expect(await decode('/shop.v1.Orders/Create', Buffer.from([0, 0, 0]))).toStrictEqual(invalid);
  });

  it('a body Envoy did not send as bytes (pack_as_bytes off) is not guessed at', async () => {
    const check = checkRequest({
      method: 'POST',
      path: '/com.book.BookService/GetBooksViaAuthor',
      headers: { 'content-type': 'application/grpc' },
      body: '\u0000\u0000\u0000\u0000\u0006\n\u0004John',
    });
    expect(seen(await t.client.check(check))).toStrictEqual({
      parsed_body: null,
      truncated_body: false,
      body_error: 'grpc_needs_raw_body',
    });
  });

  it('the depth bound of JSON bodies applies: a message nested 200 levels is too_deep, 20 levels decode', async () => {
    // Written on the wire by hand: protobufjs refuses to encode this deep itself.
    const lengthDelimited = (tag: number[], content: Buffer): Buffer => {
      const length: number[] = [];
      for (let n = content.length; ; n >>>= 7) {
        if (n < 0x80) {
          length.push(n);
          break;
        }
        length.push((n & 0x7f) | 0x80);
      }
      return Buffer.concat([Buffer.from([...tag, ...length]), content]);
    };
    const body = (levels: number): Buffer => {
      let node = Buffer.from(Node.encode(Node.fromObject({ name: 'leaf' })).finish());
      for (let i = 0; i < levels; i++) node = lengthDelimited([0x0a], node); // Node.child (field 1)
      return frame(lengthDelimited([0xc2, 0x01], node)); // Order.tree (field 24)
    };
    expect((await decode('/shop.v1.Orders/Create', body(200))).body_error).toBe('too_deep');
    const shallow = await decode('/shop.v1.Orders/Create', body(20));
    expect(shallow.body_error).toBeNull();
    expect(JSON.stringify(shallow.parsed_body)).toContain('"name":"leaf"');
  });
});

describe('an OPA-Envoy gRPC policy reads decoded fields', () => {
  let t: TestSidecar;
  let Order: protobuf.Type;

  beforeAll(async () => {
    const dir = makeTempDir('portcullis-grpc-');
    const descriptor = join(dir, 'shop.binpb');
    buildDescriptorSet({ 'shop.proto': SHOP_PROTO }, descriptor);
    Order = shopRoot(dir).lookupType('shop.v1.Order');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': OPA_ENVOY_GRPC_POLICY },
      config: { input: { protoDescriptor: descriptor } },
    });
  });
  afterAll(async () => t?.close());

  const order = (value: Record<string, unknown>): Buffer => frame(Order.encode(Order.fromObject(value)).finish());

  it('allows alice below the amount, denies mallory and alice above it', async () => {
    const allowed = await t.client.check(
      grpcCheck('/shop.v1.Orders/Create', order({ customer_id: 'alice', total_cents: 500 })),
    );
    expect(allowed.okResponse).toBeDefined();
    for (const body of [
      order({ customer_id: 'mallory', total_cents: 500 }),
      order({ customer_id: 'alice', total_cents: '9007199254740993' }),
    ]) {
      const denied = await t.client.check(grpcCheck('/shop.v1.Orders/Create', body));
      expect(denied.deniedResponse?.status?.code).toBe(403);
    }
  });
});

describe('the descriptor set file', () => {
  it('without input.protoDescriptor a gRPC body is left null, as OPA-Envoy leaves it', async () => {
    const t = await startTestSidecar({
      files: { 'policies/echo.rego': ECHO },
      config: { policy: { entrypoint: 'echo/decision' } },
    });
    try {
      const john = Buffer.from('AAAAAAYKBEpvaG4=', 'base64');
      expect(seen(await t.client.check(grpcCheck('/com.book.BookService/GetBooksViaAuthor', john)))).toStrictEqual({
        parsed_body: null,
        truncated_body: false,
        body_error: null,
      });
    } finally {
      await t.close();
    }
  });

  it('a file that is not a usable descriptor set stops the start with exit 2, naming the file and why', async () => {
    const dir = makeTempDir('portcullis-grpc-');
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'authz.rego'), OPA_ENVOY_GRPC_POLICY);
    writeFileSync(join(dir, 'shop.proto'), SHOP_PROTO);
    // only the service's own file: its imports are missing (protoc without --include_imports)
    const withoutImports = join(dir, 'no-imports.binpb');
    buildDescriptorSet({ 'shop.proto': SHOP_PROTO }, withoutImports, ['--exclude-imports']);
    const config = join(dir, 'c.yaml');
    writeFileSync(
      config,
      [
        'grpc: { address: "127.0.0.1:0" }',
        'admin: { address: "127.0.0.1:0" }',
        `policy: { path: ${JSON.stringify(join(dir, 'policies'))} }`,
        `input: { protoDescriptor: ${JSON.stringify(withoutImports)} }`,
      ].join('\n'),
    );
    const result = await runCli(['serve', '--config', config]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      /input\.protoDescriptor: .*no-imports\.binpb: Cannot find google\/protobuf\/any\.proto.*--include_imports/,
    );

    // The same loader, for the other ways a file can be wrong (one process start is enough to show exit 2).
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.binpb'), /missing\.binpb: cannot be read: no such file/],
      [join(dir, 'policies'), /policies: is a directory; expected a file/],
      [join(dir, 'shop.proto'), /shop\.proto: .*expected a binary FileDescriptorSet \(protoc --descriptor_set_out/],
    ];
    for (const [file, message] of cases) {
      await expect(loadProtoDescriptor(file)).rejects.toThrow(message);
    }
    const messagesOnly = join(dir, 'messages.binpb');
    buildDescriptorSet({ 'book.proto': 'syntax = "proto3";\npackage x;\nmessage M { string a = 1; }\n' }, messagesOnly);
    await expect(loadProtoDescriptor(messagesOnly)).rejects.toThrow(/declares no service/);
  });

  it('is reloaded when it changes (policy.watch), and a bad edit keeps the last good set', async () => {
    const dir = makeTempDir('portcullis-grpc-');
    const descriptor = join(dir, 'services.binpb');
    buildDescriptorSet({ 'shop.proto': SHOP_PROTO }, descriptor);
    const t = await startTestSidecar({
      files: { 'policies/echo.rego': ECHO },
      config: { policy: { entrypoint: 'echo/decision', watch: true }, input: { protoDescriptor: descriptor } },
    });
    try {
      const john = Buffer.from('AAAAAAYKBEpvaG4=', 'base64');
      const ask = async () =>
        seen(await t.client.check(grpcCheck('/com.book.BookService/GetBooksViaAuthor', john))).parsed_body;
      expect(await ask()).toBeNull();
      buildDescriptorSet({ 'shop.proto': SHOP_PROTO, 'book.proto': BOOK_PROTO }, descriptor);
      await expect.poll(ask, { timeout: 5000 }).toStrictEqual({ author: 'John' });
      writeFileSync(descriptor, 'not a descriptor set');
      await expect
        .poll(() => t.logs.some((l) => l['msg'] === 'gRPC descriptor set reload failed; keeping the last good set'), {
          timeout: 5000,
        })
        .toBe(true);
      expect(await ask()).toStrictEqual({ author: 'John' });
    } finally {
      await t.close();
    }
  });
});

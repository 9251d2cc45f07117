// A bundle server for tests (node:http or node:https) that records every request, answers 304 when
// If-None-Match names the ETag it serves, and can be turned down (connections cut) or made to fail (HTTP
// 500); and builders for bundles: compiled once, then repacked with other data, revisions and signatures.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFiles, packBundleFiles } from '@portcullis/rego-wasm/bundle';
import { loadPolicySource } from '../../src/policy/source.js';
import { signBundleFiles, type SigningOptions } from '../../src/bundle/sign.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  at: number;
  answered: number | 'cut';
}

export interface BundleServer {
  url: string;
  requests: RecordedRequest[];
  /** what GET answers: a bundle and its ETag (null: no ETag header) */
  serve(archive: Uint8Array, etag: string | null): void;
  /** 'up': serve; 'down': cut every connection; 'error': HTTP 500 */
  setMode(mode: 'up' | 'down' | 'error'): void;
  close(): Promise<void>;
}

export async function startBundleServer(tls?: {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert?: boolean;
}): Promise<BundleServer> {
  let current: { archive: Uint8Array; etag: string | null } | null = null;
  let mode: 'up' | 'down' | 'error' = 'up';
  const requests: RecordedRequest[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      at: Date.now(),
      answered: 'cut',
    };
    requests.push(record);
    if (mode === 'down' || current === null) {
      req.socket.destroy();
      return;
    }
    if (mode === 'error') {
      record.answered = 500;
      res.writeHead(500).end('broken');
      return;
    }
    if (current.etag !== null && req.headers['if-none-match'] === current.etag) {
      record.answered = 304;
      res.writeHead(304, { etag: current.etag }).end();
      return;
    }
    record.answered = 200;
    res.writeHead(200, {
      'content-type': 'application/gzip',
      ...(current.etag === null ? {} : { etag: current.etag }),
    });
    res.end(Buffer.from(current.archive));
  };
  const server: Server =
    tls === undefined
      ? createServer(handler)
      : (createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            requestCert: tls.requestCert ?? false,
            rejectUnauthorized: tls.requestCert ?? false,
          },
          handler,
        ) as unknown as Server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/bundles/authz.tar.gz`,
    requests,
    serve(archive, etag) {
      current = { archive, etag };
    },
    setMode(next) {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `allow` is data.config.open: a bundle's data flips the decision without another compile. */
export const DATA_DRIVEN_POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if data.config.open == true
`;

/** The Wasm module of DATA_DRIVEN_POLICY, compiled once per test file. */
export async function compileDataDrivenPolicy(): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bundle-src-'));
  try {
    writeFileSync(join(dir, 'authz.rego'), DATA_DRIVEN_POLICY);
    return (await loadPolicySource(dir, ['envoy/authz/allow'])).wasm;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bundle as `policy build` lays it out, optionally signed (`/.signatures.json` over every file). */
export async function makeBundle(
  wasm: Uint8Array,
  spec: { revision: string; open: boolean; sign?: SigningOptions; tamper?: boolean },
): Promise<Uint8Array> {
  const files = bundleFiles({
    wasm,
    data: { config: { open: spec.open } },
    revision: spec.revision,
    entrypoints: ['envoy/authz/allow'],
  });
  if (spec.sign === undefined) return packBundleFiles(files);
  const signatures = await signBundleFiles(files, spec.sign);
  const shipped = spec.tamper
    ? files.map(([name, bytes]): [string, Uint8Array] =>
        name === '/data.json'
          ? [name, new TextEncoder().encode(JSON.stringify({ config: { open: !spec.open } }))]
          : [name, bytes],
      )
    : files;
  return packBundleFiles([...shipped, ['/.signatures.json', signatures]]);
}

/** Polls until `probe` holds; the deadline only bounds a hung test, nothing is asserted about speed. */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  what: string,
  deadlineMs = 20_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export async function metricValue(adminUrl: string, pattern: RegExp): Promise<number> {
  const match = pattern.exec(await (await fetch(`${adminUrl}/metrics`)).text());
  return match === null ? 0 : Number(match[1]);
}

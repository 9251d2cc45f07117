// One request of OPA's bundle protocol: GET the bundle URL with `If-None-Match: <ETag of the bundle in
// force>`; 304 means it is still current, 200 carries a new `.tar.gz` and its ETag, anything else is a
// failure. Redirects are followed (a bundle behind object storage or a release page), but credentials
// (the bearer token and the configured headers) are sent to the configured origin only. The answer is an
// outcome value; the URL in it is redacted and the token never appears.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { redactUrl } from '../telemetry/redact.js';

export interface DownloadRequest {
  url: string;
  etag: string | null;
  headers: Readonly<Record<string, string>>;
  bearerToken?: string | undefined;
  /** PEM bytes: the CA for the server's certificate, and a client certificate and key */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export type DownloadOutcome =
  | { kind: 'ok'; archive: Uint8Array; etag: string | null }
  | { kind: 'not_modified'; etag: string | null }
  | { kind: 'error'; message: string };

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function downloadBundle(req: DownloadRequest): Promise<DownloadOutcome> {
  const origin = new URL(req.url).origin;
  let url = new URL(req.url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: IncomingMessage;
    try {
      response = await send(url, req, url.origin === origin);
    } catch (error) {
      return { kind: 'error', message: `GET ${redactUrl(url.href)} failed: ${describe(error)}` };
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECTS.has(status) && location !== undefined) {
      response.resume();
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return { kind: 'error', message: `redirected to a ${url.protocol} URL` };
      continue;
    }
    const etag = header(response, 'etag');
    if (status === 304) {
      response.resume();
      return { kind: 'not_modified', etag: etag ?? req.etag };
    }
    if (status !== 200) {
      response.resume();
      return { kind: 'error', message: `GET ${redactUrl(url.href)} answered HTTP ${status}` };
    }
    try {
      return { kind: 'ok', archive: await readBody(response, req.maxBytes), etag };
    } catch (error) {
      return { kind: 'error', message: `GET ${redactUrl(url.href)}: ${describe(error)}` };
    }
  }
  return { kind: 'error', message: `more than ${MAX_REDIRECTS} redirects from ${redactUrl(req.url)}` };
}

function send(url: URL, req: DownloadRequest, sameOrigin: boolean): Promise<IncomingMessage> {
  const headers: Record<string, string> = {
    // Only full bundles are understood here; OPA asks for delta bundles as well.
    prefer: 'modes=snapshot',
    accept: 'application/vnd.openpolicyagent.bundles, application/gzip, application/octet-stream',
  };
  if (sameOrigin) {
    Object.assign(headers, req.headers);
    if (req.bearerToken !== undefined) headers['authorization'] = `Bearer ${req.bearerToken}`;
    if (req.etag !== null) headers['if-none-match'] = req.etag;
  }
  const options = {
    method: 'GET',
    headers,
    timeout: req.timeoutMs,
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  };
  return new Promise((resolve, reject) => {
    const outgoing =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...options, ...(req.tls ?? {}), minVersion: 'TLSv1.2' }, resolve)
        : httpRequest(url, options, resolve);
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw new Error(`the bundle is ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) {
      response.destroy();
      throw new Error(`the bundle is more than the ${maxBytes} bytes allowed`);
    }
    chunks.push(buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function header(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

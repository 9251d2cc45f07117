// What bench:check and bench:profile share: a redis-server, an RS256 issuer with 1,000 ~2 KB tokens, the Envoy-shaped
// CheckRequests as gRPC frames, and the sidecar configuration of the full pipeline (JWT, denylist, one rate
// limit on Redis, the default RBAC policy), written to a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { loadProtos } from '../../src/server/protos.js';
import { checkRequest } from '../../test/helpers/checkClient.js';
import { startRedisServer } from '../../test/helpers/redis.js';

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

export interface BenchSetup {
  dir: string;
  redisUrl: string;
  /** the redis-server's process id, for its CPU per check */
  redisPid: number;
  /** decoded-form CheckRequests, one per token */
  requests: unknown[];
  /** the same as gRPC frames (5-byte prefix + message) */
  bodies: Buffer[];
  /** the first frame, for h2load's -d */
  oneTokenFile: string;
  /** the full pipeline's configuration, without listeners, workers and logging */
  pipelineConfig: Record<string, unknown>;
  /** writes a configuration file: the pipeline plus `extra` */
  writeConfig(name: string, extra: Record<string, unknown>): string;
  dispose(): Promise<void>;
}

export async function prepareBench(tokenCount: number): Promise<BenchSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  const redis = await startRedisServer();

  // An RS256 issuer and ~2 KB tokens: the padding is the kind of claims real tokens carry (groups, scopes).
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }),
  );
  const groups = Array.from({ length: 40 }, (_, i) => `team-${i}-engineering-platform`);
  async function sign(i: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub: `user-${i}`,
      jti: `jti-${i}`,
      roles: ['viewer'],
      groups,
      scope: 'orders:read profile:read',
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
      .setIssuer('https://id.bench')
      .setAudience('orders-api')
      .setIssuedAt(now - 10)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
  }
  const tokens = await Promise.all(Array.from({ length: tokenCount }, (_, i) => sign(i)));
  const requests = tokens.map((t, i) => envoyRequest(t, i));
  const bodies = requests.map(checkFrame);
  const oneTokenFile = join(dir, 'check.bin');
  writeFileSync(oneTokenFile, bodies[0]!);

  const pipelineConfig = {
    redis: { url: redis.url },
    jwt: {
      providers: [
        {
          name: 'bench',
          issuer: 'https://id.bench',
          audiences: ['orders-api'],
          algorithms: ['RS256'],
          jwksFile: join(dir, 'jwks.json'),
        },
      ],
    },
    denylist: { enabled: true },
    rateLimits: [{ name: 'per-user', key: ['jwt.sub'], limit: 1_000_000_000, periodSeconds: 60 }],
    policy: { path: './policies', watch: false },
  };
  return {
    dir,
    redisUrl: redis.url,
    redisPid: await serverPid(redis.url),
    requests,
    bodies,
    oneTokenFile,
    pipelineConfig,
    writeConfig(name, extra) {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ ...pipelineConfig, ...extra }));
      return file;
    },
    async dispose() {
      await redis.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A decoded-form CheckRequest as one gRPC frame (5-byte prefix + message): what h2load sends with `-d`. */
export function checkFrame(request: unknown): Buffer {
  const message = loadProtos().authorization['Check']!.requestSerialize(request as object);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  frame.writeUInt32BE(message.length, 1);
  return frame;
}

/** What Envoy sends: a dozen headers, source and destination addresses, the token. */
function envoyRequest(token: string, i: number): unknown {
  return checkRequest({
    method: 'GET',
    path: `/api/orders/${i}?expand=items`,
    host: 'orders.internal.example.com',
    sourceAddress: '10.12.7.31',
    headers: {
      authorization: `Bearer ${token}`,
      'x-request-id': `6c1b8f0e-3d2a-4b7c-9e51-${String(i).padStart(12, '0')}`,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      'accept-language': 'en-GB,en;q=0.9',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-envoy-expected-rq-timeout-ms': '15000',
      'x-envoy-internal': 'true',
      'content-length': '0',
    },
  });
}

/** A redis-server's process id, as it reports it (INFO server). */
async function serverPid(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    const pid = Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
    if (!Number.isInteger(pid)) throw new Error('redis-server did not report its process_id');
    return pid;
  } finally {
    client.disconnect();
  }
}

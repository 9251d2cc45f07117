// Identity benchmark: verifications per second through the real stage (token search, strict decoding,
// provider selection, jose verification), cold (every token new, cache off) and hot (verified-token cache
// on). Keys come from a jwksFile so no network is measured. Prints figures; asserts nothing.
//   npm run bench:identity        (BENCH_TOKENS=N to change the sample size)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { jwtSchema } from '../src/config/schema.js';
import { createIdentityStage } from '../src/identity/index.js';
import type { IdentityStage } from '../src/identity/types.js';
import type { HttpRequestView } from '../src/input/types.js';

const ISSUER = 'https://id.example.com';
const TOKENS = Number(process.env['BENCH_TOKENS'] ?? 2000);
const CONCURRENCY = 64;
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

function requestWith(token: string): HttpRequestView {
  return {
    method: 'GET',
    path: '/api/orders',
    headers: { authorization: `Bearer ${token}` },
    sourceAddress: '10.0.0.1',
  };
}

async function signTokens(alg: string, count: number): Promise<{ jwk: object; tokens: string[] }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg, use: 'sig' };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      new SignJWT({ sub: `user-${i}`, roles: ['reader', 'writer'], tenant: 'acme', jti: `t-${i}` })
        .setProtectedHeader({ alg, kid: `${alg}-1`, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience('orders-api')
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(privateKey),
    ),
  );
  return { jwk, tokens };
}

async function stageWith(jwksFile: string, alg: string, cacheEntries: number): Promise<IdentityStage> {
  const config = jwtSchema.parse({
    providers: [
      {
        name: 'corp',
        issuer: ISSUER,
        audiences: ['orders-api'],
        algorithms: [alg],
        jwksFile,
        forwardClaims: { 'x-user-id': 'sub' },
      },
    ],
  });
  return createIdentityStage(
    config,
    { logger: pino({ level: 'silent' }), countVerification: () => {} },
    { verifiedCacheEntries: cacheEntries },
  );
}

/** Verifications per second of `tokens`, one at a time or CONCURRENCY at once. */
async function rate(stage: IdentityStage, tokens: string[], concurrent: boolean): Promise<number> {
  const started = performance.now();
  if (concurrent) {
    for (let i = 0; i < tokens.length; i += CONCURRENCY) {
      const outcomes = await Promise.all(
        tokens.slice(i, i + CONCURRENCY).map((token) => stage.verify(requestWith(token))),
      );
      if (outcomes.some((outcome) => outcome.kind !== 'verified')) throw new Error('a benchmark token did not verify');
    }
  } else {
    for (const token of tokens) {
      if ((await stage.verify(requestWith(token))).kind !== 'verified')
        throw new Error('a benchmark token did not verify');
    }
  }
  return tokens.length / ((performance.now() - started) / 1000);
}

const fmt = (perSecond: number): string => Math.round(perSecond).toLocaleString('en-US').padStart(10);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-bench-'));
  console.log(
    `identity verification, ${TOKENS} tokens per run, node ${process.version}, concurrency ${CONCURRENCY} where noted`,
  );
  console.log('alg     | cold seq/s | cold conc/s | cached seq/s | cached conc/s');
  try {
    for (const alg of ALGORITHMS) {
      const { jwk, tokens } = await signTokens(alg, TOKENS);
      const file = join(dir, `${alg}.json`);
      await writeFile(file, JSON.stringify({ keys: [jwk] }));

      const cold = await stageWith(file, alg, 0);
      await rate(cold, tokens.slice(0, 100), false); // warm-up: key import, JIT
      const coldSeq = await rate(cold, tokens, false);
      const coldConc = await rate(cold, tokens, true);
      await cold.close();

      // Hot path: the same 100 tokens over and over, as a busy client population would send them.
      const hot = await stageWith(file, alg, 10_000);
      const hotTokens = Array.from({ length: TOKENS * 10 }, (_, i) => tokens[i % 100]!);
      await rate(hot, tokens.slice(0, 100), false);
      const hotSeq = await rate(hot, hotTokens, false);
      const hotConc = await rate(hot, hotTokens, true);
      await hot.close();

      console.log(`${alg.padEnd(7)} | ${fmt(coldSeq)} | ${fmt(coldConc)}  | ${fmt(hotSeq)}   | ${fmt(hotConc)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

// `portcullis revoke`: a thin client of POST /v1/denylist, so revocations go through the same store (and
// the same authorization) as every other writer.

export interface RevokeOptions {
  jti?: string;
  exp?: string;
  sub?: string;
  before?: string;
  admin?: string;
  token?: string;
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function revokeRequestBody(options: RevokeOptions): { jti: string; exp: number } | { sub: string; before?: number } {
  if ((options.jti === undefined) === (options.sub === undefined)) {
    throw new UsageError('give exactly one of --jti ID (with --exp UNIX) or --sub SUBJECT');
  }
  if (options.jti !== undefined) {
    if (options.exp === undefined) throw new UsageError('--jti needs --exp UNIX (the token\'s expiry, unix seconds)');
    if (options.before !== undefined) throw new UsageError('--before goes with --sub, not --jti');
    return { jti: options.jti, exp: unixSeconds(options.exp, '--exp') };
  }
  if (options.exp !== undefined) throw new UsageError('--exp goes with --jti; use --before with --sub');
  const sub = options.sub ?? '';
  return options.before === undefined ? { sub } : { sub, before: unixSeconds(options.before, '--before') };
}

function unixSeconds(text: string, flag: string): number {
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`${flag} must be unix seconds, e.g. ${Math.floor(Date.now() / 1000)}`);
  return Number(text);
}

export async function revoke(options: RevokeOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let body: ReturnType<typeof revokeRequestBody>;
  try {
    body = revokeRequestBody(options);
  } catch (error) {
    process.stderr.write(`portcullis revoke: ${(error as Error).message}\n`);
    return 2;
  }
  const admin = (options.admin ?? env['PORTCULLIS_ADMIN_URL'] ?? 'http://127.0.0.1:9192').replace(/\/+$/, '');
  const token = options.token ?? env['PORTCULLIS_ADMIN_TOKEN'];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${admin}/v1/denylist`, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (error) {
    process.stderr.write(`portcullis revoke: cannot reach the admin API at ${admin}: ${(error as Error).message}\n`);
    return 1;
  }
  const text = await response.text();
  if (!response.ok) {
    process.stderr.write(`portcullis revoke: admin API answered ${response.status}: ${text}\n`);
    return 1;
  }
  process.stdout.write(`${text}\n`);
  return 0;
}

// `portcullis revoke`: a thin client of /v1/denylist (POST to revoke, GET for --list, DELETE for --undo), so
// revocations go through the same store (and the same authorization) as every other writer.

export interface RevokeOptions {
  jti?: string;
  exp?: string;
  sub?: string;
  before?: string;
  admin?: string;
  token?: string;
  list?: boolean;
  undo?: boolean;
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function revokeRequestBody(
  options: RevokeOptions,
): { jti: string; exp: number } | { sub: string; before?: number } {
  if ((options.jti === undefined) === (options.sub === undefined)) {
    throw new UsageError('give exactly one of --jti ID (with --exp UNIX) or --sub SUBJECT');
  }
  if (options.jti !== undefined) {
    if (options.exp === undefined) throw new UsageError("--jti needs --exp UNIX (the token's expiry, unix seconds)");
    if (options.before !== undefined) throw new UsageError('--before goes with --sub, not --jti');
    return { jti: options.jti, exp: unixSeconds(options.exp, '--exp') };
  }
  if (options.exp !== undefined) throw new UsageError('--exp goes with --jti; use --before with --sub');
  const sub = options.sub ?? '';
  return options.before === undefined ? { sub } : { sub, before: unixSeconds(options.before, '--before') };
}

/** The admin request a command line makes: list, undo or revoke. */
export function denylistRequest(options: RevokeOptions): { method: 'GET' | 'POST' | 'DELETE'; body?: unknown } {
  if (options.list === true) {
    if (
      options.undo === true ||
      options.jti !== undefined ||
      options.sub !== undefined ||
      options.exp !== undefined ||
      options.before !== undefined
    ) {
      throw new UsageError('--list takes no other option than --admin and --token');
    }
    return { method: 'GET' };
  }
  if (options.undo === true) {
    if ((options.jti === undefined) === (options.sub === undefined))
      throw new UsageError('--undo needs exactly one of --jti ID or --sub SUBJECT');
    if (options.exp !== undefined || options.before !== undefined)
      throw new UsageError('--undo removes the whole entry: drop --exp and --before');
    return { method: 'DELETE', body: options.jti !== undefined ? { jti: options.jti } : { sub: options.sub } };
  }
  return { method: 'POST', body: revokeRequestBody(options) };
}

function unixSeconds(text: string, flag: string): number {
  if (!/^\d{1,12}$/.test(text))
    throw new UsageError(`${flag} must be unix seconds, e.g. ${Math.floor(Date.now() / 1000)}`);
  return Number(text);
}

export async function revoke(options: RevokeOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let request: ReturnType<typeof denylistRequest>;
  try {
    request = denylistRequest(options);
  } catch (error) {
    process.stderr.write(`portcullis revoke: ${(error as Error).message}\n`);
    return 2;
  }
  const admin = (options.admin ?? env['PORTCULLIS_ADMIN_URL'] ?? 'http://127.0.0.1:9192').replace(/\/+$/, '');
  const token = options.token ?? env['PORTCULLIS_ADMIN_TOKEN'];
  const headers: Record<string, string> = request.body === undefined ? {} : { 'content-type': 'application/json' };
  if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
  let response: Response;
  try {
    const init = {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    };
    response = await fetch(`${admin}/v1/denylist`, init);
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

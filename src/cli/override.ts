// `portcullis override`: a thin client of /v1/overrides (set, list, delete per-key rate-limit overrides), so
// overrides go through the same store and the same authorization as the admin API.
import { UsageError } from './revoke.js';

export interface OverrideOptions {
  rule?: string;
  key?: string[];
  limit?: string;
  until?: string;
  list?: boolean;
  delete?: boolean;
  admin?: string;
  token?: string;
}

export type OverrideRequest =
  | { method: 'GET' }
  | { method: 'POST'; body: { rule: string; key: string[]; limit: number; until?: number } }
  | { method: 'DELETE'; body: { rule: string; key: string[] } };

function integer(text: string, flag: string): number {
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

export function overrideRequest(options: OverrideOptions): OverrideRequest {
  if (options.list === true) {
    if (options.delete === true || options.rule !== undefined || options.limit !== undefined) {
      throw new UsageError('--list takes no other option than --admin and --token');
    }
    return { method: 'GET' };
  }
  if (options.rule === undefined || options.key === undefined || options.key.length === 0) {
    throw new UsageError(
      "give --rule NAME and --key VALUE (one --key per part of the rule's key, in order), or --list",
    );
  }
  if (options.delete === true) {
    if (options.limit !== undefined || options.until !== undefined)
      throw new UsageError('--delete takes --rule and --key only');
    return { method: 'DELETE', body: { rule: options.rule, key: options.key } };
  }
  if (options.limit === undefined)
    throw new UsageError('--limit N is needed to set an override (or --delete to remove one)');
  const body: { rule: string; key: string[]; limit: number; until?: number } = {
    rule: options.rule,
    key: options.key,
    limit: integer(options.limit, '--limit'),
  };
  if (options.until !== undefined) body.until = integer(options.until, '--until');
  return { method: 'POST', body };
}

export async function override(options: OverrideOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let request: OverrideRequest;
  try {
    request = overrideRequest(options);
  } catch (error) {
    process.stderr.write(`portcullis override: ${(error as Error).message}\n`);
    return 2;
  }
  const admin = (options.admin ?? env['PORTCULLIS_ADMIN_URL'] ?? 'http://127.0.0.1:9192').replace(/\/+$/, '');
  const token = options.token ?? env['PORTCULLIS_ADMIN_TOKEN'];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${admin}/v1/overrides`, {
      method: request.method,
      headers,
      ...(request.method === 'GET' ? {} : { body: JSON.stringify(request.body) }),
    });
  } catch (error) {
    process.stderr.write(`portcullis override: cannot reach the admin API at ${admin}: ${(error as Error).message}\n`);
    return 1;
  }
  const text = await response.text();
  if (!response.ok) {
    process.stderr.write(`portcullis override: admin API answered ${response.status}: ${text}\n`);
    return 1;
  }
  process.stdout.write(`${text}\n`);
  return 0;
}

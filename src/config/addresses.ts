// Listen addresses whose host does not resolve would fail at bind, after the policy compiled, with a bare
// `getaddrinfo ENOTFOUND`; resolving them while the configuration is read names the key instead.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from './schema.js';
import type { PathIssue } from './files.js';

export async function checkAddresses(config: Config): Promise<PathIssue[]> {
  const listeners: Array<{ path: string[]; address: string }> = [
    { path: ['grpc', 'address'], address: config.grpc.address },
    { path: ['admin', 'address'], address: config.admin.address },
  ];
  const issues: PathIssue[] = [];
  for (const { path, address } of listeners) {
    const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) continue;
    try {
      await lookup(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      issues.push({
        path,
        message: `host "${host}" does not resolve (${String(code ?? error)}); use an IP address or a name this host resolves`,
      });
    }
  }
  return issues;
}

// The verified client certificate of a TLS connection (grpc.tls / admin.tls with a client CA), as the decision
// log carries it: subject, SANs, and the URI SANs apart, where a SPIFFE id sits.
import type { TLSSocket } from 'node:tls';

/** A verified client certificate: its subject, its SANs as Node prints them, and its URI SANs (a SPIFFE id). */
export interface PeerIdentity {
  subject: string;
  san: string | undefined;
  uris: string[];
}

/** The verified client certificate's identity (null for an unverified one, which is never logged). */
export function peerIdentity(socket: Pick<TLSSocket, 'authorized' | 'getPeerCertificate'>): PeerIdentity | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  const subject = Object.entries(cert.subject ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(',');
  return { subject, san: cert.subjectaltname, uris: uriSans(cert.subjectaltname) };
}

/**
 * The URI entries of Node's `subjectaltname` (`DNS:a, URI:spiffe://td/ns/x/sa/y, IP Address:…`); Node quotes
 * an entry holding a comma or quote as a JSON string.
 */
export function uriSans(san: string | undefined): string[] {
  if (san === undefined) return [];
  const uris: string[] = [];
  for (const match of san.matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1] as string;
    try {
      uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
    } catch {
      uris.push(value);
    }
  }
  return uris;
}

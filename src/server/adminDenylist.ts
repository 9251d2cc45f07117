// GET and DELETE /v1/denylist: read and undo revocations. The admin shell authenticates (the same token as
// POST) and reads the body; this module validates, acts on the store and says what to audit.
import type { DecisionStore } from '../limits/types.js';

export interface DenylistAnswer {
  status: number;
  body: unknown;
  /** what the audit log line records (never the admin token); null: nothing to audit */
  audit: { msg: string; fields: Record<string, unknown> } | null;
}

/** `body` is the parsed JSON body (undefined for GET). Store failures propagate (the shell answers 503). */
export async function denylistReadOrDelete(
  method: 'GET' | 'DELETE',
  body: unknown,
  store: DecisionStore,
): Promise<DenylistAnswer> {
  if (method === 'GET') {
    const entries = await store.listDenylist();
    return {
      status: 200,
      body: entries,
      audit: {
        msg: 'denylist listed through the admin API',
        fields: { jtiCount: entries.jti.length, subCount: entries.sub.length },
      },
    };
  }
  const { denylistDeleteSchema } = await import('./adminBodies.js');
  const parsed = denylistDeleteSchema.safeParse(body);
  if (!parsed.success) {
    return {
      status: 400,
      body: { error: 'expected {"jti": string} or {"sub": string} (the body of the POST that added it)' },
      audit: null,
    };
  }
  const entry = 'jti' in parsed.data ? { jti: parsed.data.jti } : { sub: parsed.data.sub };
  const deleted = await store.deleteDenylistEntry(entry);
  if (!deleted) return { status: 404, body: { error: 'no such denylist entry' }, audit: null };
  return {
    status: 200,
    body: { deleted: entry },
    audit: { msg: 'denylist entry removed through the admin API', fields: entry },
  };
}

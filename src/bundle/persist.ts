// policy.bundle.persistDir: the last bundle that was activated, kept on disk so a restart while the bundle
// server is down still starts with a policy. The archive is stored exactly as downloaded (and verified
// again when read back, so a file edited on disk is refused like a tampered download), next to its ETag.
// Each file is written to a temporary name and renamed over the old one, so a crash leaves the old file or
// the new one, never half of one. The ETag is trusted only when the metadata's digest matches the archive
// and its URL digest matches the configured URL (the URL itself may hold a credential, so only its digest
// is written).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ARCHIVE = 'bundle.tar.gz';
const METADATA = 'bundle.json';

export interface PersistedBundle {
  archive: Uint8Array;
  /** null when unknown or not trusted (see above) */
  etag: string | null;
  savedAt: string | null;
}

interface Metadata {
  etag: string | null;
  sha256: string;
  urlSha256: string;
  savedAt: string;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

export async function savePersistedBundle(
  dir: string,
  bundle: { archive: Uint8Array; etag: string | null; url: string },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const metadata: Metadata = {
    etag: bundle.etag,
    sha256: sha256(bundle.archive),
    urlSha256: sha256(bundle.url),
    savedAt: new Date().toISOString(),
  };
  // The archive first: a crash between the two leaves metadata whose digest no longer matches, so the
  // stale ETag is ignored and the next request fetches the bundle again.
  await writeAtomically(join(dir, ARCHIVE), bundle.archive);
  await writeAtomically(join(dir, METADATA), new TextEncoder().encode(`${JSON.stringify(metadata)}\n`));
}

/** The persisted bundle, or null when there is none. A read error other than "absent" is thrown. */
export async function loadPersistedBundle(dir: string, url: string): Promise<PersistedBundle | null> {
  let archive: Uint8Array;
  try {
    archive = new Uint8Array(await readFile(join(dir, ARCHIVE)));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return null;
    throw error;
  }
  const metadata = await readFile(join(dir, METADATA), 'utf8')
    .then((text) => JSON.parse(text) as Partial<Metadata>)
    .catch(() => ({}) as Partial<Metadata>);
  const trusted = metadata.sha256 === sha256(archive) && metadata.urlSha256 === sha256(url);
  return {
    archive,
    etag: trusted && typeof metadata.etag === 'string' ? metadata.etag : null,
    savedAt: typeof metadata.savedAt === 'string' ? metadata.savedAt : null,
  };
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  // A unique temporary name: with several workers, each writes its own and the last rename wins.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

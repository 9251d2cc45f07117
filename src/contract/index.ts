// The contract stage: OpenAPI documents loaded and compiled once (and again on change, keeping the last
// good set), then one synchronous evaluation per check that never throws.
import { resolve as resolvePath } from 'node:path';
import type { Identity } from '../identity/types.js';
import type { HttpRequestView } from '../input/types.js';
import { watchPaths, type PolicyWatch } from '../policy/watch.js';
import { compileDocument, type Route } from './compileDocument.js';
import { createUnknownInventory, methodLabel } from './inventory.js';
import { loadDocument } from './loadDocument.js';
import { buildRouteTable, type RouteTable } from './matchRoute.js';
import { grantedScopes, missingScopes } from './scopes.js';
import type { ContractDeps, ContractOutcome, ContractStage, OpenApiSettings, RequestBody } from './types.js';
import { validateRequest, type Evaluation } from './validateRequest.js';
import { serialReloads } from '../policy/serialReloads.js';

export type { ContractStage, ContractOutcome, OpenApiSettings, RequestBody } from './types.js';
export { ContractLoadError } from './errors.js';
export { validationProblem, PROBLEM_CONTENT_TYPE } from './problem.js';

interface ActiveContract {
  table: RouteTable;
  /** every file read, for the watcher */
  files: string[];
  operations: number;
}

/** Loads and compiles every document; throws ContractLoadError (file + pointer) when one is unusable. */
export async function loadContract(specs: readonly string[]): Promise<ActiveContract> {
  const routes: Route[] = [];
  const files = new Set<string>();
  for (const spec of specs) {
    const loaded = await loadDocument(resolvePath(spec));
    routes.push(...compileDocument(loaded));
    for (const file of loaded.files) files.add(file);
  }
  const table = buildRouteTable(routes);
  let operations = 0;
  for (const list of table.bySegmentCount.values()) for (const route of list) operations += route.operations.size;
  return { table, files: [...files], operations };
}

export async function createContractStage(settings: OpenApiSettings, deps: ContractDeps): Promise<ContractStage> {
  let active = await loadContract(settings.specs);
  deps.logger.info(
    { specs: settings.specs, operations: active.operations, mode: settings.mode },
    'openapi documents loaded',
  );
  const inventory = createUnknownInventory();
  let watcher: PolicyWatch | undefined;
  let watchOptions: { debounceMs: number; pollMs: number } | undefined;

  // The policy's watcher: directory watches that survive editors' rename-over-writes, backed by a stat poll.
  const watchFiles = async (): Promise<void> => {
    watcher?.close();
    watcher = undefined;
    if (watchOptions === undefined) return;
    watcher = await watchPaths(active.files, () => void reload(), {
      ...watchOptions,
      onProblem: (problem) =>
        deps.logger.warn({ kind: problem.kind }, 'openapi watch problem; the periodic check covers it'),
    });
  };

  const reloadOnce = async (): Promise<boolean> => {
    try {
      const next = await loadContract(settings.specs);
      const filesChanged = next.files.join('\n') !== active.files.join('\n');
      active = next;
      deps.countReload('success');
      deps.logger.info({ specs: settings.specs, operations: next.operations }, 'openapi documents reloaded');
      if (filesChanged) await watchFiles();
      return true;
    } catch (error) {
      deps.countReload('error');
      deps.logger.error({ err: error }, 'openapi reload failed; keeping the last good documents');
      return false;
    }
  };

  const reload = serialReloads(reloadOnce);

  function evaluate(request: HttpRequestView, body: RequestBody | null, identity: Identity | null): ContractOutcome {
    let evaluation: Evaluation;
    try {
      evaluation = validateRequest(active.table, request, body);
    } catch (error) {
      // A validator bug must not take the check down with it: 503, and the log says where.
      // Only the error: the request view itself may be what broke.
      deps.logger.error({ err: error }, 'openapi validation failed unexpectedly');
      return { kind: 'unavailable', description: 'openapi validation failed' };
    }
    if (evaluation.kind !== 'matched') {
      const method = methodLabel(request.method);
      deps.countUnknown(method);
      inventory.record(method, request.path, new Date());
      if (settings.unknownOperations === 'allow') return { kind: 'pass', openapi: null };
      return evaluation.kind === 'method_not_allowed'
        ? { kind: 'unknown', status: 405, allow: evaluation.allow }
        : { kind: 'unknown', status: 404, allow: [] };
    }
    const { operation, errors, openapi } = evaluation;
    if (settings.enforceScopes && identity !== null) {
      const missing = missingScopes(operation.tokenSecurity, grantedScopes(identity.claims));
      if (missing !== null) return { kind: 'insufficient_scope', operation: operation.label, scopes: missing };
    }
    deps.countRequest(operation.label, errors.length === 0 ? 'valid' : 'invalid');
    if (errors.length === 0) return { kind: 'pass', openapi };
    if (settings.mode === 'enforce') return { kind: 'invalid', operation: operation.label, errors };
    // report: the request goes on; the log names the fields and rules (never their values).
    deps.logger.info({ operation: operation.label, errors }, 'request does not match the API contract (report mode)');
    return { kind: 'pass', openapi };
  }

  return {
    evaluate,
    inventory: () => inventory.list(),
    reload,
    async watch(options) {
      watchOptions = { debounceMs: options.debounceMs ?? 200, pollMs: options.pollMs ?? 0 };
      await watchFiles();
    },
    close() {
      watchOptions = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}

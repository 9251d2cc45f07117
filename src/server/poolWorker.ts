// Whether this process is a worker of the `workers: N` pool, known without loading node:cluster: a server of one
// process never needs it (nor the child_process, dgram and handle-passing modules it brings). The pool sets this
// variable in the environment of every worker it forks.
export const POOL_WORKER_ENV = 'PORTCULLIS_POOL_WORKER';

export function isPoolWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[POOL_WORKER_ENV] === '1';
}

// What verifies a token against a provider: the provider with its key set, jose's verification and the
// mapping of jose's errors. index.ts imports this module only when a provider is configured, so a server
// without JWT providers never loads jose (~1 MB of its idle memory, bench:footprint).
export { createProvider } from './provider.js';
export { toRejection, verifyToken } from './verify.js';

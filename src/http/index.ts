export { buildHttpServer } from './server.js';
export type { HttpDeps, ReadyReport } from './deps.js';

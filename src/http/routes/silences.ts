// Silences API (placeholder: filled in by the silences work).

import type { FastifyInstance } from 'fastify';
import type { TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';

export function silencesRoutes(_app: FastifyInstance, _deps: HttpDeps, _tokens: TokenIndex): void {}

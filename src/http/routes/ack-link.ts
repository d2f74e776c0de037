// Signed ack links (placeholder: filled in by the ack-link work).

import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.js';

export function ackLinkRoutes(_app: FastifyInstance, _deps: HttpDeps): void {}

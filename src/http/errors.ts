// One error shape for every endpoint: {error: {code, message, details?}} with catalogue codes.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HTTP_ERRORS } from '../errors/catalogue.js';

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: HttpErrorCode,
    message: string = HTTP_ERRORS[code].message,
    readonly details?: readonly unknown[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** `item`, or 404 not_found "no <what> "<id>"". */
export function found<T>(item: T | undefined | null, what: string, id: string): T {
  if (item === undefined || item === null) throw new HttpError(404, 'not_found', `no ${what} ${JSON.stringify(id)}`);
  return item;
}

export interface ErrorBody {
  readonly error: { readonly code: HttpErrorCode; readonly message: string; readonly details?: readonly unknown[] };
}

export function errorBody(code: HttpErrorCode, message: string = HTTP_ERRORS[code].message, details?: readonly unknown[]): ErrorBody {
  return { error: details ? { code, message, details } : { code, message } };
}

/** A store call that fails (Redis down) becomes 503 not_ready, the cause kept for the log. */
export async function fromStore<T>(work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new HttpError(503, 'not_ready', `${what} is unavailable (Redis unreachable?); retry later`, undefined, { cause: err });
  }
}

/** The parameter names a route's zod querystring declares (for the unknown_parameter message). */
function declaredParameters(request: FastifyRequest): string[] {
  const schema = request.routeOptions.schema?.querystring as { shape?: Record<string, unknown> } | undefined;
  return schema?.shape ? Object.keys(schema.shape) : [];
}

/** A schema validation failure: unknown query parameters get their own code, the rest bad_request. */
function validationError(e: FastifyError, request: FastifyRequest): HttpError {
  const issues = e.validation ?? [];
  const unknown = issues.flatMap((i) => (i.keyword === 'unrecognized_keys' ? ((i.params as { keys?: string[] }).keys ?? []) : []));
  if (e.validationContext === 'querystring' && unknown.length > 0) {
    const known = declaredParameters(request);
    const names = unknown.map((k) => JSON.stringify(k.slice(0, 100))).join(', ');
    return new HttpError(400, 'unknown_parameter', `unknown query parameter ${names}; ${known.length ? `this endpoint takes ${known.join(', ')}` : 'this endpoint takes none'}`);
  }
  const where = e.validationContext ?? 'request';
  const message = issues.map((i) => `${where}${i.instancePath === '/' ? '' : i.instancePath.replaceAll('/', '.')}: ${i.message ?? 'invalid'}`).join('; ');
  return new HttpError(400, 'bad_request', message || e.message);
}

function toHttpError(err: FastifyError | Error, maxBodyBytes: number, request: FastifyRequest): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as FastifyError;
  if (e.validation) return validationError(e, request);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'body_too_large', `the body exceeds ${maxBodyBytes} bytes (LOOKOUT_MAX_BODY_BYTES); split it into smaller batches`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'unsupported_media_type', `${e.message}; send application/json (or application/x-ndjson for samples)`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(400, 'unparseable_body', e.message);
  }
  const status = e.statusCode ?? 500;
  if (status === 400 && err instanceof SyntaxError) return new HttpError(400, 'unparseable_body', `the body is not valid JSON: ${err.message}`);
  if (status >= 400 && status < 500) return new HttpError(status, 'bad_request', e.message);
  return new HttpError(500, 'internal_error', 'an unexpected error; see the server log', undefined, { cause: err });
}

export function makeErrorHandler(maxBodyBytes: number, logger?: Logger) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    const http = toHttpError(err, maxBodyBytes, request);
    if (http.statusCode === 503) {
      // Expected while Redis is away (the outage is logged once by its tracker): one line, no stack.
      const cause = http.cause ?? err;
      logger?.warn({ route: request.routeOptions.url, method: request.method, code: http.code, cause: cause instanceof Error ? cause.message : String(cause) }, 'request answered 503');
    } else if (http.statusCode >= 500) {
      logger?.error({ err: http.cause ?? err, route: request.routeOptions.url, method: request.method, code: http.code }, 'request failed');
    }
    if (http.statusCode === 503) void reply.header('retry-after', '5');
    void reply.code(http.statusCode).send(errorBody(http.code, http.message, http.details));
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? '';
  void reply.code(404).send(errorBody('not_found', `no route ${request.method} ${path.slice(0, 200)}`));
}

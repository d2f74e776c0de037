// POST /api/v1/samples: JSON array, JSON object or NDJSON → validate → durable enqueue → 202.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BodyError, sampleBodySlices } from '../../ingest/body.js';
import { MAX_REJECTED_LISTED, RejectionList, SampleValidator } from '../../ingest/validate.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { errorResponses, NoQuery } from '../schemas.js';

export const SAMPLE_CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'text/plain'];

export function samplesRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  // This plugin scope reads bodies as text (our own parser sniffs JSON vs NDJSON); fastify's
  // bodyLimit still refuses an oversized body before buffering it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(SAMPLE_CONTENT_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const schema = {
    tags: ['samples'],
    security: [{ bearer: [] }],
    summary: 'Ingest samples: a JSON array, a JSON object or NDJSON (token scope ingest or operator)',
    querystring: NoQuery,
    response: { ...errorResponses },
  };
  app.post('/api/v1/samples', { onRequest: requireScope(tokens, ['ingest', 'operator']), schema }, async (request: FastifyRequest, reply: FastifyReply) => {
    const text = typeof request.body === 'string' ? request.body : '';
    const rejections = new RejectionList(MAX_REJECTED_LISTED);
    const validator = new SampleValidator(
      { metrics: deps.metrics(), now: deps.clock.now(), retentionDays: deps.config.retentionDays, maxFutureMs: deps.config.maxFutureMs, calendar: deps.calendar },
      rejections,
    );
    try {
      for await (const slice of sampleBodySlices(text)) {
        for (const r of slice.badRows) rejections.add(r.index, r.code, r.message);
        validator.push(slice.records, slice.firstIndex, slice.indexes);
      }
    } catch (err) {
      if (err instanceof BodyError) throw new HttpError(400, 'unparseable_body', err.message);
      throw err;
    }
    const result = { accepted: validator.result() };
    const rejected = rejections.list();
    if (result.accepted.length > 0) {
      try {
        await deps.sink.enqueue(result.accepted, 'http');
      } catch (err) {
        // `accepted` means durable (docs/ingest.md): a batch the queue did not take is refused whole.
        throw new HttpError(503, 'not_ready', 'the samples were not stored (queue unavailable); nothing was accepted, send the batch again', undefined, { cause: err });
      }
    }
    deps.onIngest?.(result.accepted.length, rejected, 'http', { total: rejections.total, byCode: rejections.byCode });
    return reply.code(202).send({ accepted: result.accepted.length, rejected, rejected_total: rejections.total, rejected_by_code: rejections.byCode });
  });
}

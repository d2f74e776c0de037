// Zod schemas shared by the routes: one definition gives validation, TypeScript types and the
// OpenAPI document (GET /api/v1/openapi.json).

import { z } from 'zod';
import { DEFAULT_LIMIT, MAX_LIMIT } from './paging.js';

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().describe('a code of the error catalogue (docs/api.md)'),
      message: z.string(),
      details: z.array(z.unknown()).optional(),
    }),
  })
  .describe('every error has this shape');

/** The error responses every route may give (auth, validation, store unavailable). */
export const errorResponses = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

export const IdParams = z.object({ id: z.string().min(1).max(200) });

/** A query without parameters: any parameter is a 400 unknown_parameter. */
export const NoQuery = z.strictObject({});

/** `limit` and `cursor` of every list endpoint. */
export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .optional()
    .describe(`items per page, 1..${MAX_LIMIT} (default ${DEFAULT_LIMIT})`),
  cursor: z.string().min(1).max(1000).optional().describe('the `next` value of the previous page'),
};

/** Records passed through as stored (their fields are documented in docs/*.md). */
export const Item = z.looseObject({}) as unknown as z.ZodType<object>;

/** format=html|text answers. */
export const Text = z.string().describe('the HTML or plain-text rendering when format asks for it');

/** A list answer: the items under `key`, and `next` unless this is the last page. */
export function listResponse<K extends string>(key: K) {
  return z.object({ [key]: z.array(Item), next: z.string().optional().describe('cursor of the next page; absent on the last page') } as {
    [P in K]: z.ZodArray<typeof Item>;
  } & { next: z.ZodOptional<z.ZodString> });
}

export const operatorSecurity = [{ bearer: [] }];

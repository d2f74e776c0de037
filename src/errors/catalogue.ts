// Every coded error Lookout reports, in one place. A test checks codes are unique
// and that each one is documented in README.md.

export interface ErrorDef {
  readonly code: string;
  readonly message: string;
}

function define<const T extends Record<string, string>>(defs: T): { readonly [K in keyof T]: ErrorDef } {
  const out: Record<string, ErrorDef> = {};
  for (const [code, message] of Object.entries(defs)) out[code] = Object.freeze({ code, message });
  return Object.freeze(out) as { readonly [K in keyof T]: ErrorDef };
}

/** Per-sample rejection codes (`rejected[].code` of POST /api/v1/samples and CSV import). */
export const SAMPLE_ERRORS = define({
  not_an_object: 'sample is not a JSON object',
  missing_metric: 'metric is missing or not a non-empty string',
  unknown_metric: 'metric is not in the catalogue (built-in metrics and rule-file `metrics:`)',
  missing_entity: 'entity is missing or not a non-empty string',
  entity_too_long: 'entity is longer than 200 characters',
  bad_value: 'value is not a finite number',
  negative_value: 'value is negative',
  bad_ts: 'ts is neither ISO-8601 nor epoch milliseconds',
  ts_future: 'ts is further in the future than LOOKOUT_MAX_FUTURE_MS allows',
  ts_too_old: 'ts is older than the daily retention (LOOKOUT_RETENTION_DAYS)',
  bad_id: 'id is not a non-empty string of at most 200 characters',
  bad_labels: 'labels is not an object of string values',
  duplicate_id: 'the same id appears later in this batch; the later sample is kept',
  bad_row: 'CSV row could not be parsed',
  id_window_passed: 'the sample has an id and its day is older than the id window, whose ids are forgotten: it cannot be told from a re-send (compact layout)',
  value_out_of_range: "the value, or its hour's or day's sum, is beyond what a compact cell holds (±2,147,483.647 per hour)",
  bad_batch: 'a queued batch in columns (v: 2) whose columns do not hold together: none of it can be read (queue door)',
});

/** Whole-request errors of the HTTP API. */
export const HTTP_ERRORS = define({
  unparseable_body: 'the body is not a JSON array, JSON object or NDJSON',
  body_too_large: 'the body exceeds LOOKOUT_MAX_BODY_BYTES',
  unauthorized: 'a bearer token is required (LOOKOUT_API_TOKENS)',
  forbidden: 'the token does not allow this operation',
  not_found: 'no such resource',
  bad_request: 'the request does not match the endpoint schema',
  unknown_parameter: 'a query parameter that the endpoint does not take',
  bad_cursor: 'the cursor was not made by this list endpoint (pass `next` unchanged)',
  invalid_entity: 'an entity failed validation',
  not_ackable: 'the alert is not firing (only firing alerts can be acknowledged)',
  not_ready: 'Redis unreachable or rules not loaded',
  unsupported_media_type: 'the Content-Type is not one this endpoint accepts',
  internal_error: 'an unexpected server error (logged)',
  link_invalid: 'the acknowledgement link is malformed or its signature does not match',
  link_expired: 'the acknowledgement link has expired',
  conflict: 'the resource changed or ended meanwhile (e.g. an expired silence)',
  not_evaluated: 'the campaign has no post-evaluation record yet (written the day after it ends)',
  empty_broadcast: 'a broadcast selector matches no channel with a manager in contacts.csv',
});

/** Configuration and rule-file errors (start-up, `rules check`, reload). */
export const CONFIG_ERRORS = define({
  bad_env: 'an environment variable has an invalid value',
  yaml_syntax: 'the file is not valid YAML',
  unknown_field: 'a field that the schema does not know',
  bad_field: 'a field has the wrong type or value',
  missing_field: 'a required field is missing',
  unknown_kind: 'rule kind is not one of threshold, ratio, change, intraday, absence, flatline, date',
  duplicate_rule: 'two rules share an id',
  unknown_rule_metric: 'a rule names a metric that is not in the catalogue',
  bad_entity: 'an entity row is invalid',
  duplicate_entity: 'an entity id appears twice in one file',
  bad_csv_header: 'a CSV header lacks a required column, repeats one, or names an unknown one',
  csv_encoding: 'a CSV file is not UTF-8 and no --encoding was given (GBK/GB18030 exports need --encoding gb18030)',
  redis_policy: 'Redis maxmemory-policy is not noeviction',
  redis_missing: 'no redis-server binary was found and REDIS_URL is not set',
  redis_unreachable: 'Redis did not answer',
  cluster_needs_compact: 'REDIS_URL names a Redis Cluster and LOOKOUT_SERIES_LAYOUT=buckets: only the compact layout is split by hash tags (unset it or set compact)',
  migration_needed: 'LOOKOUT_SERIES_LAYOUT=compact on a Redis that holds buckets-layout series and no completed `lookout migrate`',
  migrate_refused: 'lookout migrate: the compact layout refused a copied sample (e.g. value_out_of_range); nothing is marked migrated',
  bad_rule_test: 'a rule test file is invalid',
  bad_contact: 'a contacts.csv row is invalid',
  duplicate_contact: 'a contact id appears twice in contacts.csv',
  unknown_contact: 'an entity, rota or policy names a contact id that contacts.csv lacks',
  missing_contact: 'a policy notifies a role that no contact fills for some entity (e.g. no district_head for a district)',
  bad_rota: 'rotas.yaml is invalid',
  bad_policy: 'rules/policies.yaml is invalid',
  bad_template: 'a message template does not parse or names an unknown field',
});

/** Why a notification did not go out (`GET /api/v1/notifications`, `error.code`). */
export const NOTIFY_ERRORS = define({
  no_recipient: 'a policy step names a role that no contact fills for this alert',
  no_address: 'the contact has no phone, email or webhook for any of its channels',
  gateway_unavailable: 'the gateway could not be reached for as long as failover allows',
  send_failed: 'the provider refused the message, or it failed on every retry',
  job_failed: 'the job that should have sent or escalated it was given up by the queue (no attempt left, or its worker died too often)',
  fate_unknown: 'a crash interrupted the send twice (the repeat too): not sent a third time; state receipt_unknown',
});

export const ALL_ERROR_GROUPS = { SAMPLE_ERRORS, HTTP_ERRORS, CONFIG_ERRORS, NOTIFY_ERRORS } as const;

/** A problem in a file the operator wrote: `rules/core.yaml:12: levels[0].at: expected number`. */
export class ConfigError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }

  /** `file:line: field: message [code]`, the one-line form every CLI prints. */
  format(): string {
    const where = [this.file, this.line].filter((x) => x !== undefined).join(':');
    const field = this.field ? `${this.field}: ` : '';
    return `${where ? `${where}: ` : ''}${field}${this.message} [${this.code}]`;
  }
}

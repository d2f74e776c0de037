// Message templates of the channel duties: the broadcast SMS and the monthly ranking email.
// They sit beside the alert templates (LOOKOUT_TEMPLATES_DIR, default templates/<locale>); a
// folder that predates them falls back to the ones shipped with Lookout. Files are read when
// used, so an edit takes effect at the next broadcast or report; a file that does not parse is a
// `bad_template` error (at start-up, and for the request that uses it).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Mustache from 'mustache';
import { defaultTemplatesDir } from '../config/paths.js';
import { ConfigError } from '../errors/catalogue.js';

export const DUTY_TEMPLATE_FILES = {
  broadcastSms: 'broadcast-sms.mustache',
  rankingSubject: 'halls-ranking.subject.mustache',
  rankingText: 'halls-ranking.text.mustache',
  rankingHtml: 'halls-ranking.html.mustache',
} as const;

export type DutyTemplate = keyof typeof DUTY_TEMPLATE_FILES;

// SMS, text parts and subjects are not HTML: values go in as they are.
const TEXT = { escape: (v: unknown) => String(v) };

export class DutyTemplates {
  constructor(
    readonly dir: string,
    readonly locale: 'zh' | 'en',
  ) {}

  /** The template's source and the file it came from (the folder's, else the shipped one). */
  source(kind: DutyTemplate): { file: string; text: string } {
    const name = DUTY_TEMPLATE_FILES[kind];
    for (const dir of [this.dir, defaultTemplatesDir(this.locale)]) {
      const file = join(dir, name);
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('bad_template', `cannot read: ${(err as Error).message}`, file);
      }
    }
    throw new ConfigError('bad_template', `template file is missing (LOOKOUT_TEMPLATES_DIR=${this.dir})`, join(this.dir, name));
  }

  private parsed(kind: DutyTemplate): string {
    const { file, text } = this.source(kind);
    try {
      Mustache.parse(text);
    } catch (err) {
      throw new ConfigError('bad_template', `does not parse: ${(err as Error).message}`, file);
    }
    if (file.endsWith('.html.mustache') && /\{\{\s*[{&]/.test(text)) {
      throw new ConfigError('bad_template', '{{{name}}} or {{&name}} would skip HTML escaping; use {{name}}', file);
    }
    return text;
  }

  /** Every duty template reads and parses (start-up check). */
  check(): void {
    for (const kind of Object.keys(DUTY_TEMPLATE_FILES) as DutyTemplate[]) this.parsed(kind);
  }

  text(kind: DutyTemplate, view: unknown): string {
    return Mustache.render(this.parsed(kind), view, {}, TEXT);
  }

  html(kind: DutyTemplate, view: unknown): string {
    return Mustache.render(this.parsed(kind), view);
  }
}

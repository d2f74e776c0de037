// `lookout backtest --data` in GBK / GB18030: decoded with --encoding (the same report as the
// UTF-8 twin, on one thread and on several), refused with `csv_encoding` naming the file's first
// bad line without it (one thread, parts read by workers, the CLI's exit code) — never replayed
// garbled. And the UTF-8 check on Buffers (bytes.ts) across every chunk boundary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBacktest, type BacktestReport } from '../../src/backtest/backtest.js';
import { Utf8Check } from '../../src/backtest/bytes.js';
import type { CsvEncoding } from '../../src/config/csv-rows.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { ensureBuilt, PINNED_NOW, PINNED_NOW_MS, ROOT, runCli } from '../support/cli.js';
import { dealer, isoDays, shippedRules } from './fixtures.js';

beforeAll(ensureBuilt, 180_000);

const cal = new Calendar('Asia/Shanghai');
const yesterday = cal.dayOf(PINNED_NOW_MS) - 1;
const DAYS = isoDays(Calendar.isoDay(yesterday - 28), 29);
const LAST = DAYS[DAYS.length - 1]!;
const FLAGSHIP = '郑州旗舰店';
const CITIES = ['郑州', '洛阳', '开封'];

/** Dealers (ASCII ids) first, then the Chinese-named ones: the first non-ASCII line is late in the file. */
function historyLines(dealers: number): { lines: string[]; firstChinese: number } {
  const lines = ['metric,entity,value,ts,id,label.city'];
  for (let i = 1; i <= dealers; i++) {
    const id = `D${String(i).padStart(4, '0')}`;
    for (const d of DAYS) lines.push(`card_opening,${id},${d === LAST && i === 3 ? 40 : 100},${d}T12:00:00+08:00,${id}/card_opening/${d},`);
  }
  const firstChinese = lines.length + 1; // file line (the header is line 1)
  DAYS.forEach((d, i) => lines.push(`card_opening,${FLAGSHIP},${d === LAST ? 30 : 100},${d}T12:00:00+08:00,${FLAGSHIP}/card_opening/${d},${CITIES[i % 3]}`));
  lines.push(`card_opening,洛阳未登记,7,${LAST},,洛阳`, `card_opening,洛阳未登记,8,${DAYS[0]},,洛阳`);
  // A bad row after the Chinese ones (its row number and message must survive decoding).
  lines.push(`card_opening,D0001,很多,${LAST},,开封`);
  return { lines, firstChinese };
}

function write(dir: string, name: string, lines: readonly string[], encoding: CsvEncoding): string {
  const file = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(file, encoding === 'utf8' ? text : iconv.encode(text, encoding));
  return file;
}

function entities(dealers: number): Entity[] {
  return [...Array.from({ length: dealers }, (_, i) => dealer(`D${String(i + 1).padStart(4, '0')}`)), dealer(FLAGSHIP)];
}

const comparable = (r: BacktestReport) => JSON.parse(JSON.stringify({ ...r, file: '', seconds: 0, threads: 0 })) as unknown;

async function backtest(data: string, ents: readonly Entity[], encoding?: CsvEncoding): Promise<BacktestReport> {
  return runBacktest({ data, ruleSet: await shippedRules(), entities: ents, timeZone: 'Asia/Shanghai', retentionDays: 35, threads: 1, now: PINNED_NOW_MS, encoding });
}

/** runBacktest in a child process against dist/ (the parse workers are compiled there), read on `threads` threads. */
function backtestParallel(dir: string, data: string, ents: readonly Entity[], threads: number, encoding?: CsvEncoding): { report?: BacktestReport; error?: { code: string; line?: number; message: string } } {
  const script = join(dir, 'run.mjs');
  writeFileSync(
    script,
    `import { runBacktest } from ${JSON.stringify(join(ROOT, 'dist/src/backtest/backtest.js'))};
import { loadRuleSet } from ${JSON.stringify(join(ROOT, 'dist/src/config/rules-loader.js'))};
const rules = await loadRuleSet(${JSON.stringify(join(ROOT, 'rules'))});
const [data, ents, encoding] = process.argv.slice(2);
try {
  const r = await runBacktest({ data, ruleSet: rules.ruleSet, entities: JSON.parse(ents), timeZone: 'Asia/Shanghai', retentionDays: 35, threads: ${threads}, parallelReadBytes: 0, now: ${PINNED_NOW_MS}, encoding: encoding || undefined });
  process.stdout.write(JSON.stringify({ report: r }));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: { code: e.code, line: e.line, message: e.message } }));
}
`,
  );
  const out = spawnSync(process.execPath, [script, data, JSON.stringify(ents), encoding ?? ''], { encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as ReturnType<typeof backtestParallel>;
}

describe('backtest --data in GBK / GB18030', () => {
  it('with --encoding gbk or gb18030 replays exactly as the UTF-8 twin (Chinese entity ids and labels intact)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-enc-'));
    const { lines } = historyLines(4);
    const ents = entities(4);
    const want = await backtest(write(dir, 'utf8.csv', lines, 'utf8'), ents);
    // The UTF-8 twin itself: the Chinese-named dealer is judged and alerted, the unknown one listed.
    expect(want.alerts.map((a) => a.entity).sort()).toEqual(['D0003', FLAGSHIP].sort());
    expect(want.entities.unknownTop).toEqual([{ id: '洛阳未登记', samples: 2 }]);
    expect(want.rejected).toEqual([{ row: lines.length - 1, code: 'bad_value', message: expect.stringContaining('很多') as unknown }]);
    for (const enc of ['gbk', 'gb18030'] as const) {
      const got = await backtest(write(dir, `${enc}.csv`, lines, enc), ents, enc);
      expect(comparable(got), enc).toEqual(comparable(want));
    }
  });

  it('without --encoding a GBK file is refused with csv_encoding naming its first non-UTF-8 line (one thread)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-enc-'));
    const { lines, firstChinese } = historyLines(4);
    const file = write(dir, 'gbk.csv', lines, 'gbk');
    const err = await backtest(file, entities(4)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect([e.code, e.file, e.line]).toEqual(['csv_encoding', file, firstChinese]);
    expect(e.message).toBe('gbk.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030)');
    // --encoding utf8 says the same.
    await expect(runBacktest({ data: file, ruleSet: await shippedRules(), entities: [], timeZone: 'Asia/Shanghai', retentionDays: 35, threads: 1, now: PINNED_NOW_MS, encoding: 'utf8' })).rejects.toMatchObject({ code: 'csv_encoding', line: firstChinese });
  });

  it('parts read by worker threads: decoded with --encoding (same report), csv_encoding with the file line of the first bad part without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-enc-'));
    const { lines, firstChinese } = historyLines(30);
    const ents = entities(30);
    const want = await backtest(write(dir, 'utf8.csv', lines, 'utf8'), ents);
    const gbk = write(dir, 'gbk.csv', lines, 'gbk');

    const decoded = backtestParallel(dir, gbk, ents, 3, 'gbk');
    expect(decoded.error).toBeUndefined();
    expect(decoded.report!.threads).toMatchObject({ read: 3 });
    expect(comparable(decoded.report!)).toEqual(comparable(want));

    // The Chinese lines are all in the last part (of three): its line numbers count the parts before.
    expect(firstChinese).toBeGreaterThan((lines.length * 2) / 3 + 10);
    const refused = backtestParallel(dir, gbk, ents, 3);
    expect(refused.error).toEqual({ code: 'csv_encoding', line: firstChinese, message: 'gbk.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030)' });

    // Bad bytes in the second and third parts: the second part's line is the file's first.
    const early = Math.floor(lines.length / 2);
    const mixed = [...lines];
    mixed[early - 1] = `card_opening,D0001,1,${LAST},,郑州`;
    const file = join(dir, 'mixed.csv');
    writeFileSync(file, Buffer.concat([Buffer.from(`${mixed.slice(0, early - 1).join('\n')}\n`), iconv.encode(`${mixed.slice(early - 1).join('\n')}\n`, 'gbk')]));
    expect(backtestParallel(dir, file, ents, 3).error).toMatchObject({ code: 'csv_encoding', line: early });
  });

  it('the CLI: exit 2 with one coded line without --encoding, the report with --encoding gbk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-enc-'));
    const { lines, firstChinese } = historyLines(2);
    const gbk = write(dir, 'history.csv', lines, 'gbk');
    const ents = join(dir, 'entities.csv');
    // --encoding is the encoding of both files: the entities CSV is in GBK too.
    const registry = ['id,kind,name,region,district,manager,attr.monthly_fee,attr.contract_end', ...entities(2).map((e) => `${e.id},${e.kind},${e.name},${e.region},${e.district},${e.manager},120,2027-06-30`)];
    writeFileSync(ents, iconv.encode(`${registry.join('\n')}\n`, 'gbk'));
    const env = { LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-cfg-')), LOOKOUT_NOW: PINNED_NOW };

    const utf8Ents = join(dir, 'entities-utf8.csv');
    writeFileSync(utf8Ents, `${registry.join('\n')}\n`);
    const refused = await runCli(['backtest', '--data', gbk, '--entities', utf8Ents], { env });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`${gbk}:${firstChinese}: history.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030) [csv_encoding]\n`);

    const ok = await runCli(['backtest', '--data', gbk, '--entities', ents, '--encoding', 'gbk', '--json'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as BacktestReport;
    expect(report.alerts.map((a) => a.entity)).toEqual([FLAGSHIP]);
    expect(report.entities.unknownTop).toEqual([{ id: '洛阳未登记', samples: 2 }]);
  });
});

/** Pipe `chunks` through a Utf8Check; the bytes out, or the error. */
async function check(chunks: readonly Buffer[], lineOffset = 0): Promise<{ out?: Buffer; error?: ConfigError }> {
  const t = Readable.from(chunks).pipe(new Utf8Check('x.csv', lineOffset));
  const parts: Buffer[] = [];
  try {
    for await (const c of t) parts.push(c as Buffer);
    return { out: Buffer.concat(parts) };
  } catch (e) {
    return { error: e as ConfigError };
  }
}

describe('Utf8Check (bytes passed through, checked at every chunk boundary)', () => {
  const text = Buffer.from('metric,entity,value,ts,id,label.city\ncard_opening,郑州,1,2026-11-20,,é𝄞€\nx,y,2,2026-11-20,,ok\n');

  it('passes UTF-8 through unchanged however it is cut', async () => {
    for (const size of [1, 2, 3, 5, 7]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size));
      expect((await check(chunks)).out, `chunks of ${size}`).toEqual(text);
    }
    for (let cut = 0; cut <= text.length; cut++) {
      expect((await check([text.subarray(0, cut), text.subarray(cut)])).out, `cut at ${cut}`).toEqual(text);
    }
  });

  it('refuses the first non-UTF-8 byte with its line, wherever the chunks are cut', async () => {
    const gbk = Buffer.concat([Buffer.from('a,b\n1,2\n'), iconv.encode('3,郑州市\n4,开封\n', 'gbk')]);
    for (const size of [1, 2, 3, 4, 9, gbk.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < gbk.length; i += size) chunks.push(gbk.subarray(i, i + size));
      const { error } = await check(chunks, 40);
      expect(error, `chunks of ${size}`).toBeInstanceOf(ConfigError);
      expect([error!.code, error!.line, error!.message]).toEqual(['csv_encoding', 43, 'x.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030)']);
    }
  });

  it('refuses overlong forms, surrogates and a character cut by the end of the file', async () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe4, 0xb8]]) {
      const bytes = Buffer.concat([Buffer.from('a,b\nc,'), Buffer.from(bad)]);
      const { error } = await check([bytes.subarray(0, 5), bytes.subarray(5)]);
      expect(error?.code, bad.join(' ')).toBe('csv_encoding');
      expect(error?.line, bad.join(' ')).toBe(2);
    }
  });
});

// The report charts as PNG, rasterised here from the very SVG the HTML used to inline, so mail
// clients that strip SVG (most webmail, Outlook) still show them. resvg as WebAssembly: no native
// build, no install script. Text needs a font file: the first CJK font found (fonts-wqy-microhei
// and friends), else any TrueType/OpenType font on the machine, else none — bars still draw,
// labels do not; a chart that cannot be rasterised at all leaves the report without its PNG,
// never without the report.

import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

/** Fonts with Chinese glyphs (Debian package paths), most preferred first. */
export const CJK_FONT_FILES = [
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
  '/usr/share/fonts/truetype/arphic/uming.ttc',
] as const;

/** Where any other font is looked for when no CJK font is installed (digits and dates still need one). */
const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts'] as const;

export interface ChartPng {
  readonly png: Uint8Array;
  /** Pixels of the PNG (the SVG's size times `scale`). */
  readonly width: number;
  readonly height: number;
}

export interface RasterizeOptions {
  /** Device pixels per SVG pixel (2: sharp on phones). Default 2. */
  readonly scale?: number;
  /** Font files to try instead of the defaults ([] for none). */
  readonly fontFiles?: readonly string[];
}

let wasm: Promise<void> | undefined;
const fonts = new Map<string, Promise<Uint8Array | null>>();

function ready(): Promise<void> {
  wasm ??= (async () => {
    const require = createRequire(import.meta.url);
    await initWasm(await readFile(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  })();
  return wasm;
}

async function firstFontIn(dir: string, depth = 0): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const file = entries.find((e) => e.isFile() && /\.(ttf|otf|ttc)$/i.test(e.name));
  if (file) return join(dir, file.name);
  if (depth >= 3) return undefined;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await firstFontIn(join(dir, e.name), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The bytes of the first readable font: the given files, else the CJK fonts, else any font on the machine; null without one. */
function fontFor(files: readonly string[] | undefined): Promise<Uint8Array | null> {
  const key = files ? `files:${files.join('\0')}` : 'default';
  let found = fonts.get(key);
  if (!found) {
    found = (async () => {
      for (const f of files ?? CJK_FONT_FILES) {
        try {
          return new Uint8Array(await readFile(f));
        } catch {
          // not installed: try the next
        }
      }
      if (files) return null;
      for (const dir of FONT_DIRS) {
        const f = await firstFontIn(dir);
        if (f) return new Uint8Array(await readFile(f).catch(() => Buffer.alloc(0)));
      }
      return null;
    })();
    fonts.set(key, found);
  }
  return found;
}

/** One SVG → PNG on a white background; undefined (and the reason) when it cannot be done. */
export async function svgToPng(svg: string, opts: RasterizeOptions = {}): Promise<{ chart?: ChartPng; error?: string }> {
  try {
    await ready();
    const font = await fontFor(opts.fontFiles);
    const resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
      background: '#ffffff',
      font: { fontBuffers: font && font.length ? [font] : [], defaultFontSize: 9 },
    });
    try {
      const image = resvg.render();
      const chart = { png: image.asPng(), width: image.width, height: image.height };
      image.free();
      return { chart };
    } finally {
      resvg.free();
    }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

// History API routing: one page shell, the path picks the view; in-app links do not reload.

import type { Session } from './api.js';

/** Renders into `root`; may return a function that stops its timers when the view is left. */
export type View = (root: HTMLElement, params: Readonly<Record<string, string>>, session: Session) => (() => void) | void;

export interface Route {
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly view: View;
}

export function route(path: string, view: View): Route {
  const names: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}/?$`), names, view };
}

export function match(routes: readonly Route[], path: string): { view: View; params: Record<string, string> } | undefined {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
    return { view: r.view, params };
  }
  return undefined;
}

let navigate: () => void = () => undefined;

export function onNavigate(show: () => void): void {
  navigate = show;
}

/** Views call this to move elsewhere in the app. */
export function go(path: string): void {
  history.pushState(null, '', path);
  navigate();
}

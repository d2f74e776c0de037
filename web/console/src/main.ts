// The console's entry: read the session (server clock, locale, sign-in), then route by path.

import { api, type Session } from './api.js';
import { fill, h, link } from './dom.js';
import { setTimeZone, t } from './i18n.js';
import { match, onNavigate, route } from './router.js';
import { alertView } from './views/alert.js';
import { alertsView } from './views/alerts.js';
import { campaignView } from './views/campaign.js';
import { entityView } from './views/entity.js';
import { loginView } from './views/login.js';
import { silencesView } from './views/silences.js';

const routes = [
  route('/', alertsView),
  route('/alerts/:id', alertView),
  route('/silences', silencesView),
  route('/entities/:id', entityView),
  route('/campaigns/:id', campaignView),
  route('/login', loginView),
];

const root = document.getElementById('app')!;
const nav = document.getElementById('nav')!;
let stop: (() => void) | void;
let session: Session;

function renderNav(): void {
  fill(
    nav,
    link('/', { id: 'nav-alerts' }, t('alerts')),
    link('/silences', { id: 'nav-silences' }, t('silences')),
    session.auth && session.signedIn
      ? h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: () => void api.post('/logout', {}).finally(() => location.assign('/login')) }, t('signOut'))
      : null,
  );
}

function show(): void {
  if (stop) stop();
  stop = undefined;
  window.scrollTo(0, 0);
  const found = match(routes, location.pathname);
  if (!found) {
    fill(root, h('p', { class: 'empty' }, t('notFound')));
    return;
  }
  stop = found.view(root, found.params, session);
}

/** Follow in-app links without a page load. */
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a[data-route]') as HTMLAnchorElement | null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  show();
});
window.addEventListener('popstate', show);

onNavigate(show);

async function start(): Promise<void> {
  session = await api.get<Session>('/api/v1/console/session');
  setTimeZone(session.timeZone);
  document.title = session.locale === 'en' ? 'Lookout console' : 'Lookout 预警控制台';
  renderNav();
  show();
}

void start().catch((err: Error) => fill(root, h('p', { class: 'status error' }, err.message)));

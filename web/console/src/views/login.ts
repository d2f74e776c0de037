// Sign-in with a token: the daemon answers with an HttpOnly session cookie (the script never sees it).

import { api, ApiError } from '../api.js';
import { fill, h } from '../dom.js';
import { t } from '../i18n.js';
import type { View } from '../router.js';

export const loginView: View = (root) => {
  const token = h('input', { id: 'login-token', type: 'password', required: true, autocomplete: 'current-password', 'aria-label': t('token') });
  const status = h('p', { class: 'status', id: 'login-status', role: 'alert' });
  const form = h('form', { class: 'panel login', id: 'login-form' },
    h('h1', {}, t('loginTitle')),
    h('label', { class: 'field' }, h('span', {}, t('token')), token),
    h('button', { type: 'submit', id: 'login-submit' }, t('signIn')),
    status,
    h('p', { class: 'hint' }, t('loginHint')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api
      .post('/login', { token: token.value })
      .then(() => {
        const next = new URLSearchParams(location.search).get('next') ?? '/';
        location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/');
      })
      .catch((err: ApiError) => {
        status.textContent = err.message;
        status.classList.add('error');
      });
  });
  fill(root, form);
};

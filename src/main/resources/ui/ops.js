// The operations page. Plain JavaScript, no build step, no library.
// Safety rules kept everywhere below: every value from the API is written with textContent (or as a
// text node), never as HTML; the API token lives in this tab's sessionStorage and travels only in the
// Authorization header, never in a URL; recordings are fetched with that header and played from a
// blob: URL, since an <audio src> cannot send it.
'use strict';

(() => {
  const TOKEN_KEY = 'telecmi-cdr-router.api-token';
  const PAGE_SIZE = 50;
  const POLL_MS = 1000;
  const POLL_LIMIT = 120;
  const LOADING = 'Loading…';

  const KINDS = {
    'incoming-answered-cdr': 'Incoming answered',
    'incoming-missed-cdr': 'Incoming missed',
    'incoming-user-missed-cdr': 'Missed by an agent',
    'outgoing-answered-cdr': 'Outgoing answered',
    'outgoing-answered-cdr-leg-b': 'Outgoing answered (leg B)',
    'outgoing-missed-cdr': 'Outgoing missed',
    'outgoing-missed-cdr-leg-b': 'Outgoing missed (leg B)',
    'live-event-waiting': 'Live: waiting',
    'live-event-answered': 'Live: answered',
    'live-event-started': 'Live: started',
  };
  const STATES = { pending: 'pending', in_progress: 'in progress', done: 'done', failed: 'failed' };

  const $ = (id) => document.getElementById(id);
  const ui = {
    login: $('login'), loginForm: $('login-form'), token: $('token'), loginError: $('login-error'),
    app: $('app'), signOut: $('sign-out'), filters: $('filters'), status: $('status'), zone: $('zone'),
    rows: $('rows'), table: $('calls'), newest: $('newest'), older: $('older'),
    detail: $('detail'), detailTitle: $('detail-title'), closeDetail: $('close-detail'),
    detailMessage: $('detail-message'), detailFields: $('detail-fields'), recording: $('recording'),
    play: $('play'), player: $('player'), bulk: $('bulk'), detailNotifications: $('detail-notifications'),
  };

  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
  const view = { filters: {}, cursor: null, next: null, selected: null, opener: null };
  let pollTimer = null;
  let polls = 0;
  let recordingUrl = null;
  let detailGeneration = 0;

  // ---- small helpers -------------------------------------------------------------------------

  /** An element with text content and attributes; children are nodes or strings (text nodes). */
  function el(tag, { text, className, attrs } = {}, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function formatTime(iso) {
    if (!iso) return null;
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : timeFormat.format(date);
  }

  function talkTime(seconds) {
    if (seconds === null || seconds === undefined) return null;
    const s = Number(seconds);
    if (!Number.isFinite(s)) return String(seconds);
    const m = Math.floor(s / 60);
    return m + ':' + String(Math.floor(s % 60)).padStart(2, '0');
  }

  function kindLabel(kind) {
    return Object.prototype.hasOwnProperty.call(KINDS, kind) ? KINDS[kind] : String(kind);
  }

  function stateClass(state) {
    return Object.prototype.hasOwnProperty.call(STATES, state) ? state : 'unknown';
  }

  function chip(delivery) {
    const state = stateClass(delivery.state);
    const label = delivery.kind + ': ' + (STATES[state] || String(delivery.state));
    const node = el('span', { className: 'chip ' + state, text: label });
    if (delivery.last_error) node.title = String(delivery.last_error);
    return node;
  }

  function say(node, message, problem = false) {
    node.textContent = message || '';
    node.classList.toggle('problem', Boolean(problem));
  }

  // ---- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function request(path, token, options = {}) {
    const response = await fetch(path, {
      method: options.method || 'GET',
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const type = response.headers.get('Content-Type') || '';
    const body = type.includes('json') ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : 'the service answered HTTP ' + response.status;
      throw new ApiError(response.status, detail);
    }
    return body;
  }

  async function api(path, options) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      signOut('Sign in with the API token.');
      throw new ApiError(401, 'not signed in');
    }
    try {
      return await request(path, token, options);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        signOut('The API token was refused: sign in again.');
      }
      throw e;
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && String(value).trim() !== '') q.set(name, String(value).trim());
    }
    const s = q.toString();
    return s ? '?' + s : '';
  }

  // ---- signing in and out ----------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const token = ui.token.value.trim();
    ui.loginError.hidden = true;
    if (!token) {
      showLoginError('Enter the API token.');
      return;
    }
    try {
      await request('/api/notifications?limit=1', token);
    } catch (e) {
      showLoginError(e instanceof ApiError && e.status === 401
        ? 'That token was refused (401): check data/api-token or the api.token setting.'
        : 'Could not reach the service: ' + e.message);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    ui.token.value = '';
    showApp();
  }

  function showLoginError(message) {
    ui.loginError.textContent = message;
    ui.loginError.hidden = false;
    ui.token.focus();
  }

  function showApp() {
    ui.login.hidden = true;
    ui.app.hidden = false;
    ui.signOut.hidden = false;
    ui.zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone';
    load(null);
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    closeDetail(false);
    ui.rows.replaceChildren();
    ui.app.hidden = true;
    ui.signOut.hidden = true;
    ui.login.hidden = false;
    if (message) {
      ui.loginError.textContent = message;
      ui.loginError.hidden = false;
    }
    ui.token.focus();
  }

  // ---- the list --------------------------------------------------------------------------------

  function readFilters() {
    const form = new FormData(ui.filters);
    return {
      delivery_state: form.get('delivery_state'),
      delivery_kind: form.get('delivery_kind'),
      kind: form.get('kind'),
      phone: form.get('phone'),
    };
  }

  async function load(cursor) {
    say(ui.status, 'Loading…');
    let page;
    try {
      page = await api('/api/notifications' + query({ ...view.filters, limit: PAGE_SIZE, cursor }));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) say(ui.status, 'Could not load the calls: ' + e.message, true);
      return;
    }
    view.cursor = cursor;
    view.next = page.next_cursor;
    renderRows(page.notifications);
    ui.older.disabled = !page.next_cursor;
    ui.newest.disabled = cursor === null;
    const n = page.notifications.length;
    say(ui.status, n === 0 ? 'No notifications match.' : n + (n === 1 ? ' notification' : ' notifications') + ' shown.');
    performance.mark('ops:page-shown');
  }

  function cell(label, content, className) {
    const td = el('td', { className, attrs: { 'data-label': label } });
    if (content === null || content === undefined || content === '') {
      td.textContent = '—';
      td.classList.add('none');
    } else if (content instanceof Node) {
      td.append(content);
    } else {
      td.textContent = String(content);
    }
    return td;
  }

  function chips(deliveries) {
    if (!deliveries || deliveries.length === 0) return null;
    const list = el('div', { className: 'chips' });
    for (const d of deliveries) list.append(chip(d));
    return list;
  }

  function renderRows(notifications) {
    const rows = notifications.map((n) => {
      const iso = n.call_time || n.received_at;
      const when = formatTime(iso) || '(no time)';
      const date = new Date(iso);
      // the date over the time: the table keeps its nine columns within 1280 pixels
      const open = Number.isNaN(date.getTime())
        ? el('button', { className: 'link', text: when })
        : el('button', { className: 'link' },
          el('span', { className: 'date', text: dateOnly.format(date) }), el('span', { className: 'time', text: timeOnly.format(date) }));
      open.setAttribute('type', 'button');
      open.setAttribute('aria-label', 'Details of the ' + kindLabel(n.kind) + ' call at ' + when);
      open.addEventListener('click', () => openDetail(n, open));
      const tr = el('tr', { attrs: { 'data-notification-id': String(n.id) } },
        cell('Time', open, 'when'),
        cell('Kind', kindLabel(n.kind)),
        cell('From', n.from, 'number'),
        cell('To', n.to, 'number'),
        cell('Agent', n.user),
        cell('Team', n.team),
        cell('Hangup reason', n.hangup_reason),
        cell('Talk time', talkTime(n.answeredsec)),
        cell('Deliveries', chips(n.deliveries)));
      if (view.selected && view.selected.id === n.id) tr.classList.add('selected');
      return tr;
    });
    ui.rows.replaceChildren(...rows);
  }

  // ---- a call's detail -------------------------------------------------------------------------

  const FIELDS = [
    ['cmiuuid', 'cmiuuid'], ['kind', 'Kind'], ['direction', 'Direction'], ['status', 'Status'],
    ['from', 'From'], ['to', 'To'], ['virtual_number', 'Virtual number'], ['user', 'Agent'], ['team', 'Team'],
    ['answeredsec', 'Talk time'], ['hangup_reason', 'Hangup reason'], ['ivr_name', 'IVR'], ['call_time', 'Call time'],
    ['received_at', 'Received'], ['recording_skipped', 'Recording skipped'], ['custom', 'Custom'],
  ];

  function openDetail(notification, opener) {
    view.selected = notification;
    view.opener = opener;
    polls = 0;
    for (const tr of ui.rows.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    const row = opener.closest('tr');
    if (row) row.classList.add('selected');
    ui.detailTitle.textContent = kindLabel(notification.kind) + ' · ' + (formatTime(notification.call_time || notification.received_at) || '');
    const fields = [];
    for (const [name, label] of FIELDS) {
      let value = notification[name];
      if (name === 'kind') value = kindLabel(value) + ' (' + value + ')';
      if (name === 'answeredsec') value = talkTime(value);
      if (name === 'call_time' || name === 'received_at') value = formatTime(value);
      if (value === null || value === undefined || value === '') continue;
      fields.push(el('dt', { text: label }), el('dd', { text: value }));
    }
    ui.detailFields.replaceChildren(...fields);
    stopRecording();
    ui.recording.hidden = true;
    ui.bulk.hidden = true;
    ui.detailNotifications.replaceChildren();
    say(ui.detailMessage, LOADING);
    ui.detail.hidden = false;
    ui.detail.focus();
    refreshDetail();
  }

  function closeDetail(returnFocus = true) {
    stopPolling();
    stopRecording();
    ui.detail.hidden = true;
    view.selected = null;
    detailGeneration++;
    for (const tr of ui.rows.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    if (returnFocus && view.opener && document.contains(view.opener)) view.opener.focus();
  }

  async function refreshDetail() {
    const selected = view.selected;
    if (!selected) return;
    const generation = ++detailGeneration;
    let notifications;
    let deliveries;
    try {
      [notifications, deliveries] = await Promise.all([
        api('/api/notifications' + query({ cmiuuid: selected.cmiuuid, limit: 500 })),
        api('/api/deliveries' + query({ cmiuuid: selected.cmiuuid, limit: 500 })),
      ]);
    } catch (e) {
      if (generation === detailGeneration) say(ui.detailMessage, 'Could not load the call: ' + e.message, true);
      return;
    }
    if (generation !== detailGeneration) return;
    // what a retry said stays; only the loading note goes
    if (ui.detailMessage.textContent === LOADING) say(ui.detailMessage, '');
    renderNotifications(notifications.notifications, deliveries.deliveries);
    renderBulk(deliveries.deliveries);
    if (notifications.notifications.some((n) => n.kind === 'incoming-answered-cdr') && ui.recording.hidden) {
      showRecording(selected.cmiuuid, generation);
    }
    const working = deliveries.deliveries.some((d) => d.state === 'pending' || d.state === 'in_progress');
    if (working) schedulePoll(); else stopPolling();
  }

  function renderNotifications(notifications, deliveries) {
    const sections = notifications.map((n) => {
      const own = deliveries.filter((d) => d.notification_id === n.id).sort((a, b) => a.id - b.id);
      const section = el('section', { className: 'notification', attrs: { 'aria-label': kindLabel(n.kind) } },
        el('h3', { text: kindLabel(n.kind) + ' · received ' + (formatTime(n.received_at) || '') }));
      if (own.length === 0) {
        section.append(el('p', { className: 'hint', text: 'No deliveries planned for this notification.' }));
      } else {
        section.append(deliveryList(own));
      }
      const payload = el('pre', { text: JSON.stringify(n.payload, null, 2) });
      section.append(el('details', {}, el('summary', { text: 'Payload as received (' + n.http_method + ')' }), payload));
      return section;
    });
    ui.detailNotifications.replaceChildren(...sections);
  }

  function deliveryList(deliveries) {
    const list = el('ul', { className: 'deliveries', attrs: { 'aria-label': 'Deliveries' } });
    for (const d of deliveries) {
      const facts = el('span', { className: 'facts', text: d.attempts + (d.attempts === 1 ? ' attempt' : ' attempts') });
      if (d.state === 'pending' || d.state === 'in_progress') {
        facts.append(' · next ' + (formatTime(d.next_attempt_at) || 'now'));
      } else if (d.completed_at) {
        facts.append(' · done ' + formatTime(d.completed_at));
      }
      const item = el('li', { className: 'delivery', attrs: { 'data-delivery-id': String(d.id), 'data-state': String(d.state) } },
        el('div', { className: 'delivery-head' }, chip(d), facts));
      if (d.state === 'failed') {
        const retryButton = el('button', { text: 'Retry', attrs: { type: 'button', 'aria-label': 'Retry the ' + d.kind + ' delivery' } });
        retryButton.addEventListener('click', () => retry(d, retryButton));
        item.firstChild.append(retryButton);
      }
      if (d.last_error) {
        item.append(el('p', { className: 'last-error' }, el('span', { className: 'label', text: 'Last error: ' }), String(d.last_error)));
      }
      list.append(item);
    }
    return list;
  }

  function renderBulk(deliveries) {
    const failedKinds = [...new Set(deliveries.filter((d) => d.state === 'failed').map((d) => d.kind))].sort();
    const buttons = failedKinds.map((kind) => {
      const button = el('button', { className: 'quiet', text: 'Retry all failed ' + kind + ' (every call)', attrs: { type: 'button' } });
      button.addEventListener('click', () => retryAll(kind, button));
      return button;
    });
    ui.bulk.replaceChildren(...buttons);
    ui.bulk.hidden = buttons.length === 0;
  }

  async function retry(delivery, button) {
    button.disabled = true;
    let answer;
    try {
      answer = await api('/api/deliveries/' + encodeURIComponent(delivery.id) + '/retry', { method: 'POST' });
    } catch (e) {
      button.disabled = false;
      say(ui.detailMessage, 'Retry refused: ' + e.message, true);
      return;
    }
    // shown at once from the answer; the poll below follows it to done or failed
    const item = ui.detailNotifications.querySelector('li[data-delivery-id="' + Number(delivery.id) + '"]');
    if (item) {
      item.dataset.state = answer.state;
      const shown = item.querySelector('.chip');
      if (shown) shown.replaceWith(chip({ ...delivery, state: answer.state, last_error: null }));
      button.remove();
    }
    say(ui.detailMessage, 'Retry requested: the ' + delivery.kind + ' delivery was put back to pending.');
    polls = 0;
    schedulePoll();
  }

  async function retryAll(kind, button) {
    button.disabled = true;
    let answer;
    try {
      answer = await api('/api/deliveries/retry' + query({ kind, state: 'failed' }), { method: 'POST' });
    } catch (e) {
      button.disabled = false;
      say(ui.detailMessage, 'Retry refused: ' + e.message, true);
      return;
    }
    const n = Number(answer.retried);
    say(ui.detailMessage, n + ' failed ' + kind + (n === 1 ? ' delivery was' : ' deliveries were')
      + ' put back to pending (of every call, not only this one).');
    polls = 0;
    await refreshDetail();
    load(view.cursor);
  }

  function schedulePoll() {
    stopPolling();
    if (polls++ >= POLL_LIMIT) return;
    pollTimer = setTimeout(async () => {
      pollTimer = null;
      await refreshDetail();
      if (!pollTimer) load(view.cursor); // settled: the list's chips follow
    }, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  // ---- recordings ------------------------------------------------------------------------------

  async function showRecording(cmiuuid, generation) {
    let cdr;
    try {
      cdr = await api('/api/cdrs/' + encodeURIComponent(cmiuuid));
    } catch (e) {
      return; // no answered CDR after all, or it went away: no player
    }
    if (generation !== detailGeneration || !cdr.recording) return;
    ui.play.dataset.url = cdr.recording.url;
    ui.play.disabled = false;
    ui.recording.hidden = false;
  }

  async function playRecording() {
    const url = ui.play.dataset.url;
    if (!url || !url.startsWith('/recordings/')) return;
    ui.play.disabled = true;
    say(ui.detailMessage, 'Fetching the recording…');
    let blob;
    try {
      const response = await fetch(url, {
        headers: { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) },
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
      if (response.status === 401) {
        signOut('The API token was refused: sign in again.');
        return;
      }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      blob = await response.blob();
    } catch (e) {
      ui.play.disabled = false;
      say(ui.detailMessage, 'Could not fetch the recording: ' + e.message, true);
      return;
    }
    stopRecording();
    recordingUrl = URL.createObjectURL(blob);
    ui.player.src = recordingUrl;
    ui.player.hidden = false;
    ui.player.load();
    say(ui.detailMessage, '');
    try {
      await ui.player.play();
    } catch (e) {
      // the browser would not start it by itself: the controls are there
    }
    ui.play.disabled = false;
  }

  function stopRecording() {
    ui.player.pause();
    ui.player.removeAttribute('src');
    ui.player.hidden = true;
    if (recordingUrl) URL.revokeObjectURL(recordingUrl);
    recordingUrl = null;
  }

  // ---- wiring ----------------------------------------------------------------------------------

  ui.loginForm.addEventListener('submit', signIn);
  ui.signOut.addEventListener('click', () => signOut(null));
  ui.filters.addEventListener('submit', (event) => {
    event.preventDefault();
    view.filters = readFilters();
    load(null);
  });
  ui.filters.addEventListener('reset', () => {
    view.filters = {};
    // after the form has cleared its fields
    setTimeout(() => load(null), 0);
  });
  ui.older.addEventListener('click', () => {
    if (!view.next) return;
    load(view.next);
    ui.table.focus();
  });
  ui.newest.addEventListener('click', () => {
    load(null);
    ui.table.focus();
  });
  ui.closeDetail.addEventListener('click', () => closeDetail(true));
  ui.play.addEventListener('click', playRecording);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !ui.detail.hidden) closeDetail(true);
  });

  if (sessionStorage.getItem(TOKEN_KEY)) {
    showApp();
  } else {
    ui.login.hidden = false;
    ui.token.focus();
  }
})();

/*
 * koa-maintenance-mode: live pages. Served by maintenanceRoutes() as <prefix>/live.js; no dependency and nothing
 * inline, so a Content-Security-Policy of script-src 'self' allows it. What it does depends on its tag's data-role:
 *   page    the 503 page: follows data-events (Server-Sent Events of public.json) and, once maintenance is over for
 *           the page, returns to the site after a random delay in [0, data-jitter-ms], so open pages do not all come
 *           back in the same second; counts down to the expected end.
 *   banner  the announcement banner: follows data-events and shows, changes and hides the banner without a reload.
 *   times   the status page: shows each <time datetime> in the reader's time zone.
 * Without JavaScript the pages read the same; this only adds to them.
 */
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me) return;
  function data(name) {
    return me.getAttribute('data-' + name);
  }
  var MAX_DELAY = 2147483647; // setTimeout's longest

  /** Follows `url`, calling onState(body) for each state event; after a refusal, tries again later, backing off. */
  function follow(url, onState) {
    if (!url || typeof EventSource === 'undefined') return;
    var failures = 0;
    function open() {
      var source = new EventSource(url);
      source.addEventListener('state', function (e) {
        failures = 0;
        var body;
        try {
          body = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        onState(body);
      });
      source.onerror = function () {
        // After a network error the browser reconnects by itself; a refusal (503 past the caps) closes the source.
        if (source.readyState !== 2) return;
        failures++;
        var wait = Math.min(300000, 5000 * Math.pow(2, failures - 1));
        setTimeout(open, wait / 2 + (Math.random() * wait) / 2);
      };
    }
    open();
  }

  /** The countdown of the 503 page to its expected end (#end, #countdown); onZero when it reaches 0. */
  function countdown(onZero) {
    var el = document.getElementById('end');
    var out = document.getElementById('countdown');
    var end = NaN;
    var timer = null;
    function pad(n) {
      return n < 10 ? '0' + n : String(n);
    }
    function tick() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var h = Math.floor(left / 3600);
      var m = Math.floor((left % 3600) / 60);
      var s = left % 60;
      var time = (h > 0 ? h + ':' : '') + pad(m) + ':' + pad(s);
      out.textContent = (out.getAttribute('data-pattern') || '{time} left').replace('{time}', time);
      if (left === 0) {
        clearInterval(timer);
        timer = null;
        onZero();
      }
    }
    function set(iso) {
      var t = Date.parse(iso);
      if (!el || !out || isNaN(t) || t === end) return;
      end = t;
      el.setAttribute('datetime', iso);
      try {
        el.textContent = new Date(end).toLocaleString(document.documentElement.lang || undefined, {
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          timeZoneName: 'short',
        });
      } catch (e) {
        // keep the server-rendered UTC text
      }
      if (timer === null) timer = setInterval(tick, 1000);
      tick();
    }
    if (el) set(el.getAttribute('datetime'));
    return set;
  }

  function page() {
    var jitter = Number(data('jitter-ms')) || 0;
    var KEY = 'koa-maintenance-mode:returned';
    var returning = null;
    var first = true;
    function recentlyReturned() {
      try {
        var t = Number(sessionStorage.getItem(KEY));
        return t > 0 && Date.now() - t < 60000;
      } catch (e) {
        return false;
      }
    }
    function back() {
      try {
        sessionStorage.setItem(KEY, String(Date.now()));
      } catch (e) {
        // no storage: nothing to remember
      }
      // A GET of the same address (a page answered to a form's POST is not sent again); with a #hash, a reload.
      if (location.hash) location.reload();
      else location.replace(location.href);
    }
    function returnAfter(least) {
      if (returning === null) returning = setTimeout(back, least + Math.random() * jitter);
    }
    var setEnd = countdown(function () {
      returnAfter(5000); // the end passed: the event says so too; this is for a page whose stream is down
    });
    follow(data('events'), function (state) {
      var isFirst = first;
      first = false;
      if (state.active) {
        if (returning !== null) clearTimeout(returning);
        returning = null;
        if (state.end) setEnd(state.end);
        return;
      }
      // Over for this page. A page that met maintenance again right after returning (a rule the public state does
      // not show still blocks it) waits a minute before the next return: never a loop of reloads.
      returnAfter(isFirst && recentlyReturned() ? 60000 : 0);
    });
  }

  function banner() {
    var box = me.previousElementSibling;
    if (!box || !/(^|\s)maintenance-banner(\s|$)/.test(box.className)) box = document.querySelector('.maintenance-banner');
    if (!box) return;
    var announceMs = Number(data('announce-ms')) || 0;
    var labels = {};
    try {
      labels = JSON.parse(data('labels') || '{}');
    } catch (e) {
      labels = {};
    }
    var times = box.getElementsByTagName('time');
    var said = box.querySelector('.maintenance-banner-message');
    var shown = box.hidden
      ? ''
      : [
          box.getAttribute('data-start') || '',
          times[1] ? times[1].getAttribute('datetime') : '',
          said ? said.textContent : '',
        ].join('|');
    var last = null;
    var timer = null;
    function labelFor(lang) {
      var wanted = [lang].concat(navigator.languages || [navigator.language], [data('lang')]);
      for (var i = 0; i < wanted.length; i++) {
        var tag = wanted[i];
        if (!tag) continue;
        if (labels[tag]) return { tag: tag, text: labels[tag] };
        var base = tag.split('-')[0];
        if (labels[base]) return { tag: base, text: labels[base] };
      }
      return { tag: 'en', text: ['Scheduled maintenance:', '.'] };
    }
    function time(iso, lang) {
      var el = document.createElement('time');
      el.setAttribute('datetime', iso);
      try {
        el.textContent = new Intl.DateTimeFormat(lang, {
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          timeZone: 'UTC',
          timeZoneName: 'short',
        }).format(new Date(iso));
      } catch (e) {
        el.textContent = new Date(iso).toUTCString();
      }
      return el;
    }
    function show(u, lang) {
      var key = [u.start, u.end || '', u.message || ''].join('|');
      box.hidden = false;
      if (key === shown) return;
      shown = key;
      var label = labelFor(lang);
      for (var i = box.childNodes.length - 1; i >= 0; i--) {
        if (box.childNodes[i].nodeName !== 'STYLE') box.removeChild(box.childNodes[i]);
      }
      var strong = document.createElement('strong');
      strong.textContent = label.text[0];
      box.appendChild(strong);
      box.appendChild(document.createTextNode(' '));
      box.appendChild(time(u.start, label.tag));
      if (u.end) {
        box.appendChild(document.createTextNode(' – '));
        box.appendChild(time(u.end, label.tag));
      }
      box.appendChild(document.createTextNode(label.text[1]));
      if (u.message) {
        var span = document.createElement('span');
        span.className = 'maintenance-banner-message';
        span.textContent = u.message;
        box.appendChild(document.createTextNode(' '));
        box.appendChild(span);
      }
      box.setAttribute('data-start', u.start);
    }
    function render() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      var u = last && !last.active ? last.upcoming : null;
      var start = u ? Date.parse(u.start) : NaN;
      var ahead = start - Date.now();
      if (!u || isNaN(start) || ahead <= 0) {
        box.hidden = true;
        return;
      }
      if (ahead > announceMs) {
        // Not announced yet: look again when it is.
        box.hidden = true;
        timer = setTimeout(render, Math.min(ahead - announceMs, MAX_DELAY));
        return;
      }
      show(u, last.lang);
      timer = setTimeout(render, Math.min(ahead, MAX_DELAY)); // gone at the start (the next event says so too)
    }
    follow(data('events'), function (state) {
      last = state;
      render();
    });
  }

  function localTimes() {
    var all = document.querySelectorAll('time[datetime]');
    for (var i = 0; i < all.length; i++) {
      var t = Date.parse(all[i].getAttribute('datetime'));
      if (!isNaN(t)) {
        all[i].textContent = new Date(t).toLocaleString(undefined, {
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          timeZoneName: 'short',
        });
      }
    }
  }

  var role = data('role');
  if (role === 'page') page();
  else if (role === 'banner') banner();
  else if (role === 'times') localTimes();
})();

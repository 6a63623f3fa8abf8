/* sweep dashboard: plain JS, no build step, no network beyond the own API.
 * Every value from the API is shown with textContent, never as markup. */
(function () {
  'use strict';

  // ---------- helpers ----------
  var ACTIVE = { pending: 1, assigned: 1, running: 1, queued: 1, starting: 1 };
  var reported = {};

  function reportError(msg) {
    if (reported[msg]) return;
    reported[msg] = 1;
    console.error(msg);
  }

  function setStatus(text) {
    var s = document.getElementById('status');
    if (s) s.textContent = text || '';
  }

  // GET JSON; resolves {status, data}. 404 is returned, not thrown.
  function api(path) {
    return fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.text().then(function (t) {
          var d = null;
          try { d = t ? JSON.parse(t) : null; } catch (e) { d = null; }
          return { status: r.status, data: d };
        });
      });
  }

  function mustOk(res, what) {
    if (res.status === 200 && res.data) { setStatus(''); return res.data; }
    var msg = what + ': HTTP ' + res.status + (res.data && res.data.error ? ' ' + res.data.error : '');
    setStatus(msg);
    if (res.status !== 503) reportError(msg);
    throw new Error(msg);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function link(href, text) { var a = el('a', null, text); a.href = href; return a; }
  function stateBadge(s) { return el('span', 'state state-' + String(s).replace(/[^a-z]/gi, ''), s); }

  function fmtNum(v) {
    if (typeof v !== 'number') return v === undefined || v === null ? '' : String(v);
    if (!isFinite(v)) return String(v);
    if (v === Math.round(v) && Math.abs(v) < 1e12) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(+v.toPrecision(5));
  }
  function fmtVal(v) {
    if (typeof v === 'number') return fmtNum(v);
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : ''; }
  function fmtDur(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + Math.floor(s % 60) + 's';
    return Math.floor(s / 3600) + 'h' + Math.floor((s % 3600) / 60) + 'm';
  }
  function runtime(r) {
    if (!r.started_at) return null;
    var end = r.ended_at || (ACTIVE[r.state] ? Date.now() : null);
    return end ? end - r.started_at : null;
  }
  function countsText(runs) {
    var parts = [];
    for (var k in runs || {}) parts.push(k + ' ' + runs[k]);
    return parts.join(', ');
  }

  function flatten(obj, prefix, out) {
    out = out || {};
    for (var k in obj || {}) {
      var v = obj[k], name = prefix ? prefix + '.' + k : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, name, out);
      else out[name] = v;
    }
    return out;
  }

  // config.parameters -> [{name, kind:'cat'|'lin'|'log', values?, min?, max?}]
  function paramSpecs(params, prefix, out) {
    out = out || [];
    for (var k in params || {}) {
      var p = params[k] || {}, name = prefix ? prefix + '.' + k : k;
      if (p.parameters) { paramSpecs(p.parameters, name, out); continue; }
      var s = { name: name, kind: 'lin' };
      var dist = String(p.distribution || '');
      if (Array.isArray(p.values)) {
        s.kind = 'cat'; s.values = p.values.slice();
      } else if (p.hasOwnProperty('value')) {
        s.kind = 'cat'; s.values = [p.value];
      } else {
        if (dist.indexOf('log') >= 0) s.kind = 'log';
        if (dist.indexOf('categorical') >= 0) s.kind = 'cat';
        if (typeof p.min === 'number') s.min = p.min;
        if (typeof p.max === 'number') s.max = p.max;
      }
      if (s.kind === 'cat' && s.values && s.values.every(function (x) { return typeof x === 'number'; }))
        s.values.sort(function (a, b) { return a - b; });
      out.push(s);
    }
    return out;
  }

  function catKey(v) { return typeof v === 'string' ? 's:' + v : 'j:' + JSON.stringify(v); }

  // ---------- canvas line chart ----------
  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

  function setupCanvas(canvas, h) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.parentNode.clientWidth || 600;
    canvas.style.height = h + 'px';
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx: ctx, w: w, h: h };
  }

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
    return t;
  }

  // series: [{id, pts:[[x,y]], color, dashed, width, mark}]; returns hit-tester
  function drawChart(canvas, series, opt) {
    opt = opt || {};
    var S = setupCanvas(canvas, opt.height || 280), ctx = S.ctx;
    var L = 56, R = 10, T = 10, B = 28, pw = S.w - L - R, ph = S.h - T - B;
    var logY = !!opt.logY;
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    series.forEach(function (s) {
      s.pts.forEach(function (p) {
        if (!isFinite(p[0]) || !isFinite(p[1]) || (logY && p[1] <= 0)) return;
        var y = logY ? Math.log10(p[1]) : p[1];
        if (p[0] < x0) x0 = p[0]; if (p[0] > x1) x1 = p[0];
        if (y < y0) y0 = y; if (y > y1) y1 = y;
      });
    });
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#778';
    if (x0 === Infinity) {
      ctx.fillText(opt.empty || 'no data', L + 10, T + 20);
      return function () { return null; };
    }
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    var py = (y1 - y0) * 0.05; y0 -= py; y1 += py;
    function X(x) { return L + (x - x0) / (x1 - x0) * pw; }
    function Y(y) { return T + ph - ((logY ? Math.log10(y) : y) - y0) / (y1 - y0) * ph; }
    // axes
    ctx.strokeStyle = '#e3e5ea'; ctx.lineWidth = 1;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    var yt = niceTicks(y0, y1, 5);
    yt.forEach(function (t) {
      var yy = T + ph - (t - y0) / (y1 - y0) * ph;
      ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(L + pw, yy); ctx.stroke();
      ctx.fillText(fmtNum(logY ? Math.pow(10, t) : t), L - 4, yy);
    });
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    var xt = niceTicks(x0, x1, 6);
    xt.forEach(function (t) {
      var xx = X(t);
      ctx.beginPath(); ctx.moveTo(xx, T); ctx.lineTo(xx, T + ph); ctx.stroke();
      ctx.fillText(opt.xFmt ? opt.xFmt(t) : fmtNum(t), xx, T + ph + 4);
    });
    ctx.strokeStyle = '#99a'; ctx.strokeRect(L, T, pw, ph);
    if (opt.xLabel) { ctx.textAlign = 'right'; ctx.fillText(opt.xLabel, L + pw, T + ph + 15); }
    // series
    var hits = [];
    ctx.save();
    ctx.beginPath(); ctx.rect(L, T, pw, ph); ctx.clip();
    var order = series.slice().sort(function (a, b) { return (a.width || 1.5) - (b.width || 1.5); });
    order.forEach(function (s) {
      var pts = [];
      s.pts.forEach(function (p, k) {
        if (!isFinite(p[0]) || !isFinite(p[1]) || (logY && p[1] <= 0)) return;
        pts.push([X(p[0]), Y(p[1]), k]);
      });
      hits.push({ s: s, pts: pts });
      ctx.strokeStyle = s.color || '#4e79a7';
      ctx.fillStyle = s.color || '#4e79a7';
      ctx.lineWidth = s.width || 1.5;
      ctx.setLineDash(s.dashed ? [5, 4] : []);
      if (opt.scatter) {
        var rad = s.radius || 3;
        ctx.beginPath();
        pts.forEach(function (p) { ctx.moveTo(p[0] + rad, p[1]); ctx.arc(p[0], p[1], rad, 0, 6.2832); });
        ctx.fill();
        return;
      }
      ctx.beginPath();
      pts.forEach(function (p, i) { if (i) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]); });
      ctx.stroke();
      if (pts.length === 1) { ctx.beginPath(); ctx.arc(pts[0][0], pts[0][1], 2.5, 0, 6.2832); ctx.fill(); }
      if (s.mark && pts.length) { // end marker (killed runs): an x
        var e = pts[pts.length - 1];
        ctx.setLineDash([]);
        ctx.beginPath(); ctx.moveTo(e[0] - 4, e[1] - 4); ctx.lineTo(e[0] + 4, e[1] + 4);
        ctx.moveTo(e[0] + 4, e[1] - 4); ctx.lineTo(e[0] - 4, e[1] + 4); ctx.stroke();
      }
    });
    ctx.restore();
    ctx.setLineDash([]);
    // hit test: nearest segment/point within 8 px
    return function (mx, my) {
      var best = null, bd = 64;
      hits.forEach(function (h) {
        var p = h.pts;
        for (var i = 0; i < p.length; i++) {
          var d;
          if (i + 1 < p.length && !opt.scatter) d = segDist2(mx, my, p[i], p[i + 1]);
          else { var dx = mx - p[i][0], dy = my - p[i][1]; d = dx * dx + dy * dy; }
          if (d < bd) { bd = d; best = h.s.ids ? { id: h.s.ids[p[i][2]] } : h.s; }
        }
      });
      return best;
    };
  }
  function segDist2(x, y, a, b) {
    var dx = b[0] - a[0], dy = b[1] - a[1], l = dx * dx + dy * dy, t = 0;
    if (l > 0) t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / l));
    var ex = a[0] + t * dx - x, ey = a[1] + t * dy - y;
    return ex * ex + ey * ey;
  }

  function chartBox(id, h) {
    var wrap = el('div', 'chart-wrap');
    var c = el('canvas'); if (id) c.id = id;
    c.style.height = (h || 280) + 'px';
    var tip = el('div', 'tip');
    add(wrap, c, tip);
    return { wrap: wrap, canvas: c, tip: tip };
  }
  function showTip(box, ev, text) {
    if (!text) { box.tip.style.display = 'none'; return; }
    var r = box.canvas.getBoundingClientRect();
    box.tip.textContent = text;
    box.tip.style.display = 'block';
    box.tip.style.left = (ev.clientX - r.left + 12) + 'px';
    box.tip.style.top = (ev.clientY - r.top + 8) + 'px';
  }
  function canvasXY(canvas, ev) {
    var r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }

  // colour gradient blue -> teal -> yellow, t in [0,1]
  function grad(t) {
    if (!isFinite(t)) return 'rgba(150,150,150,0.5)';
    t = Math.max(0, Math.min(1, t));
    var a = [48, 18, 140], m = [33, 145, 140], b = [250, 220, 30], c0, c1, u;
    if (t < 0.5) { c0 = a; c1 = m; u = t * 2; } else { c0 = m; c1 = b; u = (t - 0.5) * 2; }
    return 'rgb(' + Math.round(c0[0] + (c1[0] - c0[0]) * u) + ',' + Math.round(c0[1] + (c1[1] - c0[1]) * u) + ',' + Math.round(c0[2] + (c1[2] - c0[2]) * u) + ')';
  }

  // ---------- routing ----------
  function main() {
    var p = location.pathname.replace(/\/+$/, '');
    var m;
    if ((m = p.match(/^\/sweeps\/([A-Za-z0-9_-]+)\/runs\/([A-Za-z0-9_-]+)$/))) runPage(m[1], m[2]);
    else if ((m = p.match(/^\/sweeps\/([A-Za-z0-9_-]+)$/))) sweepPage(m[1]);
    else sweepsPage();
  }

  function ready() { if (!document.body.dataset.ready) document.body.dataset.ready = '1'; }

  // ---------- page 1: sweeps ----------
  function sweepsPage() {
    document.title = 'sweeps';
    var app = document.getElementById('app');
    app.textContent = '';
    var panel = add(el('div', 'panel'), el('h1', null, 'Sweeps'));
    var table = el('table', 'data'); table.id = 'sweeps-table';
    var thead = el('thead'), hr = el('tr');
    ['name', 'id', 'method', 'state', 'runs', 'created / cap', 'metric', 'created'].forEach(function (h) { add(hr, el('th', null, h)); });
    add(thead, hr);
    var tbody = el('tbody');
    add(table, thead, tbody);
    add(panel, table);
    add(app, panel);
    var last = '';
    function tick() {
      api('/api/sweeps').then(function (res) {
        var d = mustOk(res, 'GET /api/sweeps');
        var sig = JSON.stringify(d);
        if (sig !== last) {
          last = sig;
          tbody.textContent = '';
          (d.sweeps || []).forEach(function (s) {
            var tr = el('tr');
            tr.dataset.sweep = s.id;
            var metric = s.metric ? (s.metric.name || '') + (s.metric.goal ? ' (' + s.metric.goal + ')' : '') : '';
            add(tr,
              add(el('td'), link('/sweeps/' + encodeURIComponent(s.id), s.name || s.id)),
              el('td', null, s.id), el('td', null, s.method),
              add(el('td'), stateBadge(s.state)),
              el('td', null, countsText(s.runs)),
              el('td', null, (s.runs_created || 0) + (s.run_cap ? ' / ' + s.run_cap : '')),
              el('td', null, metric), el('td', null, fmtTime(s.created_at)));
            add(tbody, tr);
          });
          if (!(d.sweeps || []).length) {
            var tr = el('tr'), td = el('td', 'muted', 'no sweeps yet'); td.colSpan = 8; add(tbody, add(tr, td));
          }
        }
        ready();
      }).catch(function (e) { if (!/HTTP/.test(e.message)) { setStatus(e.message); } })
        .then(function () { setTimeout(tick, 1000); });
    }
    tick();
  }

  // ---------- page 2: a sweep ----------
  function sweepPage(sid) {
    var base = '/api/sweeps/' + encodeURIComponent(sid);
    var S = {
      sweep: null, runs: [], byId: {}, specs: [], cols: [], metric: '', goal: 'minimize',
      stateFilter: '', textFilter: [], brushes: {}, bestPct: null,
      sortKey: 'created', sortDir: 1, filtered: [], hl: null,
      hist: {}, curveMetric: '', logY: false, sig: null, lastRunsFetch: 0, fetching: false,
      impLast: 0, impSig: null, axes: []
    };
    var crumbs = document.getElementById('crumbs');
    crumbs.textContent = '/ ';
    add(crumbs, link('/sweeps/' + encodeURIComponent(sid), sid));

    var app = document.getElementById('app');
    app.textContent = '';
    // header
    var head = el('div', 'panel');
    var title = el('h1');
    var kv = el('div', 'kv');
    var best = el('div', 'kv');
    var cfgDetails = el('details'); add(cfgDetails, el('summary', null, 'config'));
    var cfgPre = el('pre'); add(cfgDetails, cfgPre);
    add(head, title, kv, best, cfgDetails);

    // control buttons: only when the server has a token (and so a CSRF
    // token for this page); without one the dashboard is read-only.
    var ctl = el('div', 'toolbar'); ctl.id = 'controls';
    var ctlMsg = el('span', 'muted');
    api('/api/session').then(function (res) {
      var sess = res.status === 200 && res.data;
      if (!sess || !sess.control || !sess.csrf) return;
      ['pause', 'resume', 'stop', 'cancel'].forEach(function (action) {
        var b = el('button', null, action); b.type = 'button'; b.id = 'ctl-' + action;
        b.addEventListener('click', function () {
          if ((action === 'cancel' || action === 'stop') &&
              !window.confirm(action + ' sweep ' + sid + '?')) return;
          fetch(base + '/' + action, {
            method: 'POST', credentials: 'same-origin',
            headers: { 'X-CSRF-Token': sess.csrf, Accept: 'application/json' }
          }).then(function (r) { return r.json().catch(function () { return {}; }); })
            .then(function (d) { ctlMsg.textContent = d.error ? d.error : action + ': ' + d.state; })
            .catch(function (e) { ctlMsg.textContent = String(e); });
        });
        add(ctl, b);
      });
      add(ctl, ctlMsg);
      add(head, ctl);
    }).catch(function () {});

    // runs table
    var tPanel = add(el('div', 'panel'), el('h2', null, 'Runs'));
    var tb = el('div', 'toolbar');
    var stateSel = el('select'); stateSel.id = 'state-filter';
    var textIn = el('input'); textIn.type = 'text'; textIn.id = 'range-filter';
    textIn.placeholder = 'filter, e.g. opt.lr<0.01, loss>=0.5';
    var bestIn = el('input'); bestIn.type = 'number'; bestIn.min = '1'; bestIn.max = '100'; bestIn.id = 'best-pct';
    bestIn.placeholder = '100';
    var clearBtn = el('button', null, 'clear filters'); clearBtn.type = 'button';
    var count = el('span', 'muted'); count.id = 'runs-count';
    add(tb, 'state ', stateSel, textIn, 'best ', bestIn, '% ', clearBtn, count);
    var scroller = el('div'); scroller.id = 'runs-table';
    var rtHead = el('div', 'rt-head'), rtBody = el('div', 'rt-body');
    add(scroller, rtHead, rtBody);
    add(tPanel, tb, scroller);

    // curves
    var cPanel = el('div', 'panel'); cPanel.id = 'curves';
    var ctb = el('div', 'toolbar');
    var metricSel = el('select'); metricSel.id = 'curve-metric';
    var logBox = el('input'); logBox.type = 'checkbox'; logBox.id = 'curve-logy';
    var logLab = el('label'); add(logLab, logBox, ' log y');
    var cNote = el('span', 'muted');
    add(ctb, el('b', null, 'Curves'), metricSel, logLab, cNote);
    var cBox = chartBox('curves-canvas', 300);
    add(cPanel, ctb, cBox.wrap);

    // parallel coordinates
    var pPanel = add(el('div', 'panel'), el('h2', null, 'Parallel coordinates'));
    var pNote = el('div', 'muted', 'drag on an axis to brush, double-click an axis to clear it');
    var pBox = chartBox('parcoords', 320);
    add(pPanel, pNote, pBox.wrap);

    // importance + metric/time
    var grid = el('div', 'grid2');
    var iPanel = el('div', 'panel'); iPanel.id = 'importance';
    add(iPanel, el('h2', null, 'Parameter importance'), el('div', 'muted', 'loading…'));
    var mPanel = add(el('div', 'panel'), el('h2', null, 'Metric against time'));
    var mBox = chartBox('metric-time', 260);
    add(mPanel, mBox.wrap);
    add(grid, iPanel, mPanel);

    add(app, head, tPanel, cPanel, pPanel, grid);

    // --- columns ---
    function buildCols() {
      var cols = [
        { key: 'id', label: 'run', w: 100, get: function (r) { return r.id; } },
        { key: 'state', label: 'state', w: 80, get: function (r) { return r.state; } }
      ];
      S.specs.forEach(function (sp) {
        cols.push({ key: 'p:' + sp.name, label: sp.name, w: 100, param: sp.name, get: function (r) { return r._p[sp.name]; } });
      });
      cols.push({ key: 'metric', label: S.metric || 'metric', w: 100, get: function (r) { return r._m; } });
      cols.push({ key: 'steps', label: 'steps', w: 60, get: function (r) { return r.steps; } });
      cols.push({ key: 'runtime', label: 'runtime', w: 80, get: runtime, fmt: fmtDur });
      cols.push({ key: 'worker', label: 'worker', w: 150, get: function (r) { return r.worker; } });
      cols.push({ key: 'attempt', label: 'attempt', w: 60, get: function (r) { return r.attempt; } });
      cols.push({ key: 'reason', label: 'reason', w: 200, get: function (r) {
        return r.reason || (r.signal ? 'signal ' + r.signal : (r.exit_code !== undefined && r.exit_code !== null && r.exit_code !== 0 ? 'exit ' + r.exit_code : ''));
      } });
      cols.push({ key: 'created', label: 'created', w: 160, get: function (r) { return r.created_at; }, fmt: fmtTime });
      S.cols = cols;
      var total = 0;
      rtHead.textContent = '';
      cols.forEach(function (c) {
        var h = el('div', null, c.label);
        h.style.width = c.w + 'px';
        h.title = 'sort by ' + c.label;
        h.dataset.col = c.key;
        h.addEventListener('click', function () {
          if (S.sortKey === c.key) S.sortDir = -S.sortDir; else { S.sortKey = c.key; S.sortDir = 1; }
          refilter();
        });
        add(rtHead, h);
        total += c.w;
      });
      rtHead.style.width = total + 'px';
      rtBody.style.width = total + 'px';
      S.rowWidth = total;
    }
    function markSort() {
      Array.prototype.forEach.call(rtHead.children, function (h, i) {
        var c = S.cols[i];
        h.textContent = c.label + (S.sortKey === c.key ? (S.sortDir > 0 ? ' ▲' : ' ▼') : '');
      });
    }

    // --- filter parsing ---
    function parseFilter(txt) {
      var out = [], ok = true;
      txt.split(/\s*(?:,|&&|\band\b)\s*/).forEach(function (part) {
        part = part.trim();
        if (!part) return;
        var m = part.match(/^([A-Za-z0-9_.\-\/]+)\s*(<=|>=|==|!=|<|>|=)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/);
        if (!m) { ok = false; return; }
        out.push({ name: m[1], op: m[2], v: parseFloat(m[3]) });
      });
      return ok ? out : null;
    }
    function fieldValue(r, name) {
      if (r._p.hasOwnProperty(name)) return r._p[name];
      if (r.summary && r.summary.hasOwnProperty(name)) return r.summary[name];
      if (name === 'steps') return r.steps;
      if (name === 'attempt') return r.attempt;
      if (name === 'runtime') return runtime(r) / 1000;
      if (name === 'metric') return r._m;
      return undefined;
    }
    function cmp(a, op, b) {
      if (typeof a !== 'number' || !isFinite(a)) return false;
      switch (op) {
        case '<': return a < b; case '<=': return a <= b; case '>': return a > b; case '>=': return a >= b;
        case '!=': return a !== b; default: return a === b;
      }
    }

    function better(a, b) { return S.goal === 'maximize' ? a > b : a < b; }
    function metricNorm(v) { // 0 worst .. 1 best
      var ax = S.metricRange;
      if (!ax || !isFinite(v)) return NaN;
      var t = ax[1] > ax[0] ? (v - ax[0]) / (ax[1] - ax[0]) : 0.5;
      return S.goal === 'maximize' ? t : 1 - t;
    }

    // --- data ---
    function ingest(runs) {
      var mk = {};
      S.runs = runs;
      S.byId = {};
      var mlo = Infinity, mhi = -Infinity;
      var extra = {};
      var known = {};
      S.specs.forEach(function (s) { known[s.name] = 1; });
      runs.forEach(function (r) {
        r._p = flatten(r.params || {}, '', {});
        for (var k in r._p) if (!known[k]) extra[k] = 1;
        var v = r.summary ? r.summary[S.metric] : undefined;
        r._m = typeof v === 'number' && isFinite(v) ? v : undefined;
        if (r._m !== undefined) { if (r._m < mlo) mlo = r._m; if (r._m > mhi) mhi = r._m; }
        for (var m in r.summary || {}) mk[m] = 1;
        S.byId[r.id] = r;
      });
      var added = false;
      for (var e in extra) {
        var vals = runs.map(function (r) { return r._p[e]; }).filter(function (x) { return x !== undefined; });
        var num = vals.every(function (x) { return typeof x === 'number'; });
        var sp = { name: e, kind: num ? 'lin' : 'cat' };
        S.specs.push(sp); added = true;
      }
      if (added || !S.cols.length) buildCols();
      S.metricRange = mlo <= mhi ? [mlo, mhi] : null;
      // axis domains
      S.specs.forEach(function (sp) {
        if (sp.kind === 'cat') {
          var have = {}, vals = (sp.values || []).slice();
          vals.forEach(function (v) { have[catKey(v)] = 1; });
          runs.forEach(function (r) {
            var v = r._p[sp.name];
            if (v !== undefined && !have[catKey(v)]) { have[catKey(v)] = 1; vals.push(v); }
          });
          sp.cats = vals;
          sp.idx = {};
          vals.forEach(function (v, i) { sp.idx[catKey(v)] = i; });
        } else {
          var lo = sp.min, hi = sp.max;
          runs.forEach(function (r) {
            var v = r._p[sp.name];
            if (typeof v !== 'number' || !isFinite(v) || (sp.kind === 'log' && v <= 0)) return;
            if (lo === undefined || v < lo) lo = v;
            if (hi === undefined || v > hi) hi = v;
          });
          sp.lo = lo; sp.hi = hi;
        }
      });
      // metric names
      var names = Object.keys(mk).sort();
      if (S.metric && names.indexOf(S.metric) < 0) names.unshift(S.metric);
      var cur = S.curveMetric || S.metric || names[0] || '';
      if (metricSel.options.length !== names.length || names.some(function (n, i) { return metricSel.options[i].value !== n; })) {
        metricSel.textContent = '';
        names.forEach(function (n) { var o = el('option', null, n); o.value = n; add(metricSel, o); });
      }
      metricSel.value = cur;
      S.curveMetric = cur;
      // states
      var states = {};
      runs.forEach(function (r) { states[r.state] = (states[r.state] || 0) + 1; });
      var want = [''].concat(Object.keys(states).sort());
      if (stateSel.options.length !== want.length || want.some(function (n, i) { return stateSel.options[i].value !== n; })) {
        var keep = stateSel.value;
        stateSel.textContent = '';
        want.forEach(function (n) { var o = el('option', null, n || 'all'); o.value = n; add(stateSel, o); });
        stateSel.value = want.indexOf(keep) >= 0 ? keep : '';
      }
      renderBest();
      refilter();
    }

    function axisPos(sp, v) { // normalized 0 (bottom) .. 1 (top); NaN when missing
      if (v === undefined || v === null) return NaN;
      if (sp.kind === 'cat') {
        var i = sp.idx[catKey(v)];
        if (i === undefined) return NaN;
        return sp.cats.length === 1 ? 0.5 : i / (sp.cats.length - 1);
      }
      if (typeof v !== 'number' || sp.lo === undefined) return NaN;
      if (sp.kind === 'log') {
        if (v <= 0 || sp.lo <= 0) return NaN;
        var a = Math.log(sp.lo), b = Math.log(sp.hi);
        return b > a ? (Math.log(v) - a) / (b - a) : 0.5;
      }
      return sp.hi > sp.lo ? (v - sp.lo) / (sp.hi - sp.lo) : 0.5;
    }
    function metricPos(v) {
      if (!S.metricRange || !isFinite(v)) return NaN;
      var r = S.metricRange;
      return r[1] > r[0] ? (v - r[0]) / (r[1] - r[0]) : 0.5;
    }
    function buildAxes() {
      var axes = S.specs.map(function (sp) { return { name: sp.name, sp: sp, pos: function (r) { return axisPos(sp, r._p[sp.name]); } }; });
      axes.push({ name: S.metric || 'metric', metric: true, pos: function (r) { return metricPos(r._m); } });
      S.axes = axes;
    }

    function refilter() {
      var f = S.textFilter, st = S.stateFilter;
      buildAxes();
      var brushAxes = S.axes.filter(function (a) { return S.brushes[a.name]; });
      var out = S.runs.filter(function (r) {
        if (st && r.state !== st) return false;
        for (var i = 0; i < f.length; i++) if (!cmp(fieldValue(r, f[i].name), f[i].op, f[i].v)) return false;
        for (var j = 0; j < brushAxes.length; j++) {
          var b = S.brushes[brushAxes[j].name], p = brushAxes[j].pos(r);
          if (!(p >= b[0] - 1e-9 && p <= b[1] + 1e-9)) return false;
        }
        return true;
      });
      if (S.bestPct && S.bestPct > 0 && S.bestPct < 100) {
        var withM = out.filter(function (r) { return r._m !== undefined; });
        withM.sort(function (a, b) { return S.goal === 'maximize' ? b._m - a._m : a._m - b._m; });
        var keep = {};
        withM.slice(0, Math.max(1, Math.ceil(withM.length * S.bestPct / 100))).forEach(function (r) { keep[r.id] = 1; });
        out = out.filter(function (r) { return keep[r.id]; });
      }
      var col = null;
      S.cols.forEach(function (c) { if (c.key === S.sortKey) col = c; });
      if (col) {
        var dir = S.sortDir, get = col.get;
        var keyed = out.map(function (r, i) { return { r: r, v: get(r), i: i }; });
        keyed.sort(function (a, b) {
          var x = a.v, y = b.v;
          var xm = x === undefined || x === null || x === '', ym = y === undefined || y === null || y === '';
          if (xm || ym) return xm && ym ? a.i - b.i : (xm ? 1 : -1); // missing last
          if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir || a.i - b.i;
          x = fmtVal(x); y = fmtVal(y);
          return (x < y ? -1 : x > y ? 1 : 0) * dir || a.i - b.i;
        });
        out = keyed.map(function (k) { return k.r; });
      }
      S.filtered = out;
      S.filteredSet = {};
      out.forEach(function (r) { S.filteredSet[r.id] = 1; });
      count.textContent = out.length + ' of ' + S.runs.length + ' runs';
      markSort();
      rtBody.style.height = (out.length * ROWH) + 'px';
      renderRows(true);
      drawAll();
    }

    // --- virtualised rows ---
    var ROWH = 24, rowsRaf = 0;
    function renderRows(force) {
      if (rowsRaf && !force) return;
      var go = function () {
        rowsRaf = 0;
        var top = scroller.scrollTop, h = scroller.clientHeight || 420;
        var first = Math.max(0, Math.floor(top / ROWH) - 8);
        var last = Math.min(S.filtered.length, Math.ceil((top + h) / ROWH) + 8);
        var frag = document.createDocumentFragment();
        for (var i = first; i < last; i++) {
          var r = S.filtered[i];
          var row = el('div', 'run-row' + (r.id === S.hl ? ' hl' : ''));
          row.dataset.run = r.id;
          row.style.top = (i * ROWH) + 'px';
          row.style.height = ROWH + 'px';
          row.style.lineHeight = ROWH + 'px';
          row.style.width = S.rowWidth + 'px';
          for (var c = 0; c < S.cols.length; c++) {
            var col = S.cols[c], cell = el('div');
            cell.style.width = col.w + 'px';
            if (col.key === 'id') {
              add(cell, link('/sweeps/' + encodeURIComponent(sid) + '/runs/' + encodeURIComponent(r.id), r.id));
            } else {
              var v = col.get(r);
              cell.textContent = col.fmt ? col.fmt(v) : fmtVal(v);
              cell.title = cell.textContent;
            }
            row.appendChild(cell);
          }
          frag.appendChild(row);
        }
        rtBody.textContent = '';
        rtBody.appendChild(frag);
      };
      if (force) go(); else rowsRaf = requestAnimationFrame(go);
    }
    scroller.addEventListener('scroll', function () { renderRows(false); });
    rtBody.addEventListener('click', function (ev) {
      if (ev.target.tagName === 'A') return;
      var row = ev.target.closest ? ev.target.closest('.run-row') : null;
      if (row) highlight(row.dataset.run, false);
    });

    function highlight(id, scroll) {
      S.hl = S.hl === id && !scroll ? null : id;
      if (scroll && S.hl) {
        var idx = -1;
        for (var i = 0; i < S.filtered.length; i++) if (S.filtered[i].id === id) { idx = i; break; }
        if (idx >= 0) scroller.scrollTop = Math.max(0, idx * ROWH - scroller.clientHeight / 2 + ROWH);
      }
      renderRows(true);
      drawAll();
    }

    // --- header / best ---
    function renderHeader() {
      var s = S.sweep;
      document.title = (s.name || s.id) + ' - sweep';
      title.textContent = s.name || s.id;
      kv.textContent = '';
      function item(k, v) { if (v === undefined || v === null || v === '') return; var sp = el('span'); add(sp, el('b', null, k), typeof v === 'object' ? v : String(v)); add(kv, sp); }
      item('id', s.id); item('method', s.method); item('state', stateBadge(s.state));
      item('finish reason', s.finish_reason);
      item('runs', countsText(s.runs));
      item('created', (s.runs_created || 0) + (s.run_cap ? ' / cap ' + s.run_cap : '') + (s.grid_size ? ' (grid ' + s.grid_size + ')' : ''));
      item('metric', S.metric ? S.metric + ' (' + S.goal + ')' : '');
      item('started', fmtTime(s.created_at)); item('updated', fmtTime(s.updated_at));
      var cfg = JSON.stringify(s.config || {}, null, 2);
      if (cfgPre.textContent !== cfg) cfgPre.textContent = cfg;
    }
    function renderBest() {
      best.textContent = '';
      var b = null;
      S.runs.forEach(function (r) { if (r._m !== undefined && (!b || better(r._m, b._m))) b = r; });
      if (!b) { add(best, el('span', 'muted', 'best run: none yet')); return; }
      var sp = el('span'); sp.id = 'best-run';
      add(sp, el('b', null, 'best run'), link('/sweeps/' + encodeURIComponent(sid) + '/runs/' + encodeURIComponent(b.id), b.id),
        ' ' + S.metric + ' = ' + fmtNum(b._m) + '  ');
      var ps = [];
      for (var k in b._p) ps.push(k + '=' + fmtVal(b._p[k]));
      add(sp, el('span', 'muted', ps.join(', ')));
      add(best, sp);
    }

    // --- drawing ---
    var drawRaf = 0, dirty = { c: 0, p: 0, m: 0 };
    function drawAll(only) {
      if (only === 'curves') dirty.c = 1; else { dirty.c = dirty.p = dirty.m = 1; }
      if (drawRaf) return;
      drawRaf = requestAnimationFrame(function () {
        drawRaf = 0;
        var d = dirty; dirty = { c: 0, p: 0, m: 0 };
        if (d.c) drawCurves();
        if (d.p) drawParcoords();
        if (d.m) drawMetricTime();
      });
    }
    window.addEventListener('resize', function () { drawAll(); });

    // curves
    var curveHit = function () { return null; }, histPending = {}, histQueue = [], histActive = 0;
    function shownRuns() {
      var key = S.filtered.length + '|' + S.hl;
      if (S.shownCache && S.shownCache.f === S.filtered && S.shownCache.key === key) return S.shownCache.v;
      var v = computeShown();
      S.shownCache = { f: S.filtered, key: key, v: v };
      return v;
    }
    function computeShown() {
      var withM = S.filtered.filter(function (r) { return r._m !== undefined || ACTIVE[r.state]; });
      withM.sort(function (a, b) {
        if (a._m === undefined) return 1; if (b._m === undefined) return -1;
        return S.goal === 'maximize' ? b._m - a._m : a._m - b._m;
      });
      var out = withM.slice(0, 50);
      if (!out.length) out = S.filtered.slice(0, 50);
      if (S.hl && S.byId[S.hl] && out.indexOf(S.byId[S.hl]) < 0) out.push(S.byId[S.hl]);
      return out;
    }
    function needHist(r) {
      var h = S.hist[r.id];
      if (!h) return true;
      if (h.done) return false;
      return Date.now() - h.t > 2000 && (h.steps !== r.steps || !ACTIVE[r.state]);
    }
    function loadHist(r) {
      if (histPending[r.id]) return;
      histPending[r.id] = 1;
      histQueue.push(r);
      pump();
    }
    function pump() {
      while (histActive < 6 && histQueue.length) {
        var r = histQueue.shift();
        histActive++;
        (function (r) {
          var st = r.state, steps = r.steps;
          api(base + '/runs/' + encodeURIComponent(r.id) + '/history').then(function (res) {
            if (res.status === 200 && res.data) {
              S.hist[r.id] = { h: res.data.history || [], done: !ACTIVE[st], t: Date.now(), steps: steps };
            } else if (res.status === 404) {
              S.hist[r.id] = { h: [], done: false, t: Date.now(), steps: steps };
            } else {
              S.hist[r.id] = { h: (S.hist[r.id] || {}).h || [], done: false, t: Date.now(), steps: steps };
            }
          }).catch(function () {}).then(function () {
            histActive--; delete histPending[r.id];
            drawAll('curves'); pump();
          });
        })(r);
      }
    }
    function drawCurves() {
      var runs = shownRuns(), m = S.curveMetric, series = [], loading = 0;
      runs.forEach(function (r, i) {
        if (needHist(r)) loadHist(r);
        var h = S.hist[r.id];
        if (!h) { loading++; return; }
        var pts = [];
        h.h.forEach(function (e, k) {
          var v = e[m];
          if (typeof v === 'number') pts.push([typeof e._step === 'number' ? e._step : k, v]);
        });
        var killed = /kill|stop|cancel|early/i.test(r.state) || !!r.reason;
        var isHl = r.id === S.hl;
        series.push({
          id: r.id, pts: pts, dashed: killed, mark: killed,
          color: isHl ? '#e8590c' : (S.hl ? 'rgba(120,130,150,0.45)' : grad(metricNorm(r._m))),
          width: isHl ? 3.5 : 1.5
        });
      });
      cNote.textContent = runs.length + ' runs shown (best of the filtered set)' + (loading ? ', loading ' + loading : '') + '; dashed: stopped/killed';
      curveHit = drawChart(cBox.canvas, series, { logY: S.logY, height: 300, xLabel: 'step', empty: 'no history yet' });
    }
    cBox.canvas.addEventListener('mousemove', function (ev) {
      var p = canvasXY(cBox.canvas, ev), s = curveHit(p[0], p[1]);
      showTip(cBox, ev, s ? s.id : null);
      cBox.canvas.style.cursor = s ? 'pointer' : 'default';
    });
    cBox.canvas.addEventListener('mouseleave', function () { cBox.tip.style.display = 'none'; });
    cBox.canvas.addEventListener('click', function (ev) {
      var p = canvasXY(cBox.canvas, ev), s = curveHit(p[0], p[1]);
      if (s) highlight(s.id, true);
    });
    metricSel.addEventListener('change', function () { S.curveMetric = metricSel.value; drawAll('curves'); });
    logBox.addEventListener('change', function () { S.logY = logBox.checked; drawAll(); });

    // parallel coordinates
    var PC = { L: 40, R: 70, T: 24, B: 30 }, pcDrag = null, pcGeom = null;
    function pcAxisX(i, n, w) { return n <= 1 ? PC.L : PC.L + i * (w - PC.L - PC.R) / (n - 1); }
    function drawParcoords() {
      var C = setupCanvas(pBox.canvas, 320), ctx = C.ctx, axes = S.axes, n = axes.length;
      var ph = C.h - PC.T - PC.B;
      pcGeom = { w: C.w, h: C.h, ph: ph, n: n };
      function Y(p) { return PC.T + (1 - p) * ph; }
      var xs = axes.map(function (a, i) { return pcAxisX(i, n, C.w); });
      function path(r) { // adds r's polyline to the current path
        var started = false;
        for (var i = 0; i < n; i++) {
          var p = axes[i].pos(r);
          if (!isFinite(p)) { started = false; continue; }
          if (started) ctx.lineTo(xs[i], Y(p)); else { ctx.moveTo(xs[i], Y(p)); started = true; }
        }
      }
      function line(r) { ctx.beginPath(); path(r); ctx.stroke(); }
      var many = S.runs.length > 2000;
      // filtered-out runs in grey, one path
      ctx.lineWidth = 1;
      ctx.strokeStyle = 'rgba(160,165,175,' + (many ? 0.08 : 0.25) + ')';
      ctx.beginPath();
      S.runs.forEach(function (r) { if (!S.filteredSet[r.id]) path(r); });
      ctx.stroke();
      // filtered runs coloured by metric: 24 colour buckets, worst first so the best are on top
      var NB = 24, buckets = [], nomet = [];
      for (var bi = 0; bi < NB; bi++) buckets.push([]);
      S.filtered.forEach(function (r) {
        var t = metricNorm(r._m);
        if (!isFinite(t)) nomet.push(r); else buckets[Math.min(NB - 1, Math.floor(t * NB))].push(r);
      });
      ctx.globalAlpha = many ? 0.35 : 0.8;
      ctx.strokeStyle = grad(NaN); ctx.beginPath(); nomet.forEach(path); ctx.stroke();
      buckets.forEach(function (bk, bi) {
        if (!bk.length) return;
        ctx.strokeStyle = grad((bi + 0.5) / NB);
        ctx.beginPath(); bk.forEach(path); ctx.stroke();
      });
      ctx.globalAlpha = 1;
      if (S.hl && S.byId[S.hl]) { ctx.strokeStyle = '#e8590c'; ctx.lineWidth = 3; line(S.byId[S.hl]); ctx.lineWidth = 1; }
      // axes
      ctx.font = '11px system-ui, sans-serif';
      axes.forEach(function (a, i) {
        var x = xs[i];
        ctx.strokeStyle = '#333'; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(x, PC.T); ctx.lineTo(x, PC.T + ph); ctx.stroke();
        ctx.fillStyle = '#1d2330'; ctx.textAlign = 'center'; ctx.textBaseline = 'bottom';
        ctx.fillText(a.name + (a.sp && a.sp.kind === 'log' ? ' (log)' : ''), x, PC.T - 6);
        ctx.textAlign = 'left'; ctx.textBaseline = 'middle'; ctx.fillStyle = '#556';
        var ticks = axisTicks(a);
        ticks.forEach(function (t) {
          var y = Y(t[0]);
          ctx.beginPath(); ctx.moveTo(x - 3, y); ctx.lineTo(x + 3, y); ctx.stroke();
          var label = t[1].length > 14 ? t[1].slice(0, 13) + '…' : t[1];
          ctx.save(); ctx.strokeStyle = 'rgba(255,255,255,0.85)'; ctx.lineWidth = 3;
          ctx.strokeText(label, x + 5, y); ctx.restore();
          ctx.fillText(label, x + 5, y);
        });
        var b = S.brushes[a.name];
        if (b) {
          ctx.fillStyle = 'rgba(232,89,12,0.25)'; ctx.strokeStyle = '#e8590c';
          ctx.fillRect(x - 7, Y(b[1]), 14, Y(b[0]) - Y(b[1]));
          ctx.strokeRect(x - 7, Y(b[1]), 14, Y(b[0]) - Y(b[1]));
        }
      });
      if (!S.runs.length) { ctx.fillStyle = '#778'; ctx.textAlign = 'left'; ctx.fillText('no runs yet', PC.L + 10, PC.T + 20); }
    }
    function axisTicks(a) {
      if (a.metric) {
        if (!S.metricRange) return [];
        var r = S.metricRange;
        return niceTicks(r[0], r[1], 4).map(function (t) { return [metricPos(t), fmtNum(t)]; });
      }
      var sp = a.sp;
      if (sp.kind === 'cat') {
        var cs = sp.cats || [], step = Math.max(1, Math.ceil(cs.length / 12));
        return cs.filter(function (c, i) { return i % step === 0; }).map(function (c) { return [axisPos(sp, c), fmtVal(c)]; });
      }
      if (sp.lo === undefined) return [];
      if (sp.kind === 'log' && sp.lo > 0) {
        var out = [], e0 = Math.floor(Math.log10(sp.lo)), e1 = Math.ceil(Math.log10(sp.hi));
        for (var e = e0; e <= e1; e++) { var v = Math.pow(10, e); if (v >= sp.lo * 0.999 && v <= sp.hi * 1.001) out.push([axisPos(sp, v), fmtNum(v)]); }
        out.push([0, fmtNum(sp.lo)]); out.push([1, fmtNum(sp.hi)]);
        return out;
      }
      return niceTicks(sp.lo, sp.hi, 4).map(function (t) { return [axisPos(sp, t), fmtNum(t)]; });
    }
    function pcAxisAt(x) {
      if (!pcGeom) return -1;
      for (var i = 0; i < pcGeom.n; i++) if (Math.abs(pcAxisX(i, pcGeom.n, pcGeom.w) - x) < 14) return i;
      return -1;
    }
    function pcNorm(y) { return Math.max(0, Math.min(1, 1 - (y - PC.T) / pcGeom.ph)); }
    pBox.canvas.addEventListener('mousedown', function (ev) {
      var p = canvasXY(pBox.canvas, ev), i = pcAxisAt(p[0]);
      if (i < 0) return;
      ev.preventDefault();
      pcDrag = { axis: S.axes[i].name, y0: pcNorm(p[1]), moved: false };
    });
    window.addEventListener('mousemove', function (ev) {
      if (!pcDrag) return;
      var p = canvasXY(pBox.canvas, ev), y = pcNorm(p[1]);
      if (Math.abs(y - pcDrag.y0) < 0.005 && !pcDrag.moved) return;
      pcDrag.moved = true;
      S.brushes[pcDrag.axis] = [Math.min(y, pcDrag.y0), Math.max(y, pcDrag.y0)];
      refilterSoon();
    });
    window.addEventListener('mouseup', function () {
      if (pcDrag && pcDrag.moved) refilter();
      pcDrag = null;
    });
    pBox.canvas.addEventListener('dblclick', function (ev) {
      var p = canvasXY(pBox.canvas, ev), i = pcAxisAt(p[0]);
      if (i >= 0) { delete S.brushes[S.axes[i].name]; refilter(); }
    });
    pBox.canvas.addEventListener('mousemove', function (ev) {
      if (pcDrag) return;
      var p = canvasXY(pBox.canvas, ev);
      pBox.canvas.style.cursor = pcAxisAt(p[0]) >= 0 ? 'ns-resize' : 'default';
    });
    var refRaf = 0;
    function refilterSoon() { if (!refRaf) refRaf = requestAnimationFrame(function () { refRaf = 0; refilter(); }); }

    // metric against time
    var mtHit = function () { return null; };
    function drawMetricTime() {
      var grey = { id: null, pts: [], ids: [], color: 'rgba(160,165,175,0.5)', radius: 2.5 }, series = [grey];
      var NB = 24, buckets = [];
      for (var bi = 0; bi < NB; bi++) buckets.push({ id: null, pts: [], ids: [], color: grad((bi + 0.5) / NB), radius: 3, width: 1 + bi / NB });
      var hl = null;
      S.runs.forEach(function (r) {
        if (r._m === undefined) return;
        var t = r.started_at || r.created_at, s;
        if (r.id === S.hl) { hl = { id: r.id, pts: [[t, r._m]], ids: [r.id], color: '#e8590c', radius: 6, width: 9 }; return; }
        if (!S.filteredSet[r.id]) s = grey;
        else s = buckets[Math.min(NB - 1, Math.max(0, Math.floor(metricNorm(r._m) * NB)))] || grey;
        s.pts.push([t, r._m]); s.ids.push(r.id);
      });
      series = series.concat(buckets);
      if (hl) series.push(hl);
      mtHit = drawChart(mBox.canvas, series, {
        scatter: true, height: 260, logY: S.logY, empty: 'no metric values yet',
        xFmt: function (t) { var d = new Date(t); return d.toLocaleTimeString(); }
      });
    }
    mBox.canvas.addEventListener('mousemove', function (ev) {
      var p = canvasXY(mBox.canvas, ev), s = mtHit(p[0], p[1]);
      showTip(mBox, ev, s && s.id ? s.id + ' ' + fmtNum(S.byId[s.id] ? S.byId[s.id]._m : NaN) : null);
    });
    mBox.canvas.addEventListener('mouseleave', function () { mBox.tip.style.display = 'none'; });
    mBox.canvas.addEventListener('click', function (ev) {
      var p = canvasXY(mBox.canvas, ev), s = mtHit(p[0], p[1]);
      if (s && s.id) highlight(s.id, true);
    });

    // importance
    function loadImportance(force) {
      if (S.impGone || (!force && Date.now() - S.impLast < 10000)) return Promise.resolve();
      S.impLast = Date.now();
      return api(base + '/importance').then(function (res) {
        if (res.status === 404) S.impGone = true; // the sweep is gone: do not ask again
        var sig = res.status + JSON.stringify(res.data);
        if (sig === S.impSig) return;
        S.impSig = sig;
        renderImportance(res);
      }).catch(function () {});
    }
    function renderImportance(res) {
      iPanel.textContent = '';
      add(iPanel, el('h2', null, 'Parameter importance'));
      if (res.status === 404) { add(iPanel, el('div', 'muted', 'importance not available: no such sweep')); return; }
      if (res.status !== 200 || !res.data) { add(iPanel, el('div', 'muted', 'importance not available (HTTP ' + res.status + ')')); return; }
      var d = res.data, params = d.parameters || [];
      var methods = d.methods || {};
      var key = null;
      ['fanova', 'random_forest', 'importance'].forEach(function (k) {
        if (!key && params.some(function (p) { return typeof p[k] === 'number'; })) key = k;
      });
      var info = el('div', 'muted');
      info.textContent = (d.metric ? 'metric ' + d.metric.name + ' (' + d.metric.goal + '), ' : '') +
        (d.n_used !== undefined ? d.n_used + ' of ' + d.n_runs + ' runs used' : '');
      add(iPanel, info);
      if (d.reason) add(iPanel, el('div', null, d.reason));
      if (!key || !params.length) {
        if (!d.reason) add(iPanel, el('div', 'muted', 'no importance yet'));
        return;
      }
      add(iPanel, el('div', null, 'bars: ' + key + (methods[key] ? ' - ' + methods[key] : '')));
      if (methods.spearman) add(iPanel, el('div', 'muted', 'sign: spearman - ' + methods.spearman));
      var max = 0;
      params.forEach(function (p) { if (typeof p[key] === 'number' && p[key] > max) max = p[key]; });
      params.slice().sort(function (a, b) { return (b[key] || 0) - (a[key] || 0); }).forEach(function (p) {
        var row = el('div', 'imp-row');
        row.dataset.param = p.name;
        var nm = el('div', 'imp-name', p.name); nm.title = p.name + ' (' + p.type + ')';
        var bg = el('div', 'imp-bar-bg'), bar = el('div', 'imp-bar');
        var v = typeof p[key] === 'number' ? p[key] : 0;
        bar.style.width = (max > 0 ? Math.max(0, v / max * 100) : 0) + '%';
        add(bg, bar);
        var sign = typeof p.spearman === 'number' ? (p.spearman >= 0 ? '+' : '−') : '';
        var val = el('div', 'imp-val');
        add(val, fmtNum(v) + ' ');
        if (sign) add(val, el('span', p.spearman >= 0 ? 'pos' : 'neg', sign + ' ρ ' + fmtNum(+p.spearman.toFixed(3))));
        row.title = 'spearman ' + fmtVal(p.spearman) + ', linear ' + fmtVal(p.linear) + ', random forest ' + fmtVal(p.random_forest);
        add(row, nm, bg, val);
        add(iPanel, row);
      });
    }

    // --- controls ---
    stateSel.addEventListener('change', function () { S.stateFilter = stateSel.value; refilter(); });
    textIn.addEventListener('input', function () {
      var f = parseFilter(textIn.value);
      textIn.classList.toggle('bad', !f);
      if (f) { S.textFilter = f; refilter(); }
    });
    bestIn.addEventListener('input', function () {
      var v = parseFloat(bestIn.value);
      S.bestPct = isFinite(v) && v > 0 && v < 100 ? v : null;
      refilter();
    });
    clearBtn.addEventListener('click', function () {
      S.brushes = {}; S.textFilter = []; S.stateFilter = ''; S.bestPct = null;
      textIn.value = ''; stateSel.value = ''; bestIn.value = ''; textIn.classList.remove('bad');
      refilter();
    });

    // --- polling ---
    function fetchRuns() {
      var all = [];
      function page(after) {
        var q = base + '/runs?limit=1000' + (after ? '&after=' + encodeURIComponent(after) : '');
        return api(q).then(function (res) {
          var d = mustOk(res, 'GET runs');
          Array.prototype.push.apply(all, d.runs || []);
          if (d.next !== null && d.next !== undefined && d.next !== '' && (d.runs || []).length) return page(d.next);
          return all;
        });
      }
      return page(null);
    }
    var first = true;
    function tick() {
      api(base).then(function (res) {
        if (res.status === 404) {
          app.textContent = '';
          add(app, add(el('div', 'panel'), el('h1', null, 'sweep not found'), link('/', 'all sweeps')));
          ready();
          return 'stop';
        }
        var s = mustOk(res, 'GET sweep');
        S.sweep = s;
        if (first) {
          var m = (s.config && s.config.metric) || {};
          S.metric = m.name || '';
          S.goal = m.goal === 'maximize' ? 'maximize' : 'minimize';
          S.specs = paramSpecs((s.config || {}).parameters || {});
          buildCols();
        }
        renderHeader();
        var sig = s.runs_created + '|' + JSON.stringify(s.runs || {});
        var running = (s.runs && (s.runs.running || 0)) > 0;
        var since = Date.now() - S.lastRunsFetch;
        var due = (sig !== S.sig || (running && since > 5000)) && since >= (S.fetchCost || 0) * 3;
        if (!due) return null;
        var f0 = Date.now();
        return fetchRuns().then(function (runs) {
          S.sig = sig; S.lastRunsFetch = Date.now(); S.fetchCost = Date.now() - f0;
          ingest(runs);
          return loadImportance(sig !== S.impRunSig ? (S.impRunSig = sig, first) : false);
        });
      }).then(function (r) {
        if (first && r !== 'stop') {
          first = false;
          drawAll();
          requestAnimationFrame(function () { requestAnimationFrame(ready); });
        }
        if (r !== 'stop') setTimeout(tick, 1000);
      }).catch(function (e) {
        if (!/HTTP/.test(String(e && e.message))) setStatus('connection lost');
        setTimeout(tick, 1000);
      });
    }
    tick();
  }

  // ---------- page 3: a run ----------
  function runPage(sid, rid) {
    var base = '/api/sweeps/' + encodeURIComponent(sid) + '/runs/' + encodeURIComponent(rid);
    var crumbs = document.getElementById('crumbs');
    crumbs.textContent = '/ ';
    add(crumbs, link('/sweeps/' + encodeURIComponent(sid), sid), ' / ', el('span', null, rid));
    document.title = 'run ' + rid;
    var app = document.getElementById('app');
    app.textContent = '';
    var head = add(el('div', 'panel'), el('h1', null, 'Run ' + rid));
    var kv = el('div', 'kv'); add(head, kv);
    var pTable = el('table', 'data'); pTable.id = 'run-params';
    var pPanel = add(el('div', 'panel'), el('h2', null, 'Parameters'), pTable);
    var cPanel = add(el('div', 'panel'), el('h2', null, 'Curves'));
    var cGrid = el('div', 'curves-grid'); cGrid.id = 'run-curves'; add(cPanel, cGrid);
    var hPanel = add(el('div', 'panel'), el('h2', null, 'History'));
    var hWrap = el('div'); hWrap.id = 'run-history'; add(hPanel, hWrap);
    add(app, head, pPanel, cPanel, hPanel);
    var lastRun = '', lastHist = '', charts = {}, hist = [];

    function renderRun(r) {
      kv.textContent = '';
      function item(k, v) { if (v === undefined || v === null || v === '') return; var sp = el('span'); add(sp, el('b', null, k), typeof v === 'object' ? v : String(v)); add(kv, sp); }
      item('sweep', link('/sweeps/' + encodeURIComponent(sid), sid));
      item('state', stateBadge(r.state)); item('attempt', r.attempt); item('worker', r.worker);
      item('reason', r.reason); item('signal', r.signal);
      item('exit code', r.exit_code); item('steps', r.steps);
      item('created', fmtTime(r.created_at)); item('assigned', fmtTime(r.assigned_at));
      item('started', fmtTime(r.started_at)); item('heartbeat', fmtTime(r.heartbeat_at));
      item('ended', fmtTime(r.ended_at)); item('runtime', fmtDur(runtime(r)));
      if (r.metrics_lost) item('metrics lost', r.metrics_lost);
      var sm = [];
      for (var k in r.summary || {}) sm.push(k + '=' + fmtVal(r.summary[k]));
      item('summary', sm.join(', '));
      pTable.textContent = '';
      var flat = flatten(r.params || {}, '', {});
      var tb = el('tbody');
      add(pTable, add(el('thead'), add(el('tr'), el('th', null, 'parameter'), el('th', null, 'value'))), tb);
      Object.keys(flat).forEach(function (k) { add(tb, add(el('tr'), el('td', null, k), el('td', null, fmtVal(flat[k])))); });
    }
    function renderHist(h) {
      hist = h;
      var keys = {}, order = ['_step'];
      h.forEach(function (e) { for (var k in e) if (!keys[k]) { keys[k] = 1; if (k !== '_step' && k !== '_timestamp') order.push(k); } });
      if (keys._timestamp) order.push('_timestamp');
      var t = el('table', 'data'), tb = el('tbody'), hr = el('tr');
      order.forEach(function (k) { add(hr, el('th', null, k)); });
      add(t, add(el('thead'), hr), tb);
      var frag = document.createDocumentFragment();
      h.forEach(function (e, i) {
        var tr = el('tr');
        order.forEach(function (k) {
          var v = e[k];
          tr.appendChild(el('td', null, k === '_timestamp' ? fmtTime(v) : (k === '_step' && v === undefined ? i : fmtVal(v))));
        });
        frag.appendChild(tr);
      });
      tb.appendChild(frag);
      hWrap.textContent = '';
      if (!h.length) add(hWrap, el('div', 'muted', 'no metrics logged yet'));
      else add(hWrap, t);
      // curves
      var metrics = order.filter(function (k) {
        return k !== '_step' && k !== '_timestamp' && h.some(function (e) { return typeof e[k] === 'number'; });
      });
      cGrid.textContent = '';
      charts = {};
      metrics.forEach(function (m) {
        var p = add(el('div'), el('b', null, m));
        var box = chartBox(null, 220);
        box.canvas.dataset.metric = m;
        add(p, box.wrap); add(cGrid, p);
        charts[m] = box;
      });
      if (!metrics.length) add(cGrid, el('div', 'muted', 'no numeric metrics yet'));
      drawCharts();
    }
    function drawCharts() {
      Object.keys(charts).forEach(function (m) {
        var pts = [];
        hist.forEach(function (e, i) { if (typeof e[m] === 'number') pts.push([typeof e._step === 'number' ? e._step : i, e[m]]); });
        drawChart(charts[m].canvas, [{ id: rid, pts: pts, color: '#4e79a7' }], { height: 220, xLabel: 'step' });
      });
    }
    window.addEventListener('resize', drawCharts);
    var first = true;
    function tick() {
      var runP = api(base), histP = api(base + '/history');
      Promise.all([runP, histP]).then(function (rs) {
        if (rs[0].status === 404) {
          app.textContent = '';
          add(app, add(el('div', 'panel'), el('h1', null, 'run not found'), link('/sweeps/' + encodeURIComponent(sid), 'back to the sweep')));
          ready();
          return 'stop';
        }
        var r = mustOk(rs[0], 'GET run');
        var sr = JSON.stringify(r);
        if (sr !== lastRun) { lastRun = sr; renderRun(r); }
        var h = rs[1].status === 200 && rs[1].data ? rs[1].data.history || [] : [];
        var sh = JSON.stringify(h);
        if (sh !== lastHist) { lastHist = sh; renderHist(h); }
        return ACTIVE[r.state] ? 'again' : 'done';
      }).then(function (st) {
        if (first && st !== 'stop') { first = false; requestAnimationFrame(function () { requestAnimationFrame(ready); }); }
        if (st === 'again') setTimeout(tick, 1000);
        else if (st === 'done') setTimeout(tick, 5000);
      }).catch(function (e) {
        if (!/HTTP/.test(String(e && e.message))) setStatus('connection lost');
        setTimeout(tick, 2000);
      });
    }
    tick();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();

// driverhub console: plain JavaScript for what HTML alone cannot do —
// sections that follow a choice, rows added and removed, the JSON check,
// confirmation dialogs, the 50 MB check before an upload, and the
// deployment page's refresh. Every page works without it, only less smoothly.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  // Sections that appear only for some choices: data-show-when="name=value".
  // A hidden section is also disabled, so its fields are not sent.
  function sync(form) {
    form.querySelectorAll('[data-show-when]').forEach(function (el) {
      var parts = el.getAttribute('data-show-when').split('=');
      var ctl = form.elements[parts[0]];
      var value = ctl ? ctl.value : '';
      var on = parts[1].split('|').indexOf(value) >= 0;
      el.hidden = !on;
      el.disabled = !on;
    });
  }

  function rowsOf(kind) { return document.querySelector('[data-rows="' + kind + '"]'); }

  function updateRows(kind) {
    var table = rowsOf(kind);
    if (!table) return;
    var n = table.tBodies[0].rows.length;
    table.hidden = n === 0;
    var add = document.querySelector('[data-add-row="' + kind + '"]');
    if (add) add.disabled = n >= +table.getAttribute('data-max');
  }

  function addRow(btn) {
    var kind = btn.getAttribute('data-add-row');
    var table = rowsOf(kind);
    var tpl = document.querySelector('template[data-row-template="' + kind + '"]');
    if (!table || !tpl) return;
    if (table.tBodies[0].rows.length >= +table.getAttribute('data-max')) return;
    table.tBodies[0].appendChild(tpl.content.cloneNode(true));
    updateRows(kind);
    var row = table.tBodies[0].rows[table.tBodies[0].rows.length - 1];
    var first = row.querySelector('input, select');
    if (first) first.focus();
  }

  function removeRow(btn) {
    var row = btn.closest('tr');
    var table = row && row.closest('[data-rows]');
    if (!table) return;
    var kind = table.getAttribute('data-rows');
    row.remove();
    updateRows(kind);
    var add = document.querySelector('[data-add-row="' + kind + '"]');
    if (add) add.focus();
  }

  function csrf() {
    var m = document.querySelector('meta[name="csrf"]');
    return m ? m.getAttribute('content') : '';
  }

  // "Validate format", and the same check while typing (the seed: 编写内容
  // 时，系统自动校验格式): the browser's JSON.parse first (its message names
  // the position), then the server's check, the same one the services run
  // (an object, the size limit), which answers with line and column.
  function validateJSON(area, kind) {
    var out = document.getElementById(area.id + '-check');
    var show = function (ok, msg) {
      out.textContent = msg;
      out.className = 'check ' + (ok ? 'ok' : 'bad');
    };
    try {
      JSON.parse(area.value);
    } catch (e) {
      show(false, e.message);
    }
    var body = new URLSearchParams({ csrf: csrf(), kind: kind || '', text: area.value });
    fetch('/console/check-json', { method: 'POST', body: body, credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (res) { if (res) show(res.ok, res.message); })
      .catch(function () {});
  }

  // Files: the package must be a .zip of at most 50 MB, checked before
  // anything is uploaded.
  function checkFile(input) {
    var msg = '';
    var f = input.files && input.files[0];
    if (f && input.getAttribute('data-not-zip') && !/\.zip$/i.test(f.name)) msg = input.getAttribute('data-not-zip');
    else if (f && f.size > +input.getAttribute('data-max-bytes')) msg = input.getAttribute('data-too-large');
    input.setCustomValidity(msg);
    var out = input.parentNode.querySelector('.js-error');
    if (out) { out.textContent = msg; out.hidden = !msg; }
    if (msg) { input.value = ''; input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
    return !msg;
  }

  document.addEventListener('click', function (e) {
    var t = e.target.closest('[data-add-row], [data-remove-row], [data-validate-json], [data-dialog], [data-close], [data-back], [data-copy], [data-copy-from]');
    if (!t) return;
    if (t.hasAttribute('data-add-row')) { e.preventDefault(); addRow(t); }
    else if (t.hasAttribute('data-remove-row')) { e.preventDefault(); removeRow(t); }
    else if (t.hasAttribute('data-validate-json')) {
      e.preventDefault();
      validateJSON(document.getElementById(t.getAttribute('data-validate-json')), t.getAttribute('data-kind'));
    }
    else if (t.hasAttribute('data-copy-from')) { e.preventDefault(); copyFrom(t); }
    else if (t.hasAttribute('data-dialog')) {
      var d = document.getElementById(t.getAttribute('data-dialog'));
      if (d && d.showModal) { e.preventDefault(); d.showModal(); }
    } else if (t.hasAttribute('data-close')) { e.preventDefault(); t.closest('dialog').close(); }
    else if (t.hasAttribute('data-back') && history.length > 1) { e.preventDefault(); history.back(); }
    else if (t.hasAttribute('data-copy')) { t.select(); }
  });

  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t.type === 'file' && t.hasAttribute('data-max-bytes')) checkFile(t);
    var form = t.form;
    if (form && form.classList.contains('dyn')) sync(form);
    if (t.id === 'min_edge_version' && t.value === 'other') {
      var other = document.getElementById('min_edge_version_other');
      if (other) other.focus();
    }
  });

  // JSON editors check themselves a moment after the typing stops.
  var pending = {};
  document.addEventListener('input', function (e) {
    var area = e.target;
    if (!area.hasAttribute || !area.hasAttribute('data-live-json')) return;
    clearTimeout(pending[area.id]);
    pending[area.id] = setTimeout(function () {
      if (area.value.trim() === '') {
        var out = document.getElementById(area.id + '-check');
        out.textContent = '';
        out.className = 'check';
        return;
      }
      validateJSON(area, area.getAttribute('data-live-json'));
    }, 400);
  });

  // Copy buttons beside secrets and commands.
  function copyFrom(btn) {
    var src = document.getElementById(btn.getAttribute('data-copy-from'));
    if (!src) return;
    var done = function () {
      var label = btn.textContent;
      btn.textContent = btn.getAttribute('data-copied');
      setTimeout(function () { btn.textContent = label; }, 2000);
    };
    src.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(src.value).then(done, function () { if (document.execCommand('copy')) done(); });
    } else if (document.execCommand('copy')) {
      done();
    }
  }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    var files = form.querySelectorAll('input[type=file][data-max-bytes]');
    for (var i = 0; i < files.length; i++) {
      if (!files[i].disabled && !checkFile(files[i])) { e.preventDefault(); files[i].focus(); return; }
    }
    var busy = form.querySelector('.uploading');
    if (busy && (!e.submitter || !e.submitter.hasAttribute('formaction'))) {
      busy.hidden = false;
      var btn = form.querySelector('#submit');
      if (btn) setTimeout(function () { btn.disabled = true; }, 0);
    }
  });

  document.querySelectorAll('form.dyn').forEach(sync);
  document.querySelectorAll('[data-rows]').forEach(function (t) { updateRows(t.getAttribute('data-rows')); });

  // A running deployment's page fetches itself every 2 s and swaps its
  // live part, until the deployment finishes.
  var live = document.getElementById('live');
  if (live && live.getAttribute('data-live') === 'running') {
    var tick = function () {
      fetch(location.href, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html) {
            var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
            if (fresh) {
              live.innerHTML = fresh.innerHTML;
              live.setAttribute('data-live', fresh.getAttribute('data-live'));
            }
          }
        })
        .catch(function () {})
        .then(function () {
          if (live.getAttribute('data-live') === 'running') setTimeout(tick, 2000);
          else location.reload();
        });
    };
    setTimeout(tick, 2000);
  }
})();

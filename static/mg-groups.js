/* The Mentor Groups screens of the back office (Community > Groups), loaded by their templates:
   the tree's expand/collapse (index), where a new group will go (form), and the members
   screen's confirmations and search-as-you-type. Each part does nothing on the other screens.
   A file, not inline scripts: the Content-Security-Policy allows scripts from the app only. */

// The groups tree, one level at a time: the page holds the top of the person's part of the
// tree; a caret fetches the groups nested in its group (an HTML fragment of the same rows,
// one page; "Show more" appends the next). Keys: Up/Down move between the visible groups,
// Right opens a group (or goes to its first nested group), Left closes it (or goes to the
// group it is nested in), Home/End the first and last; Enter/Space on a caret toggles it.
// Without scripts the carets and "Show more" are links to the page of that level.
(function () {
  var tree = document.getElementById('mg-tree');
  if (!tree) return;
  var status = document.getElementById('mg-tree-status');
  var collapseAll = document.getElementById('mg-collapse-all');
  var pager = document.getElementById('mg-level-pager');
  if (pager) pager.hidden = true;  // "Show more" appends the next page instead
  // Opened branches are remembered per person and school in this browser.
  var key = tree.getAttribute('data-state-key');
  var remembered = {};
  try {
    (JSON.parse(window.localStorage.getItem(key) || '[]') || []).forEach(function (id) {
      remembered[String(id)] = true;
    });
  } catch (e) { remembered = {}; }
  function save() {
    try {
      var ids = Object.keys(remembered).filter(function (id) { return remembered[id]; });
      if (ids.length) window.localStorage.setItem(key, JSON.stringify(ids.slice(-50)));
      else window.localStorage.removeItem(key);
    } catch (e) { /* storage refused (private mode): opening still works on this page */ }
  }
  function say(text) { if (status) status.textContent = text; }
  function childrenOf(toggle) {
    return document.getElementById('mg-children-' + toggle.getAttribute('data-toggle-id'));
  }
  function isOpen(toggle) { return toggle.getAttribute('data-open') === 'true'; }
  function mark(toggle, open) {
    var name = toggle.getAttribute('data-name');
    toggle.setAttribute('data-open', open ? 'true' : 'false');
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    toggle.setAttribute('aria-label', (open ? 'Collapse ' : 'Expand ') + name);
    var list = childrenOf(toggle);
    if (list) { list.hidden = !open; toggle.setAttribute('aria-controls', list.id); }
    if (collapseAll) collapseAll.hidden = !tree.querySelector('.mg-toggle[data-open="true"]');
  }
  // Rows from the server: the same markup the page was rendered with (names escaped there).
  function rowsFrom(html) {
    var template = document.createElement('template');
    template.innerHTML = html;
    return template.content;
  }
  function fetchRows(url) {
    return fetch(url + (url.indexOf('?') >= 0 ? '&' : '?') + 'fragment=1', {credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(rowsFrom);
  }
  function upgrade(root) {
    root.querySelectorAll('.mg-toggle[data-toggle-id]').forEach(function (toggle) {
      if (toggle.getAttribute('role') === 'button') return;
      toggle.setAttribute('role', 'button');
      mark(toggle, isOpen(toggle));
      if (!isOpen(toggle) && remembered[toggle.getAttribute('data-toggle-id')]) open(toggle, false);
    });
  }
  function open(toggle, announce) {
    var id = toggle.getAttribute('data-toggle-id');
    remembered[id] = true; save();
    if (childrenOf(toggle)) { mark(toggle, true); return Promise.resolve(); }
    var node = toggle.closest('.mg-node');
    if (node.getAttribute('aria-busy') === 'true') return Promise.resolve();
    node.setAttribute('aria-busy', 'true');
    return fetchRows(toggle.getAttribute('href')).then(function (rows) {
      var list = document.createElement('ul');
      list.className = 'mg-children';
      list.id = 'mg-children-' + id;
      list.setAttribute('aria-label', 'Nested in ' + toggle.getAttribute('data-name'));
      list.appendChild(rows);
      node.appendChild(list);
      node.removeAttribute('aria-busy');
      mark(toggle, true);
      upgrade(list);
      if (announce) say(list.querySelectorAll(':scope > .mg-node').length + ' nested groups of ' + toggle.getAttribute('data-name') + ' shown');
    }).catch(function () {
      node.removeAttribute('aria-busy');
      say('The groups nested in ' + toggle.getAttribute('data-name') + ' could not be loaded; try again.');
    });
  }
  function close(toggle) {
    delete remembered[toggle.getAttribute('data-toggle-id')]; save();
    mark(toggle, false);
  }
  function more(link) {
    var item = link.closest('.mg-more');
    link.setAttribute('aria-disabled', 'true');
    fetchRows(link.getAttribute('href')).then(function (rows) {
      var first = rows.querySelector('.mg-name');
      var list = item.parentNode;
      list.insertBefore(rows, item);
      item.remove();
      upgrade(list);
      if (first) { var shown = list.querySelector('.mg-name[href="' + first.getAttribute('href') + '"]'); if (shown) shown.focus(); }
    }).catch(function () {
      link.removeAttribute('aria-disabled');
      say('More groups could not be loaded; try again.');
    });
  }
  tree.addEventListener('click', function (event) {
    var toggle = event.target.closest('.mg-toggle[data-toggle-id]');
    if (toggle) { event.preventDefault(); if (isOpen(toggle)) close(toggle); else open(toggle, true); return; }
    var link = event.target.closest('[data-more]');
    if (link) { event.preventDefault(); if (link.getAttribute('aria-disabled') !== 'true') more(link); }
  });
  // The visible groups in order, each by its name link (what Up/Down move between).
  function visibleNames() {
    return Array.prototype.filter.call(tree.querySelectorAll('.mg-name'), function (a) {
      return !a.closest('[hidden]');
    });
  }
  function rowToggle(el) { return el.closest('.mg-row').querySelector('.mg-toggle[data-toggle-id]'); }
  tree.addEventListener('keydown', function (event) {
    var el = event.target;
    if (!el.matches('.mg-name, .mg-toggle[data-toggle-id]')) return;
    var toggle = rowToggle(el), names = visibleNames();
    var name = el.closest('.mg-row').querySelector('.mg-name'), index = names.indexOf(name);
    if ((event.key === ' ' || event.key === 'Spacebar') && el === toggle) {
      event.preventDefault(); toggle.click();
    } else if (event.key === 'ArrowDown' && index < names.length - 1) {
      event.preventDefault(); names[index + 1].focus();
    } else if (event.key === 'ArrowUp' && index > 0) {
      event.preventDefault(); names[index - 1].focus();
    } else if (event.key === 'Home' && names.length) {
      event.preventDefault(); names[0].focus();
    } else if (event.key === 'End' && names.length) {
      event.preventDefault(); names[names.length - 1].focus();
    } else if (event.key === 'ArrowRight' && toggle) {
      event.preventDefault();
      if (!isOpen(toggle)) open(toggle, true);
      else { var first = childrenOf(toggle) && childrenOf(toggle).querySelector('.mg-name'); if (first) first.focus(); }
    } else if (event.key === 'ArrowLeft') {
      event.preventDefault();
      if (toggle && isOpen(toggle)) { close(toggle); if (el !== toggle) name.focus(); return; }
      var up = el.closest('.mg-children');
      var parent = up && up.closest('.mg-node');
      if (parent) parent.querySelector('.mg-row .mg-name').focus();
    }
  });
  if (collapseAll) collapseAll.addEventListener('click', function () {
    tree.querySelectorAll('.mg-toggle[data-open="true"]').forEach(close);
    remembered = {}; save();
    say('Every group closed');
  });
  upgrade(tree);
})();

// The tree's search: groups found by the server (search.json) as the name is typed, each
// with its path; the form (Enter, or without scripts) shows the same from the page itself.
(function () {
  var input = document.getElementById('mg-group-q');
  var out = document.getElementById('mg-group-found');
  if (!input || !out) return;
  var timer = null, asked = 0;
  function clear() { while (out.firstChild) out.removeChild(out.firstChild); }
  function note(text) {
    var p = document.createElement('p');
    p.className = 'small text-muted mt-2 mb-1';
    p.textContent = text;
    out.appendChild(p);
  }
  function show(q, found) {
    clear();
    var groups = found.groups || [];
    if (!groups.length) { note('No group you manage is called anything like \u201c' + q + '\u201d.'); return; }
    var n = groups.length + (found.more || 0);
    note(n + (n === 1 ? ' group matches' : ' groups match') + ' \u201c' + q + '\u201d' +
      (found.more ? '; the first ' + groups.length + ' are listed: type more of the name to narrow them.' : '.'));
    var list = document.createElement('ul');
    list.className = 'list-group mg-found';
    groups.forEach(function (g) {
      var item = document.createElement('li');
      item.className = 'list-group-item py-2';
      var link = document.createElement('a');
      link.href = g.url;
      link.textContent = g.path;
      item.appendChild(link);
      list.appendChild(item);
    });
    out.appendChild(list);
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    var q = input.value.replace(/\s+/g, ' ').trim();
    var mine = ++asked;
    if (!q) { clear(); return; }
    timer = setTimeout(function () {
      fetch(input.getAttribute('data-url') + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {groups: []}; })
        .then(function (found) { if (mine === asked) show(q, found); });
    }, 150);
  });
})();

// "Nest under": a combobox whose options the server finds (parents.json: never the group
// itself or a group below it), standing on the select, which stays the form's field (and the
// whole control without scripts). Arrow keys move through the options, Enter picks, Escape
// closes. The server checks the choice again when the form is saved.
(function () {
  var select = document.getElementById('parent_id');
  if (!select || !select.getAttribute('data-search-url')) return;
  var url = select.getAttribute('data-search-url');
  var wrap = document.createElement('div');
  wrap.className = 'position-relative mg-combo';
  var input = document.createElement('input');
  input.type = 'text';
  input.id = 'parent_search';
  input.className = 'form-control';
  input.autocomplete = 'off';
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', 'parent_options');
  input.setAttribute('aria-describedby', select.getAttribute('aria-describedby') || '');
  input.placeholder = 'Type a group name';
  var list = document.createElement('ul');
  list.id = 'parent_options';
  list.className = 'list-group shadow-sm mg-combo-list';
  list.setAttribute('role', 'listbox');
  list.hidden = true;
  var label = document.querySelector('label[for="parent_id"]');
  if (label) { label.htmlFor = 'parent_search'; label.id = label.id || 'parent_label'; list.setAttribute('aria-labelledby', label.id); }
  var status = document.createElement('div');
  status.className = 'sr-only';
  status.setAttribute('role', 'status');
  wrap.appendChild(input); wrap.appendChild(list); wrap.appendChild(status);
  select.parentNode.insertBefore(wrap, select);
  select.hidden = true;
  select.setAttribute('tabindex', '-1');
  var more = document.getElementById('parent-more');
  if (more) more.hidden = true;
  function chosenText() {
    var option = select.options[select.selectedIndex];
    return option ? option.text : '';
  }
  input.value = chosenText();
  var options = [], active = -1, asked = 0, timer = null;
  function close() {
    list.hidden = true; input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant'); active = -1; asked++;
  }
  function highlight(index) {
    options.forEach(function (li, i) {
      var on = i === index;
      li.setAttribute('aria-selected', on ? 'true' : 'false');
      li.classList.toggle('active', on);
    });
    active = index;
    if (index >= 0) { input.setAttribute('aria-activedescendant', options[index].id); options[index].scrollIntoView({block: 'nearest'}); }
    else input.removeAttribute('aria-activedescendant');
  }
  function pick(li) {
    var value = li.getAttribute('data-value'), text = li.getAttribute('data-label');
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
    if (!option) { option = new Option(text, value); select.add(option); }
    select.value = value;
    select.dispatchEvent(new Event('change'));
    input.value = text;
    close();
  }
  function show(found, q) {
    while (list.firstChild) list.removeChild(list.firstChild);
    options = [];
    var items = [];
    q = q.toLowerCase();
    if (found.top_level && (!q || 'no parent (top level)'.indexOf(q) >= 0 || 'top level'.indexOf(q) >= 0)) {
      items.push({value: '', label: 'No parent (top level)'});
    }
    (found.groups || []).forEach(function (g) { items.push({value: String(g.id), label: g.path}); });
    items.forEach(function (item, i) {
      var li = document.createElement('li');
      li.id = 'parent_option_' + i;
      li.className = 'list-group-item list-group-item-action py-2';
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.setAttribute('data-value', item.value);
      li.setAttribute('data-label', item.label);
      li.textContent = item.label;
      li.addEventListener('mousedown', function (event) { event.preventDefault(); });
      li.addEventListener('click', function () { pick(li); });
      list.appendChild(li);
      options.push(li);
    });
    if (!items.length) {
      var none = document.createElement('li');
      none.className = 'list-group-item text-muted py-2';
      none.textContent = 'No group you may nest it under is called that.';
      list.appendChild(none);
    } else if (found.more) {
      var extra = document.createElement('li');
      extra.className = 'list-group-item text-muted small py-1';
      extra.textContent = found.more + ' more: type more of the name.';
      list.appendChild(extra);
    }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    status.textContent = items.length ? items.length + (items.length === 1 ? ' choice' : ' choices') : 'No choices';
    highlight(-1);
  }
  function ask() {
    clearTimeout(timer);
    var mine = ++asked;
    var q = input.value === chosenText() ? '' : input.value.trim();
    timer = setTimeout(function () {
      fetch(url + (url.indexOf('?') >= 0 ? '&' : '?') + 'q=' + encodeURIComponent(q), {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {groups: []}; })
        .then(function (found) { if (mine === asked) show(found, q); });
    }, 150);
  }
  input.addEventListener('input', ask);
  // Focus selects the current choice's text, so typing starts a new search.
  input.addEventListener('focus', function () { input.select(); if (list.hidden) ask(); });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      if (list.hidden) { ask(); return; }
      if (options.length) highlight(Math.min(active + 1, options.length - 1));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (options.length) highlight(Math.max(active - 1, 0));
    } else if (event.key === 'Enter') {
      if (!list.hidden) {
        event.preventDefault();
        if (active >= 0) pick(options[active]);
        else if (options.length === 1) pick(options[0]);
      }
    } else if (event.key === 'Escape') {
      if (!list.hidden) { event.preventDefault(); close(); input.value = chosenText(); }
    }
  });
  input.addEventListener('blur', function () { close(); input.value = chosenText(); });
})();

// New group: say where the group will go as the parent changes.
(function () {
  var select = document.getElementById('parent_id'), out = document.getElementById('placement');
  if (!select || !out) return;
  select.addEventListener('change', function () {
    var option = select.options[select.selectedIndex];
    out.textContent = '';
    out.appendChild(document.createTextNode('The new group will go '));
    var strong = document.createElement('strong');
    strong.textContent = option && option.value ? option.text : 'top level';
    out.appendChild(document.createTextNode(option && option.value ? 'under ' : 'at the '));
    out.appendChild(strong);
    out.appendChild(document.createTextNode('.'));
  });
})();

// The members screen.
(function () {
  if (!document.getElementById('mg-row-form')) return;  // not the members screen
  document.querySelectorAll('.mg-role-form').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  // The rows' buttons share one form; a button with data-confirm asks first.
  document.getElementById('mg-row-form').addEventListener('submit', function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // "Remove from group" (anyone, staff included): one in-page confirmation naming the role.
  // The link opens the same question as a page when scripts are off.
  var dialog = document.getElementById('mg-remove-dialog');
  var opener = null;
  if (dialog && typeof dialog.showModal === 'function') {
    var group = dialog.getAttribute('data-group');
    document.querySelectorAll('[data-mg-remove]').forEach(function (link) {
      link.addEventListener('click', function (event) {
        event.preventDefault();
        var name = link.getAttribute('data-name'), role = link.getAttribute('data-role');
        document.getElementById('mg-remove-title').textContent = 'Remove ' + name + ' from ' + group + '?';
        var words = name + ' is ' + (/^[AEIOU]/.test(role) ? 'an ' : 'a ') + role + ' of this group. ' +
          (role === 'Member' ? '' : "They stop hearing about its members' work and get no weekly digest for it. ") +
          'Their account and their work in the school stay.';
        if (link.getAttribute('data-self')) {
          words += ' You will lose access to manage \u201c' + group + '\u201d; only its Group Admins or the school\'s admins can add you back.';
        }
        document.getElementById('mg-remove-text').textContent = words;
        dialog.querySelector('form').setAttribute('action', link.getAttribute('href'));
        opener = link.closest('.dropdown') ? link.closest('.dropdown').querySelector('[data-toggle="dropdown"]') : link;
        dialog.showModal();
        dialog.querySelector('[data-mg-dialog-cancel]').focus();
      });
    });
    dialog.querySelector('[data-mg-dialog-cancel]').addEventListener('click', function () { dialog.close(); });
    dialog.addEventListener('close', function () { if (opener) opener.focus(); });
  }
  var input = document.getElementById('mg-search');
  var results = document.getElementById('mg-results');
  var picked = document.getElementById('mg-picked');
  var form = document.getElementById('mg-add-form');
  var timer = null, chosen = {}, asked = 0;
  function clear() { while (results.firstChild) results.removeChild(results.firstChild); }
  // Closing also forgets searches still on their way, so a late answer can't reopen the list.
  function close() { clearTimeout(timer); asked++; clear(); }
  // A person of the school (user_id) or, from "Invite ...", an address to invite.
  function pick(person) {
    var key = person.invite ? 'invite:' + person.invite : person.id;
    if (chosen[key]) return;
    chosen[key] = true;
    var chip = document.createElement('span');
    chip.className = 'mg-chip';
    chip.textContent = (person.invite ? 'Invite ' + person.invite : person.name) + ' ';
    var hidden = document.createElement('input');
    hidden.type = 'hidden';
    hidden.name = person.invite ? 'invite' : 'user_id';
    hidden.value = person.invite || person.id;
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.setAttribute('aria-label', 'Remove ' + (person.invite || person.name));
    remove.textContent = '\u00d7';
    remove.addEventListener('click', function () { delete chosen[key]; chip.remove(); });
    chip.appendChild(hidden); chip.appendChild(remove);
    picked.appendChild(chip);
  }
  function show(found) {
    var people = found.people || [];
    clear();
    if (found.invite) {
      // An address that is nobody's in this school: offer to invite it in the chosen role.
      var invite = document.createElement('button');
      invite.type = 'button';
      invite.className = 'list-group-item list-group-item-action mg-result mg-invite';
      invite.setAttribute('data-testid', 'invite-result');
      invite.textContent = 'Invite ' + found.invite;
      invite.addEventListener('click', function () {
        pick({invite: found.invite}); close(); input.value = ''; input.focus();
      });
      results.appendChild(invite);
      if (!people.length) return;
    }
    if (!people.length) {
      var none = document.createElement('div');
      none.className = 'list-group-item text-muted';
      none.textContent = 'Nobody in this school matches.';
      results.appendChild(none);
      return;
    }
    people.forEach(function (person) {
      var item = document.createElement('button');
      item.type = 'button';
      item.className = 'list-group-item list-group-item-action mg-result';
      var name = document.createElement('strong'); name.textContent = person.name;
      var email = document.createElement('small'); email.className = 'text-muted ml-2';
      email.textContent = person.email;
      item.appendChild(name); item.appendChild(email);
      if (person.role) {
        var badge = document.createElement('span');
        badge.className = 'badge badge-secondary ml-2';
        badge.textContent = 'already ' + person.role_label;
        item.appendChild(badge);
        item.disabled = true;
      }
      item.addEventListener('click', function () {
        pick(person); close(); input.value = ''; input.focus();
      });
      results.appendChild(item);
    });
    if (found.more) {
      var more = document.createElement('div');
      more.className = 'list-group-item text-muted small';
      more.setAttribute('data-testid', 'more-results');
      more.textContent = found.more + ' more ' + (found.more === 1 ? 'person matches' : 'people match') +
        ': type more of the name or email to narrow the list.';
      results.appendChild(more);
    }
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (!q) { close(); return; }
    var mine = ++asked;  // the list on screen stays until this answer replaces it
    timer = setTimeout(function () {
      fetch(input.getAttribute('data-url') + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {people: []}; })
        .then(function (found) { if (mine === asked) show(found); });  // only the latest
    }, 150);
  });
  // The results close like any menu: a click elsewhere, or Escape.
  document.addEventListener('click', function (event) {
    if (!results.contains(event.target) && event.target !== input) close();
  });
  // From the keyboard: ArrowDown goes from the search into the people found, the arrows move
  // among them, Escape goes back to the search.
  results.addEventListener('keydown', function (event) {
    var found = Array.prototype.slice.call(results.querySelectorAll('.mg-result:not([disabled])'));
    var index = found.indexOf(document.activeElement);
    if (event.key === 'ArrowDown' && index < found.length - 1) { event.preventDefault(); found[index + 1].focus(); }
    else if (event.key === 'ArrowUp') { event.preventDefault(); (index > 0 ? found[index - 1] : input).focus(); }
    else if (event.key === 'Escape') { event.preventDefault(); close(); input.focus(); }
  });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown') {
      var first = results.querySelector('.mg-result:not([disabled])');
      if (first) { event.preventDefault(); first.focus(); }
      return;
    }
    if (event.key === 'Escape') { close(); return; }
    if (event.key === 'Enter') {
      event.preventDefault();
      var first = results.querySelector('.mg-result:not([disabled])');
      if (first) first.click();
    }
  });
})();

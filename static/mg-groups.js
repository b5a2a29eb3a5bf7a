/* The Mentor Groups screens of the back office (Community > Groups), loaded by their templates:
   the tree's expand/collapse (index), where a new group will go (form), and the members
   screen's confirmations and search-as-you-type. Each part does nothing on the other screens.
   A file, not inline scripts: the Content-Security-Policy allows scripts from the app only. */

// The groups tree: carets fold a group's branch; Expand all / Collapse all.
(function () {
  var tree = document.getElementById('mg-tree');
  if (!tree) return;
  var rows = Array.prototype.slice.call(tree.querySelectorAll('.mg-row'));
  var collapsed = {};
  function refresh() {
    rows.forEach(function (row) {
      var ancestors = row.getAttribute('data-ancestors');
      var hidden = false;
      if (ancestors) {
        var ids = ancestors.split(' ');
        for (var i = 0; i < ids.length; i++) { if (collapsed[ids[i]]) { hidden = true; break; } }
      }
      row.style.display = hidden ? 'none' : '';
    });
    tree.querySelectorAll('[data-toggle-id]').forEach(function (button) {
      var open = !collapsed[button.getAttribute('data-toggle-id')];
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      button.setAttribute('aria-label', (open ? 'Collapse ' : 'Expand ') + button.getAttribute('data-name'));
    });
  }
  tree.addEventListener('click', function (event) {
    var button = event.target.closest('[data-toggle-id]');
    if (!button) return;
    var id = button.getAttribute('data-toggle-id');
    collapsed[id] = !collapsed[id];
    refresh();
  });
  var expandAll = document.getElementById('mg-expand-all');
  if (!expandAll) return;  // no nested groups: nothing to fold
  expandAll.addEventListener('click', function () {
    collapsed = {}; refresh();
  });
  document.getElementById('mg-collapse-all').addEventListener('click', function () {
    tree.querySelectorAll('[data-toggle-id]').forEach(function (button) {
      collapsed[button.getAttribute('data-toggle-id')] = true;
    });
    refresh();
  });
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

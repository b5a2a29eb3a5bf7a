/* The back office's controls, for everybody (loaded by templates/admin/mg_base.html):
   - Flask-Admin's list filters, row checkboxes and search get real <label>s (Flask-Admin gives
     them only a title, and builds the filter rows in script, hence a MutationObserver);
   - icon-only links get a name;
   - every Bootstrap dropdown is a menu button: menu roles, Enter, Space or ArrowDown open it on
     its first item (Bootstrap then moves with the arrows and closes on Escape or Tab);
   - what Flask-Admin's templates did with inline handlers (onclick=, onsubmit=, javascript:
     links), which the Content-Security-Policy (scripts from the app only) refuses: the app's
     copies of those templates carry data-mg-action (a bulk action), data-mg-confirm (ask before
     a submit) and data-mg-add-inline (add an inline row) instead, handled here;
   - data-mg-copy: a button that copies a field (a new API token's secret). */
(function () {
  var serial = 0;

  function idOf(el, prefix) {
    if (!el.id) el.id = prefix + '-' + (++serial);
    return el.id;
  }

  function named(el) {
    return el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
      (el.labels && el.labels.length);
  }

  function label(el, text) {
    if (!el || named(el)) return;
    var tag = document.createElement('label');
    tag.className = 'sr-only';
    tag.htmlFor = idOf(el, 'mg-field');
    tag.textContent = text;
    el.parentNode.insertBefore(tag, el);
  }

  function rowName(row) {
    var cell = row.querySelector('td[class^="col-"], td[class*=" col-"]');
    return cell ? cell.textContent.replace(/\s+/g, ' ').trim() : '';
  }

  function labelListControls(root) {
    root.querySelectorAll('input.action-rowtoggle').forEach(function (box) {
      label(box, 'Select all rows');
    });
    root.querySelectorAll('input.action-checkbox').forEach(function (box, index) {
      var name = rowName(box.closest('tr'));
      label(box, name ? 'Select ' + name : 'Select row ' + (index + 1));
    });
    root.querySelectorAll('table.filters tr').forEach(function (row) {
      var remove = row.querySelector('.remove-filter');
      var name = remove ? remove.textContent.replace(/[\u00d7\s]+/g, ' ').trim() : 'Filter';
      if (remove && !remove.getAttribute('aria-label')) {
        remove.setAttribute('role', 'button');
        remove.setAttribute('aria-label', 'Remove the ' + name + ' filter');
      }
      label(row.querySelector('select.filter-op'), name + ': how to compare');
      row.querySelectorAll('.filter-val').forEach(function (field) {
        if (field.type !== 'hidden') label(field, name + ': value');
      });
      // select2 draws its own focusable box in place of a hidden <select>
      row.querySelectorAll('.select2-focusser, .select2-input, .select2-search__field')
        .forEach(function (field) { label(field, name); });
    });
    root.querySelectorAll('table.model-list > thead th').forEach(function (th) {
      if (!th.children.length && !th.textContent.trim()) th.innerHTML = '<span class="sr-only">Actions</span>';
    });
    root.querySelectorAll('form input[name="search"]').forEach(function (field) {
      label(field, field.getAttribute('placeholder') || 'Search');
    });
    root.querySelectorAll('a').forEach(function (link) {
      if (link.textContent.trim() || link.getAttribute('aria-label')) return;
      if (link.classList.contains('select2-search-choice-close')) {  // a chosen filter value
        link.setAttribute('aria-label', 'Remove ' + link.parentNode.textContent.trim());
      } else if (link.querySelector('.fa-times, .glyphicon-remove')) link.setAttribute('aria-label', 'Clear the search');
      else if (link.getAttribute('title')) link.setAttribute('aria-label', link.getAttribute('title'));
      else if (link.getAttribute('data-original-title')) link.setAttribute('aria-label', link.getAttribute('data-original-title'));
    });
  }

  function menuRoles(root) {
    root.querySelectorAll('[data-toggle="dropdown"]').forEach(function (toggle) {
      var menu = toggle.parentNode.querySelector('.dropdown-menu');
      if (!menu) return;
      if (toggle.tagName === 'A') toggle.setAttribute('role', 'button');
      toggle.setAttribute('aria-haspopup', 'menu');
      if (!toggle.hasAttribute('aria-expanded')) toggle.setAttribute('aria-expanded', 'false');
      toggle.setAttribute('aria-controls', idOf(menu, 'mg-menu'));
      menu.setAttribute('role', 'menu');
      if (!menu.hasAttribute('aria-labelledby') && !menu.hasAttribute('aria-label')) {
        menu.setAttribute('aria-labelledby', idOf(toggle, 'mg-menu-button'));
      }
      menu.querySelectorAll('.dropdown-item').forEach(function (item) {
        item.setAttribute('role', 'menuitem');
        for (var el = item.parentNode; el && el !== menu; el = el.parentNode) {
          el.setAttribute('role', 'none');
        }
      });
      menu.querySelectorAll('.dropdown-header').forEach(function (h) { h.setAttribute('role', 'presentation'); });
      menu.querySelectorAll('.dropdown-divider').forEach(function (d) { d.setAttribute('role', 'separator'); });
    });
  }

  function firstItem(menu) {
    var items = menu.querySelectorAll('.dropdown-item:not(.disabled):not(:disabled)');
    for (var i = 0; i < items.length; i++) {
      if (items[i].offsetParent !== null) return items[i];
    }
    return null;
  }

  function keyboardOpens() {
    var fromKeyboard = null;
    document.addEventListener('keydown', function (event) {
      var toggle = event.target.closest && event.target.closest('[data-toggle="dropdown"]');
      if (!toggle) return;
      if (event.key === 'Enter' || event.key === ' ' || event.key === 'ArrowDown') {
        fromKeyboard = toggle;
        // A link styled as a toggle does nothing on Space by itself.
        if (event.key === ' ' && toggle.tagName === 'A') { event.preventDefault(); toggle.click(); }
      }
    }, true);
    document.addEventListener('pointerdown', function () { fromKeyboard = null; }, true);
    if (!window.jQuery) return;
    window.jQuery(document).on('shown.bs.dropdown', function (event) {
      var toggle = event.relatedTarget;
      if (toggle && toggle === fromKeyboard) {
        var menu = toggle.parentNode.querySelector('.dropdown-menu');
        var item = menu && firstItem(menu);
        if (item) item.focus();
      }
      fromKeyboard = null;
    });
  }

  // Links with href="javascript:void(0)" (Flask-Admin's dropdown toggles and filter names)
  // would run a javascript: URL, which the policy refuses: they only ever open a menu.
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[href^="javascript:"]');
    if (link) event.preventDefault();
  }, true);

  document.addEventListener('click', function (event) {
    if (!event.target.closest) return;
    var bulk = event.target.closest('[data-mg-action]');
    if (bulk && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(bulk.getAttribute('data-mg-action'));
      return;
    }
    var add = event.target.closest('[data-mg-add-inline]');
    if (add && window.faForm) {
      event.preventDefault();
      window.faForm.addInlineField(add, add.getAttribute('data-mg-add-inline'));
      return;
    }
    var ask = event.target.closest('button[data-mg-confirm], input[data-mg-confirm]');
    if (ask && !window.confirm(ask.getAttribute('data-mg-confirm'))) event.preventDefault();
  });

  document.addEventListener('submit', function (event) {
    var question = event.target.getAttribute('data-mg-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // API tokens: "Copy token" copies the field named by data-mg-copy and says so in the
  // status line named by data-mg-copied (the field stays selected for a manual copy too).
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('[data-mg-copy]') : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute('data-mg-copy'));
    var status = document.getElementById(button.getAttribute('data-mg-copied'));
    if (!field) return;
    field.focus();
    field.select();
    function said(text) { if (status) status.textContent = text; }
    var done = function () { said('Copied. Paste it into the system that will use it.'); };
    var manual = function () { said('Copying was refused by the browser: the token is selected, copy it with Ctrl+C (\u2318C on a Mac).'); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, manual);
    } else {
      try { if (document.execCommand('copy')) done(); else manual(); } catch (e) { manual(); }
    }
  });

  // The Community screens' "..." menu (templates/admin/community/_actions.html).
  function communityActions() {
    var button = document.getElementById('mg-community-actions');
    if (!button || !window.jQuery) return;
    var fromKeyboard = false;
    button.addEventListener('keydown', function (event) {
      fromKeyboard = event.key === 'Enter' || event.key === ' ' || event.key === 'ArrowDown';
    });
    button.addEventListener('pointerdown', function () { fromKeyboard = false; });
    window.jQuery(button.parentNode).on('shown.bs.dropdown', function () {
      // Menu button pattern: opened from the keyboard, focus goes to the first item.
      if (fromKeyboard) {
        var first = button.parentNode.querySelector('[role="menuitem"]');
        if (first) first.focus();
      }
      fromKeyboard = false;
    });
  }

  function start() {
    communityActions();
    labelListControls(document);
    menuRoles(document);
    keyboardOpens();
    var filters = document.querySelector('table.filters');
    if (filters && window.MutationObserver) {
      new MutationObserver(function () { labelListControls(filters); })
        .observe(filters, {childList: true, subtree: true});
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();

/* Menu buttons, after the WAI-ARIA "menu button" pattern:
     <button data-mg-menu aria-haspopup="menu" aria-expanded="false" aria-controls="ID">
     <ul role="menu" id="ID" hidden> <li role="none"><a role="menuitem">...
   A click opens or closes the menu; Enter, Space or ArrowDown open it on the first item,
   ArrowUp on the last; in the menu the arrows, Home and End move, Escape closes it and returns
   to the button, Tab or a click elsewhere closes it. One menu is open at a time. */
(function () {
  var open = null;  // the button whose menu is open

  function menuOf(button) { return document.getElementById(button.getAttribute('aria-controls')); }
  function itemsOf(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll('[role="menuitem"]'));
  }

  function close(returnFocus) {
    if (!open) return;
    var button = open;
    open = null;
    button.setAttribute('aria-expanded', 'false');
    menuOf(button).hidden = true;
    if (returnFocus) button.focus();
  }

  function show(button, focus) {
    if (open && open !== button) close(false);
    var menu = menuOf(button);
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    open = button;
    var items = itemsOf(menu);
    if (items.length && focus === 'first') items[0].focus();
    if (items.length && focus === 'last') items[items.length - 1].focus();
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-mg-menu]');
    if (button) {
      if (event.detail === 0) show(button, 'first');  // Enter or Space on the button
      else if (open === button) close(false);
      else show(button, null);
      return;
    }
    if (open && !menuOf(open).contains(event.target)) close(false);
  });

  document.addEventListener('keydown', function (event) {
    var target = event.target;
    var button = target.closest && target.closest('[data-mg-menu]');
    if (button) {
      if (event.key === 'ArrowDown') { event.preventDefault(); show(button, 'first'); }
      else if (event.key === 'ArrowUp') { event.preventDefault(); show(button, 'last'); }
      else if (event.key === 'Escape' && open === button) { event.preventDefault(); close(true); }
      return;
    }
    if (!open || !menuOf(open).contains(target)) return;
    var items = itemsOf(menuOf(open));
    var index = items.indexOf(target);
    var next = null;
    switch (event.key) {
      case 'ArrowDown': next = items[(index + 1) % items.length]; break;
      case 'ArrowUp': next = items[(index - 1 + items.length) % items.length]; break;
      case 'Home': next = items[0]; break;
      case 'End': next = items[items.length - 1]; break;
      case 'Escape': event.preventDefault(); close(true); return;
      case 'Tab': close(false); return;
      default: return;
    }
    event.preventDefault();
    next.focus();
  });

  // Focus that leaves the button and its menu (a screen reader's virtual cursor, a script)
  // closes the menu too.
  document.addEventListener('focusin', function (event) {
    if (open && event.target !== open && !menuOf(open).contains(event.target)) close(false);
  });
})();

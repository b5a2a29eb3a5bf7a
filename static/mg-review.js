/* The review form: "Skip" leaves the page, so when a grade or feedback has been typed it asks
   first (Cancel keeps the page and the text). Nothing else changes without a script. */
(function () {
  document.addEventListener('click', function (event) {
    var skip = event.target.closest && event.target.closest('[data-skip]');
    if (!skip) return;
    var form = skip.closest('form');
    var fields = form ? form.querySelectorAll('input[type=text], input:not([type]), textarea') : [];
    var typed = Array.prototype.some.call(fields, function (f) { return f.value.trim() !== ''; });
    if (typed && !window.confirm('Skip without saving? What you typed for this review will be lost.')) {
      event.preventDefault();
    }
  });
})();

/* The queue's group filter: "Find a group" narrows the Group select as one types, from the
   server (groups.json: at most 20 groups this person reviews, each with its path), and says
   how many were found in its status line. The chosen group stays offered; Show (or Enter)
   applies the choice. Without a script the Find button asks the page for the same. */
(function () {
  var input = document.getElementById('queue-group-q');
  var select = document.getElementById('queue-group');
  var status = document.getElementById('queue-group-found');
  if (!input || !select || !input.getAttribute('data-url')) return;
  var url = input.getAttribute('data-url'), asked = 0, timer = null;
  function words(found, q) {
    var n = found.groups.length;
    if (!n) return 'No group whose work you review is called anything like \u201c' + q + '\u201d.';
    if (!q) return 'The first ' + n + ' groups by name are listed: find others by name.';
    if (found.more) return 'More than ' + n + ' groups match \u201c' + q + '\u201d: the first ' + n + ' are listed; type more of the name.';
    return n + (n === 1 ? ' group matches' : ' groups match') + ' \u201c' + q + '\u201d.';
  }
  function show(found, q) {
    var chosen = select.value;
    var keep = Array.prototype.filter.call(select.options, function (o) {
      return o.value === '' || o.value === chosen;
    });
    while (select.options.length) select.remove(0);
    keep.forEach(function (o) { select.add(o); });
    found.groups.forEach(function (g) {
      if (String(g.id) === chosen) return;
      select.add(new Option(g.path, String(g.id)));
    });
    select.value = chosen;
    status.textContent = words(found, q);
  }
  function ask() {
    clearTimeout(timer);
    var mine = ++asked, q = input.value.trim();
    timer = setTimeout(function () {
      fetch(url + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (found) { if (mine === asked) show(found, q); })
        .catch(function () { if (mine === asked) status.textContent = 'Groups could not be searched just now: press Find.'; });
    }, 200);
  }
  input.addEventListener('input', ask);
  // Enter in the search box moves to the narrowed select rather than reloading the page.
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') { event.preventDefault(); select.focus(); }
  });
})();

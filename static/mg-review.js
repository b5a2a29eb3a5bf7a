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

// Session page: search as you type. Without JavaScript the Search button does the same by a
// plain form submit; this only saves the round trip of pressing it.
(function () {
  'use strict';
  var DELAY_MS = 250;
  var form = document.querySelector('form.search-form');
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams) return;
  var input = form.querySelector('input[name="q"]');
  if (!input) return;
  var section = form.parentNode;
  var timer = null;
  var latest = 0;
  var shown = input.value;

  // Swaps what follows the search form (count, results, pager) for the fetched page's. The count
  // element is kept and only its text changes, so screen readers announce it (aria-live).
  function show(html) {
    var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('form.search-form');
    if (!fresh) return;
    var count = section.querySelector('.count');
    var freshCount = fresh.parentNode.querySelector('.count');
    var keep = count && freshCount ? count : form;
    if (keep === count) count.textContent = freshCount.textContent;
    while (keep.nextSibling) section.removeChild(keep.nextSibling);
    for (var node = (keep === count ? freshCount : fresh).nextSibling; node; node = node.nextSibling) {
      section.appendChild(document.importNode(node, true));
    }
  }

  function search() {
    var q = input.value;
    if (q === shown) return;
    var mine = ++latest;
    var url = form.getAttribute('action') + '?' + new URLSearchParams({ q: q }).toString();
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (res) {
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        // An older answer arriving after a newer one is dropped; a failed one leaves the Search button.
        if (html === null || mine !== latest) return;
        shown = q;
        show(html);
        window.history.replaceState(null, '', url);
      })
      .catch(function () {});
  }

  input.addEventListener('input', function () {
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(search, DELAY_MS);
  });
})();

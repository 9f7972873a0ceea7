// Sandbox Concur page: opens Launch URL links in a popup, as Concur does, and reloads the
// form when the popup closes so the value the connector wrote shows up.
(function () {
  'use strict';
  var POLL_MS = 500;
  var timer = null;

  function watch(popup) {
    if (timer !== null) window.clearInterval(timer);
    timer = window.setInterval(function () {
      if (popup.closed) {
        window.clearInterval(timer);
        timer = null;
        window.location.reload();
      }
    }, POLL_MS);
  }

  document.addEventListener('click', function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var target = event.target;
    var link = target && target.closest ? target.closest('a[data-popup]') : null;
    if (!link) return;
    var popup = window.open(link.href, 'concur_launch', 'popup,width=720,height=760');
    // A blocked popup leaves the plain link (target=_blank) to do its job.
    if (!popup) return;
    event.preventDefault();
    try {
      popup.focus();
    } catch (e) {
      /* focus may be refused; the popup is open either way */
    }
    watch(popup);
  });
})();

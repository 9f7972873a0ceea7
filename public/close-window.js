// The done page: Concur reloads the form when this window closes.
window.setTimeout(function () {
  window.close();
}, 600);

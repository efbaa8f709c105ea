/* threadlog comment counts: <script src="https://host/count.js" async></script> on an index page.
 * A classic script (it may be loaded async) that loads the count module from the same server; see count.js.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, window.location.href).origin;
  function run() {
    import(origin + '/static/threadlog/count.js').then(function (module) {
      return module.countThreads({ base: origin });
    }).catch(function (error) {
      if (window.console) console.error('threadlog count:', error);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
})();

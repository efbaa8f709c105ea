/* threadlog embed: <script src="https://host/embed.js" data-thread="key" async></script>
 *
 * Renders the comment section into a Shadow DOM right after the script tag (or into the element named by
 * data-target), talking to the server the script came from. Without data-thread the thread key is the page's
 * path with "/" written as "~" (other characters outside A-Z a-z 0-9 . _ ~ - become "-").
 * A classic script (it may be loaded async); the section itself is the same ES module the site's pages use.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, window.location.href).origin;
  var key = script.getAttribute('data-thread') ||
    (window.location.pathname.replace(/\//g, '~').replace(/[^A-Za-z0-9._~-]/g, '-').slice(0, 200) || '~');
  var editWindow = /*EDIT_WINDOW*/900;

  var target = script.getAttribute('data-target') && document.querySelector(script.getAttribute('data-target'));
  var host = document.createElement('div');
  host.className = 'threadlog-embed';
  host.setAttribute('data-thread', key);
  if (target) target.appendChild(host);
  else script.parentNode.insertBefore(host, script.nextSibling);

  var shadow = host.attachShadow({ mode: 'open' });
  var css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = origin + '/static/threadlog/comments.css';
  var mount = document.createElement('div');
  mount.textContent = 'Loading comments…';
  shadow.appendChild(css);
  shadow.appendChild(mount);

  import(origin + '/static/threadlog/comments.js').then(function (module) {
    host.threadlog = module.mountComments(mount, {
      thread: key,
      base: origin,
      editWindow: editWindow,
      title: script.getAttribute('data-title') || document.title,
    });
  }).catch(function (error) {
    mount.textContent = 'Comments could not be loaded.';
    if (window.console) console.error('threadlog embed:', error);
  });
})();

/* threadlog embed: <script src="https://host/embed.js" data-thread="key" async></script>
 *
 * Renders the comment section into a Shadow DOM right after the script tag (or into the element named by
 * data-target), talking to the server the script came from. Without data-thread the thread key is derived from
 * the page's path and query (threadkey.js, docs/import.md): a path alone with "/" written as "~" (other characters
 * outside A-Z a-z 0-9 . _ ~ - become "-"); a query too, injectively escaped ("/?p=4" -> "q.~.3Fp.3D4").
 * A classic script (it may be loaded async); the section itself is the same ES module the site's pages use.
 * Inline feedback (docs/inline-feedback.md): readers may comment on a passage of the element named by
 * data-article="#selector" (default: the nearest <article> before the script tag; none: the feature is off).
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, window.location.href).origin;
  var named = script.getAttribute('data-thread');
  var editWindow = /*EDIT_WINDOW*/900;

  var article = null;
  if (script.getAttribute('data-article')) {
    try {
      article = document.querySelector(script.getAttribute('data-article'));
    } catch (e) {
      article = null;
    }
  } else {
    var articles = document.getElementsByTagName('article');
    for (var i = 0; i < articles.length; i += 1) { // the last one that starts before the script (an ancestor too)
      if (articles[i].compareDocumentPosition(script) & Node.DOCUMENT_POSITION_FOLLOWING) article = articles[i];
    }
  }

  var target = script.getAttribute('data-target') && document.querySelector(script.getAttribute('data-target'));
  var host = document.createElement('div');
  host.className = 'threadlog-embed';
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

  Promise.all([
    import(origin + '/static/threadlog/comments.js'),
    named ? null : import(origin + '/static/threadlog/threadkey.js'),
  ]).then(function (modules) {
    var module = modules[0];
    var key = named || modules[1].threadKey(window.location);
    host.setAttribute('data-thread', key);
    host.threadlog = module.mountComments(mount, {
      thread: key,
      base: origin,
      editWindow: editWindow,
      title: script.getAttribute('data-title') || document.title,
      article: article,
    });
  }).catch(function (error) {
    mount.textContent = 'Comments could not be loaded.';
    if (window.console) console.error('threadlog embed:', error);
  });
})();

// Staff only (the page loads this module for staff): a "history" link on each comment of the reader's page,
// to its story on the audit workbench. It watches the comment list, so comments that arrive live get one too.

const LINK = 'tl-audit-history';

function decorate(root) {
  for (const li of root.querySelectorAll('.tl-c[data-id]')) {
    const actions = li.querySelector(':scope > .tl-box .tl-actions');
    if (!actions || actions.querySelector(`:scope > .${LINK}`)) continue;
    const a = document.createElement('a');
    a.className = `tl-link ${LINK}`;
    a.href = `/audit/comment/${encodeURIComponent(li.dataset.id)}`;
    a.textContent = 'history';
    a.title = 'This comment\'s history (audit)';
    const error = actions.querySelector(':scope > .tl-c-error');
    actions.insertBefore(a, error);
  }
}

const host = document.getElementById('comments');
if (host) {
  decorate(host);
  new MutationObserver(() => decorate(host)).observe(host, { childList: true, subtree: true });
}

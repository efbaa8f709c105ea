// The reader's page (/ and /t/<key>): mount the comment section where the template put its host element.
import { mountComments } from './comments.js';
import { articleBefore } from './inline-feedback.js';

const host = document.getElementById('comments');
if (host) {
  mountComments(host.querySelector('[data-mount]') || host, {
    thread: host.dataset.thread,
    editWindow: Number(host.dataset.editWindow),
    title: host.dataset.title || '',
    article: articleBefore(host), // inline feedback: the article before the comments
  });
}

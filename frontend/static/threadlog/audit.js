// The auditors' pages: a time-travel slider submits its form when moved (no inline handlers: the
// Content-Security-Policy forbids them).
for (const input of document.querySelectorAll('[data-submit-on-change]')) {
  input.addEventListener('change', () => input.form.submit());
}

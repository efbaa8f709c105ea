// The audit pages' few behaviours (they work without it; this only saves clicks):
// - the thread page: moving the slider travels there, ← / → step through the events (outside text fields);
// - any page: "Copy head hash" copies the chain head's hash to anchor it elsewhere.

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)
    && target.type !== 'range');
}

function travel(form) {
  const slider = form.querySelector('input[type=range]');
  if (!slider) return;
  const go = () => {
    const url = new URL(window.location.href);
    url.search = `?step=${encodeURIComponent(slider.value)}`;
    window.location.assign(url.toString());
  };
  slider.addEventListener('change', go);  // after a drag, a click, or a key press on the slider
  slider.addEventListener('input', () => {
    slider.setAttribute('aria-valuetext', `step ${slider.value} of ${slider.max}`);
  });
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    if (event.target === slider) return;  // the slider moves itself with the arrow keys
    const link = { ArrowLeft: 'prev', ArrowRight: 'next' }[event.key];
    const anchor = link && document.getElementById(link);
    if (anchor) {
      event.preventDefault();
      anchor.click();
    }
  });
}

async function copy(button) {
  const field = document.querySelector(button.dataset.copy);
  const status = button.parentElement.querySelector('.copied');
  if (!field) return;
  let done = false;
  try {
    await navigator.clipboard.writeText(field.value);
    done = true;
  } catch {
    field.focus();
    field.select();
    done = document.execCommand && document.execCommand('copy');
  }
  if (status) status.textContent = done ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
}

const form = document.getElementById('travel');
if (form) travel(form);
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', () => copy(button));
}

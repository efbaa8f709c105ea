// Writing comments in Markdown: the form's toolbar (bold, italic, quote, code, link; Ctrl/Cmd+B, I, K), its
// Write / Preview tabs (the preview is the server's own rendering: POST /api/preview), "Quote" on a comment, and
// the Markdown source of a shown comment (for quoting and editing), rebuilt from its sanitised HTML.

const SHORTCUTS = { b: 'bold', i: 'italic', k: 'link' };
const TOOLS = [
  ['bold', 'Bold', 'B', 'Ctrl+B'],
  ['italic', 'Italic', 'I', 'Ctrl+I'],
  ['quote', 'Insert quote', 'M6 17h3l2-4V7H5v6h3zm8 0h3l2-4V7h-6v6h3z', ''],
  ['code', 'Code', '</>', ''],
  ['link', 'Link', 'M10.6 13.4a1 1 0 0 1 0-1.4l3-3a1 1 0 1 1 1.4 1.4l-3 3a1 1 0 0 1-1.4 0zM7.8 19.1a3.9 3.9 0 0 1-2.9-6.6l2.3-2.3a1 1 0 0 1 1.4 1.4l-2.3 2.3a1.9 1.9 0 0 0 2.7 2.7l2.3-2.3a1 1 0 0 1 1.4 1.4l-2.3 2.3a3.9 3.9 0 0 1-2.6 1.1zm8-5.3a1 1 0 0 1-.7-1.7l2.3-2.3a1.9 1.9 0 0 0-2.7-2.7l-2.3 2.3a1 1 0 0 1-1.4-1.4l2.3-2.3a3.9 3.9 0 0 1 5.5 5.5l-2.3 2.3a1 1 0 0 1-.7.3z', 'Ctrl+K'],
];

/** A glyph, or an SVG icon when the "glyph" is a path (no emoji font is needed). */
function glyph(text) {
  if (!text.startsWith('M')) return document.createTextNode(text);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'tl-tool-icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', text);
  svg.append(path);
  return svg;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

/** Replace the textarea's selection with `text` (undoable where the browser allows), then select [from, to). */
function replaceSelection(textarea, text, from, to) {
  const start = textarea.selectionStart;
  textarea.focus();
  let done = false;
  try {
    done = document.execCommand && document.execCommand('insertText', false, text);
  } catch {
    done = false;
  }
  if (!done || textarea.value.slice(start, start + text.length) !== text) {
    textarea.setRangeText(text, start, textarea.selectionEnd, 'end');
  }
  textarea.setSelectionRange(start + from, start + to);
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
}

/** The Markdown one tool makes of `selected` text: [text, selection start, selection end] within it. */
export function applyTool(tool, selected) {
  const wrap = (mark, fallback) => {
    const inner = selected || fallback;
    return [`${mark}${inner}${mark}`, mark.length, mark.length + inner.length];
  };
  switch (tool) {
    case 'bold': return wrap('**', 'bold text');
    case 'italic': return wrap('*', 'italic text');
    case 'code':
      if (selected.includes('\n')) {
        const text = `\`\`\`\n${selected.replace(/\n$/, '')}\n\`\`\`\n`;
        return [text, 4, 4 + selected.replace(/\n$/, '').length];
      }
      return wrap('`', 'code');
    case 'quote': {
      const inner = selected || 'quoted text';
      const text = `${inner.split('\n').map((line) => `> ${line}`).join('\n')}\n\n`;
      return selected ? [text, text.length, text.length] : [text, 2, 2 + inner.length];
    }
    case 'link': {
      if (/^https?:\/\/\S+$/.test(selected)) return [`[link text](${selected})`, 1, 10];
      const label = selected || 'link text';
      const text = `[${label}](https://)`;
      return [text, label.length + 3, label.length + 11];
    }
    default: return [selected, 0, selected.length];
  }
}

export function runTool(textarea, tool) {
  const selected = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd);
  let [text, from, to] = applyTool(tool, selected);
  if (tool === 'quote' || (tool === 'code' && text.startsWith('```'))) {
    // block syntax starts on a line of its own
    const before = textarea.value.slice(0, textarea.selectionStart);
    const lead = before === '' || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
    text = lead + text;
    from += lead.length;
    to += lead.length;
  }
  replaceSelection(textarea, text, from, to);
}

// --- Markdown from the sanitised HTML of a comment -----------------------------------------------------

function escapeText(text) {
  return text.replace(/([\\`*_[\]<])/g, '\\$1').replace(/^(\s*)([-+>#]|\d+[.)])(?=\s)/gm, '$1\\$2');
}

function inline(node) {
  let out = '';
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out += escapeText(child.nodeValue);
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = child.tagName.toLowerCase();
    if (tag === 'br') out += '\n';
    else if (tag === 'strong' || tag === 'b') out += `**${inline(child)}**`;
    else if (tag === 'em' || tag === 'i') out += `*${inline(child)}*`;
    else if (tag === 'code') {
      const code = child.textContent;
      const ticks = code.includes('`') ? '``' : '`';
      out += `${ticks}${ticks.length > 1 ? ' ' : ''}${code}${ticks.length > 1 ? ' ' : ''}${ticks}`;
    } else if (tag === 'a') {
      const href = child.getAttribute('href') || '';
      const text = child.textContent;
      out += text === href ? href : `[${inline(child)}](${href})`;
    } else out += inline(child);
  }
  return out;
}

function blocks(node) {
  const parts = [];
  let loose = '';
  const flush = () => {
    if (loose.trim()) parts.push(loose.trim());
    loose = '';
  };
  for (const child of node.childNodes) {
    if (child.nodeType !== Node.ELEMENT_NODE) {
      if (child.nodeType === Node.TEXT_NODE) loose += escapeText(child.nodeValue);
      continue;
    }
    const tag = child.tagName.toLowerCase();
    if (tag === 'p') {
      flush();
      parts.push(inline(child));
    } else if (tag === 'blockquote') {
      flush();
      parts.push(blocks(child).split('\n').map((line) => (line ? `> ${line}` : '>')).join('\n'));
    } else if (tag === 'pre') {
      flush();
      parts.push(`\`\`\`\n${child.textContent.replace(/\n$/, '')}\n\`\`\``);
    } else if (tag === 'ul' || tag === 'ol') {
      flush();
      let n = Number(child.getAttribute('start') || 1);
      const items = [...child.children].filter((li) => li.tagName.toLowerCase() === 'li').map((li) => {
        const marker = tag === 'ol' ? `${n++}. ` : '- ';
        const body = li.querySelector(':scope > p, :scope > ul, :scope > ol, :scope > blockquote, :scope > pre')
          ? blocks(li) : inline(li);
        return marker + body.split('\n').join(`\n${' '.repeat(marker.length)}`);
      });
      parts.push(items.join('\n'));
    } else {
      loose += inline(child);
    }
  }
  flush();
  return parts.join('\n\n');
}

/** The Markdown that renders (about) as the element's sanitised HTML does. */
export function markdownOf(element) {
  return blocks(element);
}

/** What the editor starts with for a comment: its Markdown, or its text for a plain-text comment. */
export function editableSource(bodyElement, comment) {
  return comment.format === 'markdown' ? markdownOf(bodyElement) : bodyElement.innerText.trim();
}

// --- the form's toolbar and tabs ------------------------------------------------------------------------

export class Formatting {
  constructor(section) {
    this.section = section;
    this.textarea = section.bodyInput;
    this.seq = 0;
    const uid = section.uid;
    // Two pressed/unpressed buttons (not ARIA tabs: the sort tabs are the section's only tab list).
    this.writeTab = el('button', { type: 'button', class: 'tl-ctab', id: `${uid}-write`,
      'aria-pressed': 'true', 'aria-controls': this.textarea.id, text: 'Write' });
    this.previewTab = el('button', { type: 'button', class: 'tl-ctab', id: `${uid}-preview-tab`,
      'aria-pressed': 'false', 'aria-controls': `${uid}-preview`, text: 'Preview' });
    const tabs = el('div', { class: 'tl-ctabs', role: 'group', 'aria-label': 'Write or preview' },
      this.writeTab, this.previewTab);
    this.buttons = TOOLS.map(([tool, label, mark, keys]) => el('button', {
      type: 'button', class: `tl-tool tl-tool-${tool}`, 'data-tool': tool, title: keys ? `${label} (${keys})` : label,
      'aria-label': label, 'aria-keyshortcuts': keys ? keys.replace('Ctrl', 'Control') : null,
    }, glyph(mark)));
    this.toolbar = el('div', { class: 'tl-toolbar', role: 'toolbar', 'aria-label': 'Formatting',
      'aria-controls': this.textarea.id }, ...this.buttons);
    this.preview = el('div', { class: 'tl-preview tl-body', id: `${uid}-preview`, role: 'region',
      'aria-label': 'Preview', 'aria-live': 'polite', hidden: true });
    this.hint = el('p', { class: 'tl-format-hint', text: '**bold**  *italic*  > quote  `code`  [link](https://…)' });
    this.bar = el('div', { class: 'tl-compose-bar' }, tabs, this.toolbar);
    this.textarea.before(this.bar);
    this.textarea.after(this.preview, this.hint);

    this.toolbar.addEventListener('click', (e) => {
      const button = e.target.closest('[data-tool]');
      if (!button) return;
      if (this.previewing) this.write();
      runTool(this.textarea, button.dataset.tool);
    });
    this.toolbar.addEventListener('keydown', (e) => this.rovingFocus(e, this.buttons));
    this.textarea.addEventListener('keydown', (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      const tool = SHORTCUTS[e.key.toLowerCase()];
      if (!tool) return;
      e.preventDefault();
      runTool(this.textarea, tool);
    });
    this.writeTab.addEventListener('click', () => this.write(true));
    this.previewTab.addEventListener('click', () => this.showPreview());
    for (const [i, button] of this.buttons.entries()) button.tabIndex = i === 0 ? 0 : -1;
  }

  get previewing() {
    return !this.preview.hidden;
  }

  rovingFocus(event, items) {
    const i = items.indexOf(event.target);
    if (i < 0) return;
    const next = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: items.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const target = items[(next + items.length) % items.length];
    for (const item of items) item.tabIndex = item === target ? 0 : -1;
    target.focus();
  }

  select(previewing) {
    this.writeTab.setAttribute('aria-pressed', String(!previewing));
    this.previewTab.setAttribute('aria-pressed', String(previewing));
    this.textarea.hidden = previewing;
    this.preview.hidden = !previewing;
    for (const button of this.buttons) button.disabled = previewing;
  }

  write(focus = false) {
    this.seq += 1;
    this.select(false);
    if (focus) this.textarea.focus();
  }

  async showPreview() {
    const seq = (this.seq += 1);
    this.select(true);
    const body = this.textarea.value;
    if (!body.trim()) {
      this.preview.replaceChildren(el('p', { class: 'tl-note', text: 'Nothing to preview yet.' }));
      return;
    }
    this.preview.replaceChildren(el('p', { class: 'tl-note', text: 'Loading preview…' }));
    this.preview.style.minHeight = `${this.textarea.offsetHeight || 0}px`;
    try {
      const result = await this.section.api.request('POST', '/api/preview', { body, format: 'markdown' });
      if (seq !== this.seq) return;
      this.preview.innerHTML = result.body_html; // sanitised by the server, as every comment's body_html
    } catch (err) {
      if (seq !== this.seq) return;
      this.preview.replaceChildren(el('p', { class: 'tl-error', text: `Preview failed: ${err.message}` }));
    }
  }

  /** After a post: back to an empty Write tab. */
  reset() {
    this.write(false);
    this.preview.replaceChildren();
  }

  /** "Quote": the comment's text as a Markdown quote at the end of what is being written. */
  quote(bodyElement) {
    const source = markdownOf(bodyElement).trim();
    if (!source) return;
    const quoted = source.split('\n').map((line) => (line ? `> ${line}` : '>')).join('\n');
    const current = this.textarea.value.replace(/\s+$/, '');
    this.write(false);
    this.textarea.value = `${current ? `${current}\n\n` : ''}${quoted}\n\n`;
    this.textarea.focus();
    this.textarea.setSelectionRange(this.textarea.value.length, this.textarea.value.length);
    this.textarea.dispatchEvent(new Event('input', { bubbles: true }));
    const form = this.textarea.closest('form');
    if (form && form.scrollIntoView) form.scrollIntoView({ block: 'nearest' });
  }
}

export function attachFormatting(section) {
  return new Formatting(section);
}

// Markdown for answers: marked renders, highlight.js colours code blocks,
// DOMPurify sanitizes the HTML before it touches the page. Model output is
// untrusted: no raw HTML survives but the tags DOMPurify allows, no style
// attributes, no forms; links open outside with no referrer.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import go from 'highlight.js/lib/languages/go';
import xml from 'highlight.js/lib/languages/xml';
import sql from 'highlight.js/lib/languages/sql';
import yaml from 'highlight.js/lib/languages/yaml';

for (const [name, lang] of Object.entries({ bash, c, cpp, javascript, json, python, rust, go, xml, sql, yaml })) {
  hljs.registerLanguage(name, lang);
}

const esc = (s) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    code({ text, lang }) {
      const l = (lang || '').split(/\s/)[0];
      const html = l && hljs.getLanguage(l) ? hljs.highlight(text, { language: l }).value : esc(text);
      return `<pre><code class="hljs${l ? ` language-${esc(l)}` : ''}">${html}</code></pre>`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

export function renderMarkdown(text) {
  return DOMPurify.sanitize(marked.parse(text || ''), {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'img'],
    FORBID_ATTR: ['style'],
  });
}

// Splits "<think>…</think>rest" as a reasoning model writes it when the
// server was not asked to separate it; an unclosed <think> is all thinking.
export function splitThink(text) {
  const m = /^\s*<think>([\s\S]*?)(<\/think>|$)([\s\S]*)$/.exec(text || '');
  if (!m) return { thinking: '', content: text || '' };
  return { thinking: m[1].trim(), content: m[3].replace(/^\s+/, ''), open: m[2] === '' };
}

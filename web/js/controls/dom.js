// Small DOM helpers shared by the panels.

/** Creates an element: h('button', {class: 'x', onclick}, 'text', child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The label of a vocabulary term in the current language (the id if unknown). */
export function termLabel(vocab, id, lang) {
  const term = vocab && vocab.terms.find((t) => t.id === id);
  return term ? term[lang] : id;
}

/** A feature's name in the current language, falling back to the other one, then the id. */
export function featureName(f, lang) {
  const p = f.properties || {};
  return (lang === 'zh' ? p.name_zh || p.name_en : p.name_en || p.name_zh) || p.name || p.NAME || String(f.id);
}

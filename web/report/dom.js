// @ts-check
// Elements built from data with textContent only (never innerHTML): nothing the API returns is ever parsed
// as markup, so a revision or reason cannot inject anything into the page.

/**
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attributes]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/**
 * A table with a caption, header cells with scope, and rows of cells (a cell may be a node).
 * @param {string} caption
 * @param {string[]} head
 * @param {Array<Array<Node | string>>} rows
 * @param {string} [className]
 */
export function table(caption, head, rows, className = 'data') {
  return h(
    'table',
    { class: className },
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, ...head.map((title) => h('th', { scope: 'col', text: title })))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => h('td', {}, cell))))),
  );
}

/** @param {string} verdict */
export function badge(verdict) {
  return h('span', { class: `badge badge-${verdict}`, 'data-verdict': verdict, text: verdict.toUpperCase() });
}

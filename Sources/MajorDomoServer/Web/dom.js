// Small helpers for building the page: elements, times, ANSI colours, first errors.

/** An element: h('tr', {class: 'task', dataset: {task: 'x'}}, child, 'text', ...). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `element` holds. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** "1 cycle", "3 cycles". */
export function count(number, noun) {
  return `${number} ${noun}${number === 1 ? '' : 's'}`;
}

/** "0.83 s", "2 min 5 s". */
export function seconds(value) {
  if (value === undefined || value === null) return '';
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** A time of day from seconds since the epoch. */
export function clock(epoch) {
  if (!epoch) return '';
  return new Date(epoch * 1000).toLocaleTimeString();
}

const colours = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/**
 * One line of a log with its ANSI SGR codes (colours, bold) as spans; every other escape
 * sequence dropped. Text is never parsed as HTML.
 */
export function ansiLine(text) {
  const line = h('span');
  let style = { fg: null, bg: null, bold: false, underline: false };
  const pattern = /\x1b\[([0-9;]*)([A-Za-z])/g;
  let last = 0;
  const flush = (part) => {
    if (!part) return;
    const classes = [];
    if (style.fg) classes.push(`ansi-fg-${style.fg}`);
    if (style.bg) classes.push(`ansi-bg-${style.bg}`);
    if (style.bold) classes.push('ansi-bold');
    if (style.underline) classes.push('ansi-underline');
    line.append(classes.length ? h('span', { class: classes.join(' ') }, part) : document.createTextNode(part));
  };
  for (let match; (match = pattern.exec(text));) {
    flush(text.slice(last, match.index));
    last = pattern.lastIndex;
    if (match[2] !== 'm') continue;
    const codes = match[1] === '' ? [0] : match[1].split(';').map(Number);
    for (const code of codes) {
      if (code === 0) style = { fg: null, bg: null, bold: false, underline: false };
      else if (code === 1) style.bold = true;
      else if (code === 4) style.underline = true;
      else if (code === 22) style.bold = false;
      else if (code === 24) style.underline = false;
      else if (code >= 30 && code <= 37) style.fg = colours[code - 30];
      else if (code >= 90 && code <= 97) style.fg = 'bright-' + colours[code - 90];
      else if (code === 39) style.fg = null;
      else if (code >= 40 && code <= 47) style.bg = colours[code - 40];
      else if (code === 49) style.bg = null;
    }
  }
  flush(text.slice(last).replace(/\x1b[^a-zA-Z]*[a-zA-Z]?/g, ''));
  return line;
}

const errorPatterns = [
  /^! /, // TeX: "! Undefined control sequence."
  /^[^:\s]+:\d+: /, // TeX -file-line-error, make
  /:\d+(:\d+)?: (fatal )?error:/i, // gcc, clang
  /\b(error|fatal|failed)\b/i,
];

/** Whether a log line (colours removed) reads as an error. */
export function isErrorLine(text) {
  const plain = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  return errorPatterns.some((pattern) => pattern.test(plain));
}

// HTML building blocks for the console: every interpolated value is escaped unless it is already
// `Safe` (produced by `h` or an explicit, reviewed `trusted()` call). One escape covers text and
// double-quoted attribute values alike.

export class Safe {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const ESC_TEST = /[&<>"']/;
const ESC_ALL = /[&<>"']/g;

export function esc(s: unknown): string {
  const str = s === null || s === undefined ? '' : String(s);
  return ESC_TEST.test(str) ? str.replace(ESC_ALL, (c) => ESC[c]) : str;
}

/** Marks markup produced elsewhere (markdown renderer, static strings) as safe. */
export function trusted(s: string): Safe {
  return new Safe(s);
}

function part(v: unknown): string {
  if (v instanceof Safe) return v.value;
  if (v === null || v === undefined || v === false || v === true) return '';
  if (Array.isArray(v)) {
    let out = '';
    for (const x of v) out += part(x);
    return out;
  }
  return esc(v);
}

/** Tagged template: `h\`<b>${text}</b>\`` escapes `text`; nested `h` results and arrays pass through. */
export function h(strings: TemplateStringsArray, ...vals: unknown[]): Safe {
  let out = strings[0];
  for (let i = 0; i < vals.length; i++) out += part(vals[i]) + strings[i + 1];
  return new Safe(out);
}

export function join(items: readonly unknown[], sep: Safe | string = ''): Safe {
  const s = sep instanceof Safe ? sep.value : esc(sep);
  return new Safe(items.map(part).join(s));
}

const SAFE_SCHEME = /^(https?:|mailto:)/i;

/**
 * A URL that may go into href: http(s)/mailto, or a same-origin path ("/…", not "//…").
 * Anything else (javascript:, data:, protocol-relative…) yields null.
 */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  const u = url.trim();
  if (SAFE_SCHEME.test(u)) return u;
  if (u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\')) return u;
  return null;
}

/** `<a href>` when the URL is safe, else the plain (escaped) text. */
export function link(url: string | null | undefined, text: unknown, cls = ''): Safe {
  const href = safeHref(url);
  if (!href) return cls ? new Safe(`<span class="${esc(cls)}">${part(text)}</span>`) : new Safe(part(text));
  return new Safe(`<a href="${esc(href)}"${cls ? ` class="${esc(cls)}"` : ''}>${part(text)}</a>`);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;

/** Plain text with http(s) URLs turned into links (override reasons, messages). */
export function linkify(text: string): Safe {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    out += esc(text.slice(last, m.index));
    out += `<a href="${esc(m[0])}" rel="noopener noreferrer">${esc(m[0])}</a>`;
    last = (m.index ?? 0) + m[0].length;
  }
  out += esc(text.slice(last));
  return new Safe(out);
}

/** Path segment for links built from user-controlled names. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

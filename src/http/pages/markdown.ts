// Stream messages are markdown written by config authors; upstream injected them as raw HTML
// (DESIGN.md §13 item 15). Here: no raw HTML, links only to http/https/mailto, no images.
import MarkdownIt from 'markdown-it';
import { trusted, type Safe } from './html.ts';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
md.disable(['image']);
md.validateLink = (url: string) => /^(https?:|mailto:)/i.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

const cache = new Map<string, Safe>();

/** Renders markdown to safe HTML (cached: messages are few and rarely change). */
export function renderMarkdown(src: string): Safe {
  let out = cache.get(src);
  if (!out) {
    if (cache.size > 500) cache.clear();
    out = trusted(md.render(src));
    cache.set(src, out);
  }
  return out;
}

/** Single-line variant (no wrapping paragraph) for short texts. */
export function renderMarkdownInline(src: string): Safe {
  return trusted(md.renderInline(src));
}

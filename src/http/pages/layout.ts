// The common page frame: header with sign-in box and live indicator, main, action dialog, footer.
import type { ConfigFileProblem } from '../../controller/operations.ts';
import { h, type Safe } from './html.ts';

export interface PageContext {
  /** overview | stream | release | notfound */
  page: string;
  stream?: string;
  tag?: string;
  /** extra data-* attributes for the body (already known keys only) */
  pageNumber?: number;
  filtered?: boolean;
}

export const STATIC_VERSION = '2';

export function layout(title: string, ctx: PageContext, body: Safe): string {
  const attrs = h`data-page="${ctx.page}"${ctx.stream !== undefined ? h` data-stream="${ctx.stream}"` : ''}${ctx.tag !== undefined ? h` data-tag="${ctx.tag}"` : ''}${ctx.pageNumber !== undefined ? h` data-page-number="${ctx.pageNumber}"` : ''}${ctx.filtered ? h` data-filtered="1"` : ''}`;
  return (
    '<!doctype html>\n' +
    h`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/static/console.css?v=${STATIC_VERSION}">
<script src="/static/console.js?v=${STATIC_VERSION}" defer></script>
</head>
<body ${attrs}>
<header class="topbar">
<a class="brand" href="/">Release Status</a>
<nav aria-label="Site"><a href="/">Index</a><a href="/dashboards/overview">Dashboard</a><a href="/dashboards/compare">Compare</a><a href="/api/v1/releasestreams/all">API</a></nav>
<span class="live" id="live" role="status" data-state="closed" hidden>live updates</span>
<form class="auth" id="signin" hidden><label class="sr-only" for="token">API token</label><input type="password" id="token" name="token" autocomplete="off" placeholder="API token" required><button type="submit">Sign in</button></form>
<span class="auth" id="signedin" hidden><span id="signedin-text">Signed in</span> <button type="button" id="signout">Sign out</button></span>
</header>
<main id="main">
${body}
</main>
<dialog id="action-dialog" aria-labelledby="action-title">
<form method="dialog" id="action-form">
<h2 id="action-title">Action</h2>
<p id="action-desc" class="section-note"></p>
<label for="action-reason">Reason (required, recorded in the audit trail)</label>
<textarea id="action-reason" name="reason" required></textarea>
<div id="action-error" class="error" role="alert"></div>
<menu><button type="button" class="btn" id="action-cancel">Cancel</button><button type="submit" class="btn primary" id="action-submit">Submit</button></menu>
</form>
</dialog>
<footer>release-controller console · times in UTC · <a href="/api/v1/events">event feed</a></footer>
</body></html>
`.value
  );
}

const KIND_LABEL: Record<ConfigFileProblem['kind'], string> = { releases: 'Release config', jobs: 'Jobs file', tokens: 'Tokens file', notify: 'Notify file', qualifiers: 'Qualifiers file', prowJobs: 'Prow job config' };

/**
 * The banner for files that failed to (re)load: file, errors and whether the last good version
 * still runs. Empty when there are none. Every value is escaped (file names and parser messages
 * quote what the file contains).
 */
export function configProblemsBanner(problems: readonly ConfigFileProblem[]): Safe {
  if (!problems.length) return h``;
  const items = problems.map(
    (p) =>
      h`<li data-config-file="${p.file}" data-config-kind="${p.kind}"><strong>${KIND_LABEL[p.kind]} <code>${p.file}</code></strong>${p.stream ? h` (stream ${p.stream})` : ''}: ${
        p.keptRunning ? 'failed to load; the last good version is still running.' : 'failed to load; it is not loaded.'
      }<ul class="config-errors">${p.errors.map((e) => h`<li><code>${e}</code></li>`)}</ul></li>`,
  );
  return h`<div class="box danger config-problems" role="alert"><strong>Configuration errors</strong><ul>${items}</ul></div>`;
}

export function notFoundPage(message: string): string {
  return layout(
    'Not found',
    { page: 'notfound' },
    h`<div class="card notfound"><h1>404 — not found</h1><p>${message}</p><p><a href="/">Back to index</a></p></div>`,
  );
}

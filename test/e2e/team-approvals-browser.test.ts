// Team approvals end to end (issue 16 item 6): the real CLI verbs `approve` / `disapprove` against
// the app on the real Controller and a seeded SQLite store (a team-role token, admin, refusals and
// exit codes), then the "Team approvals" column of the stream page and the release page's section
// in a real browser (Debian chromium via playwright-core), with a hostile reason kept as text.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Controller } from '../../src/controller/controller.ts';
import { buildApp } from '../../src/http/app.ts';
import type { TokenEntry } from '../../src/http/auth.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { NIGHTLY, T, seededController } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { BIN } from '../helpers/serve-proc.ts';

const TOKENS: TokenEntry[] = [
  { user: 'alice-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] },
  { user: 'terry-trt', token: 'trt-token-0123456789abcdef', roles: ['trt'] },
];
const [ADMIN, TRT] = TOKENS.map((t) => t.token);
const HOSTILE = `<img src=x onerror="alert('reason')"> perf regressed`;

test('team approvals: CLI approve/disapprove, the stream page column and the release page section', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-approvals-e2e-');
  let store: Store | undefined;
  let controller: Controller | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    ({ controller, store } = await seededController(dir));
    app = await buildApp({ ops: controller, tokens: TOKENS, logger: false, registerPages: createPages(controller) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    // asynchronous: the server answering the CLI runs in this process
    const cli = (args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RELEASE_CONTROLLER_SERVER: base } }, (e, out, err) =>
          resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
        );
      });

    let r = await cli(['approve', NIGHTLY, T(6), '--team', 'TRT', '--reason', 'dashboards green', '--token', TRT]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `${T(6)}: Accepted by team trt`, 'the team name is lowercased, as upstream’s release-tool');
    r = await cli(['approve', NIGHTLY, T(6), '--team', 'trt', '--reason', 'again', '--token', TRT]);
    assert.equal(r.code, 1, 'same state again: refused');
    assert.match(r.err, /server answered 409: .*already Accepted by team trt/);
    r = await cli(['disapprove', NIGHTLY, T(1), '--team', 'perf', '--reason', 'x', '--token', TRT]);
    assert.equal(r.code, 4, 'a trt token cannot speak for perf');
    assert.match(r.err, /server answered 403: user terry-trt lacks a required role \(admin or perf\)/);
    r = await cli(['approve', NIGHTLY, T(6), '--team', 'qe', '--reason', 'x', '--token', ADMIN]);
    assert.equal(r.code, 1);
    assert.match(r.err, /server answered 400: .*QE verdict/);
    r = await cli(['approve', NIGHTLY, 'no-such-tag', '--team', 'trt', '--reason', 'x', '--token', TRT]);
    assert.equal(r.code, 5);
    r = await cli(['approve', NIGHTLY, T(6), '--team', 'trt', '--reason', ' ', '--token', TRT]);
    assert.equal(r.code, 2, 'an empty --reason: usage');
    assert.match(r.err, /--reason is required/);
    r = await cli(['disapprove', NIGHTLY, T(1), '--team', 'perf', '--reason', HOSTILE, '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `${T(1)}: Rejected by team perf`);
    await controller.idle();

    browser = await launchBrowser();
    const dialogs: string[] = [];
    const errors: string[] = [];
    const page = watchPage(await browser.newPage({ viewport: { width: 1500, height: 900 } }), dialogs, errors);

    // --- stream page: the column ---
    await page.goto(`${base}/releasestream/${NIGHTLY}`);
    await page.waitForSelector('table#tags th.approvals');
    const headers = await page.$$eval('table#tags thead th', (ths) => ths.map((t) => t.textContent!.trim()));
    assert.equal(headers[headers.indexOf('QE') + 1], 'Team approvals', 'right after the QE column');
    const cells = await page.$$eval('table#tags tbody tr', (trs) =>
      trs.map((tr) => ({
        tag: tr.getAttribute('data-tag'),
        labels: Array.from(tr.querySelectorAll('td.approvals [data-team]')).map((l) => `${l.textContent!.trim()} ${l.getAttribute('data-team-state')} ${getComputedStyle(l).backgroundColor}`),
        text: tr.querySelector('td.approvals')!.textContent!.trim(),
      })),
    );
    const of = (tag: string) => cells.find((c) => c.tag === tag)!;
    const GREEN = 'rgb(218, 251, 225)';
    const RED = 'rgb(255, 235, 233)';
    assert.deepEqual(of(T(6)).labels, [`✓ TRT Accepted ${GREEN}`]);
    assert.deepEqual(of(T(1)).labels, [`✓ QE Accepted ${GREEN}`, `✗ PERF Rejected ${RED}`], 'accepted first; qe from the QE verdict');
    assert.deepEqual(of(T(4)).labels, [`✓ QE Accepted ${GREEN}`]);
    assert.deepEqual(of(T(3)).labels, [`✗ QE Rejected ${RED}`], 'QE rejected is the qe team’s rejection');
    assert.equal(of(T(2)).text, '—', 'no approvals');
    await page.screenshot({ path: join(SHOTS, 'team-approvals-stream.png'), fullPage: true });

    // --- release page: the section, with who and why; the hostile reason is text ---
    await page.goto(`${base}/releasestream/${NIGHTLY}/release/${T(1)}`);
    await page.waitForSelector('section#approvals');
    const rows = await page.$$eval('section#approvals tbody tr', (trs) => trs.map((tr) => Array.from(tr.children).map((c) => c.textContent!.replace(/\s+/g, ' ').trim())));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0].slice(0, 2), ['PERF', '✗ Rejected']);
    assert.match(rows[0][2], /^alice-admin: <img src=x onerror="alert\('reason'\)"> perf regressed/);
    assert.deepEqual(rows[1].slice(0, 2), ['QE', '✓ Accepted']);
    assert.match(rows[1][2], /QE verdict/);
    assert.equal(await page.locator('section#approvals img').count(), 0, 'the reason is not markup');
    await page.goto(`${base}/releasestream/${NIGHTLY}/release/${T(2)}`);
    assert.equal((await page.locator('section#approvals p.muted').first().textContent())?.trim(), 'None.');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await app?.close();
    await controller?.stop();
    await store?.close();
    cleanup(dir);
  }
});

// Table test: which audit events are announced, as which notification type (domain/notifications.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloudEvent, notificationId, notificationType, slackEscape } from '../../src/domain/notifications.ts';

const rows: [string, string, Record<string, unknown>, string | null, string?][] = [
  ['created', 'PayloadCreated', { phase: 'Pending' }, 'PayloadCreated'],
  ['ready', 'PhaseChanged', { phase: 'Ready', previous: 'Pending' }, 'PayloadReady'],
  ['ready again after a retry of a rejected payload', 'PhaseChanged', { phase: 'Ready', previous: 'Rejected' }, 'PayloadReady'],
  ['accepted', 'PhaseChanged', { phase: 'Accepted' }, 'PayloadAccepted'],
  ['rejected', 'PhaseChanged', { phase: 'Rejected' }, 'PayloadRejected'],
  ['failed', 'PhaseChanged', { phase: 'Failed' }, 'PayloadFailed'],
  ['a phase change to Pending is not announced', 'PhaseChanged', { phase: 'Pending' }, null],
  ['QE started', 'QEStateChanged', { qePhase: 'QERunning', previous: 'QEPending' }, 'QEStarted'],
  ['QE still running (a rerun generation) is not a second start', 'QEStateChanged', { qePhase: 'QERunning', previous: 'QERunning' }, null],
  ['QE accepted', 'QEStateChanged', { qePhase: 'QEAccepted' }, 'QEAccepted'],
  ['QE rejected by the time limit', 'QEStateChanged', { qePhase: 'QERejected', reason: 'QETimeout' }, 'QERejected'],
  ['QE pending is not announced', 'QEStateChanged', { qePhase: 'QEPending' }, null],
  ['QE skipped is not announced', 'QEStateChanged', { qePhase: 'QESkipped' }, null],
  ['phase override', 'PhaseOverridden', { phase: 'Accepted' }, 'PayloadOverridden'],
  ['QE override', 'QEVerdictOverridden', { qePhase: 'QERejected' }, 'QEOverridden'],
  ['QE rerun', 'QERerun', {}, 'QERerun'],
  ['job retry', 'JobRetryRequested', { verifyName: 'e2e' }, 'JobRetried'],
  ['waiver', 'JobWaived', { verifyName: 'upgrade' }, 'JobWaived'],
  ['job launches are not announced', 'JobLaunched', {}, null],
  ['job results are not announced', 'JobStateChanged', { state: 'Failed' }, null],
  ['stream-level events name no payload', 'InputUpdated', {}, null, ''],
  ['garbage collection is not announced', 'PayloadDeleted', {}, null],
];

for (const [name, type, data, want, tag] of rows) {
  test(`notificationType: ${name}`, () => assert.equal(notificationType({ type, data, tag: tag ?? 's-1' }), want));
}

test('cloudEvent: stable id from event and webhook, source per stream, escaped path segments', () => {
  const e = { id: 42, at: '2026-01-02T03:04:05Z', stream: 'a/b c', tag: 't?1', type: 'PhaseChanged', actor: 'controller', message: 'm', data: { phase: 'Accepted' } };
  const ce = cloudEvent('art', 'PayloadAccepted', e, { baseUrl: 'https://rc.example' });
  assert.equal(ce.id, notificationId('art', 42));
  assert.equal(ce.id, '42.art');
  assert.equal(ce.source, 'https://rc.example/releasestream/a%2Fb%20c');
  assert.equal(ce.data.links.release, 'https://rc.example/releasestream/a%2Fb%20c/release/t%3F1');
  assert.deepEqual(cloudEvent('art', 'PayloadAccepted', e, { baseUrl: 'https://rc.example' }), ce, 'the same input gives the same event');
  assert.equal(slackEscape('<a href="x">&</a>'), '&lt;a href="x"&gt;&amp;&lt;/a&gt;');
});

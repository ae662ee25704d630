// The CLI's display of a tag's QE phase: a QE acceptance counts only while the payload is Accepted
// (DESIGN §14), so `status`/`latest` never print a bare QEAccepted for a Rejected or Ready payload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { qeShown } from '../../src/cli/client.ts';

test('qeShown: QEAccepted only while Accepted; other QE phases as they are', () => {
  assert.equal(qeShown({ phase: 'Accepted', qePhase: 'QEAccepted' }, false), 'QEAccepted');
  assert.equal(qeShown({ phase: 'Rejected', qePhase: 'QEAccepted' }, false), 'QEAccepted (void)');
  assert.equal(qeShown({ phase: 'Ready', qePhase: 'QEAccepted' }, false), 'QEAccepted (void)');
  assert.equal(qeShown({ phase: 'Rejected', qePhase: 'QESkipped' }, false), 'QESkipped');
  assert.equal(qeShown({ phase: 'Ready' }, false), '');
  assert.equal(qeShown({ phase: 'Accepted', qePhase: 'QEAccepted' }, true), '\x1b[32mQEAccepted\x1b[0m');
  assert.equal(qeShown({ phase: 'Rejected', qePhase: 'QEAccepted' }, true), '\x1b[90mQEAccepted (void)\x1b[0m');
});

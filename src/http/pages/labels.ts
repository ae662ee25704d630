// Phase, QE and job-state labels: text + icon + colour, so colour is never the only signal.
// Colours are checked against WCAG AA (4.5:1) by test/unit/console-render.test.ts.
import { isQEAccepted } from '../../domain/judging.ts';
import { own } from '../../domain/own.ts';
import type { Payload } from '../../domain/types.ts';
import { h, type Safe } from './html.ts';

export interface LabelStyle {
  /** CSS class suffix */
  cls: string;
  text: string;
  icon: string;
  fg: string;
  bg: string;
  border: string;
}

export const PHASE_LABELS: Record<string, LabelStyle> = {
  Pending: { cls: 'pending', text: 'Pending', icon: '○', fg: '#24292f', bg: '#eaeef2', border: '#afb8c1' },
  Ready: { cls: 'ready', text: 'Ready', icon: '◐', fg: '#ffffff', bg: '#0550ae', border: '#0550ae' },
  Accepted: { cls: 'accepted', text: 'Accepted', icon: '✓', fg: '#ffffff', bg: '#1a7f37', border: '#1a7f37' },
  Rejected: { cls: 'rejected', text: 'Rejected', icon: '✗', fg: '#ffffff', bg: '#cf222e', border: '#cf222e' },
  Failed: { cls: 'failed', text: 'Failed', icon: '⚠', fg: '#ffffff', bg: '#6e1423', border: '#6e1423' },
  Unknown: { cls: 'unknown', text: 'Unknown', icon: '?', fg: '#ffffff', bg: '#57606a', border: '#57606a' },
};

export const QE_LABELS: Record<string, LabelStyle> = {
  QEPending: { cls: 'pending', text: 'QE Pending', icon: '○', fg: '#6b4600', bg: '#fff8c5', border: '#d4a72c' },
  QERunning: { cls: 'running', text: 'QE Running', icon: '▶', fg: '#0550ae', bg: '#ddf4ff', border: '#54aeff' },
  QEAccepted: { cls: 'accepted', text: 'QE Accepted', icon: '✓', fg: '#116329', bg: '#dafbe1', border: '#4ac26b' },
  QERejected: { cls: 'rejected', text: 'QE Rejected', icon: '✗', fg: '#a40e26', bg: '#ffebe9', border: '#ff8182' },
  QESkipped: { cls: 'skipped', text: 'QE Skipped', icon: '⊘', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
};

/** Job (verify entry / run) states. */
export const JOB_LABELS: Record<string, LabelStyle> = {
  Succeeded: { cls: 'succeeded', text: 'Succeeded', icon: '✓', fg: '#116329', bg: '#dafbe1', border: '#4ac26b' },
  Failed: { cls: 'failed', text: 'Failed', icon: '✗', fg: '#a40e26', bg: '#ffebe9', border: '#ff8182' },
  Pending: { cls: 'pending', text: 'Running', icon: '▶', fg: '#0550ae', bg: '#ddf4ff', border: '#54aeff' },
  Retrying: { cls: 'retrying', text: 'Retry scheduled', icon: '↻', fg: '#6b4600', bg: '#fff8c5', border: '#d4a72c' },
  Aborted: { cls: 'aborted', text: 'Aborted', icon: '■', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
  NotStarted: { cls: 'notstarted', text: 'Not started', icon: '○', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
  Skipped: { cls: 'skipped', text: 'Not run', icon: '⊘', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
  /** stopped by the controller's shutdown or a lost executor: not an attempt, relaunched */
  Interrupted: { cls: 'interrupted', text: 'Interrupted', icon: '‖', fg: '#6639ba', bg: '#fbefff', border: '#c297ff' },
  /** marked passed by a person (it could not run) */
  Waived: { cls: 'waived', text: 'Waived', icon: '⚑', fg: '#116329', bg: '#ffffff', border: '#4ac26b' },
  /** cannot run and does not gate (no upgrade source on a stream's first payloads) */
  NotRun: { cls: 'notrun', text: 'Not run', icon: '⊘', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
  /** cannot run yet (no upgrade source): holds the payload in Ready */
  Waiting: { cls: 'waiting', text: 'Waiting', icon: '⧗', fg: '#953800', bg: '#fff1e5', border: '#fb8f44' },
  /** removed or disabled in the stream config after the payload was created */
  Removed: { cls: 'removed', text: 'Removed', icon: '⊖', fg: '#424a53', bg: '#f6f8fa', border: '#afb8c1' },
};

function labelHtml(kind: 'phase' | 'qe' | 'job', attr: Safe, style: LabelStyle, title: string, extra = ''): Safe {
  return h`<span class="label ${kind}-${style.cls}" ${attr}${title ? h` title="${title}"` : ''}><span class="icon" aria-hidden="true">${style.icon}</span> ${style.text}${extra}</span>`;
}

/** Phase label; an overridden phase gets a trailing `*` and the override reason as tooltip (as upstream). */
export function phaseLabel(p: Pick<Payload, 'phase' | 'override'> | undefined): Safe {
  const phase = p?.phase ?? 'Unknown';
  const style = own(PHASE_LABELS, phase) ?? PHASE_LABELS.Unknown;
  const ov = p?.override;
  const title = ov ? `Manually ${ov.phase} by ${ov.user}: ${ov.reason}` : '';
  return labelHtml('phase', h`data-phase="${phase}"`, style, title, ov ? '*' : '');
}

/**
 * QE label; an empty state renders an empty placeholder so live updates can fill it in. A QE
 * acceptance of a payload that is not (or no longer) CI Accepted is not in force (DESIGN §14):
 * it is shown greyed as "QE Accepted (void)", never as QE accepted.
 */
export function qeLabel(p: Pick<Payload, 'qe'> & { phase?: Payload['phase'] }): Safe {
  const st = p.qe.state;
  if (!st) return h`<span class="label-slot" data-qe=""></span>`;
  const ov = p.qe.override;
  // isQEAccepted reads only phase and qe.state; without a phase (a bare QE status) it is not judged
  if (st === 'QEAccepted' && p.phase !== undefined && !isQEAccepted(p as Payload)) {
    const style: LabelStyle = { ...QE_LABELS.QESkipped, text: 'QE Accepted (void)' };
    const why = `QE accepted${ov ? ` by ${ov.user}` : ''}, but the payload is ${p.phase}: it counts as QE accepted only while Accepted`;
    return labelHtml('qe', h`data-qe="${st}" data-qe-void=""`, style, why, ov ? '*' : '');
  }
  const style = own(QE_LABELS, st) ?? PHASE_LABELS.Unknown;
  const title = ov ? `QE verdict set by ${ov.user}: ${ov.reason}` : [p.qe.reason, p.qe.message].filter(Boolean).join(': ');
  return labelHtml('qe', h`data-qe="${st}"`, style, title, ov ? '*' : '');
}

export function jobLabel(state: keyof typeof JOB_LABELS | string, title = ''): Safe {
  const style = own(JOB_LABELS, state) ?? JOB_LABELS.NotStarted;
  return labelHtml('job', h`data-job-state="${state}"`, style, title);
}

/** WCAG relative luminance of a #rrggbb colour. */
export function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

export function contrastRatio(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

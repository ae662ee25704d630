// What a notification says (issue 19), as pure functions: which audit events are worth telling a
// webhook about (notificationType), and the bodies sent for them — CloudEvents 1.0 structured JSON
// (cloudEvent) or a Slack incoming-webhook message (slackMessage). Delivery (HTTP, retries, the
// outbox cursor) is in adapters/notify; this file decides nothing about time or I/O.
//
// Event → notification type (the names a notify file's `events:` lists):
//   PayloadCreated                          → PayloadCreated   release-controller.payload.created
//   PhaseChanged phase=Ready                → PayloadReady     release-controller.payload.ready
//   PhaseChanged phase=Accepted|Rejected|Failed → PayloadAccepted|PayloadRejected|PayloadFailed
//   QEStateChanged qePhase=QERunning (from anything else) → QEStarted  release-controller.payload.qe.started
//   QEStateChanged qePhase=QEAccepted|QERejected → QEAccepted|QERejected (reason QETimeout when the time limit passed)
//   PhaseOverridden                         → PayloadOverridden release-controller.payload.overridden (data.phase: the new phase)
//   QEVerdictOverridden                     → QEOverridden     release-controller.payload.qe.overridden (data.qePhase)
//   QERerun                                 → QERerun          release-controller.payload.qe.rerun
//   JobRetryRequested                       → JobRetried       release-controller.payload.job.retried
//   JobWaived                               → JobWaived        release-controller.payload.job.waived
// A manual verdict is announced as PayloadOverridden / QEOverridden (the domain records an
// override as its own event), not also as PayloadAccepted etc. Approvals and promotions do not
// exist in this build, so there is nothing to announce for them yet.
import type { EventRecord, JobRun, Payload } from './types.ts';

export const NOTIFICATION_TYPES = [
  'PayloadCreated',
  'PayloadReady',
  'PayloadAccepted',
  'PayloadRejected',
  'PayloadFailed',
  'QEStarted',
  'QEAccepted',
  'QERejected',
  'PayloadOverridden',
  'QEOverridden',
  'QERerun',
  'JobRetried',
  'JobWaived',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** what a webhook without `events:` gets: every verdict, from the jobs or from a person */
export const DEFAULT_NOTIFICATION_TYPES: readonly NotificationType[] = ['PayloadAccepted', 'PayloadRejected', 'PayloadFailed', 'QEAccepted', 'QERejected', 'PayloadOverridden', 'QEOverridden'];

export const CLOUDEVENT_TYPES: Record<NotificationType, string> = {
  PayloadCreated: 'release-controller.payload.created',
  PayloadReady: 'release-controller.payload.ready',
  PayloadAccepted: 'release-controller.payload.accepted',
  PayloadRejected: 'release-controller.payload.rejected',
  PayloadFailed: 'release-controller.payload.failed',
  QEStarted: 'release-controller.payload.qe.started',
  QEAccepted: 'release-controller.payload.qe.accepted',
  QERejected: 'release-controller.payload.qe.rejected',
  PayloadOverridden: 'release-controller.payload.overridden',
  QEOverridden: 'release-controller.payload.qe.overridden',
  QERerun: 'release-controller.payload.qe.rerun',
  JobRetried: 'release-controller.payload.job.retried',
  JobWaived: 'release-controller.payload.job.waived',
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The notification an audit event stands for, or null (job launches, input updates, …). */
export function notificationType(e: Pick<EventRecord, 'type' | 'data' | 'tag'>): NotificationType | null {
  if (!e.tag) return null; // stream-level events name no payload
  const d = e.data ?? {};
  switch (e.type) {
    case 'PayloadCreated':
      return 'PayloadCreated';
    case 'PhaseChanged':
      switch (d.phase) {
        case 'Ready':
          return 'PayloadReady';
        case 'Accepted':
          return 'PayloadAccepted';
        case 'Rejected':
          return 'PayloadRejected';
        case 'Failed':
          return 'PayloadFailed';
        default:
          return null;
      }
    case 'QEStateChanged':
      if (d.qePhase === 'QERunning') return d.previous === 'QERunning' ? null : 'QEStarted';
      if (d.qePhase === 'QEAccepted') return 'QEAccepted';
      if (d.qePhase === 'QERejected') return 'QERejected';
      return null;
    case 'PhaseOverridden':
      return 'PayloadOverridden';
    case 'QEVerdictOverridden':
      return 'QEOverridden';
    case 'QERerun':
      return 'QERerun';
    case 'JobRetryRequested':
      return 'JobRetried';
    case 'JobWaived':
      return 'JobWaived';
    default:
      return null;
  }
}

/** What the body says besides the event itself: the payload as it is when the notification is queued. */
export interface NotificationFacts {
  /** the controller's public URL, no trailing slash */
  baseUrl: string;
  payload?: Pick<Payload, 'phase' | 'pullSpec' | 'qe'>;
  /** the payload's job runs (failed ones are listed for rejections) */
  runs?: readonly Pick<JobRun, 'verifyName' | 'kind' | 'attempt' | 'state' | 'url' | 'generation'>[];
}

export interface NotificationData {
  stream: string;
  tag: string;
  phase: string;
  qePhase: string;
  pullSpec: string;
  reason: string;
  message: string;
  actor: string;
  /** the verify entry a retry or waiver names */
  job?: string;
  /** rejections and failures: the jobs that failed for good (latest attempt of each entry) */
  failedJobs?: { name: string; url: string }[];
  links: { release: string; api: string };
}

/** The id every attempt of one notification carries: the event and the webhook, so receivers can dedupe. */
export function notificationId(webhook: string, eventId: number): string {
  return `${eventId}.${webhook}`;
}

const enc = encodeURIComponent;

function failedJobs(type: NotificationType, facts: NotificationFacts): { name: string; url: string }[] | undefined {
  if (type !== 'PayloadRejected' && type !== 'PayloadFailed' && type !== 'QERejected') return undefined;
  const qe = type === 'QERejected';
  const generation = facts.payload?.qe.generation ?? 0;
  const latest = new Map<string, Pick<JobRun, 'verifyName' | 'state' | 'url' | 'attempt'>>();
  for (const r of facts.runs ?? []) {
    if ((r.kind === 'qe') !== qe || (qe && r.generation !== generation)) continue;
    const cur = latest.get(r.verifyName);
    if (!cur || r.attempt >= cur.attempt) latest.set(r.verifyName, r);
  }
  return [...latest.values()].filter((r) => r.state === 'Failed').map((r) => ({ name: r.verifyName, url: r.url }));
}

export function notificationData(type: NotificationType, e: EventRecord, facts: NotificationFacts): NotificationData {
  const d = e.data ?? {};
  const base = facts.baseUrl;
  const fj = failedJobs(type, facts);
  const job = str(d.verifyName);
  return {
    stream: e.stream,
    tag: e.tag,
    // the event's own phase when it carries one, else the payload's when the notification was queued
    phase: str(d.phase) || facts.payload?.phase || '',
    qePhase: (type.startsWith('QE') ? str(d.qePhase) : '') || facts.payload?.qe.state || str(d.qePhase),
    pullSpec: facts.payload?.pullSpec ?? '',
    reason: str(d.reason),
    message: e.message,
    actor: e.actor,
    ...(job ? { job } : {}),
    ...(fj ? { failedJobs: fj } : {}),
    links: {
      release: `${base}/releasestream/${enc(e.stream)}/release/${enc(e.tag)}`,
      api: `${base}/api/v1/releasestream/${enc(e.stream)}/release/${enc(e.tag)}`,
    },
  };
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: NotificationData;
}

/** A CloudEvents 1.0 event in structured mode (the whole event is the JSON body). */
export function cloudEvent(webhook: string, type: NotificationType, e: EventRecord & { id: number }, facts: NotificationFacts): CloudEvent {
  return {
    specversion: '1.0',
    id: notificationId(webhook, e.id),
    source: `${facts.baseUrl}/releasestream/${enc(e.stream)}`,
    type: CLOUDEVENT_TYPES[type],
    subject: e.tag,
    time: e.at,
    datacontenttype: 'application/json',
    data: notificationData(type, e, facts),
  };
}

const HEADLINE: Record<NotificationType, string> = {
  PayloadCreated: 'created',
  PayloadReady: 'is Ready (built, verification running)',
  PayloadAccepted: 'was Accepted',
  PayloadRejected: 'was Rejected',
  PayloadFailed: 'Failed (could not be built)',
  QEStarted: 'QE started',
  QEAccepted: 'is QE accepted',
  QERejected: 'is QE rejected',
  PayloadOverridden: 'was manually overridden',
  QEOverridden: 'QE verdict was manually set',
  QERerun: 'QE jobs re-run',
  JobRetried: 'job retried',
  JobWaived: 'job waived',
};

const EMOJI: Partial<Record<NotificationType, string>> = {
  PayloadAccepted: ':white_check_mark:',
  QEAccepted: ':white_check_mark:',
  PayloadRejected: ':x:',
  QERejected: ':x:',
  PayloadFailed: ':boom:',
  PayloadOverridden: ':warning:',
  QEOverridden: ':warning:',
};

/** Slack's mrkdwn escapes: &, < and > (everything else is literal text). */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link in mrkdwn: the URL must not contain `|` or `>` (percent-encode them). */
const slackLink = (url: string, text: string) => `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${slackEscape(text)}>`;

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** One Slack incoming-webhook message: the verdict, why, failed jobs and links. */
export function slackMessage(type: NotificationType, e: EventRecord, facts: NotificationFacts): SlackMessage {
  const data = notificationData(type, e, facts);
  const verdict =
    type === 'PayloadOverridden' ? `was manually set to ${data.phase}`
    : type === 'QEOverridden' ? `QE verdict was manually set to ${data.qePhase}`
    : type === 'QERejected' && data.reason === 'QETimeout' ? 'is QE rejected (QE time limit passed)'
    : type === 'JobRetried' || type === 'JobWaived' ? `${HEADLINE[type]}: ${data.job ?? ''}`
    : HEADLINE[type];
  const emoji = EMOJI[type] ? `${EMOJI[type]} ` : '';
  const text = `${data.tag} ${verdict}`;
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${emoji}*${slackLink(data.links.release, data.tag)}* ${slackEscape(verdict)}` } },
  ];
  const why = [data.reason, data.message].filter((s, i, all) => s && all.indexOf(s) === i).join(': ');
  if (why) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: slackEscape(why).slice(0, 2900) } });
  if (data.failedJobs?.length) {
    const lines = data.failedJobs.slice(0, 20).map((j) => `• ${j.url ? slackLink(j.url, j.name) : slackEscape(j.name)}`);
    if (data.failedJobs.length > 20) lines.push(`… and ${data.failedJobs.length - 20} more`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Failed jobs*\n${lines.join('\n')}` } });
  }
  const context = [`stream ${slackEscape(data.stream)}`, data.qePhase ? `QE ${slackEscape(data.qePhase)}` : '', `by ${slackEscape(data.actor)}`, slackLink(data.links.api, 'API')].filter(Boolean);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text, blocks };
}

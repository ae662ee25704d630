// The notify file (`serve --notify FILE`, DESIGN.md §15), YAML:
//
//   webhooks:
//     - name: art                                  # [A-Za-z0-9._-], unique; names the cursor and the deliveries
//       url: https://art.example/hooks/release     # http or https
//       events: [PayloadAccepted, QEAccepted]      # default: every verdict (DEFAULT_NOTIFICATION_TYPES)
//       streams: ["4.*.0-0.nightly"]               # optional globs (`*`, `?`); default every stream
//       format: cloudevents                        # or slack
//       secret: ${ART_HOOK_SECRET}                 # optional: signs each body (X-Release-Controller-Signature)
//
// `${NAME}` in `url` and `secret` is replaced by the environment variable NAME when the file is
// (re)loaded; a variable that is not set is an error of the file (it keeps its last good version
// on a reload), never an empty secret. `$${` writes a literal `${`.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { DEFAULT_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type NotificationType } from '../../domain/notifications.ts';
import { globToRegExp } from '../jobs/local/jobsfile.ts';

export const WEBHOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NOTIFY_FORMATS = ['cloudevents', 'slack'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

export interface Webhook {
  name: string;
  /** after ${VAR} expansion (may hold a secret, as Slack's URLs do: never log it) */
  url: string;
  events: NotificationType[];
  /** globs as written ([] = every stream) */
  streams: string[];
  format: NotifyFormat;
  secret?: string;
}

export interface NotifyFile {
  webhooks: Webhook[];
}

const s = (what: string) => z.string({ required_error: 'is required', invalid_type_error: `must be ${what}` });
const WebhookSchema = z
  .object(
    {
      name: s('a string').regex(WEBHOOK_NAME, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit'),
      url: s('a URL'),
      events: z
        .array(
          z.enum(NOTIFICATION_TYPES, {
            errorMap: (i) => ({ message: `must be one of ${NOTIFICATION_TYPES.join(', ')}${i.code === 'invalid_enum_value' ? ` (got ${JSON.stringify(i.received)})` : ''}` }),
          }),
          { invalid_type_error: 'must be a list of event types' },
        )
        .nonempty('must list at least one event type (leave it out for every verdict)')
        .optional(),
      streams: z.array(s('a stream name or glob').min(1, 'must not be empty'), { invalid_type_error: 'must be a list of stream names or globs' }).optional(),
      format: z.enum(NOTIFY_FORMATS, { errorMap: () => ({ message: `must be one of ${NOTIFY_FORMATS.join(', ')}` }) }).optional(),
      secret: s('a string').min(1, 'must not be empty (leave it out for unsigned bodies)').optional(),
    },
    { invalid_type_error: 'must be a mapping with name, url, events, streams, format, secret' },
  )
  .strict();
const NotifyFileSchema = z.object({ webhooks: z.array(WebhookSchema, { invalid_type_error: 'must be a list of webhooks', required_error: 'is required' }) }, { invalid_type_error: 'must be a mapping with webhooks' }).strict();

/** `${NAME}` → the variable's value; `$${` → `${`. Throws naming the first variable that is not set. */
export function expandEnv(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$(\$)?\{([^}]*)\}/g, (whole, escaped: string | undefined, name: string) => {
    if (escaped) return whole.slice(1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`\${${name}} is not a variable reference (letters, digits and _)`);
    const v = env[name];
    if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
    return v;
  });
}

/** Parses and validates a notify file; errors read `<file>: path: reason`. */
export function parseNotifyFile(text: string, file: string, env: Record<string, string | undefined> = process.env): NotifyFile {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: (root): invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const r = NotifyFileSchema.safeParse(doc.toJS() ?? { webhooks: [] });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message}`);
  }
  const seen = new Set<string>();
  const webhooks = r.data.webhooks.map((w, i): Webhook => {
    const at = (field: string, why: string) => new Error(`${file}: webhooks.${i}.${field}: ${why}`);
    if (seen.has(w.name)) throw at('name', `${w.name} is listed twice`);
    seen.add(w.name);
    const expand = (field: 'url' | 'secret', v: string) => {
      try {
        return expandEnv(v, env);
      } catch (e) {
        throw at(field, (e as Error).message);
      }
    };
    const url = expand('url', w.url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw at('url', 'must be an absolute http or https URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw at('url', `must be an http or https URL (got ${parsed.protocol})`);
    return {
      name: w.name,
      url,
      events: [...(w.events ?? DEFAULT_NOTIFICATION_TYPES)],
      streams: w.streams ?? [],
      format: w.format ?? 'cloudevents',
      ...(w.secret !== undefined ? { secret: expand('secret', w.secret) } : {}),
    };
  });
  return { webhooks };
}

const compiled = new WeakMap<Webhook, RegExp[]>();

/** Whether a webhook wants notifications of this type for this stream. */
export function wants(w: Webhook, type: NotificationType, stream: string): boolean {
  if (!w.events.includes(type)) return false;
  if (!w.streams.length) return true;
  let res = compiled.get(w);
  if (!res) compiled.set(w, (res = w.streams.map(globToRegExp)));
  return res.some((re) => re.test(stream));
}

/** What changed between two loads, for the log: names only (URLs and secrets may be secret). */
export function webhooksDiff(old: NotifyFile | undefined, next: NotifyFile): Record<string, unknown> {
  const key = (w: Webhook) => JSON.stringify([w.url, w.events, w.streams, w.format, w.secret ?? '']);
  const before = new Map((old?.webhooks ?? []).map((w) => [w.name, key(w)]));
  const after = new Map(next.webhooks.map((w) => [w.name, key(w)]));
  return {
    webhooks: next.webhooks.length,
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    modified: [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)),
  };
}

// The jobs file of the Kubernetes executor (issue 15): job name or glob → a Job template.
//
//   defaults: { env: { K: V }, activeDeadlineSeconds: 14400 }
//   jobs:
//     "periodic-ci-*-e2e-aws*":
//       kubernetes:
//         image: quay.io/example/e2e:latest
//         command: [/bin/run-e2e]
//         args: [--cloud, aws]
//         env: { CLOUD: aws }
//         resources: { requests: { cpu: "1", memory: 2Gi } }
//         serviceAccountName: e2e
//         activeDeadlineSeconds: 7200
//
// Matching is the local jobs file's: the first entry (in file order) whose name or glob matches.
import { parse } from 'yaml';
import { z } from 'zod';
import { globToRegExp } from '../local/jobsfile.ts';

const env = z.record(z.string({ invalid_type_error: 'must be a string (quote numbers and booleans)' }));
const seconds = z.number({ invalid_type_error: 'must be a positive integer (seconds)' }).int('must be a positive integer (seconds)').positive('must be a positive integer (seconds)');

export const KubeTemplateSchema = z
  .object({
    image: z.string({ required_error: 'is required' }).min(1, 'must be a non-empty image reference'),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: env.optional(),
    resources: z
      .object({ requests: z.record(z.union([z.string(), z.number()])).optional(), limits: z.record(z.union([z.string(), z.number()])).optional() })
      .strict()
      .optional(),
    serviceAccountName: z.string().min(1).optional(),
    activeDeadlineSeconds: seconds.optional(),
  })
  .strict();
export type KubeTemplate = z.infer<typeof KubeTemplateSchema>;

const FileSchema = z
  .object({
    defaults: z.object({ env: env.optional(), activeDeadlineSeconds: seconds.optional() }).strict().optional(),
    jobs: z.record(z.object({ kubernetes: KubeTemplateSchema }, { invalid_type_error: 'must be an object with a kubernetes: template' }).strict()),
  })
  .strict();

export interface KubeJobsFile {
  file: string;
  defaults: { env: Record<string, string>; activeDeadlineSeconds?: number };
  entries: { pattern: string; re: RegExp; template: KubeTemplate }[];
}

/** Parses the file; throws `file: path: reason` lines (one per problem). */
export function parseKubeJobsFile(text: string, file: string): KubeJobsFile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${file}: (root): not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = FileSchema.safeParse(doc ?? {});
  if (!r.success) throw new Error(r.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n'));
  return {
    file,
    defaults: { env: r.data.defaults?.env ?? {}, ...(r.data.defaults?.activeDeadlineSeconds ? { activeDeadlineSeconds: r.data.defaults.activeDeadlineSeconds } : {}) },
    entries: Object.entries(r.data.jobs).map(([pattern, e]) => ({ pattern, re: globToRegExp(pattern), template: e.kubernetes })),
  };
}

export function matchTemplate(f: KubeJobsFile, jobName: string): KubeTemplate | null {
  return f.entries.find((e) => e.re.test(jobName))?.template ?? null;
}

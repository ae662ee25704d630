// `serve --executor kubernetes` wiring: flags + the jobs file's text → a started KubernetesExecutor.
import { existsSync } from 'node:fs';
import { loadKubeConfig } from '../../kube/client.ts';
import { KubernetesExecutor, type KubernetesExecutorOptions } from './index.ts';
import { parseKubeJobsFile } from './jobsfile.ts';

export interface KubernetesFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  maxJobCreatesPerSecond?: number | string;
  /** --release-architecture (validated by the caller; default amd64) */
  architecture?: string;
}

export function createKubernetesExecutor(f: KubernetesFlags, jobsText: string, jobsPath: string, logDir: string, log: KubernetesExecutorOptions['log']): KubernetesExecutor {
  if (!f.kubeconfig) throw new Error('--executor kubernetes needs --kubeconfig FILE');
  if (!existsSync(f.kubeconfig)) throw new Error(`--kubeconfig ${f.kubeconfig}: no such file`);
  const rate = f.maxJobCreatesPerSecond === undefined ? undefined : Number(f.maxJobCreatesPerSecond);
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0)) throw new Error(`--max-job-creates-per-second ${f.maxJobCreatesPerSecond}: must be a non-negative number`);
  const jobs = parseKubeJobsFile(jobsText, jobsPath);
  const kc = loadKubeConfig({ kubeconfig: f.kubeconfig, ...(f.context ? { context: f.context } : {}) });
  const x = new KubernetesExecutor({ kc, namespace: f.namespace ?? 'default', jobs, logDir, ...(rate !== undefined ? { maxCreatesPerSecond: rate } : {}), ...(f.architecture ? { architecture: f.architecture } : {}), ...(log ? { log } : {}) });
  x.start();
  return x;
}

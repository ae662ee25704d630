// `serve --executor prow` wiring: flags → a started ProwExecutor (errors name the flag).
import { existsSync } from 'node:fs';
import { loadKubeConfig } from '../../kube/client.ts';
import { ProwExecutor, type ProwExecutorOptions } from './index.ts';

export interface ProwFlags {
  kubeconfig?: string;
  context?: string;
  prowNamespace?: string;
  prowJobs?: string;
  maxJobCreatesPerSecond?: number | string;
  /** --release-architecture (validated by the caller; default amd64) */
  architecture?: string;
}

/** `o.watchConfig: false` when serve's reloader watches the Prow job config instead. */
export function createProwExecutor(f: ProwFlags, log: ProwExecutorOptions['log'], o: Pick<ProwExecutorOptions, 'watchConfig'> = {}): ProwExecutor {
  if (!f.kubeconfig) throw new Error('--executor prow needs --kubeconfig FILE');
  if (!existsSync(f.kubeconfig)) throw new Error(`--kubeconfig ${f.kubeconfig}: no such file`);
  if (!f.prowJobs) throw new Error('--executor prow needs --prow-jobs DIR (the Prow job config with the periodics)');
  if (!existsSync(f.prowJobs)) throw new Error(`--prow-jobs ${f.prowJobs}: no such directory`);
  const rate = f.maxJobCreatesPerSecond === undefined ? undefined : Number(f.maxJobCreatesPerSecond);
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0)) throw new Error(`--max-job-creates-per-second ${f.maxJobCreatesPerSecond}: must be a non-negative number`);
  const kc = loadKubeConfig({ kubeconfig: f.kubeconfig, ...(f.context ? { context: f.context } : {}) });
  const x = new ProwExecutor({ kc, namespace: f.prowNamespace ?? 'ci', prowJobsDir: f.prowJobs, ...(rate !== undefined ? { maxCreatesPerSecond: rate } : {}), ...(f.architecture ? { architecture: f.architecture } : {}), ...(log ? { log } : {}), ...o });
  x.start();
  return x;
}

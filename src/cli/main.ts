// The `release-controller` command.
import { Command, Option } from 'commander';
import { ARCHITECTURES, DEFAULT_ARCHITECTURE } from '../domain/architecture.ts';
import { CliError, clientOptions, inputSet, latest, listPins, releasePath, status, streamPath, streamStatus, write } from './client.ts';
import { runValidate } from './validate.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const errOut = (s: string) => process.stderr.write(s + '\n');

async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CliError) {
      errOut(`error: ${e.message}`);
      process.exitCode = e.exitCode;
    } else {
      errOut(`error: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
}

function withClient(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'server URL (env RELEASE_CONTROLLER_SERVER)', undefined)
    .option('--token <token>', 'bearer token for writes (env RELEASE_CONTROLLER_TOKEN)')
    .option('--json', 'print JSON');
}

export function buildProgram(): Command {
  const program = new Command('release-controller')
    .description('Turns streams of component images into release payloads, verifies them (blocking, informing and QE jobs) and decides which ones ship.')
    .showHelpAfterError();

  program
    .command('validate')
    .description('check release stream configs; exit 1 printing "file: json.path: reason" lines')
    .argument('<dir>', 'directory of release config JSON files')
    .option('--prow-jobs <dir>', 'Prow job config (periodics): every prowJob.name must name a periodic there')
    .action((dir: string, vo: { prowJobs?: string }) => {
      process.exitCode = runValidate(dir, out, errOut, vo);
    });

  program
    .command('serve')
    .description('run controller, API and web console in one process')
    .option('--releases <dir>', 'directory of release stream configs (env RC_RELEASES)', process.env.RC_RELEASES)
    .option('--jobs <file>', 'jobs file for the local executor (env RC_JOBS)', process.env.RC_JOBS)
    .option('--data <dir>', 'data directory: SQLite database, job logs, manifests (env RC_DATA)', process.env.RC_DATA ?? './data')
    .option('--db <url>', 'database URL: sqlite:PATH (default under --data) or postgres://… (env RC_DB)', process.env.RC_DB)
    .option('--tokens <file>', 'tokens file for authenticated writes (env RC_TOKENS)', process.env.RC_TOKENS)
    .option('--port <port>', 'HTTP port (env PORT)', process.env.PORT ?? '8080')
    .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
    .option('--registry <host>', 'registry of payloads, HOST[:PORT]/NAMESPACE: pull specs are <registry>/<to>:<tag> (env RC_REGISTRY)', process.env.RC_REGISTRY ?? 'registry.local')
    .addOption(new Option('--builder <kind>', 'payload builder: local (manifests on disk) or registry (OCI release images pushed to --registry)').choices(['local', 'registry']).default('local'))
    .option('--registry-auth <file>', 'containers/Docker auth file ({"auths": {HOST: {"auth": base64(user:pass)}}}) for registry access')
    .option('--registry-insecure <hosts>', 'comma-separated registry hosts spoken to over plain HTTP')
    .option('--registry-gc', 'garbage collection deletes payload images from the registry')
    .option('--build-timeout <duration>', 'a registry build that cannot finish fails after this long (Go duration)', '10m')
    .option('--inputs <file>', 'input streams imported from registry repositories (YAML inputs: {NAME: {repository, interval, include, exclude}})')
    .addOption(new Option('--executor <kind>', 'job executor').choices(['local', 'prow', 'kubernetes']).default('local'))
    .addOption(new Option('--release-architecture <arch>', 'architecture of the releases: jobs get RELEASE_IMAGE_LATEST/_INITIAL (amd64) or RELEASE_IMAGE_<ARCH>_LATEST/_INITIAL, ProwJobs the architecture annotation').choices([...ARCHITECTURES]).default(DEFAULT_ARCHITECTURE))
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (--executor prow or kubernetes)')
    .option('--namespace <ns>', 'namespace of the batch/v1 Jobs (--executor kubernetes)', 'default')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .option('--prow-namespace <ns>', 'namespace ProwJobs are created in', 'ci')
    .option('--prow-jobs <dir>', 'Prow job config (YAML with periodics:), read recursively and reloaded on change')
    .option('--max-job-creates-per-second <n>', 'bound on ProwJob / Job creates per second (default 20; 0 = unbounded)')
    .option('--artifacts-url <url>', 'base URL for downloadURL fields (env RC_ARTIFACTS_URL)', process.env.RC_ARTIFACTS_URL)
    .option('--demo', 'use the demo streams, jobs and tokens shipped in demo/ and feed their input streams')
    .option('--feed-interval <ms>', 'demo feeder interval in ms', '5000')
    .option('--reset', 'delete the data directory first')
    .option('--log-level <level>', 'log level (env LOG_LEVEL)', process.env.LOG_LEVEL ?? 'info')
    .option('--no-watch', 'do not watch the releases directory, jobs and tokens files for changes (SIGHUP still reloads them)')
    .option(
      '--stop-jobs',
      'on Ctrl-C/SIGTERM stop running jobs (recorded Interrupted, relaunched on the next start) instead of leaving them running for the next start to re-adopt (env RC_STOP_JOBS=1)',
      /^(1|true|yes)$/i.test(process.env.RC_STOP_JOBS ?? ''),
    )
    .option(
      '--private-logs',
      'job logs (/logs/*) require a token of any role (Authorization: Bearer, or the token as a browser password); default public (env RC_PRIVATE_LOGS=1)',
      /^(1|true|yes)$/i.test(process.env.RC_PRIVATE_LOGS ?? ''),
    )
    .option(
      '--event-retention <duration>',
      'keep the events of deleted payloads this long after their last event, then prune them: days (90d) or a Go duration (2160h); 0 keeps them forever (env RC_EVENT_RETENTION)',
      process.env.RC_EVENT_RETENTION ?? '90d',
    )
    .option('--max-connections <n>', 'HTTP connections open at once; more are closed at once (0: no limit)', '1024')
    .option('--max-feed-connections <n>', 'live feeds (/api/v1/events) open at once; more get 503 with Retry-After (0: no limit)', '256')
    .option('--http-cache-mib <n>', 'memory for the API response cache, in MiB (0 turns it off)', '64')
    .option('--notify <file>', 'notify file: webhooks told of verdicts (CloudEvents or Slack), hot-reloaded (env RC_NOTIFY)', process.env.RC_NOTIFY)
    .option('--qualifiers <file>', "release qualifiers: upstream's release-qualifiers.yaml (badges, the /qualifiers summary), hot-reloaded; a missing file defines none (env RC_QUALIFIERS)", process.env.RC_QUALIFIERS)
    .option('--notify-retry-for <duration>', 'how long an undelivered notification is retried before it is recorded failed (Go duration)', '24h')
    .option('--notify-queue <n>', 'undelivered notifications kept per webhook; past that new ones are recorded dropped', '1000')
    .option('--public-url <url>', 'the URL people reach this server at, for links in notifications (env RC_PUBLIC_URL; default the listening address)', process.env.RC_PUBLIC_URL)
    .option('--git-cache <dir>', 'bare git mirrors of the component repositories, DIR/<host>/<org>/<repo>.git: changelogs list commits, pull requests and issues (env RC_GIT_CACHE)', process.env.RC_GIT_CACHE)
    .option('--git-fetch', 'fetch commits a mirror lacks from its origin (default off)')
    .option('--issue-key-pattern <regex>', 'issue keys in commit subjects', '[A-Z][A-Z0-9]+-[0-9]+')
    .option('--issue-url-template <url>', 'link of an issue key, {key} is replaced ("" for no links)', 'https://issues.redhat.com/browse/{key}')
    .addOption(new Option('--role <role>', 'with --db postgres://…: all and controller compete for leadership (one replica reconciles and launches), api never leads; followers forward writes to the leader; controller serves no reads (only /healthz, /readyz, /metrics and writes) (env RC_ROLE)').choices(['all', 'controller', 'api']).default(process.env.RC_ROLE ?? 'all'))
    .option('--lease-duration <duration>', 'leader lease (Go duration): a leader that cannot renew it stops launching, another takes over after it runs out', '10s')
    .option('--replica-id <name>', "this replica's name in the leader lease, unique per replica; a replica restarted under the same name takes its lease back at once (default host:pid:random)")
    .option('--changelog-wait <duration>', 'how long a request waits for a changelog being computed before it is answered without it (Go duration)', '2s')
    .action(async (o) =>
      guard(async () => {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${o.port}: must be a port number`, 2);
        // signal handlers go in first, so a Ctrl-C during start-up still stops cleanly
        let srv: { close: () => Promise<void> } | null = null;
        let stopping = false;
        const finish = () =>
          srv!.close().then(
            () => process.exit(0),
            (e) => {
              errOut(`error while stopping: ${(e as Error).message}`);
              process.exit(1);
            },
          );
        const stop = (sig: string) => {
          if (stopping) {
            errOut(`received ${sig} again, exiting now`);
            process.exit(130);
          }
          stopping = true;
          errOut(`received ${sig}, stopping`);
          if (srv) void finish();
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
        const { serve } = await import('./serve.ts');
        srv = await serve({
          releases: o.releases, jobs: o.jobs, data: o.data, db: o.db, tokens: o.tokens, port, host: o.host, registry: o.registry,
          executor: o.executor, architecture: o.releaseArchitecture, demo: o.demo, reset: o.reset, feedInterval: Number(o.feedInterval), logLevel: o.logLevel, artifactsUrl: o.artifactsUrl,
          stopJobs: Boolean(o.stopJobs), kubernetes: { namespace: o.namespace }, prow: { kubeconfig: o.kubeconfig, context: o.context, prowNamespace: o.prowNamespace, prowJobs: o.prowJobs, maxJobCreatesPerSecond: o.maxJobCreatesPerSecond }, watch: o.watch !== false, processHandlers: true, privateLogs: Boolean(o.privateLogs),
          eventRetention: o.eventRetention,
          notify: { file: o.notify, retryFor: o.notifyRetryFor, queue: o.notifyQueue }, qualifiers: o.qualifiers, publicUrl: o.publicUrl,
          changelog: { gitCache: o.gitCache, gitFetch: Boolean(o.gitFetch), issueKeyPattern: o.issueKeyPattern, issueUrlTemplate: o.issueUrlTemplate, wait: o.changelogWait },
          http: { maxConnections: o.maxConnections, maxFeedConnections: o.maxFeedConnections, cacheMiB: o.httpCacheMib },
          role: o.role, leaseDuration: o.leaseDuration, replicaId: o.replicaId,
          registryMode: { builder: o.builder, auth: o.registryAuth, insecure: o.registryInsecure, gc: Boolean(o.registryGc), buildTimeout: o.buildTimeout, inputs: o.inputs },
        });
        if (stopping) void finish();
      }),
    );

  program
    .command('token')
    .description('tokens file helpers')
    .command('hash')
    .description('read a token from stdin, print its sha256:<hex> form for the tokens file (which then need not hold the token)')
    .action(() =>
      guard(async () => {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
        const token = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
        if (/\s/.test(token)) throw new CliError('the token read from stdin contains whitespace (one token, optionally followed by a newline)', 2);
        if (token.length < 16) throw new CliError(`the token read from stdin must be at least 16 characters (got ${token.length})`, 2);
        if (token.startsWith('sha256:')) throw new CliError('the token read from stdin starts with sha256: (already a hash?); such a value is always read as a hash', 2);
        const { hashToken } = await import('../http/auth.ts');
        out(hashToken(token));
      }),
    );

  withClient(program.command('status'))
    .description('streams and their newest payloads with phase and QE state')
    .argument('[stream]', 'only this stream')
    .option('-n, --limit <n>', 'payloads per stream', '5')
    .action(async (stream: string | undefined, _o, cmd: Command) => guard(() => status(clientOptions(cmd), stream, Number(cmd.opts().limit), out)));

  withClient(program.command('latest'))
    .description('the newest payload of a stream (like GET …/latest)')
    .argument('<stream>')
    .option('--phase <phase>', 'Accepted (default), QEAccepted, QERejected, …')
    .option('--in <range>', 'semantic version range')
    .option('--rel <n>', 'skip the first n matches')
    .option('--prefix <prefix>', 'tag name prefix')
    .option('--format <format>', 'json, pullSpec, name or downloadURL')
    .action(async (stream: string, _o, cmd: Command) =>
      guard(() => {
        const o = cmd.opts();
        return latest(clientOptions(cmd), stream, { phase: o.phase, in: o.in, rel: o.rel, prefix: o.prefix, format: o.format }, out);
      }),
    );

  const input = program.command('input').description('input streams');
  withClient(input.command('set'))
    .description('update components of an input stream in one atomic change')
    .argument('<input>', 'input stream name')
    .argument('<name=pullspec...>', 'components')
    .action(async (name: string, pairs: string[], _o, cmd: Command) => guard(() => inputSet(clientOptions(cmd), name, pairs, out)));

  for (const phase of ['Accepted', 'Rejected'] as const) {
    const verb = phase === 'Accepted' ? 'accept' : 'reject';
    withClient(program.command(verb))
      .description(`override a payload's phase to ${phase} (role admin)`)
      .argument('<stream>')
      .argument('<tag>')
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .action(async (stream: string, tag: string, o, cmd: Command) =>
        guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/override`, { phase, reason: o.reason }, `${tag}: ${phase} (override)`, out)),
      );
  }

  const qe = program.command('qe').description('QE verdicts and re-runs (role qe or admin)');
  for (const verdict of ['QEAccepted', 'QERejected'] as const) {
    const verb = verdict === 'QEAccepted' ? 'accept' : 'reject';
    withClient(qe.command(verb))
      .description(`set the QE verdict of a payload to ${verdict}`)
      .argument('<stream>')
      .argument('<tag>')
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .action(async (stream: string, tag: string, o, cmd: Command) =>
        guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/qe`, { verdict, reason: o.reason }, `${tag}: ${verdict}`, out)),
      );
  }
  withClient(qe.command('rerun'))
    .description('re-run all QE jobs of a payload (fresh time limit)')
    .argument('<stream>')
    .argument('<tag>')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (stream: string, tag: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/qe/rerun`, { reason: o.reason }, `${tag}: QE jobs re-run`, out)),
    );

  withClient(program.command('retry'))
    .description('retry a verification job of a payload (role ci or admin)')
    .argument('<stream>')
    .argument('<tag>')
    .argument('<job>', 'verify name')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (stream: string, tag: string, job: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/jobs/${encodeURIComponent(job)}/retry`, { reason: o.reason }, `${tag}: ${job} retried`, out)),
    );

  withClient(program.command('waive'))
    .description('waive a verification job that cannot run (no upgrade source, removed from the config): it counts as passed (role ci or admin)')
    .argument('<stream>')
    .argument('<tag>')
    .argument('<job>', 'verify name')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (stream: string, tag: string, job: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/jobs/${encodeURIComponent(job)}/waive`, { reason: o.reason }, `${tag}: ${job} waived`, out)),
    );

  // ---- team approvals (issue 16 item 6): the team name is lowercased, as upstream's release-tool does
  for (const state of ['Accepted', 'Rejected'] as const) {
    withClient(program.command(state === 'Accepted' ? 'approve' : 'disapprove'))
      .description(`set a team's approval of a payload to ${state} (role admin or the team; the qe team's is the QE verdict: use qe accept|reject)`)
      .argument('<stream>')
      .argument('<tag>')
      .requiredOption('--team <name>', 'team name, e.g. trt')
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .action(async (stream: string, tag: string, o, cmd: Command) => {
        const team = String(o.team).toLowerCase();
        return guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/approval`, { team, state, reason: o.reason }, `${tag}: ${state} by team ${team}`, out));
      });
  }

  // ---- operator levers (issue 21)
  for (const keep of [true, false]) {
    withClient(program.command(keep ? 'keep' : 'unkeep'))
      .description(keep ? 'keep a payload: it is never garbage-collected (role admin)' : 'stop keeping a payload (role admin)')
      .argument('<stream>')
      .argument('<tag>')
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .action(async (stream: string, tag: string, o, cmd: Command) =>
        guard(() => write(clientOptions(cmd), `${releasePath(stream, tag)}/keep`, { keep, reason: o.reason }, `${tag}: ${keep ? 'kept' : 'no longer kept'}`, out)),
      );
  }
  for (const locked of [true, false]) {
    withClient(program.command(locked ? 'lock' : 'unlock'))
      .description(locked ? 'lock a stream: no new payloads (running verification continues) (role admin or ci)' : 'unlock a stream (role admin or ci)')
      .argument('<stream>')
      .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
      .action(async (stream: string, o, cmd: Command) =>
        guard(() => write(clientOptions(cmd), `${streamPath(stream)}/lock`, { locked, reason: o.reason }, `${stream}: ${locked ? 'locked' : 'unlocked'}`, out)),
      );
  }
  withClient(program.command('poke'))
    .description('create a payload now, even if the input is unchanged or the creation interval has not passed (role admin)')
    .argument('<stream>')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (stream: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), `${streamPath(stream)}/poke`, { reason: o.reason }, (j) => `${stream}: created ${(j as { name: string }).name}`, out)),
    );
  withClient(program.command('promote'))
    .description('promote an Accepted (and QE accepted) payload into a Stable stream as a named release (role admin)')
    .argument('<stable>', 'the Stable stream, e.g. 4-stable')
    .argument('<version>', 'the release name, a semantic version, e.g. 4.16.3')
    .requiredOption('--from <stream/tag>', 'the payload to promote')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .option('--previous <versions>', 'comma-separated versions it also upgrades from (beyond those its source was tested from)')
    .option('--force', 'promote although the source is not Accepted and QE accepted (audited)')
    .action(async (stable: string, version: string, o, cmd: Command) => {
      const body: Record<string, unknown> = { from: o.from, reason: o.reason };
      if (o.force) body.force = true;
      if (o.previous) body.previous = String(o.previous).split(',').map((v) => v.trim()).filter(Boolean);
      return guard(() => write(clientOptions(cmd), releasePath(stable, version), body, (j) => `${stable}: ${(j as { name: string }).name} created from ${o.from as string} (${(j as { phase: string }).phase})`, out, 'PUT'));
    });
  withClient(program.command('prune'))
    .description('remove a payload that is not kept, with its runs, logs and manifests (role admin)')
    .argument('<stream>')
    .argument('<tag>')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (stream: string, tag: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), releasePath(stream, tag), { reason: o.reason }, `${tag}: pruned`, out, 'DELETE')),
    );
  withClient(program.command('pin'))
    .description('pin ("revert") a component of an input stream to a pull spec until unpinned (role admin)')
    .argument('<input>', 'input stream name')
    .argument('<component>')
    .option('--pull-spec <pullspec>', 'the pull spec to pin it to')
    .option('--from-tag <tag>', 'take the pull spec from this payload')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (input: string, component: string, o, cmd: Command) =>
      guard(() => {
        if (!o.pullSpec === !o.fromTag) throw new CliError('give exactly one of --pull-spec and --from-tag', 2);
        const body = { component, ...(o.pullSpec ? { pullSpec: o.pullSpec } : { fromTag: o.fromTag }), reason: o.reason };
        return write(clientOptions(cmd), `/api/v1/inputstreams/${encodeURIComponent(input)}/pins`, body, `${component} of ${input}: pinned`, out);
      }),
    );
  withClient(program.command('unpin'))
    .description('unpin a component: payloads follow the input stream again (role admin)')
    .argument('<input>', 'input stream name')
    .argument('<component>')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (input: string, component: string, o, cmd: Command) =>
      guard(() => write(clientOptions(cmd), `/api/v1/inputstreams/${encodeURIComponent(input)}/pins/${encodeURIComponent(component)}`, { reason: o.reason }, `${component} of ${input}: unpinned`, out, 'DELETE')),
    );
  withClient(program.command('pins'))
    .description('list the pinned components of an input stream')
    .argument('<input>', 'input stream name')
    .action(async (input: string, _o, cmd: Command) => guard(() => listPins(clientOptions(cmd), input, out)));
  program
    .command('release')
    .description('release images in a registry')
    .command('info')
    .description('what a release image holds (metadata, component images, digest, labels), read from its registry, like oc adm release info')
    .argument('<pullspec>', 'HOST[:PORT]/REPOSITORY:TAG or …@sha256:DIGEST')
    .option('--registry-auth <file>', 'containers/Docker auth file')
    .option('--registry-insecure <hosts>', 'comma-separated registry hosts spoken to over plain HTTP')
    .option('-o, --output <format>', 'json for the full document')
    .action((pullSpec: string, o: { registryAuth?: string; registryInsecure?: string; output?: string }) =>
      guard(async () => {
        const { releaseInfoCommand } = await import('../adapters/registry/setup.ts');
        out(await releaseInfoCommand(pullSpec, o));
      }),
    );
  withClient(program.command('why'))
    .description('why a stream creates no payload right now: lock, creation gates, pinned components')
    .argument('<stream>')
    .action(async (stream: string, _o, cmd: Command) => guard(() => streamStatus(clientOptions(cmd), stream, out)));

  return program;
}

await buildProgram().parseAsync(process.argv);

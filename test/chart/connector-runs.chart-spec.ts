import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REDIS_TEST_URL, createTestDatabase, describeWith, uniqueRedisPrefix } from '../integration/services.js';
import { type K8sObject, LocalPod, REPO_ROOT, type RunningProcess, freePort, waitForStatus } from './pod-runner.js';
import { render } from './render.js';

/**
 * The chart's rendered ConfigMap, Secret, environment, probes, migration Job and helm test pod,
 * run for real: the connector (dist/, as in the image) must start on what the chart renders,
 * answer its probes, and the test pod's script must pass against it.
 */

beforeAll(() => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-if-needed.mjs')], { stdio: 'inherit' });
});

function only(objects: K8sObject[], kind: string, component?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (component === undefined || o.metadata.labels?.['app.kubernetes.io/component'] === component));
  if (found.length !== 1) throw new Error(`expected one ${kind}${component ? ` (${component})` : ''}, found ${found.length}`);
  return found[0];
}

function connectorPod(objects: K8sObject[]): LocalPod {
  const spec = only(objects, 'Deployment').spec.template.spec;
  return new LocalPod(objects, spec, spec.containers[0]);
}

/** Starts the Deployment's connector container on a free port. */
async function startConnector(objects: K8sObject[]): Promise<{ pod: LocalPod; proc: RunningProcess; base: string }> {
  const pod = connectorPod(objects);
  const port = await freePort();
  return { pod, proc: pod.start({ PORT: String(port) }), base: `http://127.0.0.1:${port}` };
}

function probePath(objects: K8sObject[], probe: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): string {
  return only(objects, 'Deployment').spec.template.spec.containers[0][probe].httpGet.path;
}

function secretValue(pod: LocalPod, key: string): string {
  return readFileSync(pod.path(`/var/run/secrets/concur-launch-connector/${key}`), 'utf8');
}

function basic(user: string, password: string): RequestInit {
  return { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } };
}

/** Runs the helm test pod's script against `base` and returns its exit code and output. */
async function runHelmTest(objects: K8sObject[], base: string): Promise<{ code: number | null; output: string }> {
  const testPod = objects.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
  if (!testPod) throw new Error('the render has no helm test pod');
  const pod = new LocalPod(objects, { volumes: [] }, testPod.spec.containers[0]);
  try {
    const proc = pod.start({ CONNECTOR_URL: base });
    const code = await proc.exitCode(15_000);
    return { code, output: proc.output };
  } finally {
    pod.dispose();
  }
}

describe('the embedded single-replica chart runs the connector', () => {
  let objects: K8sObject[];
  let pod: LocalPod;
  let proc: RunningProcess;
  let base: string;

  beforeAll(async () => {
    ({ objects } = render({ valuesFiles: ['ci/embedded-values.yaml'] }));
    ({ pod, proc, base } = await startConnector(objects));
    await waitForStatus(base + probePath(objects, 'startupProbe'), 200, proc);
  }, 60_000);

  afterAll(() => {
    proc?.kill();
    pod?.dispose();
  });

  it('answers the readiness and liveness probes with 200', async () => {
    await waitForStatus(base + probePath(objects, 'readinessProbe'), 200, proc);
    expect((await fetch(base + probePath(objects, 'livenessProbe'))).status).toBe(200);
  });

  it('keeps its SQLite file on the claim mounted at /data', async () => {
    await waitForStatus(base + probePath(objects, 'readinessProbe'), 200, proc);
    expect(readdirSync(pod.path('/data'))).toContain('connector.db');
  });

  it('accepts Concur Test Connection with the tenant credentials from the Secret', async () => {
    const password = secretValue(pod, 'TENANT_ACME_CONNECTOR_PASSWORD');
    const ok = await fetch(`${base}/system/v1.0/testconnection`, basic('AcmeLaunchConnector', password));
    expect(ok.status).toBe(200);
    const wrong = await fetch(`${base}/system/v1.0/testconnection`, basic('AcmeLaunchConnector', `${password}x`));
    expect(wrong.status).toBe(401);
  });

  it('guards /metrics with the Basic auth credentials from the Secret', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${base}/metrics`, basic(secretValue(pod, 'METRICS_USERNAME'), secretValue(pod, 'METRICS_PASSWORD')));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('clc_');
  });

  it("lets the auditor of config.audit read the audit log, and not the development image's demo auditor", async () => {
    const verify = await fetch(`${base}/api/audit/verify`, basic('ci.auditor', 'ci-auditor-password-0123'));
    expect(verify.status).toBe(200);
    expect(await verify.json()).toMatchObject({ intact: true });
    expect((await fetch(`${base}/api/audit/verify`, basic('auditor', 'auditor-demo'))).status).toBe(401);
  });

  it('runs in production mode: with the rendered environment the connector refuses the sandbox', async () => {
    const refused = pod.start({ PORT: String(await freePort()), CONNECTOR_SANDBOX: 'true' });
    expect(await refused.exitCode(15_000)).not.toBe(0);
    expect(refused.output).toContain('the sandbox must be off when NODE_ENV=production');
    // It waits up to 15 s for the exit; a loaded machine takes longer than Jest's default 5 s to load the app.
  }, 20_000);

  it('passes the helm test pod script', async () => {
    const { code, output } = await runHelmTest(objects, base);
    expect(output).toContain('GET /health/ready: 200');
    expect(code).toBe(0);
  });

  it('exits 0 on SIGTERM within the pod termination grace period', async () => {
    const grace = only(objects, 'Deployment').spec.template.spec.terminationGracePeriodSeconds;
    proc.child.kill('SIGTERM');
    expect(await proc.exitCode(grace * 1000)).toBe(0);
  }, 60_000);
});

describe('the helm test pod script', () => {
  it('fails when the connector is not there', async () => {
    const { objects } = render({ valuesFiles: ['ci/embedded-values.yaml'] });
    const { code, output } = await runHelmTest(objects, `http://127.0.0.1:${await freePort()}`);
    expect(code).toBe(1);
    expect(output).toContain('cannot reach');
  });
});

describeWith(['postgres', 'redis'], 'the production chart (PostgreSQL, Redis, migration hook) runs the connector', () => {
  let objects: K8sObject[];
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const pods: LocalPod[] = [];
  const procs: RunningProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ objects } = render({
      valuesFiles: ['ci/production-values.yaml'],
      set: { 'redis.keyPrefix': uniqueRedisPrefix() },
      setString: { 'secrets.databaseUrl': db.url, 'secrets.redisUrl': REDIS_TEST_URL },
    }));
  }, 30_000);

  afterAll(async () => {
    for (const proc of procs) proc.kill();
    for (const pod of pods) pod.dispose();
    await db?.drop();
  });

  it('is not ready before the migration Job ran, and ready after it, without migrating itself', async () => {
    const { pod, proc, base } = await startConnector(objects);
    pods.push(pod);
    procs.push(proc);
    const ready = base + probePath(objects, 'readinessProbe');
    await waitForStatus(ready, 503, proc);

    const jobSpec = only(objects, 'Job', 'migration').spec.template.spec;
    const job = new LocalPod(objects, jobSpec, jobSpec.containers[0]);
    pods.push(job);
    const run = job.start();
    expect(await run.exitCode(30_000)).toBe(0);
    expect(run.output).toMatch(/applied \d+ migration/);

    await waitForStatus(ready, 200, proc, 30_000);
    expect(proc.output).not.toMatch(/applied \d+ migration/);
  }, 90_000);

  it('passes the helm test pod script against a second replica sharing the database and Redis', async () => {
    const { pod, proc, base } = await startConnector(objects);
    pods.push(pod);
    procs.push(proc);
    await waitForStatus(base + probePath(objects, 'readinessProbe'), 200, proc, 30_000);
    const { code, output } = await runHelmTest(objects, base);
    expect(output).toContain('GET /system/v1.0/testconnection: 401');
    expect(code).toBe(0);
  }, 60_000);
});

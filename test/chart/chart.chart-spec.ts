import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type K8sObject, REPO_ROOT } from './pod-runner.js';
import { expectValid, notes, render, renderError } from './render.js';

/** What the chart renders for each scenario, and what it refuses to render. */

const EMBEDDED = 'ci/embedded-values.yaml';
const PRODUCTION = 'ci/production-values.yaml';
const EXISTING_SECRET = 'ci/existing-secret-values.yaml';

function objectsOf(valuesFile: string, set: Record<string, unknown> = {}): K8sObject[] {
  return render({ valuesFiles: [valuesFile], set }).objects as K8sObject[];
}

function one(objects: K8sObject[], kind: string, component?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Calls `use` with the path of a temporary values file holding `yaml`. */
function withValuesFile<T>(yaml: string, use: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'clc-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, yaml);
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind).sort();
const podSpec = (objects: K8sObject[]) => one(objects, 'Deployment').spec.template.spec;
const container = (objects: K8sObject[]) => podSpec(objects).containers[0];
const envNames = (c: any): string[] => c.env.map((e: { name: string }) => e.name);

describe.each([EMBEDDED, PRODUCTION, EXISTING_SECRET])('%s', (scenario) => {
  const objects = objectsOf(scenario);

  it('runs the pods non-root with seccomp RuntimeDefault', () => {
    const spec = podSpec(objects);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it('locks every container down: read-only root, no escalation, all capabilities dropped', () => {
    const pods = objects.flatMap((o) => (o.kind === 'Deployment' || o.kind === 'Job' ? [o.spec.template.spec] : o.kind === 'Pod' ? [o.spec] : []));
    expect(pods.length).toBeGreaterThanOrEqual(2);
    for (const spec of pods) {
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  it('gives /tmp an emptyDir, and mounts secrets as files, never as environment values', () => {
    const c = container(objects);
    const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(podSpec(objects).volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(c.env.every((e: { value?: string }) => typeof e.value === 'string')).toBe(true);
    expect(envNames(c)).toContain('CONNECTOR_ENCRYPTION_KEY_FILE');
    expect(envNames(c)).toContain('CONNECTOR_AUDIT_CHAIN_KEY_FILE');
    expect(envNames(c)).toContain('TENANT_ACME_CONNECTOR_PASSWORD_FILE');
    expect(envNames(c)).not.toContain('CONNECTOR_ENCRYPTION_KEY');
    expect(envNames(c)).not.toContain('CONNECTOR_AUDIT_CHAIN_KEY');
    expect(JSON.stringify(one(objects, 'Deployment'))).not.toContain('ci-connector-password');
  });

  it('probes /health/live (liveness, startup) and /health/ready (readiness) on the http port', () => {
    const c = container(objects);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
  });

  it('gives the pod longer to stop than the connector takes to drain', () => {
    const config = one(objects, 'ConfigMap').data!['connector.yaml'];
    const delay = Number(/shutdownDelaySeconds: (\d+)/.exec(config)![1]);
    const grace = Number(/shutdownGraceSeconds: (\d+)/.exec(config)![1]);
    expect(podSpec(objects).terminationGracePeriodSeconds).toBeGreaterThan(delay + grace);
  });

  it('selects its own pods only: the Service never routes to the migration Job or the test pod', () => {
    const selector = one(objects, 'Service').spec.selector as Record<string, string>;
    const others = objects.filter((o) => o.kind === 'Pod' || o.kind === 'Job');
    for (const other of others) {
      const labels = (other.kind === 'Job' ? other.spec.template.metadata.labels : other.metadata.labels) as Record<string, string>;
      expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
    }
    expect(one(objects, 'Deployment').spec.template.metadata.labels).toMatchObject(selector);
  });

  it('has a helm test pod that checks readiness through the Service', () => {
    const test = objects.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test')!;
    expect(test.spec.containers[0].command.join(' ')).toContain('/health/ready');
    expect(test.spec.containers[0].env).toEqual([{ name: 'CONNECTOR_URL', value: `http://${one(objects, 'Service').metadata.name}:80` }]);
  });
});

describe('checksums roll the pods when configuration or secrets change', () => {
  const annotations = (set: Record<string, unknown> = {}) => one(objectsOf(PRODUCTION, set), 'Deployment').spec.template.metadata.annotations;
  const base = annotations();

  it('has checksum/config and checksum/secret', () => {
    expect(base['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    expect(base['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
  });

  it('changes checksum/config (only) when a configuration value changes', () => {
    const changed = annotations({ 'connector.logLevel': 'debug' });
    expect(changed['checksum/config']).not.toBe(base['checksum/config']);
    expect(changed['checksum/secret']).toBe(base['checksum/secret']);
  });

  it('changes checksum/config when a lookup file changes', () => {
    expect(annotations({ 'lookup.files.acme-projects\\.csv': 'code,label\nP-1,One' })['checksum/config']).not.toBe(base['checksum/config']);
  });

  it('changes checksum/secret (only) when a secret changes', () => {
    const changed = annotations({ 'secrets.tenants.acme.connectorPassword': 'another-connector-password-0123' });
    expect(changed['checksum/secret']).not.toBe(base['checksum/secret']);
    expect(changed['checksum/config']).toBe(base['checksum/config']);
  });

  it('has no checksum/secret with an existing Secret the chart cannot see', () => {
    const a = one(objectsOf(EXISTING_SECRET), 'Deployment').spec.template.metadata.annotations;
    expect(a['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    expect(a['checksum/secret']).toBeUndefined();
  });
});

describe('the migration hook (PostgreSQL)', () => {
  const objects = objectsOf(PRODUCTION);
  const hook = (o: K8sObject) => o.metadata.annotations?.['helm.sh/hook'];

  it('is a pre-install/pre-upgrade Job running `node dist/cli.js migrate`', () => {
    const job = one(objects, 'Job', 'migration');
    expect(hook(job)).toBe('pre-install,pre-upgrade');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('reads hook copies of the ConfigMap and Secret created before it, by weight', () => {
    const job = one(objects, 'Job', 'migration');
    const volumes = job.spec.template.spec.volumes;
    const configMap = one(objects, 'ConfigMap', 'migration');
    const secret = one(objects, 'Secret', 'migration');
    expect(volumes.find((v: any) => v.name === 'config').configMap.name).toBe(configMap.metadata.name);
    expect(volumes.find((v: any) => v.name === 'secrets').secret.secretName).toBe(secret.metadata.name);
    for (const copy of [configMap, secret]) {
      expect(hook(copy)).toBe('pre-install,pre-upgrade');
      expect(Number(copy.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
    }
    expect(configMap.data).toEqual(one(objects, 'ConfigMap').data);
    expect(secret.data).toEqual(one(objects, 'Secret').data);
  });

  it("runs as the hook's copy of the ServiceAccount (the chart's does not exist yet at pre-install), with its annotations", () => {
    const withIdentity = objectsOf(PRODUCTION, { 'serviceAccount.annotations': { 'iam.gke.io/gcp-service-account': 'connector@acme.iam.gserviceaccount.com' } });
    const job = one(withIdentity, 'Job', 'migration');
    const copy = one(withIdentity, 'ServiceAccount', 'migration');
    expect(job.spec.template.spec.serviceAccountName).toBe(copy.metadata.name);
    expect(copy.metadata.name).not.toBe(one(withIdentity, 'ServiceAccount').metadata.name);
    expect(hook(copy)).toBe('pre-install,pre-upgrade');
    expect(Number(copy.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
    expect(copy.metadata.annotations!['iam.gke.io/gcp-service-account']).toBe('connector@acme.iam.gserviceaccount.com');
    expect(copy.automountServiceAccountToken).toBe(false);
    expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('runs as the named ServiceAccount when the chart does not create one', () => {
    const named = objectsOf(PRODUCTION, { 'serviceAccount.create': false, 'serviceAccount.name': 'connector-identity' });
    expect(named.some((o) => o.kind === 'ServiceAccount')).toBe(false);
    expect(one(named, 'Job', 'migration').spec.template.spec.serviceAccountName).toBe('connector-identity');
  });

  it('ends before helm stops waiting for it (5 minutes by default)', () => {
    expect(one(objects, 'Job', 'migration').spec.activeDeadlineSeconds).toBeLessThan(300);
  });

  it('turns migration at start off in the connector configuration', () => {
    expect(one(objects, 'ConfigMap').data!['connector.yaml']).toMatch(/migrateOnStart: false/);
  });

  it('reads the existing Secret directly when there is one', () => {
    const existing = objectsOf(EXISTING_SECRET);
    expect(existing.some((o) => o.kind === 'Secret')).toBe(false);
    const volumes = one(existing, 'Job', 'migration').spec.template.spec.volumes;
    expect(volumes.find((v: any) => v.name === 'secrets').secret.secretName).toBe('concur-connector-secrets');
  });

  it('is absent with SQLite, which migrates at start', () => {
    const embedded = objectsOf(EMBEDDED);
    expect(embedded.some((o) => o.kind === 'Job')).toBe(false);
    expect(one(embedded, 'ConfigMap').data!['connector.yaml']).toMatch(/migrateOnStart: true/);
  });

  it('can be turned off, and the pods then migrate at start', () => {
    const off = objectsOf(PRODUCTION, { 'migration.enabled': false });
    expect(off.some((o) => o.kind === 'Job')).toBe(false);
    expect(one(off, 'ConfigMap').data!['connector.yaml']).toMatch(/migrateOnStart: true/);
  });
});

describe('scenario shapes', () => {
  it('embedded: one replica on a PersistentVolumeClaim, replaced (not rolled) on upgrade, no HPA or PDB', () => {
    const objects = objectsOf(EMBEDDED);
    const deployment = one(objects, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
    const claim = one(objects, 'PersistentVolumeClaim');
    expect(podSpec(objects).volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim.claimName).toBe(claim.metadata.name);
    expect(kinds(objects)).not.toContain('HorizontalPodAutoscaler');
    expect(kinds(objects)).not.toContain('PodDisruptionBudget');
  });

  it('production: HPA from 3, PDB, rolling updates, spread over nodes, ingress TLS, ServiceMonitor with Basic auth', () => {
    const objects = objectsOf(PRODUCTION);
    const deployment = one(objects, 'Deployment');
    expect(deployment.spec.replicas).toBeUndefined();
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } });
    expect(one(objects, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(one(objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(podSpec(objects).topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
    const ingress = one(objects, 'Ingress');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.metadata.annotations!['cert-manager.io/cluster-issuer']).toBe('letsencrypt');
    expect(ingress.spec.tls).toEqual([{ secretName: 'concur-connector-tls', hosts: ['concur-connector.acme.example.com'] }]);
    const monitor = one(objects, 'ServiceMonitor').spec.endpoints[0];
    expect(monitor.basicAuth.password).toEqual({ name: one(objects, 'Secret').metadata.name, key: 'METRICS_PASSWORD' });
    expect(kinds(objects)).not.toContain('PersistentVolumeClaim');
  });

  it('production: the NetworkPolicy lets in the ingress controller, test pods and Prometheus; lets out DNS, PostgreSQL, Redis and HTTPS', () => {
    const policy = one(objectsOf(PRODUCTION), 'NetworkPolicy').spec;
    expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
    const from = policy.ingress.flatMap((rule: any) => rule.from);
    expect(from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
    expect(from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } });
    expect(from).toContainEqual({ podSelector: { matchLabels: { 'concur-launch-connector.io/client': 'ci-release-concur-launch-connector' } } });
    const ports = policy.egress.flatMap((rule: any) => rule.ports.map((p: any) => `${p.port}/${p.protocol}`));
    expect(ports).toEqual(['53/UDP', '53/TCP', '5432/TCP', '6379/TCP', '443/TCP']);
  });

  it('writes tenants with their secrets as from-env placeholders, and the secrets into the Secret', () => {
    const objects = objectsOf(PRODUCTION);
    const config = one(objects, 'ConfigMap').data!['connector.yaml'];
    expect(config).toContain('password: from-env');
    expect(config).not.toContain('ci-connector-password');
    const secret = one(objects, 'Secret').data!;
    expect(Buffer.from(secret.TENANT_ACME_EU_CONNECTOR_PASSWORD, 'base64').toString()).toBe('ci-eu-connector-password-0123456789');
    expect(Object.keys(secret).sort()).toEqual(
      [
        'CONNECTOR_ENCRYPTION_KEY',
        'CONNECTOR_AUDIT_CHAIN_KEY',
        'DATABASE_URL',
        'REDIS_URL',
        'METRICS_USERNAME',
        'METRICS_PASSWORD',
        ...['ACME', 'ACME_EU'].flatMap((id) => ['CONNECTOR_PASSWORD', 'OAUTH_CLIENT_SECRET', 'OAUTH_REFRESH_TOKEN'].map((k) => `TENANT_${id}_${k}`)),
      ].sort(),
    );
  });
});

describe('values that cannot work fail to render, saying why', () => {
  const fails = (valuesFile: string, set: Record<string, unknown>) => renderError({ valuesFiles: [valuesFile], set });

  it.each([
    [{ replicaCount: 2 }, 'replicaCount=2 with database.type=sqlite: the embedded SQLite file serves one pod only'],
    [{ replicaCount: 2 }, 'replicaCount=2 with redis.enabled=false: nonces, launch sessions and rate limits kept in memory are not shared'],
    [{ 'autoscaling.enabled': true }, 'autoscaling.enabled=true (up to 10 replicas) with database.type=sqlite'],
    [{ 'sandbox.enabled': true }, 'sandbox.enabled=true: the built-in stand-in Concur is for demos'],
    [{ 'secrets.encryptionKey': '' }, 'secrets.encryptionKey is missing'],
    [{ 'secrets.encryptionKey': 'c2hvcnQ=' }, 'secrets.encryptionKey must be base64 of exactly 32 bytes'],
    [{ 'secrets.auditChainKey': '' }, 'secrets.auditChainKey is missing: set it to base64 of 32 random bytes (`openssl rand -base64 32`), other than the encryption key'],
    [{ 'secrets.auditChainKey': 'c2hvcnQ=' }, 'secrets.auditChainKey must be base64 of exactly 32 bytes'],
    [{ 'secrets.encryptionKey': 'ThFzkeYD6JLjT6YlQIzNqFmW9D+cuMZ/JclJtjNDhbw=', 'secrets.auditChainKey': 'ThFzkeYD6JLjT6YlQIzNqFmW9D+cuMZ/JclJtjNDhbw=' }, 'secrets.auditChainKey is the encryption key: give the audit chain a key of its own'],
    [{ 'secrets.tenants.acme.oauthRefreshToken': '' }, 'secrets.tenants.acme.oauthRefreshToken is missing (or use existingSecret with the key TENANT_ACME_OAUTH_REFRESH_TOKEN)'],
    [{ 'secrets.metricsPassword': '' }, 'metrics.auth.enabled=true needs secrets.metricsUsername and secrets.metricsPassword'],
    [{ 'secrets.tenants.acmee.connectorPassword': 'x' }, 'secrets.tenants.acmee: no tenant has the id "acmee" (tenants: acme)'],
    [{ 'database.type': 'postgresql' }, 'database.type=postgresql needs secrets.databaseUrl'],
    [{ 'redis.enabled': true }, 'redis.enabled=true needs secrets.redisUrl'],
    [
      { 'ingress.enabled': true, 'ingress.tls[0].hosts[0]': 'connector.example.com' },
      'ingress.tls[0] has no secretName: name the Secret that holds (or that cert-manager will issue) the certificate for connector.example.com',
    ],
    [{ 'ingress.enabled': true }, 'ingress.enabled=true without ingress.tls: Concur calls the connector only over HTTPS'],
    [
      { existingSecret: 'mine' },
      'existingSecret=mine and secrets.encryptionKey, secrets.auditChainKey, secrets.metricsUsername, secrets.metricsPassword, secrets.tenants.acme are both set: the pods read only the existing Secret',
    ],
    [
      { 'metrics.serviceMonitor.enabled': true },
      'metrics.serviceMonitor.enabled=true with networkPolicy.enabled=true and an empty networkPolicy.metricsFrom: the NetworkPolicy would block Prometheus',
    ],
    [{ 'tenants[0].lookup.file': 'projects.csv' }, 'tenants[acme].lookup.file="projects.csv" is not a key of lookup.files (acme-projects.csv)'],
  ])('embedded with %j', (set, message) => {
    expect(fails(EMBEDDED, set)).toContain(message);
  });

  it('lists every problem at once', () => {
    const error = fails(EMBEDDED, { replicaCount: 3, 'sandbox.enabled': true, 'secrets.encryptionKey': '' });
    expect(error).toContain('these values cannot work');
    expect(error.match(/\n {2}- /g)).toHaveLength(4);
  });

  it('refuses the default values: no tenant, no encryption key, no audit chain key', () => {
    const error = renderError({});
    expect(error).toContain('tenants is empty: list at least one Concur company');
    expect(error).toContain('secrets.encryptionKey is missing');
    expect(error).toContain('secrets.auditChainKey is missing');
  });

  it('refuses minReplicas above maxReplicas', () => {
    expect(fails(PRODUCTION, { 'autoscaling.minReplicas': 12 })).toContain('autoscaling.minReplicas=12 is above autoscaling.maxReplicas=10');
  });

  it('refuses a tenant listed twice', () => {
    const tenant = (domain: string) =>
      `  - { id: acme, name: ACME, companyDomains: [${domain}], connector: { username: AcmeLaunchConnector },\n` +
      `      oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: c }, lookup: { type: file, file: acme-projects.csv } }\n`;
    const error = withValuesFile(`tenants:\n${tenant('a.example.com')}${tenant('b.example.com')}`, (file) =>
      renderError({ valuesFiles: [EMBEDDED, file] }),
    );
    expect(error).toContain('tenants: the id "acme" is listed twice');
  });

  describe('the values schema', () => {
    it.each([
      [{ replicaCount: 'three' }, 'replicaCount'],
      [{ unknownKey: 1 }, 'Additional property unknownKey is not allowed'],
      [{ 'database.type': 'mysql' }, 'database.type'],
      [{ 'tenants[0].connector.password': 'in-plain-values' }, 'Additional property password is not allowed'],
      [{ 'tenants[0].id': 'ACME' }, 'tenants.0.id'],
      [{ 'tenants[0].oauth.baseUrl': 'http://us.api.concursolutions.com' }, 'tenants.0.oauth.baseUrl'],
      [{ 'config.tenants': 'x' }, 'Additional property tenants is not allowed'],
      [{ 'secrets.databaseUrl': 'mysql://x' }, 'secrets.databaseUrl'],
      [{ 'ingress.hosts[0].paths[0].pathType': 'Everything' }, 'pathType'],
      [{ 'pdb.maxUnavailable': 0 }, 'pdb.maxUnavailable'],
      [{ 'database.persistence.accessModes': ['ReadWriteMany'] }, 'database.persistence.accessModes.0'],
    ])('refuses %j', (set, message) => {
      expect(fails(EMBEDDED, set)).toContain(message);
    });
  });
});

describe('names and labels', () => {
  // Helm allows release names of up to 53 characters; every name and label must still fit Kubernetes' 63.
  const LONG_RELEASE = 'acme-corporation-concur-expense-connector-production1';

  it.each([EMBEDDED, PRODUCTION])('stay valid and distinct with a 53-character release name (%s)', async (scenario) => {
    const objects = render({ valuesFiles: [scenario], releaseName: LONG_RELEASE }).objects as K8sObject[];
    expect(LONG_RELEASE).toHaveLength(53);
    await expectValid(objects);
    for (const object of objects) expect(object.metadata.name.length).toBeLessThanOrEqual(63);
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('are checked: a name or label Kubernetes would refuse is a problem', async () => {
    const [service] = objectsOf(EMBEDDED).filter((o) => o.kind === 'Service');
    const tooLong = { ...service, metadata: { ...service.metadata, name: 'x'.repeat(64) } };
    await expect(expectValid([tooLong])).rejects.toThrow('is 64 characters, more than 63');
    const badLabel = { ...service, metadata: { ...service.metadata, labels: { [`${'y'.repeat(64)}-client`]: 'true' } } };
    await expect(expectValid([badLabel])).rejects.toThrow('its name part must be 1-63');
    const badValue = { ...service, metadata: { ...service.metadata, labels: { app: 'has space' } } };
    await expect(expectValid([badValue])).rejects.toThrow('value "has space" must be at most 63');
  });

  it('let the helm test pod through the NetworkPolicy with a label that selects this release only', () => {
    const objects = render({ valuesFiles: [EMBEDDED], releaseName: LONG_RELEASE }).objects as K8sObject[];
    const testPod = one(objects, 'Pod', 'test');
    const selector = one(objects, 'NetworkPolicy').spec.ingress[0].from[0].podSelector.matchLabels;
    expect(Object.entries(selector).every(([key, value]) => testPod.metadata.labels![key] === value)).toBe(true);
    expect(selector['concur-launch-connector.io/client']).toBe(one(objects, 'Deployment').metadata.name);
  });
});

describe('the SQLite claim', () => {
  it('is kept by `helm uninstall` (it holds the audit log) unless resourcePolicy is emptied', () => {
    expect(one(objectsOf(EMBEDDED), 'PersistentVolumeClaim').metadata.annotations!['helm.sh/resource-policy']).toBe('keep');
    const deleted = one(objectsOf(EMBEDDED, { 'database.persistence.resourcePolicy': '', 'database.persistence.annotations': { team: 'x' } }), 'PersistentVolumeClaim');
    expect(deleted.metadata.annotations).toEqual({ team: 'x' });
  });
});

describe('an Ingress without tls', () => {
  it('renders when a load balancer in front ends TLS (ingress.tlsTerminatedUpstream)', () => {
    const ingress = one(objectsOf(EMBEDDED, { 'ingress.enabled': true, 'ingress.tlsTerminatedUpstream': true }), 'Ingress');
    expect(ingress.spec.tls).toBeUndefined();
  });
});

describe('NOTES', () => {
  const notesOf = (valuesFile: string, set: Record<string, unknown> = {}) => notes({ valuesFiles: [valuesFile], set });

  it('production: the URLs to register in Concur, and what to do when a migration fails', () => {
    const text = notesOf(PRODUCTION);
    expect(text).toContain('Test Connection:    https://concur-connector.acme.example.com/system/v1.0/testconnection');
    expect(text).toContain('Launch (v4 form):   https://concur-connector.acme.example.com/launchexternalurl/v4/form');
    expect(text).toContain('logs job/ci-release-concur-launch-connector-migrate');
    expect(text).toContain('delete secret,configmap,serviceaccount,job -l app.kubernetes.io/instance=ci-release,app.kubernetes.io/component=migration');
    expect(text).toContain('raise migration.activeDeadlineSeconds (240s) together with helm');
    expect(text).toContain('keyed with CONNECTOR_AUDIT_CHAIN_KEY, which the database never holds');
    expect(text).toContain('exec deployment/ci-release-concur-launch-connector -- node dist/cli.js verify-audit');
    expect(text).not.toContain('WARNING');
  });

  it('PostgreSQL: replicas of a version without the chain key are refused once the log is keyed; how to avoid it', () => {
    const text = notesOf(PRODUCTION);
    expect(text).toContain('once a new pod has keyed the log, the database refuses the audit\n   events of pods of the previous version');
    expect(text).toContain('kubectl --namespace connector scale deployment/ci-release-concur-launch-connector --replicas=0');
    expect(text).toMatch(/an autoscaler does not scale up from zero\), with --replicas=3\./);
    expect(notesOf(PRODUCTION, { 'autoscaling.enabled': false, replicaCount: 2 })).not.toContain('autoscaler');
    // SQLite: one pod, recreated; no old pod writes beside a new one.
    expect(notesOf(EMBEDDED)).not.toContain('--replicas=0');
  });

  it('existing Secret: the keys it must hold, and no hook copy to clean up', () => {
    const text = notesOf(EXISTING_SECRET);
    expect(text).toMatch(/Secrets come from Secret concur-connector-secrets, which must hold the keys:\n {2}CONNECTOR_ENCRYPTION_KEY\n {2}CONNECTOR_AUDIT_CHAIN_KEY\n {2}DATABASE_URL\n/);
    expect(text).not.toContain('delete secret,configmap');
  });

  it('embedded without an Ingress: how Concur can reach it, no migration Job', () => {
    const text = notesOf(EMBEDDED);
    expect(text).toContain('Storage: SQLite on a PersistentVolumeClaim (one replica)');
    expect(text).toContain('No Ingress is enabled (ingress.enabled=false)');
    expect(text).not.toContain('hook Job');
  });

  it('warns when a directly exposed Service trusts X-Forwarded-For', () => {
    expect(notesOf(EMBEDDED, { 'service.type': 'LoadBalancer' })).toContain('WARNING: service.type=LoadBalancer without an Ingress, and connector.trustProxy=1');
    expect(notesOf(EMBEDDED, { 'service.type': 'LoadBalancer', 'connector.trustProxy': 0 })).not.toContain('WARNING');
  });
});

describe("the README's production install", () => {
  it('renders the values file the README shows, with an existing Secret, into valid objects', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /\*\*3\. Install\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const objects = withValuesFile(block![1], (file) => render({ valuesFiles: [file] }).objects as K8sObject[]);
    expect(one(objects, 'HorizontalPodAutoscaler').spec.minReplicas).toBe(3);
    expect(one(objects, 'Job', 'migration').spec.template.spec.volumes.find((v: any) => v.name === 'secrets').secret.secretName).toBe('concur-connector-secrets');
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    await expectValid(objects);
  });
});

/**
 * The deployment examples in deploy/ (and quoted in README's Deployment
 * section) are checked: the systemd unit by `systemd-analyze verify`, the
 * DaemonSet's structure by a YAML parser (PyYAML; no cluster here for a
 * server-side dry run), and the gauge command line of each by gauge's own
 * parser, run for a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPythons } from './helpers/pythons.js';
import { repoRoot } from './export-helpers.js';

const unitPath = join(repoRoot, 'deploy', 'gauge-agent.service');
const dsPath = join(repoRoot, 'deploy', 'gauge-agent-daemonset.yaml');
const gaugeBin = join(repoRoot, 'bin', 'gauge');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const yamlPython = findPythons().find(
  (p) => p.mm[0] === 3 && spawnSync(p.exe, ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0,
);

/** Runs the agent with these arguments for a second, watching nothing: the flags must all parse. */
function agentAccepts(args: string[], env: Record<string, string>): void {
  const r = spawnSync(process.execPath, [gaugeBin, ...args, '--match', 'no-such-process-xyz', '--duration', '1'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);
}

test('README quotes deploy/ verbatim', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.ok(readme.includes('```ini\n' + readFileSync(unitPath, 'utf8') + '```'), 'the unit');
  assert.ok(readme.includes('```yaml\n' + readFileSync(dsPath, 'utf8') + '```'), 'the DaemonSet');
});

test(
  'systemd unit: systemd-analyze verify is clean; its gauge command line parses',
  { skip: hasAnalyze ? false : 'systemd-analyze not installed', timeout: 90000 },
  () => {
    const r = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings either');
    const unit = readFileSync(unitPath, 'utf8');
    const exec = /^ExecStart=\/usr\/bin\/env gauge (.*)$/m.exec(unit)![1]!.split(/\s+/);
    const env = Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    agentAccepts(exec, env);
  },
);

test(
  'DaemonSet: host PID namespace, CAP_SYS_PTRACE, read-only root; its gauge command line parses',
  { skip: yamlPython ? false : 'no Python with PyYAML here', timeout: 90000 },
  () => {
    const r = spawnSync(
      yamlPython!.exe,
      ['-c', 'import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', dsPath],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const [ds] = JSON.parse(r.stdout) as [
      {
        apiVersion: string;
        kind: string;
        spec: {
          selector: { matchLabels: Record<string, string> };
          template: {
            metadata: { labels: Record<string, string> };
            spec: {
              hostPID: boolean;
              containers: {
                args: string[];
                env: { name: string; value?: string }[];
                securityContext: {
                  readOnlyRootFilesystem: boolean;
                  allowPrivilegeEscalation: boolean;
                  capabilities: { add: string[]; drop: string[] };
                };
              }[];
            };
          };
        };
      },
    ];
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(ds.kind, 'DaemonSet');
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels))
      assert.equal(ds.spec.template.metadata.labels[k], v);
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostPID, true);
    const c = pod.containers[0]!;
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.ok(c.securityContext.capabilities.add.includes('SYS_PTRACE'));
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    // status.hostIP comes from the cluster; any address stands in for it here.
    agentAccepts(c.args, {
      DD_AGENT_HOST: '127.0.0.1',
      DD_TRACE_AGENT_PORT: c.env.find((e) => e.name === 'DD_TRACE_AGENT_PORT')!.value!,
    });
  },
);

import type { GateResult } from '../../domain/gates';
import type { GateDefinitions } from './definitions';
import { fetchingToolOf, withNameResolutionMissing, withoutNetworkBuilds } from './gate-network';

const maven: GateDefinitions = {
  source: 'maven',
  workspaceHostPath: '/w',
  commands: { typecheck: { command: 'mvn -B -ntp -q test-compile' }, tests: { command: './mvnw -B -ntp test jacoco:report' }, lint: { command: 'node lint.js' } },
  coverage: { summaryPath: 'target/site/jacoco/jacoco.csv', summaryHostPath: '/w/target/site/jacoco/jacoco.csv', format: 'jacoco-csv', metric: 'lines' },
  missing: {},
};

describe('gates that need the network where the gates have none', () => {
  it('knows Maven and Gradle, their wrappers included, unless told to run offline', () => {
    expect(fetchingToolOf('mvn -B test')).toBe('mvn');
    expect(fetchingToolOf('./mvnw -B test')).toBe('mvnw');
    expect(fetchingToolOf('gradle --console=plain test')).toBe('gradle');
    expect(fetchingToolOf('./gradlew test')).toBe('gradlew');
    expect(fetchingToolOf('mvn -o -B test')).toBeUndefined();
    expect(fetchingToolOf('./gradlew --offline test')).toBeUndefined();
    expect(fetchingToolOf('npm test')).toBeUndefined();
    expect(fetchingToolOf('sh build.sh')).toBeUndefined();
  });

  it('makes them missing, naming SANDBOX_NETWORK=host, and keeps the gates.json commands that are something else', () => {
    const out = withoutNetworkBuilds(maven, true);
    expect(Object.keys(out.commands)).toEqual(['lint']);
    expect(out.missing.tests).toContain('mvnw downloads');
    expect(out.missing.typecheck).toContain('SANDBOX_NETWORK=host');
    // Coverage read from the tests run goes with them.
    expect(out.missing.coverage).toContain('SANDBOX_NETWORK=host');
  });

  it('changes nothing when the gates have the network', () => {
    expect(withoutNetworkBuilds(maven, false)).toBe(maven);
  });

  const failed = (name: GateResult['name'], outputTail: string): GateResult => ({ name, outcome: 'failed', durationMs: 1, command: 'sh build.sh', exitCode: 1, outputTail });
  const unknownHost = '[ERROR] Plugin org.apache.maven.plugins:maven-resources-plugin:3.3.1 could not be resolved: ... Unknown host repo.maven.apache.org';

  it('makes a failed required gate whose output shows a name that did not resolve missing, when the network is off', () => {
    const [tests, other] = withNameResolutionMissing([failed('tests', unknownHost), failed('typecheck', 'error TS2304')], true, () => true);
    expect(tests).toMatchObject({ name: 'tests', outcome: 'missing' });
    expect(tests?.detail).toContain('SANDBOX_NETWORK=host');
    expect(other?.outcome).toBe('failed');
    // With the network on, a name that did not resolve is something else (a typo in the agent's URL): still failed.
    expect(withNameResolutionMissing([failed('tests', unknownHost)], false, () => true)[0]?.outcome).toBe('failed');
  });

  it('leaves a tolerated gate failed, whatever its output says: the agent could print the line to have it pass', () => {
    const [lint] = withNameResolutionMissing([failed('lint', unknownHost)], true, (gate) => gate !== 'lint');
    expect(lint?.outcome).toBe('failed');
  });

  it("leaves a required gate failed when only a test's own network call did not resolve (Node, Python, curl): that failure is the agent's to fix", () => {
    for (const line of ['Error: getaddrinfo ENOTFOUND api.example.test', 'socket.gaierror: [Errno -3] Temporary failure in name resolution', 'curl: (6) Could not resolve host: example.test', 'Name or service not known']) {
      expect(withNameResolutionMissing([failed('tests', `1 failing\n${line}`)], true, () => true)[0]?.outcome).toBe('failed');
    }
  });
});

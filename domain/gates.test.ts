import { awaitsCoordinator, blockingUnavailableGates, type UnavailableGate } from './gates';

const tests: UnavailableGate = { name: 'tests', detail: 'no test script', required: true };
const lint: UnavailableGate = { name: 'lint', detail: 'no linter', required: false };

describe('gate decisions shared by the activities and the workflow', () => {
  it('blocks a run on required missing gates only, and never when the spawn accepted missing gates', () => {
    expect(blockingUnavailableGates([tests, lint], undefined)).toEqual([tests]);
    expect(blockingUnavailableGates([tests, lint], 'fail')).toEqual([tests]);
    expect(blockingUnavailableGates([lint], undefined)).toEqual([]);
    expect(blockingUnavailableGates([tests, lint], 'skip')).toEqual([]);
  });

  it('waits for the coordinator only when one is configured and gates ran', () => {
    expect(awaitsCoordinator({ reportRequired: true, results: [{}] })).toBe(true);
    expect(awaitsCoordinator({ reportRequired: true, results: [] })).toBe(false);
    expect(awaitsCoordinator({ reportRequired: false, results: [{}] })).toBe(false);
  });
});

import type { Policy } from '../../../src/domain/policy';
import type { PolicySource } from '../../../src/domain/ports';

/** A `PolicySource` a test can swap under the services, as a policy reload would. */
export class SettablePolicySource implements PolicySource {
  constructor(private policy: Policy) {}

  current(): Policy {
    return this.policy;
  }

  set(policy: Policy): void {
    this.policy = policy;
  }
}

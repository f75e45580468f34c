import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records a reviewed cdk-nag finding on a construct. A reason is mandatory and must say why the finding is
 * acceptable, so the template carries the argument next to the exception.
 */
export function acknowledge(construct: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`cdk-nag acknowledgement ${id} needs a real reason`);
  Validations.of(construct).acknowledge({ id, reason });
}

import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

export type TransactFault =
  /** The call never reaches DynamoDB (connection reset). */
  | 'network-before'
  /** DynamoDB commits, then the response is lost on the way back. */
  | 'network-after'
  /** DynamoDB refuses the transaction because another one holds its items. */
  | 'conflict'
  /** The commit's journal entries carry a condition that cannot hold: DynamoDB itself cancels the transaction. */
  | 'journal-condition';

function networkError(): Error {
  const error = new Error('socket hang up (injected)');
  error.name = 'ECONNRESET';
  return error;
}

/**
 * Wraps a live DynamoDB client so the next TransactWriteItems calls fail in a chosen way. The hook sits at the
 * start of the SDK middleware stack, above its own retries, so each fault reaches the store exactly once.
 */
export function transactFaults(client: DynamoDBClient) {
  const planned: TransactFault[] = [];
  let sent = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      sent += 1;
      const fault = planned.shift();
      if (fault === 'network-before') throw networkError();
      if (fault === 'conflict') {
        const items = (args.input as { TransactItems?: unknown[] }).TransactItems ?? [];
        throw new TransactionCanceledException({
          message: 'Transaction cancelled (injected)',
          $metadata: {},
          CancellationReasons: items.map((_, index) => ({
            Code: index === 0 ? 'TransactionConflict' : 'None',
          })),
        });
      }
      if (fault === 'journal-condition') {
        const items =
          (args.input as { TransactItems?: { Put?: Record<string, unknown> }[] }).TransactItems ?? [];
        for (const item of items) {
          const sk = (item.Put?.Item as { sk?: { S?: string } } | undefined)?.sk?.S;
          if (sk?.startsWith('EVT#') && item.Put) item.Put.ConditionExpression = 'attribute_exists(pk)';
        }
      }
      const result = await next(args);
      if (fault === 'network-after') throw networkError();
      return result;
    },
    { step: 'initialize', name: 'testTransactFaults', override: true },
  );
  return {
    /** Fails the next `times` transactions with `fault`. */
    fail(fault: TransactFault, times = 1) {
      for (let index = 0; index < times; index++) planned.push(fault);
    },
    clear() {
      planned.length = 0;
    },
    get pending() {
      return planned.length;
    },
    get transactions() {
      return sent;
    },
  };
}

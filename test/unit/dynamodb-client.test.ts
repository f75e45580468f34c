import { describe, expect, it } from 'vitest';
import { dynamoClientFor } from '../../api/compose.js';

describe('the DynamoDB client the broker builds', () => {
  it('has no SDK logger middleware, whose sensitive-data filter copied every input and output for nothing', () => {
    const client = dynamoClientFor('eu-west-1', 'http://127.0.0.1:1');
    try {
      const names = client.middlewareStack.identify();
      // The SDK's own stack is there (so a renamed logger would show up here as one left behind)…
      expect(names.some((name) => name.startsWith('serializerMiddleware'))).toBe(true);
      expect(names.filter((name) => /logger/i.test(name))).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});

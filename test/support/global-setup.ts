import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../api/local/dynamodb-local.js';

/** One in-memory DynamoDB Local for the whole integration run; each test file uses its own table. */
export default async function setup(project: TestProject) {
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamodbEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

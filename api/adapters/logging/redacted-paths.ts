/**
 * Paths that must never reach a log line, whatever object is logged: the server's pino logger and the Lambda
 * functions' JSON-lines logger both redact them.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'cookie',
  '*.SecretAccessKey',
  '*.SessionToken',
  '*.secretAccessKey',
  '*.sessionToken',
  'SecretAccessKey',
  'SessionToken',
  'token',
  '*.token',
  'accessToken',
  'refreshToken',
  'secret',
  '*.secret',
];

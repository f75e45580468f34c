/** Options every command accepts, and the helpers most commands share. */
import { ApiClient } from '../api-client.js';
import type { CliContext } from '../context.js';
import { usage } from '../errors.js';
import { resolveServer } from '../state.js';

export interface GlobalOptions {
  json?: boolean;
  server?: string;
}

export async function connect(ctx: CliContext, options: GlobalOptions): Promise<ApiClient> {
  return ApiClient.connect(ctx, resolveServer(ctx, options.server));
}

const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Checks a request id locally so a typo is a usage error, not a round trip. */
export function requestId(id: string): string {
  const trimmed = id.trim();
  if (!REQUEST_ID.test(trimmed))
    throw usage(`"${id}" is not a request id (they look like req_01J…)`, 'run `breakglass list`');
  return trimmed;
}

export function requireText(value: string | undefined, flag: string, example: string): string {
  const text = value?.trim();
  if (!text) throw usage(`${flag} is required`, `for example ${flag} "${example}"`);
  return text;
}

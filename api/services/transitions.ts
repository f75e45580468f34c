/**
 * The target of every EventBridge Scheduler schedule: `{"requestId": "...", "transition": "expire"}` →
 * RequestService.applyTransition. Firing twice, late, or after the sweeper got there first changes nothing.
 */
import * as z from 'zod/mini';
import '../config/zod-english.js';
import { DomainError } from '../domain/errors.js';
import type { RequestStatus } from '../domain/types.js';
import type { RequestService } from './request-service.js';

export const TransitionInputSchema = z.strictObject({
  requestId: z.string().check(z.regex(/^req_[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a request id')),
  transition: z.enum(['activate', 'expire', 'timeout', 'review_overdue']),
});

export type TransitionInput = z.infer<typeof TransitionInputSchema>;

export interface TransitionResult extends TransitionInput {
  /** False when there was nothing to do: already applied, no longer applicable, or not yet due. */
  applied: boolean;
  status: RequestStatus | null;
}

/** Applies one scheduled transition idempotently. Malformed input throws (Scheduler then dead-letters it). */
export async function handleTransition(requests: RequestService, input: unknown): Promise<TransitionResult> {
  const raw = typeof input === 'string' ? safeJson(input) : input;
  const parsed = TransitionInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DomainError(
      'validation_failed',
      `not a transition: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`).join('; ')}`,
    );
  }
  const { requestId, transition } = parsed.data;
  const request = await requests.applyTransition(requestId, transition);
  return { requestId, transition, applied: request !== null, status: request?.status ?? null };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

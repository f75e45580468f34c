import { z } from '@hono/zod-openapi';
import { MAX_REQUEST_MINUTES } from '../domain/duration.js';
import { DomainError } from '../domain/errors.js';
import { type TextKind, textProblem } from '../domain/text.js';
import { REQUEST_STATUSES } from '../domain/types.js';

/** Marks a zod issue as a breach of the text rule, so the validation hook answers `invalid_text`. */
export const INVALID_TEXT = 'invalid_text';

/** A free-text string under the one text rule (api/domain/text.ts); check it after trimming. */
export function freeText<T extends z.ZodType<string>>(schema: T, kind: TextKind = 'multiline') {
  return schema.superRefine((value, ctx) => {
    const problem = textProblem(value, kind);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { code: INVALID_TEXT } });
  });
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

/** The error responses every authenticated route can give. */
export const problemResponses = {
  400: { description: 'Invalid input', content: problemContent },
  401: { description: 'Missing or invalid token', content: problemContent },
  403: { description: 'Not allowed', content: problemContent },
  404: { description: 'Not found', content: problemContent },
  409: { description: 'Conflicting state', content: problemContent },
  422: { description: 'Refused by policy', content: problemContent },
} as const;

const IdentitySchema = z.object({ subject: z.string(), email: z.string() });
const DecisionSchema = z.object({
  by: IdentitySchema,
  at: z.string(),
  comment: z.string().nullable(),
  via: z.string(),
});
const ApprovalSchema = z.object({
  approver: IdentitySchema,
  at: z.string(),
  comment: z.string().nullable(),
  via: z.string(),
});

export const RequestSchema = z
  .object({
    id: z.string(),
    roleId: z.string(),
    accountId: z.string(),
    roleArn: z.string(),
    requester: IdentitySchema,
    reason: z.string(),
    ticket: z.string().nullable(),
    emergency: z.boolean(),
    durationMinutes: z.number().int(),
    startAt: z.string().nullable(),
    endAt: z.string().nullable(),
    scheduled: z.boolean(),
    status: z.enum(REQUEST_STATUSES),
    approvalsRequired: z.number().int(),
    approvals: z.array(ApprovalSchema),
    denial: DecisionSchema.nullable(),
    cancellation: DecisionSchema.nullable(),
    revocation: z.object({ by: IdentitySchema, at: z.string(), reason: z.string() }).nullable(),
    postReview: z
      .object({
        dueAt: z.string(),
        outcome: z.enum(['acknowledged', 'flagged']).nullable(),
        by: IdentitySchema.nullable(),
        at: z.string().nullable(),
        comment: z.string().nullable(),
        overdue: z.boolean(),
      })
      .nullable(),
    extension: z
      .object({
        durationMinutes: z.number(),
        reason: z.string(),
        requestedAt: z.string(),
        approvalsRequired: z.number().int(),
        approvals: z.array(ApprovalSchema),
      })
      .nullable(),
    extensions: z.array(
      z.object({
        durationMinutes: z.number(),
        reason: z.string(),
        approvedAt: z.string(),
        previousEndAt: z.string(),
        approvals: z.array(ApprovalSchema).optional(),
      }),
    ),
    deniedExtensions: z
      .array(
        z.object({
          durationMinutes: z.number(),
          reason: z.string(),
          requestedAt: z.string(),
          approvals: z.array(ApprovalSchema),
          denial: z.object({
            by: IdentitySchema,
            at: z.string(),
            comment: z.string().nullable(),
            via: z.string().optional(),
          }),
        }),
      )
      .optional()
      .openapi({ description: 'Extensions an approver denied' }),
    pendingUntil: z.string(),
    endReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    url: z.string().openapi({ description: 'Web page of the request' }),
  })
  .openapi('AccessRequest');

/** A request id: `req_` and a ULID. Checked on every route before any storage call (API, web and Slack). */
export const REQUEST_ID_PATTERN = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

export const RequestIdParam = z.object({
  id: z
    .string()
    .regex(REQUEST_ID_PATTERN, 'must be a request id such as req_01J…')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D' }),
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The API's limits, shared with the web forms (which refuse what the API refuses). */
/** An `Idempotency-Key` (the API's header; the web form sends its own in a hidden field). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\w-]{8,128}$/;

export const REASON_LIMIT = 1000;
export const TICKET_LIMIT = 128;
export const MAX_DURATION_MINUTES = MAX_REQUEST_MINUTES;

/** POST /v1/requests, and the web form after converting its fields. */
export const CreateRequestBody = z
  .strictObject({
    roleId: z.string().min(1).max(64),
    durationMinutes: z
      .number()
      .int('must be a whole number of minutes')
      .min(1, 'must be at least 1')
      .max(MAX_DURATION_MINUTES),
    reason: freeText(z.string().trim().min(3, 'must say why access is needed').max(REASON_LIMIT)),
    ticket: freeText(z.string().trim().min(1).max(TICKET_LIMIT), 'line').optional(),
    startAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-11-22T10:00:00Z' })
      .optional(),
    emergency: z.boolean().optional(),
  })
  .openapi('CreateRequest');

const comment = freeText(z.string().trim().min(1).max(REASON_LIMIT));

/** The bodies of the decision routes, shared with the web forms. */
export const DECISION_BODIES = {
  approve: z.strictObject({ comment: comment.optional() }),
  deny: z.strictObject({ comment }),
  cancel: z.strictObject({}),
  revoke: z.strictObject({ reason: comment }),
  extend: z.strictObject({
    durationMinutes: z
      .number()
      .int('must be a whole number of minutes')
      .min(1, 'must be at least 1')
      .max(MAX_DURATION_MINUTES),
    reason: comment,
  }),
  review: z.strictObject({ outcome: z.enum(['acknowledged', 'flagged']), comment }),
};

/** A failed parse as the API's hook reports it: `invalid_text` for the text rule, else `validation_failed`. */
export function validationError(error: z.ZodError): DomainError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  const text = error.issues.find((issue) => issue.code === 'custom' && issue.params?.code === INVALID_TEXT);
  if (text) {
    const field = text.path.map(String).join('.');
    return new DomainError('invalid_text', `${field} ${text.message}`, { field });
  }
  return new DomainError(
    'validation_failed',
    issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
  );
}

import type { BreakglassConfig } from '../../config/schema.js';
import { DomainError } from '../../domain/errors.js';
import type { AccessRequest, Caller } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { MarkerStore } from '../../ports/markers.js';
import type { SlackApi } from '../../ports/slack.js';
import type { RequestService } from '../request-service.js';
import { ACTION_APPROVE, ACTION_DENY, ACTION_OPEN } from './slack-blocks.js';
import type { SlackNotifier } from './slack-notifier.js';
import { verifySlackRequest } from './slack-signature.js';

const REPLAY_MARKER = 'slack-sig';
/** Longer than the accepted timestamp window, so a replay inside the window always finds the marker. */
const REPLAY_TTL_SECONDS = 600;
const REQUEST_ID = /^req_[0-9A-Z]{26}$/;
/** `response_url` must point at Slack: the payload is signed, but a leaked secret must not become an SSRF. */
const RESPONSE_URL = /^https:\/\/hooks\.slack\.com\//;

interface BlockActionsPayload {
  type?: unknown;
  user?: { id?: unknown; team_id?: unknown };
  team?: { id?: unknown };
  actions?: Array<{ action_id?: unknown; value?: unknown }>;
  response_url?: unknown;
}

export interface SlackInteractionsOptions {
  config: BreakglassConfig;
  requests: RequestService;
  slack: SlackApi;
  markers: MarkerStore;
  notifier: SlackNotifier;
  logger: Logger;
  clock: Clock;
  signingSecret: string | undefined;
  /** Reads a request as the system: visibility rules are for people, this only routes the click. */
  getRequest: (id: string) => Promise<AccessRequest | null>;
  fetchImpl?: typeof fetch;
}

/**
 * Handles POST /slack/interactions: verifies the signature and freshness, rejects replays, answers at once and
 * applies Approve/Deny in the background through RequestService, under the same rules as the API.
 */
export class SlackInteractions {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: SlackInteractionsOptions) {}

  /** Checks the request synchronously; the decision itself runs afterwards. Throws DomainError on refusal. */
  async receive(input: { rawBody: string; timestamp?: string; signature?: string }): Promise<void> {
    const { signingSecret, logger, clock } = this.options;
    if (!signingSecret) throw new DomainError('not_ready', 'Slack interactions are not configured');
    const verdict = verifySlackRequest({
      secret: signingSecret,
      timestamp: input.timestamp,
      signature: input.signature,
      rawBody: input.rawBody,
      nowSeconds: Math.floor(clock.now().getTime() / 1000),
    });
    if (!verdict.ok) {
      logger.warn({ code: verdict.code }, 'slack interaction refused');
      throw new DomainError(
        verdict.code,
        verdict.code === 'stale_request'
          ? 'the request timestamp is outside the accepted window'
          : 'bad signature',
      );
    }
    // The signature covers timestamp and body, so it identifies this exact delivery.
    if (!(await this.options.markers.claim(REPLAY_MARKER, input.signature!.slice(3), REPLAY_TTL_SECONDS))) {
      logger.warn({}, 'slack interaction replayed');
      throw new DomainError('replayed_request', 'this interaction was already received');
    }
    const payload = parsePayload(input.rawBody);
    const action = payload.actions?.[0];
    const actionId = action?.action_id;
    if (payload.type !== 'block_actions' || typeof actionId !== 'string') {
      throw new DomainError('unknown_action', 'only block actions are handled');
    }
    if (actionId === ACTION_OPEN) return; // a link button: Slack opens the URL itself
    if (actionId !== ACTION_APPROVE && actionId !== ACTION_DENY) {
      throw new DomainError('unknown_action', `unknown action ${actionId.slice(0, 64)}`);
    }
    const requestId = typeof action?.value === 'string' ? action.value : '';
    const userId = typeof payload.user?.id === 'string' ? payload.user.id : '';
    if (!REQUEST_ID.test(requestId) || !/^[UW][A-Z0-9]{2,20}$/.test(userId)) {
      throw new DomainError('validation_failed', 'the action names no request or user');
    }
    const teamId = String(payload.user?.team_id ?? payload.team?.id ?? 'T');
    const responseUrl =
      typeof payload.response_url === 'string' && RESPONSE_URL.test(payload.response_url)
        ? payload.response_url
        : null;
    const work = this.decide(
      actionId === ACTION_APPROVE ? 'approve' : 'deny',
      requestId,
      userId,
      teamId,
      responseUrl,
    )
      .catch((error: unknown) => {
        logger.error({ err: (error as Error).message, requestId }, 'slack decision failed');
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /** Resolves when every decision received so far has been applied (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async decide(
    decision: 'approve' | 'deny',
    requestId: string,
    userId: string,
    teamId: string,
    responseUrl: string | null,
  ): Promise<void> {
    const { requests, slack, config } = this.options;
    let user: Awaited<ReturnType<SlackApi['userInfo']>>;
    try {
      user = await slack.userInfo(userId);
    } catch (error) {
      this.options.logger.error({ err: (error as Error).message, userId }, 'slack users.info failed');
      await this.respond(
        responseUrl,
        'Not done: Slack could not tell us who you are; try again or use Open.',
      );
      return;
    }
    // Who clicked is whoever Slack says owns the account; the payload's own claims are not trusted for this.
    const caller: Caller = {
      subject: `slack:${teamId}:${userId}`,
      email: user.email ?? `${userId.toLowerCase()}@slack.invalid`,
      groups: [],
      mfa: false,
      via: 'slack',
    };
    const request = await this.options.getRequest(requestId);
    if (!request) {
      await this.respond(responseUrl, `Not done: there is no request ${requestId} (not_found).`);
      return;
    }
    try {
      // Refusals here are recorded as access.forbidden by guard(), like every 403 of the service itself.
      await requests.guard(caller, `slack.${decision}`, { requestId, roleId: request.roleId }, async () => {
        if (!config.notifications.slack?.approveInSlack) {
          throw new DomainError('forbidden', 'approving in Slack is turned off; use the Open button');
        }
        if (!user.email || user.deleted || user.isBot) {
          throw new DomainError('not_approver', 'your Slack account has no usable email address');
        }
        // Only approverUsers count in Slack: Slack cannot vouch for identity-provider groups. The requester
        // falls through to the service, which refuses and records the self-approval.
        const role = requests.role(request.roleId);
        const listed = role?.approverUsers.some((email) => email.toLowerCase() === caller.email) ?? false;
        if (!listed && request.requester.email.toLowerCase() !== caller.email) {
          throw new DomainError(
            'not_approver',
            `${caller.email} is not listed in approverUsers of ${request.roleId}`,
          );
        }
      });
      const outcome =
        decision === 'approve'
          ? await requests.approve(caller, requestId, null)
          : await requests.deny(caller, requestId, `denied in Slack by ${caller.email}`);
      await this.respond(
        responseUrl,
        `${decision === 'approve' ? 'Approved' : 'Denied'} ${requestId}: it is now ${outcome.status}.`,
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.options.logger.info({ code: error.code, requestId, userId }, 'slack decision refused');
      await this.respond(responseUrl, `Not done: ${error.message} (${error.code}).`);
      if (error.code === 'invalid_state' || error.code === 'already_approved') {
        // Whatever the click saw is stale: show the request as it is now.
        const current = await this.options.getRequest(requestId);
        if (current) await this.options.notifier.refresh(current);
      }
    }
  }

  private async respond(responseUrl: string | null, text: string): Promise<void> {
    if (!responseUrl) return;
    const fetchImpl = this.options.fetchImpl ?? fetch;
    try {
      await fetchImpl(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'slack response_url post failed');
    }
  }
}

function parsePayload(rawBody: string): BlockActionsPayload {
  try {
    const payload = new URLSearchParams(rawBody).get('payload');
    const parsed = payload ? (JSON.parse(payload) as unknown) : null;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('no payload');
    return parsed as BlockActionsPayload;
  } catch {
    throw new DomainError('validation_failed', 'the body has no JSON payload field');
  }
}

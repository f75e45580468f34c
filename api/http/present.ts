import type { AccessRequest } from '../domain/types.js';

/** The public shape of a request: internal bookkeeping stays out, a link to its page goes in. */
export function presentRequest(request: AccessRequest, publicUrl: string) {
  const { requesterGroups: _groups, version: _version, ...visible } = request;
  return { ...visible, url: `${publicUrl}/requests/${request.id}` };
}

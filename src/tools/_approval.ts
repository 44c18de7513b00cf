/**
 * Asking a person before the model does what RVR_APPROVAL gates (robot/safety/approval.ts): the
 * request a tool hands to `ctx.approve`, and the two ways a tool uses the answer. The adapter
 * provides `ctx.approve` only when its client can put a question to a person (MCP: elicitation in
 * the 2025 era, an `input_required` result in the 2026 era); without it, a gated action is refused
 * with a message that says how it can still be done (the dashboard, or the setting that allows it).
 *
 * Private to src/tools.
 *
 * @module
 */
import {
  APPROVAL_DECISIONS,
  type ApprovalAction,
  type ApprovalDecision,
  ApprovalRefusedError,
} from "../robot/mod.ts";
import type { ToolContext } from "./_tool.ts";

/** What a tool asks a person to approve. */
export interface ApprovalRequest {
  /** The RVR_APPROVAL item that gates it. */
  readonly action: ApprovalAction;
  /** The tool that asks. */
  readonly tool: string;
  /** The question shown to the person: what would be done and why it needs them. */
  readonly message: string;
  /** The values of what would be done (e.g. `{ percent: 90, previous: 50 }`). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** How the refusal names what was not done and the way out. */
export interface RefusalText {
  /** The action with its values, as the start of a sentence ("Raising the speed limit to 90 %"). */
  readonly what: string;
  /** How it can still be done when no person can be asked. */
  readonly wayOut: string;
}

/**
 * Asks the person through `ctx.approve`: their decision, or undefined when this caller cannot ask
 * one. Cancelling the call cancels the question (the call's own abort error is rethrown); a
 * question that fails otherwise is refused as ApprovalRefusedError ("failed").
 */
export async function askPerson(
  ctx: ToolContext,
  request: ApprovalRequest,
  text: RefusalText,
): Promise<ApprovalDecision | undefined> {
  if (ctx.approve === undefined) return undefined;
  let decision: ApprovalDecision;
  try {
    decision = await ctx.approve(request);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    throw new ApprovalRefusedError(request.action, "failed", text.what, text.wayOut, {
      cause: error,
    });
  }
  if (!(APPROVAL_DECISIONS as readonly string[]).includes(decision)) {
    throw new TypeError(
      `ctx.approve must resolve to one of ${APPROVAL_DECISIONS.join(", ")}, got ` +
        `${JSON.stringify(decision)} (a bug in the adapter).`,
    );
  }
  return decision;
}

/** Asks the person and throws ApprovalRefusedError unless they accept. */
export async function requireApproval(
  ctx: ToolContext,
  request: ApprovalRequest,
  text: RefusalText,
): Promise<void> {
  const decision = await askPerson(ctx, request, text);
  if (decision === "accept") return;
  throw new ApprovalRefusedError(request.action, decision ?? "unavailable", text.what, text.wayOut);
}

/** The way out for an action RVR_APPROVAL gates, when no person can be asked. */
export function settingWayOut(item: string): string {
  return `A person can allow it by starting the server with an RVR_APPROVAL that does not list ` +
    `${item}.`;
}

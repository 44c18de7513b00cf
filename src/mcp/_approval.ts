/**
 * `ctx.approve` over MCP: how a tool call puts what RVR_APPROVAL gates (the model clearing a
 * person's e-stop, ...) to the person at the client, in each protocol era. The question is a form
 * with one boolean ({@link APPROVAL_FIELD}); "accept" counts only with the box checked.
 *
 * - 2025 era: an `elicitation/create` request sent with the call's own context
 *   (`ctx.mcpReq.send`: related to the call, so over Streamable HTTP it travels on the call's own
 *   stream), cancelled with the call, {@link APPROVAL_TIMEOUT_MS} for an answer. Only for a
 *   client that declared form elicitation at `initialize`.
 * - 2026-07-28 era (no server-to-client requests): the call ends with an `input_required` result
 *   carrying the question (`inputRequests`, key {@link approvalKey}) and a signed `requestState`
 *   naming the question; the client asks the person and calls the tool again with the answer in
 *   `inputResponses` and the state echoed. Only an answer whose state verifies (this process's
 *   key, younger than {@link APPROVAL_TIMEOUT_MS}) and names the very question asked now resolves
 *   `approve`; anything else (no answer, a tampered, expired or stale state: the e-stop pressed
 *   again meanwhile) asks again, with a log line. Only for a request whose envelope declares form
 *   elicitation. The handler runs again from the start on the retry: the catalog asks before it
 *   changes anything, so the first run left nothing behind.
 *
 * A client without elicitation gets no `approve`: the catalog refuses the gated action with the
 * way out (POST /estop/clear, RVR_APPROVAL).
 *
 * Private to src/mcp.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  createRequestStateCodec,
  type ElicitRequestFormParams,
  inputRequired,
  type InputRequiredResult,
  inputResponse,
  type McpServer,
  PROTOCOL_VERSION_META_KEY,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { ApprovalDecision } from "../robot/mod.ts";
import type { ApprovalRequest } from "../tools/mod.ts";

const log = getLogger(["rvr", "mcp"]);

/** How long a person has to answer an approval question before it counts as failed, ms. */
export const APPROVAL_TIMEOUT_MS = 5 * 60_000;

/** The form field the person sets to approve. */
export const APPROVAL_FIELD = "approve";

/** The `inputRequests` / `inputResponses` key of the question about `action` (2026 era). */
export function approvalKey(action: string): string {
  return `approve_${action}`;
}

/** What the signed requestState of a 2026-era question holds: the question it was minted for. */
interface QuestionState {
  readonly question: string;
}

// One key per process: every round of a question is answered by this process (the stdio
// connection, or the HTTP endpoint's per-request servers), and a restart asks again.
const stateCodec = createRequestStateCodec<QuestionState>({
  key: crypto.getRandomValues(new Uint8Array(32)),
  ttlSeconds: APPROVAL_TIMEOUT_MS / 1000,
});

/**
 * The question as its state names it: a SHA-256 (base64url) of the tool, the action, the message
 * and the values, so an answer counts only for the very question (the e-stop pressed again asks
 * anew) and the state stays short.
 */
async function questionId(request: ApprovalRequest): Promise<string> {
  const text = JSON.stringify([request.tool, request.action, request.message, request.details]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The form that asks `request`. */
function questionForm(request: ApprovalRequest): ElicitRequestFormParams {
  return {
    mode: "form",
    message: request.message,
    requestedSchema: {
      type: "object",
      properties: {
        [APPROVAL_FIELD]: {
          type: "boolean",
          title: "Allow it",
          description: "Check to allow it; leave unchecked or decline to refuse.",
          default: false,
        },
      },
      required: [APPROVAL_FIELD],
    },
  };
}

/** The decision an elicitation answer stands for: accept only with the box checked. */
function decisionOf(
  action: "accept" | "decline" | "cancel",
  content: Record<string, unknown> | undefined,
): ApprovalDecision {
  if (action !== "accept") return action;
  return content?.[APPROVAL_FIELD] === true ? "accept" : "decline";
}

/** True when `capabilities` include form elicitation (a bare `elicitation: {}` means form). */
function elicitsForms(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  if (elicitation === undefined) return false;
  return elicitation.form !== undefined || elicitation.url === undefined;
}

/** Thrown by a 2026-era `approve` that must ask first: the call ends with {@link Approver.asking}. */
class AskingFirst extends Error {
  override name = "AskingFirst";
}

/** The `approve` of one tool call, and the question it is waiting for (2026 era). */
export interface Approver {
  /** `ctx.approve`, or undefined when this client cannot ask a person. */
  readonly approve?: (request: ApprovalRequest) => Promise<ApprovalDecision>;
  /**
   * The `input_required` result to end the call with when `error` (what the handler threw) came
   * from `approve` needing to ask first; else undefined.
   */
  asking(error: unknown): InputRequiredResult | undefined;
}

/** `ctx.approve` for one tool call, for the era of `extra`; see the module doc. */
export function approver(server: McpServer, tool: string, extra: ServerContext): Approver {
  // The SDK types the 2026-07-28 envelope as {}; it has checked its keys at dispatch.
  const envelope = extra.mcpReq.envelope as Readonly<Record<string, unknown>> | undefined;
  if (envelope?.[PROTOCOL_VERSION_META_KEY] !== undefined) {
    const capabilities = envelope[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
    return modernApprover(tool, extra, capabilities);
  }
  // 2025 era: what the client declared at initialize (per connection; no envelope per request).
  if (!elicitsForms(server.server.getClientCapabilities())) return { asking: () => undefined };
  const approve = async (request: ApprovalRequest): Promise<ApprovalDecision> => {
    log.info("{tool}: asking the person to approve {action}", { tool, action: request.action });
    const result = await extra.mcpReq.send(
      { method: "elicitation/create", params: questionForm(request) },
      { signal: extra.mcpReq.signal, timeout: APPROVAL_TIMEOUT_MS },
    );
    const decision = decisionOf(result.action, result.content);
    log.info("{tool}: the person answered {decision} to {action}", {
      tool,
      decision,
      action: request.action,
    });
    return decision;
  };
  return { approve, asking: () => undefined };
}

function modernApprover(
  tool: string,
  extra: ServerContext,
  capabilities: ClientCapabilities | undefined,
): Approver {
  if (!elicitsForms(capabilities)) return { asking: () => undefined };
  let pending: { result: InputRequiredResult; thrown: AskingFirst } | undefined;
  const approve = async (request: ApprovalRequest): Promise<ApprovalDecision> => {
    const key = approvalKey(request.action);
    const id = await questionId(request);
    const answered = await answerTo(tool, extra, key, id);
    if (answered !== undefined) {
      log.info("{tool}: the person answered {decision} to {action}", {
        tool,
        decision: answered,
        action: request.action,
      });
      return answered;
    }
    log.info("{tool}: asking the person to approve {action} (input_required)", {
      tool,
      action: request.action,
    });
    const thrown = new AskingFirst(
      `${tool} asks the person first (input_required ${key}); the client calls it again with ` +
        "the answer",
    );
    pending = {
      result: inputRequired({
        inputRequests: { [key]: inputRequired.elicit(questionForm(request)) },
        requestState: await stateCodec.mint({ question: id }),
      }),
      thrown,
    };
    throw thrown;
  };
  return {
    approve,
    asking(error) {
      if (pending === undefined) return undefined;
      // The catalog may wrap what approve threw (askPerson: ApprovalRefusedError "failed").
      for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; depth++) {
        if (e === pending.thrown) return pending.result;
        e = e.cause;
      }
      return undefined;
    },
  };
}

/**
 * The person's answer to the question `id` carried by this (retried) call, or undefined when it
 * carries none that counts (then the question is asked again).
 */
async function answerTo(
  tool: string,
  extra: ServerContext,
  key: string,
  id: string,
): Promise<ApprovalDecision | undefined> {
  const state = extra.mcpReq.requestState<unknown>();
  const answer = inputResponse(extra.mcpReq.inputResponses, key);
  if (state === undefined) {
    if (answer.kind !== "missing") {
      log.warn("{tool}: an answer for {key} without the question's requestState; asking", {
        tool,
        key,
      });
    }
    return undefined;
  }
  if (typeof state !== "string") {
    log.warn("{tool}: a requestState that is not a string; asking again", { tool });
    return undefined;
  }
  let payload: QuestionState;
  try {
    payload = await stateCodec.verify(state, extra);
  } catch (error) {
    log.warn("{tool}: the requestState did not verify ({reason}); asking again", {
      tool,
      reason: errorMessage(error),
    });
    return undefined;
  }
  if (payload.question !== id) {
    log.info("{tool}: the answer was to another question (it changed meanwhile); asking again", {
      tool,
    });
    return undefined;
  }
  if (answer.kind !== "elicit") {
    log.warn("{tool}: the retry carries no elicitation answer for {key} ({kind}); asking again", {
      tool,
      key,
      kind: answer.kind,
    });
    return undefined;
  }
  return decisionOf(answer.action, answer.content);
}

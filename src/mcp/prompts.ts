/**
 * The prompt catalog (src/tools PROMPTS) on the MCP server, for both protocol eras: each prompt
 * registered with `registerPrompt`, its arguments as strings (what prompts/get carries) wrapped in
 * the SDK's `completable`, so `completion/complete` answers from the catalog's `complete` and the
 * server declares `completions`. The argument object is strict, so a misspelt argument is refused
 * naming it and the arguments the prompt takes; values are checked with the catalog's
 * `parsePromptArguments`, and a refusal is JSON-RPC InvalidParams with its one-line message.
 * {@link registerPrompts} is called by the server factory (server.ts) for every instance.
 *
 * @module
 */
import {
  completable,
  type GetPromptResult,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import {
  InvalidArgumentsError,
  parsePromptArguments,
  type Prompt,
  promptArguments,
  type PromptContext,
  PROMPTS,
  type ToolRobot,
} from "../tools/mod.ts";

/** What the prompts need beyond the robot. */
export interface PromptOptions {
  /** Serial devices seen on this machine, for the port completions (main.ts looks in /dev). */
  readonly serialPorts?: () => Promise<readonly string[]>;
}

/** The strict argument object of `p`: strings, required as in the catalog, completable. */
function argsSchema(p: Prompt, context: (args?: Record<string, string>) => PromptContext) {
  const shape: Record<string, z.ZodType<string | undefined>> = {};
  for (const arg of promptArguments(p)) {
    // Completable inside, optional outside: the SDK unwraps an optional argument to find its
    // completer.
    const field = completable(
      z.string({ error: `${arg.name} is missing: ${arg.description}` }).describe(arg.description),
      (value, ctx) => p.complete(arg.name, value ?? "", context(ctx?.arguments)),
    );
    shape[arg.name] = arg.required ? field : field.optional();
  }
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `prompt ${p.name}: unknown argument${issue.keys.length > 1 ? "s" : ""} ${
          issue.keys.map((k) => JSON.stringify(k)).join(", ")
        }: it takes ${Object.keys(shape).join(", ")}`
        : undefined,
  });
}

/** Registers every prompt of the catalog on `server`, driving `robot`'s facts. */
export function registerPrompts(
  server: McpServer,
  robot: ToolRobot,
  options: PromptOptions = {},
): void {
  const context = (args?: Record<string, string>): PromptContext => ({
    robot,
    ...(args === undefined ? {} : { arguments: args }),
    ...(options.serialPorts === undefined ? {} : { serialPorts: options.serialPorts }),
  });
  for (const p of PROMPTS) {
    server.registerPrompt(
      p.name,
      { title: p.title, description: p.description, argsSchema: argsSchema(p, context) },
      (raw: Record<string, string | undefined>): GetPromptResult => {
        let args;
        try {
          args = parsePromptArguments(p, raw);
        } catch (error) {
          if (error instanceof InvalidArgumentsError) {
            throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
          }
          throw error;
        }
        return {
          description: p.description,
          messages: p.messages(args, robot).map((m) => ({
            role: m.role,
            content: { type: "text", text: m.text },
          })),
        };
      },
    );
  }
}

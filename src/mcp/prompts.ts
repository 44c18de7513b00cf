/**
 * The prompts a person picks from the client's menu, and the completion of their arguments.
 * {@link registerPrompts} is called by the server factory (server.ts) for every instance, so a
 * prompt listed in {@link PROMPTS} is served to both protocol eras on every transport.
 *
 * Adding one: give it a name, a title, a description, a zod object of its arguments and a
 * function from the arguments to the messages. Wrap an argument in the SDK's
 * `completable(schema, complete)` for its values to complete: the SDK then answers
 * `completion/complete` and declares `completions`. None are defined yet; the server declares
 * the `prompts` capability all the same, so `prompts/list` answers [].
 *
 * @module
 */
import type { GetPromptResult, McpServer } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { ServerDeps } from "./_tool.ts";

/** One prompt: what the menu shows and the messages it produces. */
export interface PromptDef<A extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly args: A;
  messages(args: z.output<A>, deps: ServerDeps): GetPromptResult;
}

/** Every prompt the server offers, in menu order. */
export const PROMPTS: readonly PromptDef[] = [];

/** Registers {@link PROMPTS} on `server`. */
export function registerPrompts(server: McpServer, deps: ServerDeps): void {
  for (const p of PROMPTS) {
    server.registerPrompt(p.name, {
      title: p.title,
      description: p.description,
      argsSchema: p.args,
    }, (args: unknown) => p.messages(args as z.output<typeof p.args>, deps));
  }
}

import { GotongError } from "../../common/errors.ts";

/**
 * The answer to `GET /v1/responses/{id}` (and its `input_items`, `cancel`, `DELETE`): an honest 404,
 * since Gotong stores no response, prompt or answer (privacy), not even the ones it just served.
 *
 * @param id The response id the client asked for.
 */
export function responseNotStored(id: string): GotongError {
  return new GotongError(`No response "${id}" is stored here: Gotong keeps no prompt and no answer (privacy), so a response cannot be fetched, listed, cancelled or deleted later`, {
    code: "response_not_found",
    status: 404,
    param: "response_id",
    hint: "Keep the response your request returned; to continue a conversation, send it all again as \"input\" items.",
  });
}

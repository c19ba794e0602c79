import assert from "node:assert/strict";
import OpenAI from "openai";
import { ApiError } from "../../../lib/errors.ts";
import { openAIErrorBody } from "../../../lib/openai/openai_error_body.ts";
import { withServer } from "../../_helpers/openai_client.ts";

Deno.test("openAIErrorBody gives the openai SDK the right error class, status and retry-after", async () => {
  const cases: Array<
    [ApiError, new (...args: never[]) => InstanceType<typeof OpenAI.APIError>, string | null]
  > = [
    [new ApiError("invalid_request_error", "messages[0].role: Invalid input"), OpenAI.BadRequestError, null],
    [
      new ApiError("authentication_error", "invalid x-api-key"),
      OpenAI.AuthenticationError,
      "invalid_api_key",
    ],
    [
      new ApiError("rate_limit_error", "slow down", { retryAfterSeconds: 9 }),
      OpenAI.RateLimitError,
      "rate_limit_exceeded",
    ],
    [new ApiError("api_error", "boom", { status: 502 }), OpenAI.InternalServerError, null],
    [new ApiError("not_found_error", "no such model"), OpenAI.NotFoundError, "not_found"],
  ];
  for (const [error, expectedClass, code] of cases) {
    const mapped = openAIErrorBody(error);
    assert.equal(mapped.status, error.status);
    await withServer(
      () => Response.json(mapped.body, { status: mapped.status, headers: mapped.headers }),
      async (client) => {
        await assert.rejects(
          client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }),
          (thrown: unknown) => {
            assert.ok(thrown instanceof expectedClass, `${error.type} -> ${thrown}`);
            assert.equal((thrown as InstanceType<typeof OpenAI.APIError>).code ?? null, code);
            return true;
          },
        );
      },
    );
  }
  const invalid = openAIErrorBody(new ApiError("invalid_request_error", "messages[0].role: Invalid input"));
  assert.equal(invalid.body.error.param, "messages[0].role");
  assert.deepEqual(openAIErrorBody(new ApiError("rate_limit_error", "x", { retryAfterSeconds: 9 })).headers, {
    "retry-after": "9",
  });
  const overflow = openAIErrorBody(
    new ApiError("invalid_request_error", "prompt is too long: 300000 tokens"),
  );
  assert.equal(overflow.body.error.code, "context_length_exceeded");
});

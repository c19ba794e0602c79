import assert from "node:assert/strict";
import { classifyAmazonQError, isStaleTokenAnswer } from "../../../lib/amazonq/classify_amazonq_error.ts";

const NOW = Date.UTC(2026, 11, 31, 23, 0);

Deno.test("classifyAmazonQError maps the official error model and the field variants", () => {
  const kind = (failure: Parameters<typeof classifyAmazonQError>[0]) =>
    classifyAmazonQError({ now: NOW, ...failure }).kind;
  assert.equal(kind({ status: 429, body: '{"__type":"ThrottlingException","message":"slow"}' }), "throttled");
  assert.equal(
    kind({ status: 429, body: '{"__type":"ThrottlingException","reason":"INSUFFICIENT_MODEL_CAPACITY"}' }),
    "transient",
  );
  assert.equal(
    kind({ status: 400, body: '{"__type":"ValidationException","message":"Tool name too long"}' }),
    "client",
  );
  assert.equal(
    kind({ status: 400, body: '{"__type":"ValidationException","reason":"PROMPT_TOO_LONG"}' }),
    "context_overflow",
  );
  assert.equal(kind({ status: 404, body: '{"__type":"ResourceNotFoundException"}' }), "client");
  assert.equal(kind({ status: 500, body: "oops" }), "transient");
  assert.equal(kind({ status: 403, body: '{"__type":"AccessDeniedException"}' }), "auth");
  const daily = classifyAmazonQError({ status: 429, body: '{"reason":"DAILY_REQUEST_COUNT"}', now: NOW });
  assert.equal(daily.kind, "quota_exhausted");
  assert.equal(daily.resetAt, Date.UTC(2027, 0, 1));
  const monthly = classifyAmazonQError({
    status: 402,
    body: '{"__type":"ServiceQuotaExceededException"}',
    now: NOW,
  });
  assert.equal(monthly.resetAt, Date.UTC(2027, 0, 1));
  const namespaced = classifyAmazonQError({
    status: 400,
    body:
      '{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Input content length exceeds threshold"}',
  });
  assert.equal(namespaced.kind, "context_overflow");
  assert.equal(namespaced.message, "prompt is too long: Input content length exceeds threshold");
});

Deno.test("isStaleTokenAnswer only for 401/403 that are not suspensions or permission refusals", () => {
  assert.equal(
    isStaleTokenAnswer(403, '{"message":"The bearer token included in the request is invalid."}'),
    true,
  );
  assert.equal(isStaleTokenAnswer(401, ""), true);
  assert.equal(isStaleTokenAnswer(403, '{"reason":"TEMPORARILY_SUSPENDED"}'), false);
  assert.equal(isStaleTokenAnswer(403, '{"reason":"FEATURE_NOT_SUPPORTED"}'), false);
  assert.equal(isStaleTokenAnswer(429, ""), false);
});

/**
 * The Amazon Q `GenerateAssistantResponse` request body, as `claudeToAmazonQ` builds it: a conversation
 * of history entries (user input or assistant response) and the current user message carrying the tools,
 * tool results, images and documents.
 */
export interface AmazonQImage {
  format: "png" | "jpeg" | "gif" | "webp";
  source: { bytes: string };
}

export interface AmazonQDocument {
  name: string;
  format: string;
  source: { bytes: string };
}

export type AmazonQToolResultContent = { text: string } | { json: unknown };

export interface AmazonQToolResult {
  toolUseId: string;
  content: AmazonQToolResultContent[];
  status: "success" | "error";
}

export interface AmazonQTool {
  toolSpecification: { name: string; description: string; inputSchema: { json: Record<string, unknown> } };
}

export interface AmazonQUserInputMessage {
  content: string;
  userInputMessageContext: {
    envState?: { operatingSystem: string; currentWorkingDirectory: string };
    tools?: AmazonQTool[];
    toolResults?: AmazonQToolResult[];
  };
  origin: string;
  modelId?: string;
  images?: AmazonQImage[];
  documents?: AmazonQDocument[];
}

export interface AmazonQAssistantResponseMessage {
  content: string;
  toolUses?: Array<{ toolUseId: string; name: string; input: Record<string, unknown> }>;
}

export type AmazonQChatMessage =
  | { userInputMessage: AmazonQUserInputMessage }
  | { assistantResponseMessage: AmazonQAssistantResponseMessage };

export interface AmazonQRequestBody {
  conversationState: {
    conversationId: string;
    history: AmazonQChatMessage[];
    currentMessage: { userInputMessage: AmazonQUserInputMessage };
    chatTriggerType: "MANUAL";
  };
  profileArn?: string;
}

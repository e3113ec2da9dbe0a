// Resource types and constants come from the SDK (and so from the API's own schemas).
import type { Banatie } from '@banatie/sdk';

export type { Generation, Image, Flow, LiveScope, Project, WebhookAttempt, AspectRatio, PromptTemplate, GenerationStatus, UsageReport, UsageFigures, Batch, ImageModel } from '@banatie/sdk';
export { ASPECT_RATIOS, PROMPT_TEMPLATES, GENERATION_STATUSES, isTerminal } from '@banatie/sdk';
export type Client = Banatie;

export const TECHNICAL_ALIASES = ['@last', '@first', '@upload'] as const;

// Resource types as the SDK returns them (derived from its methods, so they follow the SDK).
import type { Banatie } from '@banatie/sdk';

export type Client = Banatie;
export type Generation = Awaited<ReturnType<Banatie['generations']['get']>>;
export type Image = Awaited<ReturnType<Banatie['images']['get']>>;
export type Flow = Awaited<ReturnType<Banatie['flows']['get']>>;
export type LiveScope = Awaited<ReturnType<Banatie['live']['scopes']['get']>>;
export type Project = Awaited<ReturnType<Banatie['project']['get']>>;
export type WebhookAttempt = Awaited<ReturnType<Banatie['generations']['webhooks']>>['data'][number];

export const STATUSES = ['pending', 'processing', 'success', 'failed', 'cancelled'] as const;
export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export const TEMPLATES = ['general', 'photorealistic', 'illustration', 'minimalist', 'sticker', 'product', 'comic'] as const;
export const TECHNICAL_ALIASES = ['@last', '@first', '@upload'] as const;

export const isTerminal = (status: string): boolean => status === 'success' || status === 'failed' || status === 'cancelled';

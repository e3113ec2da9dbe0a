import { Batches } from './resources/batches.js';
import { Flows } from './resources/flows.js';
import { Generations } from './resources/generations.js';
import { Images } from './resources/images.js';
import { Live } from './resources/live.js';
import { Models } from './resources/models.js';
import { ProjectResource } from './resources/project.js';
import { UsageResource } from './resources/usage.js';
import { Transport, type BanatieOptions } from './transport.js';
import { verifyWebhook } from './webhooks.js';

/**
 * The Banatie API client.
 *
 *   const client = new Banatie({ apiKey: process.env.BANATIE_API_KEY, baseUrl: 'https://images.example.com' });
 *   const image = await client.generations.createAndWait({ prompt: 'a lighthouse at dusk', aspectRatio: '16:9' });
 */
export class Banatie {
  readonly generations: Generations;
  readonly images: Images;
  readonly flows: Flows;
  readonly live: Live;
  readonly project: ProjectResource;
  readonly models: Models;
  readonly usage: UsageResource;
  readonly batches: Batches;
  readonly webhooks = { verify: verifyWebhook };
  private readonly http: Transport;

  constructor(options: BanatieOptions = {}) {
    this.http = new Transport(options);
    this.generations = new Generations(this.http);
    this.images = new Images(this.http);
    this.flows = new Flows(this.http);
    this.live = new Live(this.http);
    this.project = new ProjectResource(this.http);
    this.models = new Models(this.http);
    this.usage = new UsageResource(this.http);
    this.batches = new Batches(this.http);
  }

  /** The API origin requests go to (no trailing slash). */
  get baseUrl(): string {
    return this.http.baseUrl;
  }
}

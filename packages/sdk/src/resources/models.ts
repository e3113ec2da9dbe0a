import type { ImageModel } from '@banatie/contracts';
import type { Transport } from '../transport.js';

/** The image models the server allows, with what each supports (sizes, ratios, references, grounding, batch). */
export class Models {
  constructor(private readonly http: Transport) {}

  list(): Promise<ImageModel[]> {
    return this.http.data('GET', '/models');
  }
}

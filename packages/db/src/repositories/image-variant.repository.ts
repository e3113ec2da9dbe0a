import { sql } from 'kysely';
import type { Db, Executor } from '../database.js';
import type { ImageRow } from '../types.js';

/** Stored renditions of an image and whether this one is among them (one round trip). */
export async function variantCount(db: Executor, imageId: string, variantId: string): Promise<{ total: number; registered: boolean }> {
  const row = await db
    .selectFrom('image_variants')
    .select((eb) => [eb.fn.countAll<string>().as('total'), sql<boolean>`bool_or(variant_id = ${variantId})`.as('registered')])
    .where('image_id', '=', imageId)
    .executeTakeFirst();
  return { total: Number(row?.total ?? 0), registered: Boolean(row?.registered) };
}

/** `stale`: the image's bytes or focal point changed since the variant id was computed from it. */
export type Reservation = 'reserved' | 'registered' | 'limit' | 'image_gone' | 'stale';

const sameFocalPoint = (a: { x: number; y: number } | null, b: { x: number; y: number } | null): boolean =>
  a === null || b === null ? a === b : a.x === b.x && a.y === b.y;

/**
 * Takes one of the image's `max` variant slots for `variantId`, computed from
 * `image` as it was read. The image row is locked for the check, so concurrent
 * reservations of different variants never go past the cap, and a reservation
 * racing a regeneration or a new focal point (whose trigger drops the slots)
 * does not leave a slot for a rendition nobody can ask for any more.
 */
export async function reserveVariant(
  db: Db,
  image: Pick<ImageRow, 'id' | 'etag' | 'focal_point'>,
  variantId: string,
  max: number,
): Promise<Reservation> {
  const imageId = image.id;
  return db.transaction().execute(async (tx) => {
    const current = await tx.selectFrom('images').select(['etag', 'focal_point']).where('id', '=', imageId).forUpdate().executeTakeFirst();
    if (!current) return 'image_gone';
    if (current.etag !== image.etag || !sameFocalPoint(current.focal_point, image.focal_point)) return 'stale';
    const { total, registered } = await variantCount(tx, imageId, variantId);
    if (registered) return 'registered';
    if (total >= max) return 'limit';
    await tx.insertInto('image_variants').values({ image_id: imageId, variant_id: variantId }).execute();
    return 'reserved';
  });
}

/** Gives a slot back (the rendition was never stored). */
export async function releaseVariant(db: Executor, imageId: string, variantId: string): Promise<void> {
  await db.deleteFrom('image_variants').where('image_id', '=', imageId).where('variant_id', '=', variantId).execute();
}

import { sql } from 'kysely';
import type { Db, Executor } from '../database.js';

/** Stored renditions of an image and whether this one is among them (one round trip). */
export async function variantCount(db: Executor, imageId: string, variantId: string): Promise<{ total: number; registered: boolean }> {
  const row = await db
    .selectFrom('image_variants')
    .select((eb) => [eb.fn.countAll<string>().as('total'), sql<boolean>`bool_or(variant_id = ${variantId})`.as('registered')])
    .where('image_id', '=', imageId)
    .executeTakeFirst();
  return { total: Number(row?.total ?? 0), registered: Boolean(row?.registered) };
}

export type Reservation = 'reserved' | 'registered' | 'limit' | 'image_gone';

/**
 * Takes one of the image's `max` variant slots for `variantId`. The image row is
 * locked for the check, so concurrent reservations of different variants never
 * go past the cap; a variant already registered keeps its slot.
 */
export async function reserveVariant(db: Db, imageId: string, variantId: string, max: number): Promise<Reservation> {
  return db.transaction().execute(async (tx) => {
    const image = await tx.selectFrom('images').select('id').where('id', '=', imageId).forUpdate().executeTakeFirst();
    if (!image) return 'image_gone';
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

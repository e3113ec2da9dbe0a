export const ok = <T>(data: T) => ({ success: true as const, data });

export const page = <T>(items: T[], total: number, limit: number, offset: number) => ({
  success: true as const,
  data: items,
  pagination: { total, limit, offset, hasMore: offset + items.length < total },
});

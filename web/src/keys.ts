/** An idempotency key (8-64 letters and digits): works outside secure contexts too, unlike crypto.randomUUID. */
export const newKey = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')

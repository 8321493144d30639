/**
 * What a shop service tells the demo runner: one JSON object per line on stdout. The runner
 * counts these to show what happened, and to know which faults were injected.
 */
export type ShopEvent =
  | { event: 'ready'; service: string }
  | { event: 'order-placed'; orderId: string; traceId: string }
  | { event: 'duplicate-published'; orderId: string }
  | { event: 'unroutable-published'; orderId: string }
  | { event: 'stranded-published'; orderId: string }
  | { event: 'returned'; orderId: string }
  | { event: 'payment-failed'; orderId: string }
  | { event: 'payment-requeued'; orderId: string }
  | { event: 'payment-completed'; orderId: string }
  | { event: 'shipment-requested'; orderId: string }
  | { event: 'customer-notified'; orderId: string; traceId: string }
  | { event: 'dead-letter-seen'; orderId: string };

export function report(event: ShopEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

import type { ShopEvent } from '../report';

/** Counts of what the shop did, built from the services' reports. */
export class Tally {
  readonly counts = {
    placed: 0,
    paid: 0,
    shipped: 0,
    notified: 0,
    paymentFailed: 0,
    deadLetterSeen: 0,
    requeued: 0,
    duplicatesPublished: 0,
    unroutablePublished: 0,
    returned: 0,
    stranded: 0,
    /**
     * Deliveries of a message some consumer had already seen: each duplicate publish reaches
     * payments twice, and when both copies fail, the dead-letter queue sees the order twice too.
     */
    duplicateDeliveries: 0,
  };
  private readonly deadLettersSeen = new Set<string>();
  /** Trace ids of orders whose whole chain completed, newest last. */
  readonly completedTraces: string[] = [];

  /**
   * The completed chain to show: one from the middle of the run, whose spans every service
   * exported long before shutdown (the newest may still be in a batch when the demo stops).
   */
  get shownTrace(): string | undefined {
    return this.completedTraces[Math.floor(this.completedTraces.length / 2)];
  }

  add(event: ShopEvent): void {
    const c = this.counts;
    switch (event.event) {
      case 'order-placed':
        c.placed++;
        break;
      case 'payment-completed':
        c.paid++;
        break;
      case 'payment-failed':
        c.paymentFailed++;
        break;
      case 'payment-requeued':
        c.requeued++;
        break;
      case 'shipment-requested':
        c.shipped++;
        break;
      case 'customer-notified':
        c.notified++;
        if (event.traceId !== '') this.completedTraces.push(event.traceId);
        break;
      case 'dead-letter-seen':
        c.deadLetterSeen++;
        if (this.deadLettersSeen.has(event.orderId)) c.duplicateDeliveries++;
        this.deadLettersSeen.add(event.orderId);
        break;
      case 'duplicate-published':
        c.duplicatesPublished++;
        c.duplicateDeliveries++;
        break;
      case 'unroutable-published':
        c.unroutablePublished++;
        break;
      case 'returned':
        c.returned++;
        break;
      case 'stranded-published':
        c.stranded++;
        break;
      case 'ready':
        break;
    }
  }

  /**
   * Orders that reached payments and have not been settled yet. Each placed order reaches
   * payments once (twice if published twice), except the unroutable and stranded ones.
   */
  get inFlight(): number {
    const c = this.counts;
    const expected = c.placed - c.unroutablePublished - c.stranded + c.duplicatesPublished;
    const paymentsPending = expected - c.paid - c.paymentFailed;
    return paymentsPending + (c.paid - c.notified) + (c.paymentFailed - c.deadLetterSeen);
  }

  progressLine(elapsedSeconds: number): string {
    const c = this.counts;
    return [
      `${String(elapsedSeconds).padStart(3)}s`,
      `placed ${c.placed}`,
      `paid ${c.paid}`,
      `shipped ${c.shipped}`,
      `notified ${c.notified}`,
      `failed ${c.paymentFailed}`,
      `requeued ${c.requeued}`,
      `duplicates ${c.duplicatesPublished}`,
      `returned ${c.returned}`,
      `stranded ${c.stranded}`,
    ].join(' · ');
  }
}

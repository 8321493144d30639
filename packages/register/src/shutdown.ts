const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Flushes telemetry when the process is asked to stop, without taking over the application's
 * own signal handling. Node exits on SIGTERM/SIGINT only while nobody listens for them, so a
 * listener changes behaviour; this one therefore flushes and, if it was the only listener,
 * re-raises the signal so the process ends exactly as it would have without mqtrail. If the
 * application has its own listener, it decides when to exit and the flush simply runs alongside.
 */
export function flushOnExit(flush: () => Promise<void>, timeoutMs = 5_000): () => void {
  let flushing: Promise<void> | undefined;
  const flushOnce = () => {
    flushing ??= Promise.race([
      flush().catch(() => {}),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    return flushing;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    const appHandles = process.listenerCount(signal) > 1;
    void flushOnce().then(() => {
      if (appHandles) return;
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  };
  const onBeforeExit = () => void flushOnce();

  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.once('beforeExit', onBeforeExit);
  return () => {
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
    process.removeListener('beforeExit', onBeforeExit);
  };
}
